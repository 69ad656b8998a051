"""StackConfig: profiles, overrides, and one clear error that names every bad key and its fix."""

from __future__ import annotations

import pytest

from components.config import PROFILES, ConfigError, StackConfig, _windows_disjoint


def load(env: str = "dev", region: str | None = "us-east-1", **values: object) -> StackConfig:
    base: dict[str, object] = {"environment": env}
    if env == "prod":
        base.update(domain="app.example.com", hostedZoneId="Z0123456789EXAMPLE0AB")
    base.update(values)
    return StackConfig.from_mapping(env, base, region=region)


def problems(env: str = "dev", **values: object) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(env, **values)
    return err.value.problems


def test_dev_profile_is_cheap_and_disposable() -> None:
    cfg = load("dev")
    assert (cfg.nat_strategy, cfg.az_count, cfg.db_multi_az, cfg.deletion_protection) == ("none", 2, False, False)
    assert (cfg.backup_retention_days, cfg.log_retention_days, cfg.fargate_spot) == (7, 14, True)
    assert cfg.tls_mode == "self_signed" and cfg.architecture == "arm64"


def test_prod_profile_is_highly_available_and_protected() -> None:
    cfg = load("prod")
    assert (cfg.nat_strategy, cfg.az_count, cfg.db_multi_az, cfg.deletion_protection) == ("per_az", 3, True, True)
    assert cfg.backup_retention_days >= 14 and cfg.log_retention_days >= 90 and cfg.min_tasks >= 2
    assert cfg.tls_mode == "domain" and not cfg.fargate_spot


def test_stack_values_override_the_profile_and_are_parsed() -> None:
    cfg = load("dev", azCount="3", natStrategy="single", fargateSpot=False, cpu=512, memory="2048")
    assert (cfg.az_count, cfg.nat_strategy, cfg.fargate_spot, cfg.cpu, cfg.memory) == (3, "single", False, 512, 2048)


def test_both_profiles_define_the_same_keys() -> None:
    assert set(PROFILES["dev"]) == set(PROFILES["prod"])


@pytest.mark.parametrize(
    ("env", "values", "key", "fix"),
    [
        (
            "prod",
            {"deletionProtection": "false"},
            "slipway:deletionProtection",
            "prod requires deletion_protection=true; set slipway:deletionProtection",
        ),
        ("dev", {"backupRetentionDays": "0"}, "slipway:backupRetentionDays", "between 1 and 35"),
        ("dev", {"backupRetentionDays": "36"}, "slipway:backupRetentionDays", "between 1 and 35"),
        ("prod", {"backupRetentionDays": "7"}, "slipway:backupRetentionDays", "at least 14 days"),
        ("dev", {"logRetentionDays": "10"}, "slipway:logRetentionDays", "CloudWatch only accepts"),
        ("prod", {"logRetentionDays": "30"}, "slipway:logRetentionDays", "at least 90 days"),
        ("dev", {"domain": "app.example.com"}, "slipway:domain", "needs slipway:hostedZoneId"),
        ("dev", {"hostedZoneId": "Z0123456789EXAMPLE0AB"}, "slipway:hostedZoneId", "set slipway:domain too"),
        ("dev", {"minTasks": "4", "maxTasks": "2"}, "slipway:minTasks", "must not exceed maxTasks"),
        ("prod", {"appName": "acme-payments"}, "slipway:appName", "AWS caps load balancer and target group names"),
        ("dev", {"webConcurrency": "4"}, "slipway:webConcurrency", "raise slipway:dbInstanceClass"),
        ("dev", {"vpcCidr": "10.0.0.0/33"}, "slipway:vpcCidr", "IPv4 CIDR block"),
        ("dev", {"vpcCidr": "8.8.0.0/16"}, "slipway:vpcCidr", "private IPv4 block"),
        ("dev", {"vpcCidr": "10.0.0.0/24"}, "slipway:vpcCidr", "/16 to /20"),
        ("dev", {"natStrategy": "nat"}, "slipway:natStrategy", "one of: none, single, per_az"),
        ("dev", {"azCount": "1"}, "slipway:azCount", "between 2 and 6"),
        ("dev", {"azCount": "three"}, "slipway:azCount", "whole number"),
        ("dev", {"cpu": "300"}, "slipway:cpu", "Fargate CPU size"),
        ("dev", {"cpu": "256", "memory": "4096"}, "slipway:memory", "with cpu=256 Fargate allows"),
        ("dev", {"fargateSpot": "yes"}, "slipway:fargateSpot", "true or false"),
        ("dev", {"tlsPolicy": "ELBSecurityPolicy-2016-08"}, "slipway:tlsPolicy", "TLS 1.3 policy"),
        ("dev", {"backupWindow": "3am"}, "slipway:backupWindow", "hh24:mi-hh24:mi"),
        (
            "dev",
            {"backupWindow": "04:00-05:00", "maintenanceWindow": "sun:04:30-sun:05:30"},
            "slipway:maintenanceWindow",
            "must not overlap backupWindow",
        ),
        (
            "dev",
            {"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"},
            "slipway:certificateArn",
            "its own region",
        ),
        ("dev", {"imageUri": "repo:latest"}, "slipway:imageUri", "must pin a digest"),
        (
            "dev",
            {"dbMaxAllocatedStorageGb": "20", "dbAllocatedStorageGb": "50"},
            "slipway:dbMaxAllocatedStorageGb",
            "autoscaling ceiling",
        ),
        ("prod", {"dbMultiAz": "false"}, "slipway:dbMultiAz", "Multi-AZ"),
        ("prod", {"natStrategy": "none"}, "slipway:natStrategy", "private subnets"),
        ("prod", {"minTasks": "1"}, "slipway:minTasks", "at least 2 tasks"),
        ("prod", {"domain": None, "hostedZoneId": None}, "slipway:domain", "trusted certificate"),
        ("prod", {"fargateSpot": "true"}, "slipway:fargateSpot", "Fargate Spot"),
        ("dev", {"appName": "Bad_Name"}, "slipway:appName", "lowercase"),
        ("dev", {"healthCheckPath": "healthz"}, "slipway:healthCheckPath", "absolute URL path"),
        ("dev", {"alarmEmail": "nobody"}, "slipway:alarmEmail", "e-mail address"),
        ("dev", {"natStratgy": "none"}, "slipway:natStratgy", "unknown key"),
    ],
)
def test_bad_config_names_the_key_and_the_fix(env: str, values: dict[str, object], key: str, fix: str) -> None:
    values = {k: v for k, v in values.items() if v is not None} if env == "dev" else values
    if env == "prod":
        base = {"environment": env, "domain": "app.example.com", "hostedZoneId": "Z0123456789EXAMPLE0AB", **values}
        with pytest.raises(ConfigError) as err:
            StackConfig.from_mapping(env, {k: v for k, v in base.items() if v is not None}, region="us-east-1")
        found = err.value.problems
    else:
        found = problems(env, **values)
    matching = [p for p in found if p.startswith(f"{key} = ")]
    assert matching, found
    assert any(fix in p for p in matching), matching


def test_every_problem_is_reported_at_once() -> None:
    found = problems("prod", deletionProtection="false", azCount="x", natStrategy="nat", logRetentionDays="13")
    keys = {p.split(" = ")[0] for p in found}
    assert {"slipway:deletionProtection", "slipway:azCount", "slipway:natStrategy", "slipway:logRetentionDays"} <= keys
    with pytest.raises(ConfigError) as err:
        load("prod", deletionProtection="false", azCount="x")
    assert "2 problem(s)" in str(err.value) or "problem(s)" in str(err.value)
    assert str(err.value).count("\n  - ") == len(err.value.problems)


def test_missing_environment_and_region_are_explained() -> None:
    with pytest.raises(ConfigError) as err:
        StackConfig.from_mapping("qa", {}, region="us-east-1")
    assert "slipway:environment" in str(err.value) and "dev or prod" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load("dev", region=None)
    assert "aws:region" in str(err.value) and "pulumi config set aws:region" in str(err.value)


def test_config_error_is_a_pulumi_run_error_so_the_cli_prints_no_traceback() -> None:
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)


@pytest.mark.parametrize(
    ("backup", "maintenance", "disjoint"),
    [
        ("03:00-04:00", "sun:04:30-sun:05:30", True),
        ("03:00-04:00", "sun:03:30-sun:04:30", False),
        ("23:30-00:30", "mon:00:00-mon:01:00", False),
        ("23:30-00:30", "mon:01:00-mon:02:00", True),
    ],
)
def test_backup_and_maintenance_windows_overlap_check(backup: str, maintenance: str, disjoint: bool) -> None:
    assert _windows_disjoint(backup, maintenance) is disjoint


def test_tls_mode_follows_the_keys() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    assert load("dev", certificateArn=arn).tls_mode == "certificate"
    assert load("dev", domain="x.example.com", hostedZoneId="Z0123456789EXAMPLE0AB").tls_mode == "domain"
    assert load("dev").tls_mode == "self_signed"
