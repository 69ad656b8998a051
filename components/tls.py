"""TlsCertificate: the ALB's certificate in one of three modes.

- ``domain``: an ACM certificate for ``domain``, validated by DNS records this component writes into the Route 53
  zone ``hosted_zone_id`` (renewals are automatic while the records stay).
- ``certificate``: an existing ACM certificate ARN, used as is.
- ``self_signed`` (domainless dev stacks only): a self-signed certificate from ``pulumi-tls`` imported into ACM.
  Traffic is still encrypted; browsers will warn. The private key is a secret output, encrypted in state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from .docs import document_fields

MODES = ("domain", "certificate", "self_signed")


@document_fields
@dataclass(frozen=True)
class TlsCertificateArgs:
    mode: str
    """``domain`` | ``certificate`` | ``self_signed``. Required (WebApp derives it from its certificate fields)."""
    domain: Optional[str] = None
    """DNS name served, for ``domain`` mode. Default None."""
    hosted_zone_id: Optional[str] = None
    """Route 53 zone that holds ``domain``, for ``domain`` mode. Default None."""
    certificate_arn: Optional[str] = None
    """Existing ACM certificate, for ``certificate`` mode. Default None."""
    self_signed_validity_hours: int = 24 * 365
    """Lifetime of a self-signed certificate. Default one year (re-created 30 days before expiry)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _tls_certificate_args(self)


class TlsCertificate(pulumi.ComponentResource):
    """Output: ``certificate_arn`` (validated, ready for a listener)."""

    certificate_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TlsCertificateArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:TlsCertificate", name, None, opts)
        if args.mode == "domain":
            self.certificate_arn = self._dns_validated(name, args)
        elif args.mode == "certificate":
            self.certificate_arn = pulumi.Output.from_input(args.certificate_arn or "")
        else:
            self.certificate_arn = self._self_signed(name, args)
        self.register_outputs({"certificate_arn": self.certificate_arn})

    def _dns_validated(self, name: str, args: TlsCertificateArgs) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        cert = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=args.domain,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=dict(args.tags),
            opts=child,
        )
        option = cert.domain_validation_options.apply(lambda opts: opts[0])
        record = aws.route53.Record(
            f"{name}-validation",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-validation", certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn], opts=child
        )
        return validation.certificate_arn

    def _self_signed(self, name: str, args: TlsCertificateArgs) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        cert = tls.SelfSignedCert(
            f"{name}-self-signed",
            private_key_pem=key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name}.invalid", organization="slipway dev"),
            # The ALB's own name, <alb>-<n>.<region>.elb.amazonaws.com: a wildcard covers exactly one label.
            dns_names=[
                aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region.apply(
                    lambda region: f"*.{region}.elb.amazonaws.com"
                ),
                f"{name}.invalid",
            ],
            validity_period_hours=args.self_signed_validity_hours,
            early_renewal_hours=24 * 30,
            # ECDSA keys sign (ECDHE); key encipherment applies to RSA key transport only.
            allowed_uses=["digital_signature", "server_auth"],
            opts=child,
        )
        imported = aws.acm.Certificate(
            f"{name}-imported",
            private_key=key.private_key_pem,
            certificate_body=cert.cert_pem,
            tags=dict(args.tags),
            opts=child,
        )
        return imported.arn


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _tls_certificate_args(args: TlsCertificateArgs) -> None:
    from .validation import CERT_ARN, DOMAIN, TLS_MODES, ZONE_ID, Checks, zone_fix

    c = Checks()
    if c.one_of("mode", args.mode, TLS_MODES):
        if args.mode == "domain" and not (args.domain and args.hosted_zone_id):
            c.bad(
                "mode",
                args.mode,
                "mode='domain' needs both domain and hosted_zone_id",
                ("domain", args.domain or "app.example.com")
                if not args.domain
                else zone_fix("hosted_zone_id", args.domain),
            )
        if args.mode == "certificate" and not args.certificate_arn:
            c.bad(
                "mode",
                args.mode,
                "mode='certificate' needs certificate_arn",
                "set certificate_arn to an ARN from `aws acm list-certificates`",
            )
    c.matches("domain", args.domain, DOMAIN, "a lowercase DNS name", "app.example.com")
    c.matches(
        "hosted_zone_id", args.hosted_zone_id, ZONE_ID, "a Route 53 zone id", zone_fix("hosted_zone_id", args.domain)
    )
    c.matches(
        "certificate_arn",
        args.certificate_arn,
        CERT_ARN,
        "an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
        "use an ARN from `aws acm list-certificates`",
    )
    c.int_range("self_signed_validity_hours", args.self_signed_validity_hours, 24 * 31, None, "hours")
    c.raise_for("TlsCertificateArgs")
