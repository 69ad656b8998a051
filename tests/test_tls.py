"""TlsCertificate: DNS-validated ACM, an existing ARN, or a self-signed dev certificate."""

from __future__ import annotations

import pytest

from slipway.offline import ResourceGraph, SecretValue, run_program
from slipway_aws.tls import TlsCertificate, TlsCertificateArgs
from tests.conftest import graph_with

CERT = "aws:acm/certificate:Certificate"
ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"


def test_prod_domain_certificate_is_dns_validated_in_its_zone(prod: ResourceGraph) -> None:
    cert = prod.one(CERT)
    assert cert.input("domainName") == "app.example.com" and cert.input("validationMethod") == "DNS"
    record = prod.one("aws:route53/record:Record", "validation")
    assert record.input("zoneId") == "Z0123456789EXAMPLE0AB" and record.input("type") == "CNAME"
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation")
    assert prod.depends_on(validation, record)
    https = prod.one("aws:lb/listener:Listener", "https")
    assert prod.depends_on(https, validation), "the listener must wait for a validated certificate"


def test_dev_without_domain_imports_a_self_signed_certificate(dev: ResourceGraph) -> None:
    cert = dev.one(CERT)
    assert isinstance(cert.inputs["privateKey"], SecretValue), "the private key must be secret in state"
    assert cert.input("certificateBody").startswith("-----BEGIN CERTIFICATE-----")
    self_signed = dev.one("tls:index/selfSignedCert:SelfSignedCert")
    assert "server_auth" in self_signed.input("allowedUses") and self_signed.input("earlyRenewalHours") > 0
    assert "key_encipherment" not in self_signed.input("allowedUses"), "an ECDSA key never enciphers keys"
    assert "*.us-east-1.elb.amazonaws.com" in self_signed.input("dnsNames"), "matches the ALB's DNS name"
    assert dev.by_type("aws:route53/record:Record") == []


def test_existing_certificate_arn_is_used_as_is() -> None:
    graph = graph_with("dev", certificateArn=ARN)
    assert graph.by_type(CERT) == [] and graph.by_type("tls:index/privateKey:PrivateKey") == []
    assert graph.one("aws:lb/listener:Listener", "https").input("certificateArn") == ARN


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "domain", "domain": "a.example.com"}, "needs both domain and hosted_zone_id"),
        ({"mode": "certificate"}, "needs certificate_arn"),
        ({"mode": "letsencrypt"}, "must be one of"),
    ],
)
def test_incomplete_modes_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_program(lambda: TlsCertificate("t", TlsCertificateArgs(**kwargs)))  # type: ignore[arg-type]
