"""AccessLogBucket: an encrypted, private S3 bucket that receives the load balancer's access logs.

ALB log delivery supports only SSE-S3 encryption. The bucket blocks all public access, denies non-TLS requests,
lets only the region's ELB log-delivery account write under its prefix, and expires objects after
``expiration_days``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

PREFIX = "alb"


@dataclass(frozen=True)
class AccessLogBucketArgs:
    expiration_days: int = 90
    """Days access-log objects are kept. Default 90."""
    force_destroy: bool = False
    """Let ``pulumi destroy`` delete a bucket that still holds logs. Default False."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""


def bucket_policy(bucket_arn: str, elb_account_arn: str, account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ElbLogDelivery", "Effect": "Allow", "Principal": {"AWS": elb_account_arn},
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/{PREFIX}/AWSLogs/{account_id}/*"},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})


class AccessLogBucket(pulumi.ComponentResource):
    """Outputs: ``bucket`` (name) and ``prefix``."""

    bucket: pulumi.Output[str]
    prefix: str

    def __init__(self, name: str, args: AccessLogBucketArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:AccessLogBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        inv = pulumi.InvokeOutputOptions(parent=self)
        bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=args.force_destroy, tags=dict(args.tags), opts=child)
        aws.s3.BucketPublicAccessBlock(f"{name}-public-access", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"))],
            opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{PREFIX}/"),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expiration_days))],
            opts=child)
        elb = aws.elb.get_service_account_output(opts=inv)
        identity = aws.get_caller_identity_output(opts=inv)
        policy = aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, elb.arn, identity.account_id).apply(
                lambda a: bucket_policy(a[0], a[1], a[2])),
            opts=child)
        # The ALB checks write access when logging is enabled: hand out the name only once the policy exists.
        self.bucket = pulumi.Output.all(bucket.bucket, policy.id).apply(lambda a: a[0])
        self.prefix = PREFIX
        self.register_outputs({"bucket": self.bucket})
