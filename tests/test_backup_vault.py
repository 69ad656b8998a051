"""Backups no one can delete: the vault, its lock, its policy, the plan, the selection and the cross-region copy in
both stacks' recorded graphs, every argument checked against pulumi-aws's signatures and botocore's Backup model."""

from __future__ import annotations

import inspect
import re
from typing import Any

import botocore.session
import pulumi_aws as aws
import pytest

from slipway.offline import Resource, ResourceGraph
from slipway_aws.backup_vault import DENIED_ACTIONS, BackupVaultArgs

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
BACKUP = botocore.session.get_session().get_service_model("backup")


def lock_of(graph: ResourceGraph, vault: Resource) -> Resource:
    (lock,) = [r for r in graph.by_type(LOCK) if r.input("backupVaultName") == vault.outputs["name"]]
    return lock


def test_prod_holds_a_compliance_locked_vault_a_plan_a_selection_of_the_database_and_a_cross_region_copy(
    prod: ResourceGraph,
) -> None:
    vault = next(v for v in prod.by_type(VAULT) if not v.input("region"))
    copy = next(v for v in prod.by_type(VAULT) if v.input("region"))
    assert vault is not copy and copy.input("region") == "us-west-2"
    for v in (vault, copy):
        lock = lock_of(prod, v)
        # compliance mode = ChangeableForDays set (>= 3: AWS's 72-hour cooling-off)
        assert lock.input("changeableForDays") == 3 and lock.input("minRetentionDays") == 35
        assert lock.input("region") == v.input("region")
        assert v.retain_on_delete and lock.retain_on_delete and v.input("forceDestroy") is False
    (plan,) = prod.by_type(PLAN)
    (rule,) = plan.input("rules")
    assert rule["targetVaultName"] == vault.outputs["name"] and rule["lifecycle"] == {"deleteAfter": 35}
    (copy_action,) = rule["copyActions"]
    assert copy_action["destinationVaultArn"] == copy.outputs["arn"]
    assert copy_action["destinationVaultArn"].startswith("arn:aws:backup:us-west-2:")
    assert copy_action["lifecycle"]["deleteAfter"] >= lock_of(prod, copy).input("minRetentionDays")
    (selection,) = prod.by_type(SELECTION)
    db = prod.one("aws:rds/instance:Instance")
    assert selection.input("resources") == [db.outputs["arn"]]
    assert prod.depends_on(selection, plan) and prod.depends_on(selection, db)


def test_dev_holds_a_governance_mode_vault_without_a_copy(dev: ResourceGraph) -> None:
    (vault,) = dev.by_type(VAULT)
    lock = lock_of(dev, vault)
    assert lock.input("changeableForDays") is None, "no ChangeableForDays = governance mode"
    assert lock.input("minRetentionDays") == 7 and vault.input("forceDestroy") is True and not vault.retain_on_delete
    (plan,) = dev.by_type(PLAN)
    assert "copyActions" not in plan.input("rules")[0]


def test_every_vault_policy_denies_deletes_and_lock_changes_to_everyone(stack: ResourceGraph) -> None:
    vaults = {v.outputs["name"]: v for v in stack.by_type(VAULT)}
    policies = stack.by_type(POLICY)
    assert sorted(p.input("backupVaultName") for p in policies) == sorted(vaults)
    for policy in policies:
        (statement,) = policy.json_input("policy")["Statement"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Resource"] == "*"
        # AWS Config's backup-recovery-point-manual-deletion-disabled looks for these three in one Deny statement
        assert {
            "backup:DeleteRecoveryPoint",
            "backup:UpdateRecoveryPointLifecycle",
            "backup:PutBackupVaultAccessPolicy",
        } <= set(statement["Action"])
        assert {"backup:PutBackupVaultLockConfiguration", "backup:DeleteBackupVaultLockConfiguration"} <= set(
            statement["Action"]
        )
        lock = lock_of(stack, vaults[policy.input("backupVaultName")])
        assert lock.urn in policy.dependencies, "the lock must exist before the policy denies changing it"


def test_denied_actions_are_backup_operations() -> None:
    operations = set(BACKUP.operation_names)
    assert {a.split(":", 1)[1] for a in DENIED_ACTIONS} <= operations


def test_the_backup_role_is_assumable_by_aws_backup_only_with_aws_managed_backup_policies(stack: ResourceGraph) -> None:
    (selection,) = stack.by_type(SELECTION)
    role = next(r for r in stack.by_type("aws:iam/role:Role") if r.outputs["arn"] == selection.input("iamRoleArn"))
    (statement,) = role.json_input("assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"} and statement["Action"] == "sts:AssumeRole"
    attached = {
        a.input("policyArn")
        for a in stack.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.input("role") == role.outputs["name"]
    }
    assert attached == {
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    }


def _pattern(shape: str, member: str) -> str:
    return BACKUP.shape_for(shape).members[member].metadata["pattern"]


def test_names_and_windows_fit_the_backup_api(stack: ResourceGraph) -> None:
    for vault in stack.by_type(VAULT):
        assert re.match(_pattern("CreateBackupVaultInput", "BackupVaultName"), vault.outputs["name"])
    (plan,) = stack.by_type(PLAN)
    (rule,) = plan.input("rules")
    assert re.match(_pattern("BackupRuleInput", "RuleName"), rule["ruleName"])
    assert re.match(_pattern("BackupRuleInput", "TargetBackupVaultName"), rule["targetVaultName"])
    assert rule["startWindow"] >= 60, "StartWindowMinutes: at least 60 (botocore's documentation)"
    (selection,) = stack.by_type(SELECTION)
    assert re.match(
        BACKUP.operation_model("CreateBackupSelection")
        .input_shape.members["BackupSelection"]
        .members["SelectionName"]
        .metadata["pattern"],
        selection.input("name"),
    )
    # the daily job starts outside the RDS backup window (03:00-04:00) and maintenance (sun 04:30-05:30), UTC
    hour = int(rule["schedule"].split()[1])
    assert 6 <= hour <= 23


@pytest.mark.parametrize(
    ("cls", "used"),
    [
        (aws.backup.Vault, {"name", "force_destroy", "region", "tags"}),
        (
            aws.backup.VaultLockConfiguration,
            {"backup_vault_name", "changeable_for_days", "min_retention_days", "max_retention_days", "region"},
        ),
        (aws.backup.VaultPolicy, {"backup_vault_name", "policy", "region"}),
        (aws.backup.Plan, {"name", "rules", "tags"}),
        (aws.backup.Selection, {"name", "plan_id", "iam_role_arn", "resources"}),
        (
            aws.backup.PlanRuleArgs,
            {
                "rule_name",
                "target_vault_name",
                "schedule",
                "start_window",
                "completion_window",
                "lifecycle",
                "copy_actions",
            },
        ),
        (aws.backup.PlanRuleCopyActionArgs, {"destination_vault_arn", "lifecycle"}),
    ],
)
def test_every_argument_exists_in_the_installed_pulumi_aws(cls: Any, used: set[str]) -> None:
    init = cls._internal_init if hasattr(cls, "_internal_init") else cls.__init__
    assert used <= set(inspect.signature(init).parameters)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"lock_mode": "strict"}, "lock_mode"),
        ({"cooling_off_days": 2}, "72-hour cooling-off"),
        ({"start_window_minutes": 30}, "at least 60"),
        ({"copy_region": "us-east-1", "source_region": "us-east-1"}, "must differ"),
        ({"copy_vault_arn": "arn:aws:s3:::bucket"}, "not a backup vault ARN"),
        ({"retention_days": 400}, "max_retention_days=365"),
        ({"schedule": "rate(1 day)"}, "cron expression"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(change: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        BackupVaultArgs(resource_arns=["arn:aws:rds:us-east-1:123456789012:db:x"], **change)
