"""Issue #10: bad stack files and bad component Args are refused before any resource, all at once, in the user's words.

Every case runs the real CLI (``slipway.plan.main``) on a project directory of its own: a stack file case writes
``Pulumi.<stack>.yaml`` next to the real ``Pulumi.yaml`` and ``__main__.py``; an Args case's program builds one
component's Args. Each asserts exit status 2, the key (or field) the message names, and the fix it offers.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from slipway import offline, plan
from slipway.schema import readme_table
from slipway_aws.config import (
    ConfigError,
    from_mapping,
    secure_placeholder,
    stack_keys,
)
from slipway_aws.knobs import knobs
from slipway_aws.validation import FARGATE_SIZES, ArgsError, closest, plain, windows_disjoint
from slipway_aws.webapp import WebAppArgs

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "0" * 64
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
PROD_TLS = "  slipway:domain: app.example.com\n  slipway:hostedZoneId: Z0123456789EXAMPLE0AB\n"


def read(stack: str, values: dict[str, Any]) -> WebAppArgs:
    """The stack file's values as this repository's program reads them (it builds app/)."""
    return from_mapping(stack, values, {"aws:region": "us-east-1"}, program={"build_context": "app"})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with the real Pulumi.yaml and program; the CLI reads its stack files from there."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "__main__.py").symlink_to(ROOT / "__main__.py")

    def run_stack(stack: str, root: object = None, **kwargs: Any) -> offline.ResourceGraph:
        return offline.run_stack(stack, root=tmp_path, **kwargs)

    def load_config(stack: str, root: object = None, overrides: Any = None) -> tuple[str, dict[str, str], list[str]]:
        return offline.load_config(stack, tmp_path, overrides)

    monkeypatch.setattr(plan, "run_stack", run_stack)
    monkeypatch.setattr(plan, "load_config", load_config)
    return tmp_path


def cli(stack: str) -> tuple[int, str]:
    err = io.StringIO()
    code = plan.main(["plan", "--stack", stack], out=io.StringIO(), err=err)
    return code, err.getvalue()


def stack_text(env: str, body: str) -> str:
    """A stack file: region, environment (unless the case sets its own) and, for prod, a trusted certificate."""
    head = "config:\n  aws:region: us-east-1\n"
    if "slipway:environment" not in body and "enviroment" not in body:
        head += f"  slipway:environment: {env}\n"
    if env == "prod" and "slipway:domain" not in body and "hostedZoneId" not in body:
        head += PROD_TLS
    return head + body


# (stack, lines under `config:`, the line the message names, the fix it offers)
STACK_CASES: list[tuple[str, str, str, str]] = [
    ("dev", "  slipway:minTask: 1\n", "slipway:minTask: 1\n", "fix: slipway:minTasks: 1"),
    ("dev", "  slipway:min_tasks: 1\n", "slipway:min_tasks: 1\n", "fix: slipway:minTasks: 1"),
    ("dev", "  minTasks: 1\n", "- minTasks: 1\n", "fix: slipway:minTasks: 1"),
    ("dev", "  app:minTasks: 1\n", "app:minTasks: 1\n", "fix: slipway:minTasks: 1"),
    ("dev", "  slipway:MinTasks: 1\n", "keys are camelCase", "fix: slipway:minTasks: 1"),
    ("dev", "  slipway:natStratgy: single\n", "slipway:natStratgy: single\n", "fix: slipway:natStrategy: single"),
    ("dev", "  slipway:bogusKey: 1\n", "slipway:bogusKey: 1\n", "fix: delete this line"),
    ("dev", "  slipway:enviroment: dev\n", "slipway:enviroment: dev\n", "fix: slipway:environment: dev"),
    ("dev", "  slipway:environment: Prod\n", "case-sensitive", "fix: slipway:environment: prod"),
    ("dev", "  slipway:environment: staging\n", "slipway:environment: staging\n", "fix: slipway:environment: dev"),
    ("dev", "  slipway:cpu: lots\n", "slipway:cpu: lots\n", "fix: slipway:cpu: 256"),
    ("dev", "  slipway:cpu: 300\n", "slipway:cpu: 300\n", "fix: slipway:cpu: 256"),
    ("dev", "  slipway:cpu: 256\n  slipway:memory: 4096\n", "slipway:memory: 4096\n", "fix: slipway:memory: 2048"),
    ("dev", "  slipway:cpu: 8192\n  slipway:memory: 8192\n", "slipway:memory: 8192\n", "fix: slipway:memory: 16384"),
    ("dev", "  slipway:vpcCidr: 10.20.1.0/16\n", "host bits set", "fix: slipway:vpcCidr: 10.20.0.0/16"),
    ("dev", "  slipway:vpcCidr: 10.0.0.0/24\n", "/28 subnets", "fix: slipway:vpcCidr: 10.0.0.0/20"),
    ("dev", "  slipway:vpcCidr: 8.8.0.0/16\n", "slipway:vpcCidr: 8.8.0.0/16\n", "fix: slipway:vpcCidr: 10.20.0.0/16"),
    ("dev", "  slipway:dbEngineVersion: 16.3\n", "MAJOR version", "fix: slipway:dbEngineVersion: 16"),
    ("dev", "  slipway:maxTasks:\n", "slipway:maxTasks: ''\n", "fix: slipway:maxTasks: 2"),
    ("dev", "  slipway:domain: ''\n", "slipway:domain: ''\n", "fix: delete this line"),
    (
        "dev",
        "  slipway:fargateSpot: yes please\n",
        "slipway:fargateSpot: yes please\n",
        "fix: slipway:fargateSpot: true",
    ),
    # YAML 1.1 booleans: the Pulumi CLI hands the program the text written, so the plan refuses them as a run would.
    ("dev", "  slipway:fargateSpot: yes\n", "slipway:fargateSpot: 'yes'\n", "fix: slipway:fargateSpot: true"),
    ("dev", "  slipway:fargateSpot: on\n", "slipway:fargateSpot: 'on'\n", "fix: slipway:fargateSpot: true"),
    ("dev", "  slipway:fargateSpot: True\n", "slipway:fargateSpot: 'True'\n", "fix: slipway:fargateSpot: true"),
    ("dev", "  slipway:azCount: 1\n", "slipway:azCount: 1\n", "fix: slipway:azCount: 2"),
    ("dev", "  slipway:natStrategy: perAz\n", "did you mean per_az", "fix: slipway:natStrategy: per_az"),
    ("dev", "  slipway:logLevel: info\n", "case-sensitive", "fix: slipway:logLevel: INFO"),
    ("dev", "  slipway:logRetentionDays: 10\n", "slipway:logRetentionDays: 10\n", "fix: slipway:logRetentionDays: 14"),
    ("dev", "  slipway:alarmEmail: nobody\n", "slipway:alarmEmail: nobody\n", "fix: slipway:alarmEmail: oncall@"),
    ("dev", "  slipway:imageUri: repo:latest\n", "slipway:imageUri: repo:latest\n", "@sha256:"),
    ("dev", "  slipway:appName: Bad_Name\n", "slipway:appName: Bad_Name\n", "fix: slipway:appName: bad-name"),
    ("dev", "  slipway:appName: acme-payments\n", "at most 12", "fix: slipway:appName: acme-payment"),
    ("prod", "  slipway:appName: acme-payments\n", "at most 11", "fix: slipway:appName: acme-paymen"),
    ("dev", "  slipway:hostedZoneId: Z0123456789EXAMPLE0AB\n", "slipway:hostedZoneId", "fix: slipway:domain: app"),
    (
        "dev",
        "  slipway:domain: app.example.com\n",
        "slipway:domain: app.example.com\n",
        "fix: set hostedZoneId to the id",
    ),
    (
        "dev",
        f"  slipway:domain: app.example.com\n  slipway:certificateArn: {CERT}\n",
        "slipway:domain: app.example.com\n    needs hostedZoneId",
        "zone holding app.example.com: `aws route53 list-hosted-zones-by-name --dns-name app.example.com --query "
        "'HostedZones[0].Id'` (the part after /hostedzone/)\n    or:  delete the slipway:domain line",
    ),
    ("dev", "  slipway:minTasks: 4\n  slipway:maxTasks: 2\n", "exceeds maxTasks (2)", "fix: slipway:minTasks: 2"),
    ("dev", "  slipway:webConcurrency: 4\n", "slipway:webConcurrency: 4\n", "fix: slipway:webConcurrency: 2"),
    (
        "dev",
        "  slipway:backupWindow: 04:00-05:00\n",
        "slipway:maintenanceWindow: sun:04:30-sun:05:30\n",
        "fix: slipway:maintenanceWindow: sun:05:30-sun:06:30",
    ),
    ("dev", "  slipway:backupWindow: 03:00-03:10\n", "at least 30 minutes", "fix: slipway:backupWindow: 03:00-04:00"),
    ("dev", f"  slipway:certificateArn: {CERT.replace('us-east-1', 'eu-west-1')}\n", "own region", CERT),
    (
        "prod",
        "  slipway:deletionProtection: false\n",
        "slipway:deletionProtection: false\n",
        "fix: slipway:deletionProtection: true",
    ),
    ("prod", "  slipway:dbMultiAz: false\n", "slipway:dbMultiAz: false\n", "fix: slipway:dbMultiAz: true"),
    ("prod", "  slipway:natStrategy: none\n", "slipway:natStrategy: none\n", "fix: slipway:natStrategy: per_az"),
    ("prod", "  slipway:minTasks: 1\n", "slipway:minTasks: 1\n", "fix: slipway:minTasks: 2"),
    ("prod", "  slipway:fargateSpot: true\n", "slipway:fargateSpot: true\n", "fix: slipway:fargateSpot: false"),
    (
        "prod",
        "  slipway:backupRetentionDays: 7\n",
        "slipway:backupRetentionDays: 7\n",
        "fix: slipway:backupRetentionDays: 14",
    ),
    (
        "prod",
        "  slipway:hostedZoneId: ''\n  slipway:domain: ''\n",
        "slipway:certificateArn is not set",
        "fix: set certificateArn to an ARN from `aws acm list-certificates`",
    ),
]


@pytest.mark.parametrize(("stack", "body", "named", "fix"), STACK_CASES, ids=[c[1].strip() for c in STACK_CASES])
def test_bad_stack_file_exits_2_naming_the_key_and_the_fix(
    project: Path, stack: str, body: str, named: str, fix: str
) -> None:
    (project / f"Pulumi.{stack}.yaml").write_text(stack_text(stack, body))
    code, err = cli(stack)
    assert code == 2, err
    assert named in err and fix in err, err
    assert f"Pulumi.{stack}.yaml" in err and "Traceback" not in err
    assert "False" not in err and "None" not in err


def test_stack_values_reach_the_program_as_the_text_written(project: Path) -> None:
    """As the Pulumi CLI decodes them (pulumi/pulumi sdk/go/common/resource/config/value.go: a string first), not
    as PyYAML's YAML 1.1 would resolve them (yes -> true, 010 -> 8, 1_000 -> 1000)."""
    body = "  slipway:fargateSpot: yes\n  slipway:maxTasks: 010\n  slipway:minTasks: 1_0\n  slipway:domain: 'on'\n"
    (project / "Pulumi.dev.yaml").write_text(stack_text("dev", body + "  slipway:alarmEmail:\n"))
    _, config, _ = offline.load_config("dev", project)
    assert config["slipway:fargateSpot"] == "yes" and config["slipway:maxTasks"] == "010"
    assert config["slipway:minTasks"] == "1_0" and config["slipway:domain"] == "on"
    assert config["slipway:alarmEmail"] == "" and config["aws:region"] == "us-east-1"


# Broken files: one line naming file, line and column, exit 2, never a traceback.
BROKEN_FILES: list[tuple[str, str]] = [
    ("config:\n  aws:region: us-east-1\n  slipway:cpu: [256\n", "Pulumi.dev.yaml:4:1: not valid YAML"),
    ("config: oops\n", "Pulumi.dev.yaml:1:9: `config:` must be a mapping"),
    ("- config\n", "Pulumi.dev.yaml:1:1: expected a mapping"),
    ("config:\n  slipway:cpu: 1\n slipway:memory: 2\n", "Pulumi.dev.yaml:3:"),
    (
        "config:\n  aws:region: us-east-1\n  slipway:cpu: 256\n  slipway:cpu: 512\n",
        "Pulumi.dev.yaml:4:3: slipway:cpu is set twice (first on line 3)",
    ),
    # a misspelt top-level key would leave every key unset: named as such, with the key it meant
    (
        "configs:\n  aws:region: us-east-1\n",
        "Pulumi.dev.yaml:1:1: a stack file has no key `configs:`; did you mean `config:`?",
    ),
    # a secure value is the ciphertext `pulumi config set --secret` wrote, never empty, never a structure
    ("config:\n  slipway:alarmEmail:\n    secure: ''\n", "Pulumi.dev.yaml:3:5: slipway:alarmEmail: `secure:` must be"),
    ("config:\n  slipway:alarmEmail:\n    secure: [1]\n", "Pulumi.dev.yaml:3:5: slipway:alarmEmail: `secure:` must be"),
    ("config:\n  slipway:alarmEmail:\n    secure: not base64!\n", "Pulumi.dev.yaml:3:5: slipway:alarmEmail: `secure:`"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN_FILES)
def test_broken_stack_file_exits_2_with_one_line(project: Path, text: str, message: str) -> None:
    (project / "Pulumi.dev.yaml").write_text(text)
    code, err = cli("dev")
    assert code == 2 and err.startswith(f"error: {message}"), err
    assert err.strip().count("\n") == 0 and "Traceback" not in err


WEB = {
    "cluster_arn": "c",
    "cluster_name": "c",
    "vpc_id": "v",
    "public_subnet_ids": ["a", "b"],
    "task_subnet_ids": ["a"],
    "image": f"r@{DIGEST}",
    "certificate_arn": "arn",
    "execution_role_arn": "e",
    "task_role_arn": "t",
    "log_group_name": "l",
    "region": "us-east-1",
}
MIGRATE = {
    "cluster_arn": "c",
    "vpc_id": "v",
    "subnet_ids": ["a"],
    "image": f"r@{DIGEST}",
    "execution_role_arn": "e",
    "task_role_arn": "t",
    "log_group_name": "l",
    "region": "us-east-1",
    "database_security_group_id": "sg",
}
DB = {"vpc_id": "v", "subnet_ids": ["a", "b"], "password": "p"}
OBS = {
    "alb_arn_suffix": "a",
    "target_group_arn_suffix": "t",
    "cluster_name": "c",
    "service_name": "s",
    "db_identifier": "d",
}
ROLES = {"repository_arns": ["arn:aws:ecr:us-east-1:1:repository/r"], "log_group_arn": "arn:l", "secret_arns": []}
ROLLOUT = {"cluster": "c", "service": "s", "task_definition": "t", "region": "us-east-1"}

# (Args class, keyword arguments, the field the message names, the fix it offers)
ARGS_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "WebServiceArgs",
        {**WEB, "cpu": 256, "memory": 4096},
        "memory=4096: Fargate has no task with cpu 256",
        "memory=2048",
    ),
    ("WebServiceArgs", {**WEB, "cpu": 300}, "cpu=300", "fix: cpu=256"),
    ("WebServiceArgs", {**WEB, "cpu": 16384, "memory": 30720}, "memory=30720", "memory=32768"),
    ("WebServiceArgs", {**WEB, "image": "repo:latest"}, "image='repo:latest'", "@sha256:"),
    (
        "WebServiceArgs",
        {**WEB, "domain": "app.example.com"},
        "domain='app.example.com'",
        "fix: set hosted_zone_id to the id of the Route 53 zone holding app.example.com",
    ),
    ("WebServiceArgs", {**WEB, "min_tasks": 5, "max_tasks": 2}, "min_tasks=5", "fix: min_tasks=2 or max_tasks=5"),
    ("WebServiceArgs", {**WEB, "tls_policy": "ELBSecurityPolicy-2016-08"}, "tls_policy=", "TLS13-1-2-Res-2021-06'"),
    (
        "WebServiceArgs",
        {**WEB, "health_check_path": "healthz"},
        "health_check_path=",
        "fix: health_check_path='/healthz'",
    ),
    ("WebServiceArgs", {**WEB, "architecture": "ARM64"}, "case-sensitive", "fix: architecture='arm64'"),
    ("WebServiceArgs", {**WEB, "deregistration_delay_seconds": 4000}, "deregistration_delay_seconds=4000", "=3600"),
    ("WebServiceArgs", {**WEB, "cpu_target_percent": 95}, "cpu_target_percent=95", "cpu_target_percent=90"),
    ("MigrationTaskArgs", {**MIGRATE, "cpu": 256, "memory": 4096}, "memory=4096", "memory=2048"),
    ("MigrationTaskArgs", {**MIGRATE, "image": "app:1"}, "image='app:1'", "@sha256:"),
    ("NetworkArgs", {"cidr_block": "10.0.0.0/24"}, "/28 subnets", "fix: cidr_block='10.0.0.0/20'"),
    ("NetworkArgs", {"cidr_block": "10.20.1.0/16"}, "host bits set", "fix: cidr_block='10.20.0.0/16'"),
    ("NetworkArgs", {"nat_strategy": "perAz"}, "nat_strategy='perAz'", "fix: nat_strategy='per_az'"),
    ("NetworkArgs", {"az_count": 1}, "az_count=1", "fix: az_count=2"),
    (
        "DatabaseArgs",
        {**DB, "backup_window": "04:00-05:00"},
        "maintenance_window='sun:04:30-sun:05:30': overlaps backup_window",
        "fix: maintenance_window='sun:05:30-sun:06:30'",
    ),
    ("DatabaseArgs", {**DB, "engine_version": "16.3"}, "engine_version='16.3'", "fix: engine_version='16'"),
    ("DatabaseArgs", {**DB, "backup_window": "03:00-03:15"}, "at least 30 minutes", "backup_window='03:00-04:00'"),
    ("DatabaseArgs", {**DB, "log_retention_days": 10}, "log_retention_days=10", "fix: log_retention_days=14"),
    ("DatabaseArgs", {**DB, "allocated_storage_gb": 10}, "allocated_storage_gb=10", "fix: allocated_storage_gb=20"),
    ("TaskRolesArgs", {**ROLES, "repository_arns": []}, "repository_arns=[]", "fix: repository_arns=['arn:aws:ecr"),
    ("TlsCertificateArgs", {"mode": "domain", "domain": "a.example.com"}, "mode='domain'", "set hosted_zone_id to"),
    ("TlsCertificateArgs", {"mode": "certificate"}, "needs certificate_arn", "fix: set certificate_arn to an ARN"),
    ("AppLogsArgs", {"retention_days": 10}, "retention_days=10", "fix: retention_days=14"),
    ("AppSecretsArgs", {"recovery_window_days": 3}, "recovery_window_days=3", "fix: recovery_window_days=30"),
    ("EcsClusterArgs", {"container_insights": "Enabled"}, "case-sensitive", "fix: container_insights='enabled'"),
    ("ObservabilityArgs", {**OBS, "alarm_email": "nobody"}, "alarm_email='nobody'", "alarm_email='oncall@example"),
    ("ObservabilityArgs", {**OBS, "key_deletion_window_days": 3}, "key_deletion_window_days=3", "=30"),
    ("ContainerRegistryArgs", {"keep_images": 0}, "keep_images=0", "fix: keep_images=1"),
    ("AccessLogBucketArgs", {"expiration_days": 0}, "expiration_days=0", "fix: expiration_days=1"),
    ("RolloutCheckArgs", {**ROLLOUT, "timeout_s": 5}, "timeout_s=5", "fix: timeout_s=900"),
]


@pytest.mark.parametrize(("cls", "kwargs", "named", "fix"), ARGS_CASES, ids=[f"{c[0]}-{c[2][:30]}" for c in ARGS_CASES])
def test_bad_args_exit_2_naming_the_field_and_the_fix(
    project: Path, cls: str, kwargs: dict[str, Any], named: str, fix: str
) -> None:
    (project / "Pulumi.dev.yaml").write_text(stack_text("dev", ""))
    (project / "__main__.py").unlink()
    (project / "__main__.py").write_text(f"from slipway_aws import {cls}\n\n{cls}(**{kwargs!r})\n")
    code, err = cli("dev")
    assert code == 2, err
    assert err.startswith(f"error: {cls}: ") and named in err and fix in err, err
    assert "Traceback" not in err


def test_the_tables_hold_at_least_40_bad_inputs() -> None:
    assert len(STACK_CASES) + len(BROKEN_FILES) + len(ARGS_CASES) >= 40


# -- the "Done when" -------------------------------------------------------------------------------------
def test_done_when_typos_name_min_tasks(project: Path) -> None:
    for body in ("  slipway:minTask: 1\n", "  minTasks: 1\n"):
        (project / "Pulumi.dev.yaml").write_text(stack_text("dev", body))
        code, err = cli("dev")
        assert code == 2 and "slipway:minTasks" in err, err


def test_done_when_environment_case_and_cpu_are_both_reported(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  slipway:environment: Prod\n  slipway:cpu: lots\n" + PROD_TLS
    )
    code, err = cli("dev")
    assert code == 2 and "(2 problems)" in err, err
    assert "slipway:environment: Prod\n" in err and "case-sensitive" in err and "fix: slipway:environment: prod" in err
    assert "slipway:cpu: lots\n" in err and "fix: slipway:cpu: 512" in err  # the prod profile it meant


def test_done_when_web_service_args_refuse_cpu_256_with_4096_before_any_resource() -> None:
    from slipway.offline import run_program
    from slipway_aws import WebService, WebServiceArgs

    with pytest.raises(ArgsError) as err:
        run_program(lambda: WebService("w", WebServiceArgs(**{**WEB, "cpu": 256, "memory": 4096})))
    assert err.value.resources_registered == 0  # type: ignore[attr-defined]
    assert [p.field for p in err.value.problems] == ["memory"]
    message = str(err.value)
    assert "cpu 256" in message and "memory 4096" in message and "memory=2048 or cpu=512" in message
    assert "512, 1024 or 2048 MiB" in message, "one statement of what Fargate allows, not a contradictory one"


# -- all at once, Outputs skipped, the limits -------------------------------------------------------------------
def test_args_report_every_bad_field_at_once() -> None:
    from slipway_aws import WebServiceArgs

    with pytest.raises(ArgsError) as err:
        WebServiceArgs(**{**WEB, "cpu": 256, "memory": 4096, "image": "r:latest", "domain": "a.example.com"})
    assert [p.field for p in err.value.problems] == ["memory", "image", "domain"]
    assert str(err.value).startswith("WebServiceArgs: 3 invalid fields:")


def test_outputs_and_unknowns_are_not_checked_until_they_resolve() -> None:
    import pulumi

    from slipway.offline import run_program
    from slipway_aws import NetworkArgs, TaskRolesArgs, WebService, WebServiceArgs

    def program() -> None:
        image = pulumi.Output.from_input("repo:tag-known-only-later")
        WebService("w", WebServiceArgs(**{**WEB, "image": image, "cpu": 256, "memory": 512}))
        TaskRolesArgs(repository_arns=pulumi.Output.all(), log_group_arn=pulumi.Output.from_input(""), secret_arns=[])
        NetworkArgs(availability_zones=[pulumi.Output.from_input("a")], az_count=2)

    assert run_program(program).by_type("aws:ecs/taskDefinition:TaskDefinition")
    assert not plain(pulumi.Output.from_input("x")) and plain(["a", 1]) and not plain([pulumi.Output.from_input(1)])


@pytest.mark.parametrize(("cpu", "memory"), [(c, m) for c, mems in FARGATE_SIZES.items() for m in (mems[0], mems[-1])])
def test_every_fargate_size_from_the_ecs_api_reference_is_accepted(cpu: int, memory: int) -> None:
    from slipway_aws import WebServiceArgs

    WebServiceArgs(**{**WEB, "cpu": cpu, "memory": memory})
    args = read("dev", {"environment": "dev", "cpu": cpu, "memory": memory})
    assert (args.cpu, args.memory) == (cpu, memory)


def test_fargate_table_matches_botocore_ecs_documentation() -> None:
    """The ECS API model shipped with botocore lists the combinations; the table must say the same."""
    import re

    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    doc = model.operation_model("RegisterTaskDefinition").input_shape.members["memory"].documentation
    text = re.sub(r"<[^>]+>", " ", doc)
    assert "Between 16 GB and 60 GB in 4 GB increments - Available  cpu  values: 8192" in text
    assert "Between 32GB and 120 GB in 8 GB increments - Available  cpu  values: 16384" in text
    assert FARGATE_SIZES[8192] == tuple(range(16 * 1024, 60 * 1024 + 1, 4 * 1024))
    assert FARGATE_SIZES[16384] == tuple(range(32 * 1024, 120 * 1024 + 1, 8 * 1024))
    assert "Between 8192 (8 GB) and 30720 (30 GB) in increments of 1024 (1 GB) - Available  cpu  values: 4096" in text


def test_rds_window_rules_match_botocore() -> None:
    import botocore.session

    shape = botocore.session.get_session().get_service_model("rds").shape_for("CreateDBInstanceMessage")
    for member in ("PreferredBackupWindow", "PreferredMaintenanceWindow"):
        doc = shape.members[member].documentation
        assert "Must be at least 30 minutes" in doc and "UTC" in doc


@pytest.mark.parametrize(
    ("backup", "maintenance", "disjoint"),
    [
        ("03:00-04:00", "sun:04:30-sun:05:30", True),
        ("03:00-04:00", "sun:03:30-sun:04:30", False),
        ("23:30-00:30", "mon:00:00-mon:01:00", False),
        ("23:30-00:30", "mon:01:00-mon:02:00", True),
        ("03:00-04:00", "sat:23:30-sun:03:30", False),
    ],
)
def test_windows_overlap(backup: str, maintenance: str, disjoint: bool) -> None:
    assert windows_disjoint(backup, maintenance) is disjoint


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("minTask", "minTasks"),
        ("min_tasks", "minTasks"),
        ("MINTASKS", "minTasks"),
        ("enviroment", "environment"),
        ("db_engine_version", "dbEngineVersion"),
        ("completelyDifferent", None),
    ],
)
def test_did_you_mean(typo: str, meant: str | None) -> None:
    assert closest(typo, stack_keys()) == meant


# -- secure values and the one source of the docs ----------------------------------------------------------------
def test_secure_placeholders_pass_their_own_checks() -> None:
    values: dict[str, Any] = {"environment": "prod"}
    for key, field in stack_keys().items():
        # prod refuses any awakeHours (prod never sleeps), so no placeholder of it can pass there
        if ":" not in key and field not in ("profile", "awake_hours") and knobs(WebAppArgs)[field].prod is None:
            values[key] = secure_placeholder(f"slipway:{key}", "prod", "eu-west-1")
    assert {"alarmEmail", "imageUri", "certificateArn", "domain", "dbRestore"} <= set(values)
    args = from_mapping("prod", values, {"aws:region": "eu-west-1"}, program={"build_context": "app"})
    assert args.alarm_email and args.image_uri and args.certificate_arn and ":acm:eu-west-1:" in args.certificate_arn
    assert (
        secure_placeholder("slipway:cpu", "prod", None) == "512"
        and secure_placeholder("demo:token", "dev", None) is None
        and secure_placeholder("shop:alarmEmail", "dev", None) == "secure-placeholder@example.com"
    )


def test_an_encrypted_alarm_email_plans_offline(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(
        stack_text("prod", "  slipway:alarmEmail:\n    secure: v1:AAAAencrypted==\n")
    )
    code, err = cli("prod")
    assert code == 0, err
    _, config, secret_keys = offline.load_config("prod", project)
    assert secret_keys == ["slipway:alarmEmail"] and "v1:AAAA" not in config["slipway:alarmEmail"]


def test_readme_table_and_project_schema_come_from_webappargs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme_table() in readme, "regenerate with `python -m slipway.schema`"
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert "dbRestore" not in project["config"], "mappings cannot be declared in Pulumi.yaml"
    assert "15 minus the stack name" in project["config"]["appName"]["description"]
    assert "From 2 to 6." in project["config"]["azCount"]["description"]


def test_config_error_lists_problems_with_yaml_values() -> None:
    with pytest.raises(ConfigError) as err:
        read("prod", {"environment": "prod", "deletionProtection": False})
    text = str(err.value)
    assert "slipway:deletionProtection: false\n" in text and "fix: slipway:deletionProtection: true" in text
    assert "False" not in text and "deletion_protection" not in text


def test_the_readme_sample_error_is_what_the_code_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("fix:` line to paste into `Pulumi.<stack>.yaml`:\n\n```\n", 1)[1].split("\n```", 1)[0]
    with pytest.raises(ConfigError) as err:
        read("dev", {"environment": "dev", "minTask": "1", "cpu": "256", "memory": "4096"})
    assert sample == f"error: {err.value}"


@pytest.mark.parametrize(
    ("text", "named", "fix"),
    [
        (
            "  aws:region: eu-north-3\n",
            "aws:region: eu-north-3\n    is not an AWS region",
            "fix: aws:region: eu-north-1",
        ),
        (
            "  aws:regoin: us-east-1\n",
            "aws:regoin: us-east-1\n    the AWS provider has no setting regoin; did you mean aws:region?",
            "fix: aws:region: us-east-1",
        ),
    ],
)
def test_done_when_a_region_botocore_does_not_know_exits_2(project: Path, text: str, named: str, fix: str) -> None:
    (project / "Pulumi.dev.yaml").write_text(f"config:\n  slipway:environment: dev\n{text}")
    code, err = cli("dev")
    assert code == 2 and named in err and fix in err, err
    assert "Traceback" not in err
