"""The deploy roles against the locked backup vaults (issue 23, docs/recovery.md), evaluated with conditions by
slipway/iam_eval.py: neither role may delete or re-date a recovery point, delete AWS Backup's RDS snapshots, remove a
kept vault's lock or access policy, or put a weaker lock — while the first ``up`` may still create each vault, its
lock and its policy, and dev's ``destroy`` may still remove its own discardable ones. Once the vault's own access
policy is in place (components/backup_vault.py) it refuses every principal a lock or policy put."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slipway import deploy_policy
from slipway.deploy_policy import boundary_policy, recovery_guards
from slipway.iam_eval import Decision, Request, allowed, decide
from slipway.offline import ACCOUNT, Resource
from slipway_aws.backup_vault import vault_policy
from tests.test_deploy_calls import _lock_keys, _names, _policy, _policy_graph, _resource_tags, _vault_tags

JOB = "job-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def _vault_arn(vault: Resource) -> str:
    region = vault.input("region") or "us-east-1"
    return f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{vault.input('name')}"


def _vaults(stack: str) -> list[Resource]:
    return _policy_graph(stack).by_type("aws:backup/vault:Vault")


def _lock_of(vault: Resource, stack: str) -> Resource:
    locks = _policy_graph(stack).by_type(deploy_policy.VAULT_LOCK)
    return next(r for r in locks if r.input("backupVaultName") == vault.input("name"))


def _ctx(vault: Resource, stack: str, **extra: Any) -> dict[str, Any]:
    region = vault.input("region") or "us-east-1"
    return {"aws:RequestedRegion": region, **_resource_tags(_vault_tags(_lock_of(vault, stack), stack)), **extra}


def _decision(policies: list[dict[str, Any]], action: str, arn: str, ctx: dict[str, Any]) -> Decision:
    return decide(policies, Request(action, arn, ctx))


def test_both_stacks_have_locked_vaults_to_guard() -> None:
    assert [v.input("name") for v in _vaults("dev")] == ["slipway-dev-backup"]
    assert sorted(v.input("name") for v in _vaults("prod")) == ["slipway-prod-backup", "slipway-prod-backup-copy"]
    assert all(r.retain_on_delete for r in _policy_graph("prod").by_type(deploy_policy.VAULT_LOCK))


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("owner", ["dev", "prod"])
def test_no_deploy_role_ends_a_recovery_point_early(stack: str, owner: str) -> None:
    policy = _policy(stack)
    points = [
        f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:awsbackup:{JOB}",
        f"arn:aws:rds:us-west-2:{ACCOUNT}:snapshot:awsbackup:{JOB}",
        f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:{JOB}",
    ]
    for tags in ({}, {"app": "slipway", "stack": owner}):
        ctx = {"aws:RequestedRegion": "us-east-1", **_resource_tags(tags)}
        for arn in points:
            for action in deploy_policy.RECOVERY_POINT_DELETES:
                assert _decision([policy], action, arn, ctx) is Decision.EXPLICIT_DENY, (action, arn)
        for arn in points[:2]:
            assert _decision([policy], "rds:DeleteDBSnapshot", arn, ctx) is Decision.EXPLICIT_DENY, arn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_first_up_creates_each_vault_its_lock_and_its_policy(stack: str) -> None:
    policy = _policy(stack)
    for vault in _vaults(stack):
        arn, lock = _vault_arn(vault), _lock_keys(_lock_of(vault, stack))
        region = {"aws:RequestedRegion": vault.input("region") or "us-east-1"}
        assert allowed(policy, "backup:CreateBackupVault", arn, region), arn
        assert allowed(policy, "backup:PutBackupVaultLockConfiguration", arn, _ctx(vault, stack, **lock)), arn
        assert allowed(policy, "backup:PutBackupVaultAccessPolicy", arn, _ctx(vault, stack)), arn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_once_the_vault_policy_is_in_place_no_one_puts_a_lock_or_a_policy(stack: str) -> None:
    policy = _policy(stack)
    for vault in _vaults(stack):
        arn = _vault_arn(vault)
        on_vault = json.loads(vault_policy(arn))
        lock = _lock_keys(_lock_of(vault, stack))
        for action, extra in (
            ("backup:PutBackupVaultAccessPolicy", {}),
            ("backup:PutBackupVaultLockConfiguration", lock),
        ):
            ctx = _ctx(vault, stack, **extra)
            assert _decision([policy], action, arn, ctx) is Decision.ALLOW, "the identity policy alone allows it"
            assert _decision([policy, on_vault], action, arn, ctx) is Decision.EXPLICIT_DENY, (action, arn)


def test_prods_role_never_removes_a_lock_or_the_vault_policy_not_even_its_own() -> None:
    policy = _policy("prod")
    for vault in _vaults("prod"):
        for action in deploy_policy.VAULT_UNGUARDS:
            decision = _decision([policy], action, _vault_arn(vault), _ctx(vault, "prod"))
            assert decision is Decision.EXPLICIT_DENY, (action, vault.name)


def test_devs_destroy_removes_its_own_lock_and_policy_but_never_prods() -> None:
    policy = _policy("dev")
    (own,) = _vaults("dev")
    for action in deploy_policy.VAULT_UNGUARDS:
        assert allowed(policy, action, _vault_arn(own), _ctx(own, "dev")), action
        for theirs in _vaults("prod"):
            decision = _decision([policy], action, _vault_arn(theirs), _ctx(theirs, "prod"))
            assert decision is Decision.EXPLICIT_DENY, (action, theirs.name)
        untagged = {"aws:RequestedRegion": "us-east-1"}
        assert _decision([policy], action, _vault_arn(own), untagged) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_lock_weaker_than_the_stacks_own_is_refused(stack: str) -> None:
    policy = _policy(stack)
    vault = _vaults(stack)[0]
    arn, lock = _vault_arn(vault), _lock_keys(_lock_of(vault, stack))
    shorter = {**lock, "backup:MinRetentionDays": str(int(lock["backup:MinRetentionDays"]) - 1)}
    without_minimum = {k: v for k, v in lock.items() if k != "backup:MinRetentionDays"}
    for weaker in (shorter, without_minimum):
        ctx = _ctx(vault, stack, **weaker)
        assert _decision([policy], "backup:PutBackupVaultLockConfiguration", arn, ctx) is Decision.EXPLICIT_DENY
    if stack == "prod":  # compliance mode: a put without ChangeableForDays would turn it into a governance lock
        governance = {k: v for k, v in lock.items() if k != "backup:ChangeableForDays"}
        ctx = _ctx(vault, stack, **governance)
        assert _decision([policy], "backup:PutBackupVaultLockConfiguration", arn, ctx) is Decision.EXPLICIT_DENY


def test_without_the_guards_prods_role_could_unlock_its_vault_and_delete_backups() -> None:
    """The checks above can fail: the table alone allows prod's role to delete its own vault's lock (its delete call),
    and nothing but the guard statements denies a recovery point's deletion explicitly."""
    policy = _policy("prod")
    sids = {s["Sid"] for s in recovery_guards(_policy_graph("prod"), _names("prod"))}
    stripped = {**policy, "Statement": [s for s in policy["Statement"] if s.get("Sid") not in sids]}
    vault = _vaults("prod")[0]
    action, arn = "backup:DeleteBackupVaultLockConfiguration", _vault_arn(vault)
    assert allowed(stripped, action, arn, _ctx(vault, "prod"))
    assert not allowed(policy, action, arn, _ctx(vault, "prod"))
    point = f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:awsbackup:{JOB}"
    assert _decision([stripped], "rds:DeleteDBSnapshot", point, {}) is Decision.IMPLICIT_DENY


# -- the boundary of the roles the stack creates (backup role, companions' roles) -------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_boundary_lets_backups_run_on_the_stacks_own_database_only(stack: str) -> None:
    boundary = boundary_policy(_names(stack))
    other = "prod" if stack == "dev" else "dev"

    def ok(action: str, arn: str, ctx: dict[str, Any] | None = None) -> bool:
        return decide([boundary], Request(action, arn, ctx or {})) is Decision.ALLOW

    snapshot = f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:awsbackup:{JOB}"
    assert ok("rds:CreateDBSnapshot", f"arn:aws:rds:us-east-1:{ACCOUNT}:db:slipway-{stack}-db")
    assert not ok("rds:CreateDBSnapshot", f"arn:aws:rds:us-east-1:{ACCOUNT}:db:slipway-{other}-db")
    assert ok("rds:DeleteDBSnapshot", snapshot, _resource_tags({"stack": stack}))
    assert not ok("rds:DeleteDBSnapshot", snapshot, _resource_tags({"stack": other}))
    assert not ok("rds:DeleteDBSnapshot", snapshot)
    retag = {**_resource_tags({"stack": other}), "aws:RequestTag/stack": stack, "aws:TagKeys": ["stack"]}
    assert not ok("rds:AddTagsToResource", snapshot, retag), "another stack's backup is never re-tagged as ours"
    assert not ok("rds:ModifyDBSnapshotAttribute", snapshot), "no sharing of a backup"
    assert ok("backup:CopyIntoBackupVault", f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:slipway-{stack}-backup")
    assert not ok("backup:CopyIntoBackupVault", f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:slipway-{other}-b")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_boundary_lets_the_companions_roles_reach_their_own_queues_and_jobs_only(stack: str) -> None:
    boundary = boundary_policy(_names(stack))
    other = "prod" if stack == "dev" else "dev"

    def ok(action: str, arn: str, ctx: dict[str, Any] | None = None) -> bool:
        return decide([boundary], Request(action, arn, ctx or {})) is Decision.ALLOW

    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"):
        assert ok(action, f"arn:aws:sqs:us-east-1:{ACCOUNT}:slipway-{stack}-jobs")
        assert not ok(action, f"arn:aws:sqs:us-east-1:{ACCOUNT}:slipway-{other}-jobs")
    assert ok("states:StartExecution", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:slipway-{stack}-report")
    assert not ok("states:StartExecution", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:slipway-{other}-report")
    task_def = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/slipway-{stack}-report:3"
    assert ok("ecs:RunTask", task_def)
    assert not ok("ecs:RunTask", task_def.replace(f"slipway-{stack}", f"slipway-{other}"))
    role = f"arn:aws:iam::{ACCOUNT}:role/slipway-{stack}-report-task"
    assert ok("iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not ok("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not ok(
        "iam:PassRole",
        role.replace(f"slipway-{stack}", f"slipway-{other}"),
        {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
    )
