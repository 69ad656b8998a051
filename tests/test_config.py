"""The stack file read as WebAppArgs: profiles, overrides, and one clear error that names every bad key and its fix."""

from __future__ import annotations

import pytest
import yaml

from slipway_aws.config import ConfigError, from_mapping
from slipway_aws.knobs import knobs
from slipway_aws.webapp import WebAppArgs

CERT_EU = "arn:aws:acm:eu-west-1:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
CERT_US = CERT_EU.replace("eu-west-1", "us-east-1")
DIGEST_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@sha256:" + "0" * 64


def read(stack: str, values: dict[str, object], region: str | None = "us-east-1", **others: object) -> WebAppArgs:
    """The stack file's values (keys without the namespace) as the program reads them (it builds app/)."""
    other_keys = {"aws:region": region} if region else {}
    other_keys.update(others)
    return from_mapping(stack, values, other_keys, program={"build_context": "app"})


def tls_mode(args: WebAppArgs) -> str:
    return "certificate" if args.certificate_arn else "domain" if args.domain else "self_signed"


def load(env: str = "dev", region: str | None = "us-east-1", **values: object) -> WebAppArgs:
    base: dict[str, object] = {"environment": env}
    if env == "prod":
        base.update(domain="app.example.com", hostedZoneId="Z0123456789EXAMPLE0AB")
    base.update(values)
    return read(env, base, region=region).resolved()


def problems(env: str = "dev", **values: object) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(env, **values)
    return err.value.problems


def problems_of(env: str, values: dict[str, object]) -> list[str]:
    """Problems of ``values`` on top of the environment (and, for prod, a trusted certificate); None unsets a key."""
    base: dict[str, object] = {"environment": env}
    if env == "prod":
        base.update(domain="app.example.com", hostedZoneId="Z0123456789EXAMPLE0AB")
    base.update(values)
    with pytest.raises(ConfigError) as err:
        read(env, {k: v for k, v in base.items() if v is not None})
    return err.value.problems


def test_dev_profile_is_cheap_and_disposable() -> None:
    cfg = load("dev")
    assert (cfg.nat_strategy, cfg.az_count, cfg.db_multi_az, cfg.deletion_protection) == ("none", 2, False, False)
    assert (cfg.backup_retention_days, cfg.log_retention_days, cfg.fargate_spot) == (7, 14, True)
    assert tls_mode(cfg) == "self_signed" and cfg.architecture == "arm64"


def test_prod_profile_is_highly_available_and_protected() -> None:
    cfg = load("prod")
    assert (cfg.nat_strategy, cfg.az_count, cfg.db_multi_az, cfg.deletion_protection) == ("per_az", 3, True, True)
    assert cfg.backup_retention_days >= 14 and cfg.log_retention_days >= 90 and cfg.min_tasks >= 2
    assert tls_mode(cfg) == "domain" and not cfg.fargate_spot


def test_stack_values_override_the_profile_and_are_parsed() -> None:
    cfg = load("dev", azCount="3", natStrategy="single", fargateSpot=False, cpu=512, memory="2048")
    assert (cfg.az_count, cfg.nat_strategy, cfg.fargate_spot, cfg.cpu, cfg.memory) == (3, "single", False, 512, 2048)


def test_every_knob_has_a_value_per_profile_or_none_in_both() -> None:
    for name, spec in knobs(WebAppArgs).items():
        assert (spec.dev is None) == (spec.prod is None), name


@pytest.mark.parametrize(
    ("env", "values", "line", "reason", "fix"),
    [
        (
            "prod",
            {"deletionProtection": "false"},
            "slipway:deletionProtection: false",
            "prod requires deletion protection",
            "fix: slipway:deletionProtection: true",
        ),
        (
            "dev",
            {"backupRetentionDays": "0"},
            "slipway:backupRetentionDays: 0",
            "must be from 1 to 35",
            "fix: slipway:backupRetentionDays: 1",
        ),
        (
            "dev",
            {"backupRetentionDays": "36"},
            "slipway:backupRetentionDays: 36",
            "must be from 1 to 35",
            "fix: slipway:backupRetentionDays: 35",
        ),
        (
            "prod",
            {"backupRetentionDays": "7"},
            "slipway:backupRetentionDays: 7",
            "prod keeps backups at least 14 days",
            "fix: slipway:backupRetentionDays: 14",
        ),
        (
            "dev",
            {"logRetentionDays": "10"},
            "slipway:logRetentionDays: 10",
            "is not a CloudWatch retention value",
            "fix: slipway:logRetentionDays: 14",
        ),
        (
            "prod",
            {"logRetentionDays": "30"},
            "slipway:logRetentionDays: 30",
            "prod keeps logs at least 90 days",
            "fix: slipway:logRetentionDays: 90",
        ),
        (
            "dev",
            {"domain": "app.example.com"},
            "slipway:domain: app.example.com",
            "needs hostedZoneId: without it no alias record is created",
            "fix: set hostedZoneId to the id of the Route 53 zone holding app.example.com",
        ),
        (
            "dev",
            {"hostedZoneId": "Z0123456789EXAMPLE0AB"},
            "slipway:hostedZoneId: Z0123456789EXAMPLE0AB",
            "the zone is only used to validate and",
            "fix: slipway:domain: app.example.com",
        ),
        (
            "dev",
            {"minTasks": "4", "maxTasks": "2"},
            "slipway:minTasks: 4",
            "exceeds maxTasks (2)",
            "fix: slipway:minTasks: 2",
        ),
        (
            "prod",
            {"appName": "acme-payments"},
            "slipway:appName: acme-payments",
            "is 13 characters; with stack 'prod'",
            "fix: slipway:appName: acme-paymen",
        ),
        (
            "dev",
            {"webConcurrency": "4"},
            "slipway:webConcurrency: 4",
            "at peak (maxTasks 2, doubled during a",
            "fix: slipway:webConcurrency: 2",
        ),
        (
            "dev",
            {"vpcCidr": "10.0.0.0/33"},
            "slipway:vpcCidr: 10.0.0.0/33",
            "must be an IPv4 CIDR block such as",
            "fix: slipway:vpcCidr: 10.20.0.0/16",
        ),
        (
            "dev",
            {"vpcCidr": "8.8.0.0/16"},
            "slipway:vpcCidr: 8.8.0.0/16",
            "must be a private block (10.0.0.0/8",
            "fix: slipway:vpcCidr: 10.20.0.0/16",
        ),
        (
            "dev",
            {"vpcCidr": "10.0.0.0/24"},
            "slipway:vpcCidr: 10.0.0.0/24",
            "is too small: each subnet is 1/16 of",
            "fix: slipway:vpcCidr: 10.0.0.0/20",
        ),
        (
            "dev",
            {"natStrategy": "nat"},
            "slipway:natStrategy: nat",
            "must be one of none, single, per_az",
            "fix: slipway:natStrategy: none",
        ),
        ("dev", {"azCount": "1"}, "slipway:azCount: 1", "must be from 2 to 6", "fix: slipway:azCount: 2"),
        (
            "dev",
            {"azCount": "three"},
            "slipway:azCount: three",
            "must be a whole number from 2 to 6",
            "fix: slipway:azCount: 2",
        ),
        (
            "dev",
            {"cpu": "300"},
            "slipway:cpu: 300",
            "must be a Fargate CPU size: 256, 512",
            "fix: slipway:cpu: 256",
        ),
        (
            "dev",
            {"cpu": "256", "memory": "4096"},
            "slipway:memory: 4096",
            "Fargate has no task with cpu 256 and",
            "fix: slipway:memory: 2048",
        ),
        (
            "dev",
            {"fargateSpot": "yes"},
            "slipway:fargateSpot: 'yes'",
            "must be true or false",
            "fix: slipway:fargateSpot: true",
        ),
        (
            "dev",
            {"tlsPolicy": "ELBSecurityPolicy-2016-08"},
            "slipway:tlsPolicy: ELBSecurityPolicy-2016-08",
            "must be a TLS 1.3 policy",
            "fix: slipway:tlsPolicy: ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        ),
        (
            "dev",
            {"backupWindow": "3am"},
            "slipway:backupWindow: 3am",
            "must be hh24:mi-hh24:mi in UTC",
            "fix: slipway:backupWindow: 03:00-04:00",
        ),
        (
            "dev",
            {"backupWindow": "04:00-05:00", "maintenanceWindow": "sun:04:30-sun:05:30"},
            "slipway:maintenanceWindow: sun:04:30-sun:05:30",
            "overlaps backupWindow (04:00-05:00)",
            "fix: slipway:maintenanceWindow: sun:05:30-sun:06:30",
        ),
        (
            "dev",
            {"certificateArn": CERT_EU},
            f"slipway:certificateArn: {CERT_EU}",
            "an ALB needs a certificate in its own region",
            f"fix: slipway:certificateArn: {CERT_US}",
        ),
        (
            "dev",
            {"imageUri": "repo:latest"},
            "slipway:imageUri: repo:latest",
            "must be an image pinned by digest",
            "fix: pin it by digest: repo@sha256:<64 hex>, the digest from `docker buildx imagetools inspect repo",
        ),
        (
            "dev",
            {"dbMaxAllocatedStorageGb": "20", "dbAllocatedStorageGb": "50"},
            "slipway:dbMaxAllocatedStorageGb: 20",
            "the storage autoscaling ceiling must be",
            "fix: slipway:dbMaxAllocatedStorageGb: 50",
        ),
        (
            "prod",
            {"dbMultiAz": "false"},
            "slipway:dbMultiAz: false",
            "prod requires a Multi-AZ database",
            "fix: slipway:dbMultiAz: true",
        ),
        (
            "prod",
            {"natStrategy": "none"},
            "slipway:natStrategy: none",
            "prod runs tasks in private subnets",
            "fix: slipway:natStrategy: per_az",
        ),
        (
            "prod",
            {"minTasks": "1"},
            "slipway:minTasks: 1",
            "prod needs at least 2 tasks to survive",
            "fix: slipway:minTasks: 2",
        ),
        (
            "prod",
            {"domain": None, "hostedZoneId": None},
            "slipway:certificateArn is not set",
            "prod needs a trusted certificate: set",
            "fix: set certificateArn to an ARN from `aws acm list-certificates`",
        ),
        (
            "prod",
            {"fargateSpot": "true"},
            "slipway:fargateSpot: true",
            "prod must not run on interruptible",
            "fix: slipway:fargateSpot: false",
        ),
        (
            "dev",
            {"appName": "Bad_Name"},
            "slipway:appName: Bad_Name",
            "must be 3 or more lowercase letters",
            "fix: slipway:appName: bad-name",
        ),
        (
            "dev",
            {"healthCheckPath": "healthz"},
            "slipway:healthCheckPath: healthz",
            "must be an absolute URL path such as",
            "fix: slipway:healthCheckPath: /healthz",
        ),
        (
            "dev",
            {"alarmEmail": "nobody"},
            "slipway:alarmEmail: nobody",
            "must be an e-mail address",
            "fix: slipway:alarmEmail: oncall@example.com",
        ),
        (
            "dev",
            {"natStratgy": "none"},
            "slipway:natStratgy: none",
            "slipway reads no key named natStratgy",
            "fix: slipway:natStrategy: none",
        ),
    ],
)
def test_bad_config_names_the_key_its_yaml_value_why_and_a_pasteable_fix(
    env: str, values: dict[str, object], line: str, reason: str, fix: str
) -> None:
    found = problems_of(env, values)
    matching = [p for p in found if p.split("\n")[0] == line]
    assert matching, found
    (problem,) = matching
    assert reason in problem and f"\n    {fix}" in problem, problem
    if fix.startswith("fix: slipway:"):
        key, _, value = fix.removeprefix("fix: ").partition(": ")
        assert yaml.safe_load(f"{key}: {value}") == {key: yaml.safe_load(value)}, "the fix is a YAML line"


def test_every_problem_is_reported_at_once() -> None:
    found = problems("prod", deletionProtection="false", azCount="x", natStrategy="nat", logRetentionDays="13")
    keys = {p.split(": ")[0] for p in found}
    assert keys == {"slipway:deletionProtection", "slipway:azCount", "slipway:natStrategy", "slipway:logRetentionDays"}
    with pytest.raises(ConfigError) as err:
        load("prod", deletionProtection="false", azCount="x")
    assert "(2 problems)" in str(err.value) and "Pulumi.prod.yaml" in str(err.value)
    assert str(err.value).count("\n  - ") == len(err.value.problems) == 2


def test_a_bad_environment_still_checks_every_other_key_with_the_profile_it_meant() -> None:
    found = problems_of("dev", {"environment": "Prod", "cpu": "lots", "domain": None, "hostedZoneId": None})
    assert found[0] == (
        "slipway:environment: Prod\n    must be one of dev, prod (values are case-sensitive)\n"
        "    fix: slipway:environment: prod"
    )
    assert any(p.startswith("slipway:cpu: lots\n") and "fix: slipway:cpu: 512" in p for p in found), found
    assert any(p.startswith("slipway:certificateArn is not set") for p in found), "prod's own checks ran"


def test_unknown_keys_in_and_around_the_namespace_are_refused_with_did_you_mean() -> None:
    with pytest.raises(ConfigError) as err:
        read(
            "dev",
            {"environment": "dev", "minTask": "1", "min_tasks": "1"},
            **{"minTasks": "1", "app:minTasks": "1", "docker:host": "unix://x"},
        )
    found = err.value.problems
    assert [p.split("\n")[0] for p in found] == [
        "slipway:minTask: 1",
        "slipway:min_tasks: 1",
        "app:minTasks: 1",
        "minTasks: 1",
    ]
    assert all("did you mean slipway:minTasks?" in p and p.endswith("fix: slipway:minTasks: 1") for p in found)
    assert "(keys are camelCase)" in found[1]


def test_a_misspelt_environment_is_one_problem_not_two() -> None:
    found = problems_of("dev", {"environment": None, "enviroment": "dev"})
    assert found == [
        "slipway:enviroment: dev\n    slipway reads no key named enviroment; did you mean slipway:environment?\n"
        "    fix: slipway:environment: dev"
    ]


def test_blank_values_are_refused_not_defaulted() -> None:
    found = problems_of("dev", {"cpu": "", "domain": " "})
    assert found[0].startswith("slipway:cpu: ''\n    is blank") and "fix: slipway:cpu: 256" in found[0]
    assert found[1].startswith("slipway:domain: ' '\n") and "fix: delete this line" in found[1]


def test_missing_environment_and_region_are_explained() -> None:
    with pytest.raises(ConfigError) as err:
        read("qa", {})
    assert "slipway:environment is not set" in str(err.value) and "fix: slipway:environment: dev" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load("dev", region=None)
    assert "aws:region is not set" in str(err.value) and "fix: aws:region: us-east-1" in str(err.value)


def test_fargate_8_and_16_vcpu_sizes_are_valid() -> None:
    assert (load("dev", cpu="8192", memory="16384").cpu, load("dev", cpu="16384", memory="122880").memory) == (
        8192,
        122880,
    )
    assert any("fix: slipway:memory: 32768" in p for p in problems("dev", cpu="16384", memory="30720"))


def test_config_error_is_a_pulumi_run_error_so_the_cli_prints_no_traceback() -> None:
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)


def test_tls_mode_follows_the_keys() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    assert tls_mode(load("dev", certificateArn=arn)) == "certificate"
    assert tls_mode(load("dev", domain="x.example.com", hostedZoneId="Z0123456789EXAMPLE0AB")) == "domain"
    assert tls_mode(load("dev")) == "self_signed"


# -- slipway:dbRestore (docs/recovery.md) -----------------------------------------------------------------------
def test_db_restore_takes_a_snapshot_or_a_point_in_time() -> None:
    snap = load(dbRestore={"snapshot": "slipway-prod-db-final-1a2b3c4d"}).db_restore
    assert snap.snapshot == "slipway-prod-db-final-1a2b3c4d" and snap.time is None
    latest = load(dbRestore='{"time": "latest"}').db_restore  # as Pulumi hands structured config: JSON text
    assert latest.time == "latest" and latest.keep_source is True
    gone = load(dbRestore={"time": "latest", "sourceIdentifier": "slipway-dev-db", "keepSource": False}).db_restore
    assert gone.source_identifier == "slipway-dev-db" and gone.keep_source is False
    point = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-80f5fbc6-2e1b-ed56-3cf0-71df898be9c6"
    assert load(dbRestore={"recoveryPoint": point}).db_restore.recovery_point == point  # a vault recovery point
    assert load().db_restore is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"time": "latest", "snapshot": "s"}, "exactly one of time"),
        ({"time": "2999-01-01T00:00:00Z"}, "in the future"),
        ({"time": "yesterday"}, "RFC 3339"),
        ({"time": "2020-01-01T00:00:00Z"}, "older than the 7-day backup retention"),
        ({"snapshot": "bad name!"}, "neither a snapshot identifier"),
        ({"snapshots": "s"}, "has no field snapshots"),
        ("latest", "must be a mapping"),
    ],
)
def test_a_bad_db_restore_is_refused_with_a_fix(value: object, reason: str) -> None:
    (problem,) = [p for p in problems(dbRestore=value) if p.startswith("slipway:dbRestore")]
    assert reason in problem and "dbRestore" in problem.split("\n    fix: ")[1], problem
