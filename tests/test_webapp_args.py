"""Issue 19: WebAppArgs checks every field at construction, all at once, in its own names, and every fix it prints is
itself valid; its knobs are the stack file's keys, and every knob reaches a component."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from slipway.offline import run_program
from slipway_aws.config import ConfigError, from_mapping
from slipway_aws.knobs import knobs
from slipway_aws.validation import ArgsError, Problem
from slipway_aws.webapp import WebApp, WebAppArgs

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop"
IMAGE = f"{ECR}@sha256:{'4f' * 32}"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
DEV: dict[str, Any] = {"image_uri": IMAGE, "profile": "dev"}
PROD: dict[str, Any] = {"image_uri": IMAGE, "profile": "prod", "certificate_arn": CERT}


def problems(**kwargs: Any) -> list[Problem]:
    with pytest.raises(ArgsError) as err:
        WebAppArgs(**kwargs)
    assert err.value.owner == "WebAppArgs"
    return err.value.problems


def test_done_when_three_problems_are_one_error_in_webappargs_names_before_any_resource() -> None:
    with pytest.raises(ArgsError) as err:
        run_program(
            lambda: WebApp("shop", WebAppArgs(image_uri=f"{ECR}:latest", vpc_cidr="10.0.0.0/24", cpu=1024, memory=1024))
        )
    assert err.value.resources_registered == 0  # type: ignore[attr-defined]
    assert {"image_uri", "vpc_cidr", "memory"} <= {p.field for p in err.value.problems}
    text = str(err.value)
    assert text.startswith("WebAppArgs: ") and "cidr_block" not in text and "WebServiceArgs" not in text
    assert "aws ecr describe-images --repository-name shop --image-ids imageTag=latest" in text


def test_done_when_amd64_suggests_x86_64_in_python_and_in_the_stack_file() -> None:
    (problem,) = problems(**DEV, architecture="amd64")
    assert problem.fixes == (("architecture", "x86_64"),)
    with pytest.raises(ConfigError) as err:
        from_mapping(
            "dev", {"environment": "dev", "architecture": "amd64", "imageUri": IMAGE}, {"aws:region": "us-east-1"}
        )
    assert "fix: slipway:architecture: x86_64" in str(err.value)


# Wrong inputs and, for each, the fields its problems must name.
BAD: list[tuple[dict[str, Any], set[str]]] = [
    ({"architecture": "amd64"}, {"architecture"}),
    ({"container_port": "9000"}, {"container_port"}),
    ({"cpu": "512", "memory": 1024}, {"cpu"}),
    ({"cpu": 300}, {"cpu"}),
    ({"cpu": 256, "memory": 4096}, {"memory"}),
    ({"memory": "1024"}, {"memory"}),
    ({"vpc_cidr": "10.0.0.0/24"}, {"vpc_cidr"}),
    ({"vpc_cidr": "10.20.1.0/16"}, {"vpc_cidr"}),
    ({"env": {"PORT": "9000", "MODE": 3, "ok": True}}, {"env"}),
    ({"tags": {"team": 7}}, {"tags"}),
    ({"region": "eu-north-3"}, {"region"}),
    ({"db_backup_copy_region": "us-west-9"}, {"db_backup_copy_region"}),
    ({"nat_strategy": "perAz"}, {"nat_strategy"}),
    ({"min_tasks": 5, "max_tasks": 2}, {"min_tasks"}),
    ({"az_count": 1}, {"az_count"}),
    ({"log_retention_days": 10}, {"log_retention_days"}),
    ({"log_retention_days": "14"}, {"log_retention_days"}),
    ({"db_engine_version": "16.3"}, {"db_engine_version"}),
    ({"backup_window": "04:00-05:00"}, {"maintenance_window"}),
    ({"app_name": "Bad_Name"}, {"app_name"}),
    ({"fargate_spot": "yes"}, {"fargate_spot"}),
    ({"web_concurrency": 8}, {"web_concurrency"}),
    ({"log_level": "info"}, {"log_level"}),
    ({"health_check_grace_period_seconds": 900}, {"health_check_grace_period_seconds"}),
    ({"hosted_zone_id": "Z0ABC"}, {"hosted_zone_id"}),
    ({"build_context": "app"}, {"build_context"}),
    ({"migration_command": "app migrate"}, {"migration_command"}),
    (
        {"profile": "prod", "certificate_arn": CERT, "deletion_protection": False, "min_tasks": 1},
        {"deletion_protection", "min_tasks"},
    ),
    ({"cpuu": 512}, {"cpuu"}),
]


def apply(kwargs: dict[str, Any], problem: Problem, fix: Any) -> dict[str, Any]:
    """``kwargs`` with one printed fix applied (an unknown keyword is replaced by the field it meant)."""
    out = {k: v for k, v in kwargs.items() if k != problem.field or problem.field in FIELDS}
    for field, value in fix if isinstance(fix, list) else [fix]:
        out[field] = value
    return out


FIELDS = {f.name for f in dataclasses.fields(WebAppArgs)}


@pytest.mark.parametrize(("bad", "named"), BAD, ids=[",".join(b) for b, _ in BAD])
def test_each_fix_printed_is_itself_valid(bad: dict[str, Any], named: set[str]) -> None:
    kwargs = {**DEV, **bad}
    found = problems(**kwargs)
    assert named <= {p.field for p in found}, found
    for problem in found:
        assert problem.fixes, problem
        for fix in problem.fixes:
            text = str(fix)
            assert "0" * 64 not in text and "EXAMPLE" not in text, "no made-up id or digest as a fix"
            if isinstance(fix, str):  # a sentence: where to find the real value
                continue
            fixed = apply(kwargs, problem, fix)
            try:
                WebAppArgs(**fixed)
            except ArgsError as err:
                touched = {f for f, _ in (fix if isinstance(fix, list) else [fix])}
                left = [p for p in err.problems if p.field in touched]
                assert not left, f"applying {fix} left {left}"


WEIRD: list[Any] = [None, "", " ", "x", -1, 0, 3.5, True, [], ["x"], {}, {"x": 1}, object(), b"bytes", 10**12]


def test_no_input_however_wrong_ends_in_a_traceback() -> None:
    """Every field with every kind of wrong value: either valid or an ArgsError, never another exception."""
    for f in dataclasses.fields(WebAppArgs):
        for value in WEIRD:
            try:
                WebAppArgs(**{**DEV, f.name: value})
            except ArgsError:
                pass
    for value in WEIRD[1:]:
        with pytest.raises(ArgsError):
            WebAppArgs(**DEV, no_such_field=value)


def test_an_unknown_keyword_is_an_args_error_with_did_you_mean() -> None:
    (problem,) = problems(**DEV, min_task=2)
    assert problem.reason == "WebAppArgs has no field min_task; did you mean min_tasks?"
    assert problem.fixes == (("min_tasks", 2),)
    assert isinstance(ArgsError("x", []), ValueError)


def test_profiles_apply_to_every_knob() -> None:
    """health_check_grace_period_seconds once ignored its profile; now every knob left None takes it."""
    for profile, base in (("dev", DEV), ("prod", PROD)):
        resolved = WebAppArgs(**base).resolved()
        for name, spec in knobs(WebAppArgs).items():
            if name not in base:
                assert getattr(resolved, name) == spec.default(profile), name


class _Tracked(WebAppArgs):
    """Records which fields WebApp reads once the args are resolved (the values it hands to its children)."""

    read: set[str] = set()  # noqa: RUF012

    def __getattribute__(self, name: str) -> Any:
        if object.__getattribute__(self, "__dict__").get("_tracking"):
            _Tracked.read.add(name)
        return super().__getattribute__(name)

    def resolved(self) -> WebAppArgs:
        out = super().resolved()
        object.__setattr__(out, "_tracking", True)
        return out


@pytest.mark.parametrize("base", [DEV, PROD], ids=["dev", "prod"])
def test_every_knob_is_used_by_the_component(base: dict[str, Any]) -> None:
    """A knob that is read from the stack file but that WebApp never hands on fails here."""
    _Tracked.read = set()
    run_program(lambda: WebApp("shop", _Tracked(**base, web_concurrency=2, log_level="INFO")))
    unused = set(knobs(WebAppArgs)) - _Tracked.read
    assert not unused, f"knobs WebApp never reads: {sorted(unused)}"


def test_the_stack_file_reaches_the_component_and_changes_the_graph() -> None:
    """A knob set in the stack file is the value in the graph (no relay in __main__.py to forget)."""
    args = from_mapping(
        "dev",
        {"environment": "dev", "imageUri": IMAGE, "healthCheckGracePeriodSeconds": "45", "minTasks": "2"},
        {"aws:region": "us-east-1"},
    )
    graph = run_program(lambda: WebApp("shop", args))
    service = graph.one("aws:ecs/service:Service")
    assert service.input("healthCheckGracePeriodSeconds") == 45 and service.input("desiredCount") == 2


def test_health_check_interval_is_a_stack_key_within_the_elbv2_range() -> None:
    import botocore.session

    limits = botocore.session.get_session().get_service_model("elbv2").shape_for("CreateTargetGroupInput")
    spec = knobs(WebAppArgs)["health_check_interval_seconds"]
    allowed = limits.members["HealthCheckIntervalSeconds"].metadata
    assert allowed["min"] <= spec.lo and spec.hi == allowed["max"]
    values = {"environment": "dev", "imageUri": IMAGE, "healthCheckIntervalSeconds": "20"}
    args = from_mapping("dev", values, {"aws:region": "us-east-1"})
    target_group = run_program(lambda: WebApp("shop", args)).one("aws:lb/targetGroup:TargetGroup")
    assert target_group.input("healthCheck", "interval") == 20
    with pytest.raises(ConfigError, match="slipway:healthCheckIntervalSeconds: 5\n    must be from 6 to 300"):
        from_mapping("dev", {**values, "healthCheckIntervalSeconds": "5"}, {"aws:region": "us-east-1"})
