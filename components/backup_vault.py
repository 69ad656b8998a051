"""BackupVault: AWS Backup of the database into a vault no one can empty early (Vault Lock), copied to a second
region and, optionally, to a vault in a separate backup account.

What it builds (all names start with the component's name, which carries the stack):

* a vault with a **Vault Lock**: ``compliance`` mode (prod) becomes immutable ``cooling_off_days`` (>= 3, AWS's
  72-hour cooling-off) after it is set: from then on nobody, the account's root user included, can delete a recovery
  point before its retention ends, shorten a retention below ``retention_days``, or remove the lock; ``governance``
  mode (dev) enforces the same retention but can be removed by a principal allowed
  ``backup:DeleteBackupVaultLockConfiguration``;
* a **vault access policy** denying everyone (``Principal: *``) ``backup:DeleteRecoveryPoint``,
  ``backup:UpdateRecoveryPointLifecycle``, ``backup:PutBackupVaultAccessPolicy`` (the statement AWS Config's managed
  rule ``backup-recovery-point-manual-deletion-disabled`` looks for) and both lock changes. It can still be deleted
  (``DeleteBackupVaultAccessPolicy``), which is why the deploy roles must be denied that action in IAM; a change to
  it is therefore delete-then-create (``replace_on_changes`` + ``delete_before_replace``);
* a **backup plan**: one daily rule (``schedule``, UTC, outside the RDS backup and maintenance windows), recovery
  points kept ``retention_days``, copied to ``copy_region``'s vault (same lock and policy) and to
  ``copy_vault_arn`` (another account's vault) with the same retention;
* a **selection** of ``resource_arns`` (the database) with an IAM role AWS Backup assumes, carrying AWS's managed
  policies ``AWSBackupServiceRolePolicyForBackup`` and ``AWSBackupServiceRolePolicyForRestores``.

RDS recovery points are RDS snapshots (``arn:aws:rds:<region>:<account>:snapshot:awsbackup:job-<id>``): restore one
with ``RestoreSpec(recovery_point=...)`` (docs/recovery.md). With ``retain`` (prod), ``pulumi destroy`` leaves the
vaults, locks, policies and role in the account (a locked vault with recovery points cannot be deleted anyway).
Real AWS decides what the mocks cannot: whether a backup job and its copy succeed (``pulumi up`` does not wait for
the first one; watch the vault or the drill).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields

LOCK_MODES = ("compliance", "governance")
DENIED_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:PutBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultLockConfiguration",
)
"""What the vault policy denies to every principal."""
BACKUP_ROLE_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_VAULT_ARN = re.compile(r"^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_-]{2,50}$")
_CRON = re.compile(r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$")


@document_fields
@dataclass(frozen=True)
class BackupVaultArgs:
    resource_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    """What the plan backs up: ARNs of the resources (the database instance, ``Database.arn``). Required."""
    lock_mode: str = "compliance"
    """``compliance`` (immutable after ``cooling_off_days``) or ``governance`` (removable by a principal with the
    right). Default ``compliance``."""
    cooling_off_days: int = 3
    """Compliance mode: days the lock may still be changed or deleted after it is set (AWS's ``ChangeableForDays``),
    3-36500. Default 3, AWS's minimum: enough to undo a mistake, short enough for an attacker to have no window."""
    retention_days: int = 35
    """Days every recovery point and copy is kept; the lock's minimum retention too (a shorter lifecycle is refused
    by the vault), 1-36500. Default 35."""
    max_retention_days: int = 365
    """The lock's maximum retention (a plan keeping points longer is refused), >= ``retention_days``. Default 365."""
    schedule: str = "cron(0 6 ? * * *)"
    """When the daily backup starts, an AWS Backup cron expression in UTC. Default 06:00 UTC, after slipway's RDS
    backup window (03:00-04:00) and maintenance window (Sunday 04:30-05:30)."""
    start_window_minutes: int = 60
    """Minutes a scheduled job may wait to start before it is cancelled, >= 60 (AWS). Default 60."""
    completion_window_minutes: int = 240
    """Minutes a started job may run before it is cancelled, > ``start_window_minutes``. Default 240."""
    copy_region: Optional[str] = None
    """Second region that receives a copy of every recovery point, into a vault there with the same lock and policy.
    Default None: no cross-region copy."""
    source_region: Optional[str] = None
    """Region of the stack, checked against ``copy_region``. Default None: not checked."""
    copy_vault_arn: Optional[str] = None
    """A vault in another (backup) account that also receives every recovery point; its own policy must allow this
    account ``backup:CopyIntoBackupVault``. Default None."""
    retain: bool = True
    """Keep the vaults, locks, policies and role in the account on ``pulumi destroy`` (``retain_on_delete``).
    Default True; False (dev) deletes them, and ``force_destroy`` empties a governance-mode vault first."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """Permissions boundary ARN of the backup role. Default None."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists."""
        problems = []
        if self.lock_mode not in LOCK_MODES:
            problems.append(f"lock_mode={self.lock_mode!r}: use compliance or governance")
        if not 3 <= self.cooling_off_days <= 36_500:
            problems.append(f"cooling_off_days={self.cooling_off_days}: AWS allows 3 to 36500 (72-hour cooling-off)")
        if not 1 <= self.retention_days <= 36_500:
            problems.append(f"retention_days={self.retention_days}: use 1 to 36500")
        if not self.retention_days <= self.max_retention_days <= 36_500:
            problems.append(f"max_retention_days={self.max_retention_days}: use retention_days to 36500")
        if not _CRON.match(self.schedule):
            problems.append(f"schedule={self.schedule!r}: use an AWS cron expression, e.g. cron(0 6 ? * * *)")
        if self.start_window_minutes < 60:
            problems.append(f"start_window_minutes={self.start_window_minutes}: AWS Backup needs at least 60")
        if self.completion_window_minutes <= self.start_window_minutes:
            problems.append(f"completion_window_minutes={self.completion_window_minutes}: must exceed start_window")
        if self.copy_region is not None and not _REGION.match(self.copy_region):
            problems.append(f"copy_region={self.copy_region!r} is not an AWS region name")
        if self.copy_region is not None and self.copy_region == self.source_region:
            problems.append(f"copy_region={self.copy_region}: must differ from the stack's region")
        if self.copy_vault_arn is not None and not _VAULT_ARN.match(self.copy_vault_arn):
            problems.append(f"copy_vault_arn={self.copy_vault_arn!r} is not a backup vault ARN")
        if problems:
            raise ValueError("BackupVaultArgs: " + "; ".join(problems))


def vault_policy(vault_arn: str) -> str:
    """The vault access policy: every principal is denied deleting or re-dating recovery points and changing the
    policy or the lock."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoOneDeletesRecoveryPointsOrChangesTheLock",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": list(DENIED_ACTIONS),
                    "Resource": "*",
                }
            ],
        }
    )


def _backup_trust() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


class BackupVault(pulumi.ComponentResource):
    """Outputs: ``vault_name``, ``vault_arn``, ``copy_vault_arn`` (None without ``copy_region``), ``plan_id``,
    ``role_arn``."""

    vault_name: pulumi.Output[str]
    vault_arn: pulumi.Output[str]
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BackupVaultArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:BackupVault", name, None, opts)
        tags = dict(args.tags)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain or None)

        def locked_vault(suffix: str, region: Optional[str]) -> aws.backup.Vault:
            vault = aws.backup.Vault(
                f"{name}{suffix}",
                name=f"{name}{suffix}",
                force_destroy=not args.retain,
                region=region,
                tags=tags,
                opts=kept,
            )
            lock = aws.backup.VaultLockConfiguration(
                f"{name}{suffix}-lock",
                backup_vault_name=vault.name,
                changeable_for_days=args.cooling_off_days if args.lock_mode == "compliance" else None,
                min_retention_days=args.retention_days,
                max_retention_days=args.max_retention_days,
                region=region,
                opts=kept,
            )
            aws.backup.VaultPolicy(
                f"{name}{suffix}-policy",
                backup_vault_name=vault.name,
                policy=vault.arn.apply(vault_policy),
                region=region,
                opts=pulumi.ResourceOptions.merge(
                    kept,
                    pulumi.ResourceOptions(
                        depends_on=[lock],  # set the lock before denying changes to it
                        replace_on_changes=["policy"],  # the policy denies its own update: delete, then create
                        delete_before_replace=True,
                    ),
                ),
            )
            return vault

        vault = locked_vault("", None)
        copy_vault = locked_vault("-copy", args.copy_region) if args.copy_region else None
        lifecycle = aws.backup.PlanRuleLifecycleArgs(delete_after=args.retention_days)
        copy_targets: list[pulumi.Input[str]] = [copy_vault.arn] if copy_vault else []
        if args.copy_vault_arn:
            copy_targets.append(args.copy_vault_arn)
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{name}-plan",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=args.schedule,
                    start_window=args.start_window_minutes,
                    completion_window=args.completion_window_minutes,
                    lifecycle=lifecycle,
                    copy_actions=[
                        aws.backup.PlanRuleCopyActionArgs(
                            destination_vault_arn=target,
                            lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=args.retention_days),
                        )
                        for target in copy_targets
                    ]
                    or None,
                )
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=_backup_trust(),
            permissions_boundary=args.permissions_boundary,
            description=f"{name}: AWS Backup backs up and restores the stack's database",
            tags=tags,
            opts=kept,  # AWS Backup manages the recovery points' lifecycle with this role
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=kept
            )
            for arn in BACKUP_ROLE_POLICIES
        ]
        aws.backup.Selection(
            f"{name}-selection",
            name=f"{name}-database",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=args.resource_arns,
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        self.vault_name = vault.name
        self.vault_arn = vault.arn
        self.copy_vault_arn: Optional[pulumi.Output[str]] = copy_vault.arn if copy_vault else None
        self.plan_id = plan.id
        self.role_arn = role.arn
        self.register_outputs(
            {
                "vault_name": self.vault_name,
                "vault_arn": self.vault_arn,
                "copy_vault_arn": self.copy_vault_arn,
                "plan_id": self.plan_id,
                "role_arn": self.role_arn,
            }
        )
