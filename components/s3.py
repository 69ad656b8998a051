"""Settings every private bucket of slipway's gets (ALB access logs, the bootstrap's Pulumi state)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def private_and_encrypted(
    bucket: aws.s3.Bucket,
    *,
    public_access_name: str,
    encryption_name: str,
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketPublicAccessBlock:
    """Block every form of public access and encrypt at rest with SSE-S3 (AES256); the names are the callers' own
    (they are in deployed URNs). Returns the public access block, which a bucket policy should depend on."""
    block = aws.s3.BucketPublicAccessBlock(
        public_access_name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        encryption_name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=opts,
    )
    return block
