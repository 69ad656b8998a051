"""The plan diff: prod against dev, matched by URN with the stack normalised out, as Markdown."""

from __future__ import annotations

import json

import pytest

from slipway.cost import estimate
from slipway.diff import diff, render_markdown


@pytest.fixture(scope="module")
def docs(dev, prod):  # noqa: ANN001, ANN201
    return (json.loads(json.dumps(dev.to_json(), default=str)), json.loads(json.dumps(prod.to_json(), default=str)))


def test_prod_adds_nat_gateways_and_access_log_bucket(docs) -> None:  # noqa: ANN001
    d = diff(*docs)
    added = set(d.added_names())
    assert {"slipway-prod-net-nat-0", "slipway-prod-net-nat-1", "slipway-prod-net-nat-2"} <= added
    assert "slipway-prod-alb-logs-bucket" in added and "slipway-prod-net-private-2" in added
    assert "slipway-dev-self-signed" in d.removed_names()


def test_changed_inputs_of_the_database_and_service(docs) -> None:  # noqa: ANN001
    d = diff(*docs)
    db = {c.path: (c.before, c.after) for c in d.changed_resource("db-instance", "aws:rds/instance:Instance").changes}
    assert db["inputs.multiAz"] == (False, True)
    assert db["inputs.instanceClass"] == ("db.t4g.micro", "db.t4g.medium")
    assert db["inputs.backupRetentionPeriod"] == (7, 14)
    svc = {c.path for c in d.changed_resource("web-service").changes}
    assert "inputs.networkConfiguration.assignPublicIp" in svc
    task = {c.path: c.after for c in d.changed_resource("web-task").changes}
    assert task["inputs.cpu"] == "512"
    # generated ids and name suffixes that differ only by stack are not reported as changes
    assert not any("taskRoleArn" in p for p in task)
    assert "slipway-prod-net-vpc" in {c.name for c in d.changed}  # its CIDR differs
    cluster = [c.path for c in d.changed_resource("cluster", "aws:ecs/cluster:Cluster").changes]
    assert all(p.startswith("inputs.settings") for p in cluster), cluster  # only Container Insights (off in dev)


def test_same_plan_has_no_changes(docs) -> None:  # noqa: ANN001
    d = diff(docs[0], docs[0])
    assert d.empty and d.unchanged == len(docs[0]["resources"])
    assert "No changes." in render_markdown(d)


def test_input_path_inside_nested_and_json_inputs() -> None:
    base = {
        "stack": "s",
        "resources": [
            {
                "urn": "u1",
                "type": "t",
                "name": "tg",
                "inputs": {"healthCheck": {"interval": 30}, "containerDefinitions": json.dumps([{"cpu": 256}])},
            }
        ],
    }
    head = {
        "stack": "s",
        "resources": [
            {
                "urn": "u1",
                "type": "t",
                "name": "tg",
                "inputs": {"healthCheck": {"interval": 10}, "containerDefinitions": json.dumps([{"cpu": 512}])},
            }
        ],
    }
    paths = {c.path for c in diff(base, head).changed[0].changes}
    assert paths == {"inputs.healthCheck.interval", "inputs.containerDefinitions[0].cpu"}


def test_markdown_with_cost_delta(docs) -> None:  # noqa: ANN001
    base, head = docs
    b, h = estimate(base["resources"], "dev"), estimate(head["resources"], "prod")
    md = render_markdown(diff(base, head), b, h)
    assert md.startswith("### slipway plan: `prod` against `dev`")
    assert f"(+${h.total - b.total:,.2f})" in md
    assert "| `slipway-prod-net-nat-0` | `aws:ec2/natGateway:NatGateway` | +$" in md
    assert "`inputs.multiAz`: `false` → `true`" in md
