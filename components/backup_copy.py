"""BackupCopy: the database's automated backups replicated to a second region (RDS automated-backup replication).

Why this and not AWS Backup (plan + vault + cross-region copy), see docs/recovery.md: replication ships the daily
snapshots *and the transaction logs*, so the second region can restore to any point in time within the copy's
retention, minutes behind the source (RPO of minutes after a region loss), where an AWS Backup copy job ships only
snapshots (RPO up to a day for RDS instances, whose continuous backups cannot be copied across regions). It is one
resource and one KMS key, with no IAM role, vault or schedule of its own to keep in step with the instance's backup
window. What it does not give (AWS Backup would): a copy in another *account*, or an immutable (vault-locked) copy.

The resources live in ``destination_region`` through the AWS provider's per-resource ``region`` argument
(pulumi-aws 7), so no second provider is needed. The replication follows the instance it is given: wire it to the
``Database`` component's ``arn`` output, which is the restored instance while ``slipway:dbRestore`` is set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


@dataclass(frozen=True)
class BackupCopyArgs:
    source_db_instance_arn: pulumi.Input[str]
    """ARN of the RDS instance whose automated backups are replicated (``Database.arn``). Required."""
    destination_region: str
    """Region that holds the copy, e.g. ``us-west-2``; must differ from ``source_region``. Required."""
    source_region: Optional[str] = None
    """Region of the source instance, checked against ``destination_region`` (a copy in the same region is no
    copy). Default None: not checked."""
    retention_days: int = 14
    """How long the second region keeps the replicated backups, i.e. its point-in-time window, 1-35 days. Default 14
    (the prod backup retention)."""
    key_deletion_window_days: int = 30
    """Waiting period before the copy's KMS key is deleted after a destroy, 7-30 days. Default 30."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        problems = []
        if not _REGION.match(self.destination_region):
            problems.append(f"destination_region={self.destination_region!r} is not an AWS region name")
        if self.source_region is not None and self.source_region == self.destination_region:
            problems.append(f"destination_region={self.destination_region}: must differ from the source region")
        if not 1 <= self.retention_days <= 35:
            problems.append(f"retention_days={self.retention_days}: RDS allows 1 to 35")
        if not 7 <= self.key_deletion_window_days <= 30:
            problems.append(f"key_deletion_window_days={self.key_deletion_window_days}: KMS allows 7 to 30")
        if problems:
            raise ValueError("; ".join(problems))


class BackupCopy(pulumi.ComponentResource):
    """Outputs: ``replication_arn`` (the replicated automated backups' ARN in the second region, the source of a
    point-in-time restore there), ``kms_key_arn`` and ``destination_region``."""

    replication_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    destination_region: str

    def __init__(self, name: str, args: BackupCopyArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:BackupCopy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # Replicated backups of an encrypted instance must be encrypted with a key of the destination region.
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: encrypts the database backups replicated to {args.destination_region}",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            region=args.destination_region,
            tags=tags,
            opts=child,
        )
        replication = aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-replication",
            source_db_instance_arn=args.source_db_instance_arn,
            kms_key_id=key.arn,
            retention_period=args.retention_days,
            region=args.destination_region,
            opts=child,
        )
        self.replication_arn = replication.id
        self.kms_key_arn = key.arn
        self.destination_region = args.destination_region
        self.register_outputs(
            {
                "replication_arn": self.replication_arn,
                "kms_key_arn": self.kms_key_arn,
                "destination_region": self.destination_region,
            }
        )
