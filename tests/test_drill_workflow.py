"""The weekly restore drill workflow and its IAM documents (the generic lint, pin, permission and concurrency checks
of every workflow, drill.yml included, live in tests/test_workflows.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.test_workflows import ROOT, load, runs, steps, triggers

IAM = ROOT / "deploy" / "iam"


def job() -> dict[str, Any]:
    return dict(load("drill.yml")["jobs"]["drill"])


def test_runs_weekly_and_on_demand_never_on_push() -> None:
    on = triggers(load("drill.yml"))
    assert set(on) == {"schedule", "workflow_dispatch"}
    (cron,) = [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert (day, month) == ("*", "*") and re.fullmatch(r"[0-6]", weekday), f"weekly: {cron}"
    assert 6 <= int(hour) < 24, "after the 03:00-04:00 backup window and Sunday's 04:30-05:30 maintenance"


def test_drills_prod_with_the_slipway_command() -> None:
    script = "\n".join(runs(job()))
    assert ".venv/bin/python -m slipway drill --stack prod --json" in script
    assert "set -euo pipefail" in script and "make install" in script


def test_uses_its_own_oidc_role_in_an_environment_without_reviewers() -> None:
    drill = job()
    assert drill["environment"] == "drill", "production has required reviewers: a scheduled run would wait forever"
    aws = next(s for s in steps(drill) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DRILL_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"]), "OIDC only, no keys"
    assert drill["permissions"] == {"contents": "read", "id-token": "write"}


def test_pages_through_the_alarm_topic_only_on_failure() -> None:
    drill = job()
    page = next(s for s in steps(drill) if "sns publish" in s.get("run", ""))
    assert page["if"] == "failure()"
    assert page["env"]["TOPIC_ARN"] == "${{ vars.ALARM_TOPIC_ARN }}"
    assert '--topic-arn "$TOPIC_ARN"' in page["run"] and "${{" not in page["run"], "values through env only"
    assert steps(drill).index(page) == len(steps(drill)) - 1
    report = next(s for s in steps(drill) if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert report["if"] == "always()"


def test_drill_role_trusts_only_the_drill_environment() -> None:
    (statement,) = json.loads((IAM / "drill-trust.json").read_text())["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    cond = statement["Condition"]["StringEquals"]
    assert cond["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert cond["token.actions.githubusercontent.com:sub"].endswith(":environment:drill")
    assert "StringLike" not in statement["Condition"]


def test_drill_policy_can_only_delete_drill_instances() -> None:
    statements = json.loads((IAM / "drill-policy.json").read_text())["Statement"]
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert st["Effect"] == "Allow" and all(not a.endswith(":*") and a != "*" for a in actions), st["Sid"]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        destructive = {"rds:DeleteDBInstance", "rds:ModifyDBInstance"} & set(actions)
        if destructive:
            assert resources == ["arn:aws:rds:*:ACCOUNT_ID:db:slipway-prod-db-drill-*"], st["Sid"]
        if "*" in resources:
            assert all(re.match(r"^(rds|ecs):(Describe|List)", a) for a in actions), f"{st['Sid']} writes on *"
    pass_role = next(st for st in statements if st["Action"] == "iam:PassRole")
    assert pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    granted = {a for st in statements for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    # every call slipway/drill.py and the workflow make
    assert {
        "rds:RestoreDBInstanceToPointInTime",
        "rds:DeleteDBInstance",
        "rds:DescribeDBInstances",
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "logs:GetLogEvents",
        "sns:Publish",
    } <= granted


def test_an_on_demand_drill_can_restore_the_vault_recovery_point() -> None:
    choice = triggers(load("drill.yml"))["workflow_dispatch"]["inputs"]["from"]
    assert choice["options"] == ["pitr", "vault"] and choice["default"] == "pitr", "the weekly run stays PITR"
    step = next(s for s in steps(job()) if "slipway drill" in s.get("run", ""))
    assert step["env"]["DRILL_FROM"] == "${{ inputs.from || 'pitr' }}" and '--from "$DRILL_FROM"' in step["run"]
    statements = json.loads((IAM / "drill-policy.json").read_text())["Statement"]
    granted = {a for st in statements for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    assert {"rds:RestoreDBInstanceFromDBSnapshot", "backup:ListRecoveryPointsByBackupVault"} <= granted
    restore = next(st for st in statements if "rds:RestoreDBInstanceFromDBSnapshot" in st["Action"])
    assert "arn:aws:rds:*:ACCOUNT_ID:snapshot:awsbackup:job-*" in restore["Resource"]
    assert not any(a.startswith("backup:Delete") for a in granted), "the drill never deletes a recovery point"
