"""examples/reuse: another team's Pulumi Python project on the library (``from slipway_aws import WebApp``), planned
offline as its dev and prod stacks with ``slipway plan --cwd``."""

from __future__ import annotations

import ast
import functools
import io
import json
from pathlib import Path

import pytest

from slipway.mocks import physical_name
from slipway.offline import ResourceGraph, run_stack
from slipway.plan import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "reuse"


@functools.cache
def planned(stack: str) -> ResourceGraph:
    return run_stack(stack, root=EXAMPLE)


def physical_names(graph: ResourceGraph) -> set[tuple[str, str]]:
    return {(r.type, physical_name(r.type, r.name, r.inputs)) for r in graph.resources if r.custom}


def test_the_example_is_a_short_program_on_the_installed_name() -> None:
    source = (EXAMPLE / "__main__.py").read_text()
    tree = ast.parse(source)
    code_lines = {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    assert len(code_lines) <= 30
    assert "from slipway_aws import WebApp, WebAppArgs" in source and "components" not in source


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plans_a_whole_app(stack: str) -> None:
    graph = planned(stack)
    assert len(graph.resources) >= 30
    web = graph.one("aws:ecs/taskDefinition:TaskDefinition", "web-task")
    (container,) = web.json_input("containerDefinitions")
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["PORT"] == "8080" and env["SHOP_CURRENCY"] == "EUR" and env["DB_SSLMODE"] == "verify-full"
    assert {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"} <= set(env)
    secrets = {s["name"] for s in container["secrets"]}
    assert "SECRET_KEY" in secrets
    assert "DB_PASSWORD" in secrets or env.get("DB_IAM_AUTH") == "true"  # a password, or IAM tokens
    assert "healthCheck" not in container  # no Python (or shell) needed in the image: the ALB's check decides
    assert graph.one("aws:lb/targetGroup:TargetGroup").input("healthCheck", "path") == "/ready"
    migrate = graph.one("aws:ecs/taskDefinition:TaskDefinition", "migrate")
    assert migrate.json_input("containerDefinitions")[0]["command"] == ["/shop", "migrate"]
    assert graph.outputs["url"].startswith("https://")


def test_dev_and_prod_share_no_physical_name() -> None:
    dev, prod = physical_names(planned("dev")), physical_names(planned("prod"))
    assert len(dev) >= 30
    assert dev & prod == set()


def test_slipway_plan_cwd_prints_the_graph() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", "--cwd", str(EXAMPLE), "--stack", "prod", "--json"], out=out, err=err)
    assert code == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert doc["stack"] == "prod" and len(doc["resources"]) >= 30
    assert any(r["type"] == "slipway:aws:WebApp" and r["name"] == "shop" for r in doc["resources"])


def test_the_readme_reuse_example_runs_as_written() -> None:
    from slipway.offline import run_program

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Reuse it in your own stack") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    config = {
        "shop:environment": "dev",
        "shop:imageUri": "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "a" * 64,
        "shop:stripeSecretArn": "arn:aws:secretsmanager:eu-west-1:210987654321:secret:stripe-AbCdEf",
        "aws:region": "eu-west-1",
    }
    graph = run_program(lambda: exec(code, {}), stack="dev", config=config, project="shop")  # noqa: S102
    assert len(graph.resources) >= 30
    (container,) = graph.one("aws:ecs/taskDefinition:TaskDefinition", "web-task").json_input("containerDefinitions")
    assert {"STRIPE_KEY", "API_TOKEN"} <= {s["name"] for s in container["secrets"]}
