"""AccessLogBucket: an encrypted, private S3 bucket that receives the load balancer's access logs.

ALB log delivery supports only SSE-S3 encryption. The bucket blocks all public access, denies non-TLS requests,
lets only ELB log delivery write under its prefix, and expires objects after ``expiration_days``.

Who delivers depends on the region: regions opened before August 2022 deliver from the region's ELB account
(``aws.elb.get_service_account``), newer ones from the service principal
``logdelivery.elasticloadbalancing.amazonaws.com`` (the provider has no ELB account for them). The policy always
grants the service principal, and the ELB account too where the region has one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields
from .s3 import private_and_encrypted

PREFIX = "alb"
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
# Regions with a classic ELB log-delivery account (opened before August 2022); others use only the service principal.
ELB_ACCOUNT_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-south-1",
        "eu-north-1",
        "me-south-1",
        "sa-east-1",
        "us-gov-west-1",
        "us-gov-east-1",
        "cn-north-1",
        "cn-northwest-1",
    }
)


@document_fields
@dataclass(frozen=True)
class AccessLogBucketArgs:
    region: Optional[str] = None
    """The ALB's region; picks the log-delivery principal(s). Default None: the provider's region, assumed to have an
    ELB account (regions opened before August 2022)."""
    expiration_days: int = 90
    """Days access-log objects are kept. Default 90."""
    force_destroy: bool = False
    """Let ``pulumi destroy`` delete a bucket that still holds logs. Default False."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _access_log_bucket_args(self)


def bucket_policy(bucket_arn: str, elb_account_arn: Optional[str], account_id: str) -> str:
    logs = f"{bucket_arn}/{PREFIX}/AWSLogs/{account_id}/*"
    statements: list[dict] = [
        {
            "Sid": "LogDeliveryService",
            "Effect": "Allow",
            "Principal": {"Service": LOG_DELIVERY_SERVICE},
            "Action": "s3:PutObject",
            "Resource": logs,
        }
    ]
    if elb_account_arn:
        statements.append(
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": {"AWS": elb_account_arn},
                "Action": "s3:PutObject",
                "Resource": logs,
            }
        )
    statements.append(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class AccessLogBucket(pulumi.ComponentResource):
    """Outputs: ``bucket`` (name) and ``prefix``."""

    bucket: pulumi.Output[str]
    prefix: str

    def __init__(self, name: str, args: AccessLogBucketArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:AccessLogBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        inv = pulumi.InvokeOutputOptions(parent=self)
        bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=args.force_destroy, tags=dict(args.tags), opts=child)
        private_and_encrypted(
            bucket,
            public_access_name=f"{name}-public-access",
            encryption_name=f"{name}-sse",
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{PREFIX}/"),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expiration_days),
                )
            ],
            opts=child,
        )
        elb_arn: pulumi.Input[Optional[str]] = None
        if args.region is None or args.region in ELB_ACCOUNT_REGIONS:
            elb_arn = aws.elb.get_service_account_output(opts=inv).arn
        identity = aws.get_caller_identity_output(opts=inv)
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, elb_arn, identity.account_id).apply(
                lambda a: bucket_policy(a[0], a[1], a[2])
            ),
            opts=child,
        )
        # The ALB checks write access when logging is enabled: hand out the name only once the policy exists.
        self.bucket = pulumi.Output.all(bucket.bucket, policy.id).apply(lambda a: a[0])
        self.prefix = PREFIX
        self.register_outputs({"bucket": self.bucket})


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _access_log_bucket_args(args: AccessLogBucketArgs) -> None:
    from .validation import Checks

    c = Checks()
    c.int_range("expiration_days", args.expiration_days, 1, None, "days")
    c.region("region", args.region)
    c.raise_for("AccessLogBucketArgs")
