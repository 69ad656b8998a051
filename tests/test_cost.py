"""The cost estimate: every priced type against a hand-computed value, a pinned small graph, the dev budget."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slipway import cost
from slipway.cost import PRICERS, CostError, assumptions_for, estimate, load_prices, render_text


def res(type_: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:t::slipway::{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": None,
        "inputs": inputs,
        "dependencies": [],
    }


TASKDEF = res(
    "aws:ecs/taskDefinition:TaskDefinition",
    "td",
    family="web",
    cpu="1024",
    memory="2048",
    runtimePlatform={"cpuArchitecture": "X86_64"},
)
ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"

# type -> (resources of the graph, the resource priced, expected monthly USD at hours=730 and the overrides below)
OVERRIDES = {
    "hours": 730,
    "alb_lcu": 1,
    "nat_gb": 20,
    "log_gb": 2,
    "db_log_gb": 0.5,
    "ecr_gb": 3,
    "s3_gb": 10,
    "insights_metrics": 10,
    "db_backup_copy_gb": 50,
    "db_backup_transfer_gb": 30,
}
NAT = [res("aws:ec2/natGateway:NatGateway", f"nat-{i}") for i in range(2)]
CASES: dict[str, tuple[list[dict[str, Any]], float]] = {
    # 730 h x $0.045 + (20 GB / 2 NATs) x $0.045
    "aws:ec2/natGateway:NatGateway": (NAT, 32.85 + 0.45),
    "aws:ec2/eip:Eip": ([res("aws:ec2/eip:Eip", "eip")], 3.65),
    # 730 x ($0.0225 + 1 LCU x $0.008) + 2 AZs x 730 x $0.005
    "aws:lb/loadBalancer:LoadBalancer": (
        [res("aws:lb/loadBalancer:LoadBalancer", "alb", subnets=["a", "b"])],
        22.27 + 7.30,
    ),
    # 2 tasks x 730 h x (1 vCPU x $0.04048 + 2 GB x $0.004445)
    "aws:ecs/service:Service": (
        [
            res(
                "aws:ecs/service:Service",
                "svc",
                taskDefinition=ARN,
                desiredCount=2,
                capacityProviderStrategies=[{"capacityProvider": "FARGATE"}],
            ),
            TASKDEF,
        ],
        72.08,
    ),
    # (730 x $0.065 + 50 GB x $0.115) x 2 for Multi-AZ
    "aws:rds/instance:Instance": (
        [res("aws:rds/instance:Instance", "db", instanceClass="db.t4g.medium", allocatedStorage=50, multiAz=True)],
        106.40,
    ),
    # backups in the second region: 50 GB x $0.095 stored + 30 GB x $0.02 copied
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (
        [
            res(
                "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
                "copy",
                region="us-west-2",
            )
        ],
        5.35,
    ),
    "aws:secretsmanager/secret:Secret": ([res("aws:secretsmanager/secret:Secret", "s")], 0.40),
    "aws:kms/key:Key": ([res("aws:kms/key:Key", "k")], 1.00),
    # 2 GB x $0.50 ingested + 2 GB x 90/30 stored x $0.03
    "aws:cloudwatch/logGroup:LogGroup": ([res("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=90)], 1.18),
    # metric-math alarm over 3 metrics x $0.10
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        [
            res(
                "aws:cloudwatch/metricAlarm:MetricAlarm",
                "a",
                metricQueries=[
                    {"id": "a", "metric": {"metricName": "x"}},
                    {"id": "b", "metric": {"metricName": "y"}},
                    {"id": "c", "metric": {"metricName": "z"}},
                    {"id": "e", "expression": "a+b+c"},
                ],
            )
        ],
        0.30,
    ),
    "aws:cloudwatch/dashboard:Dashboard": ([res("aws:cloudwatch/dashboard:Dashboard", "d")], 3.00),
    # Container Insights: 10 metrics x $0.30
    "aws:ecs/cluster:Cluster": (
        [res("aws:ecs/cluster:Cluster", "c", settings=[{"name": "containerInsights", "value": "enabled"}])],
        3.00,
    ),
    "aws:ecr/repository:Repository": ([res("aws:ecr/repository:Repository", "r")], 0.30),
    "aws:s3/bucket:Bucket": ([res("aws:s3/bucket:Bucket", "b")], 0.23),
    # a copy vault in the second region: 5 GB x $0.095 stored + 5 GB x $0.02 copied (default usage)
    "aws:backup/vault:Vault": ([res("aws:backup/vault:Vault", "v", region="us-west-2")], 0.575),
}


def test_every_priced_type_has_a_case() -> None:
    assert set(CASES) == set(PRICERS)


@pytest.mark.parametrize("type_", sorted(CASES))
def test_priced_type(type_: str) -> None:
    resources, expected = CASES[type_]
    est = estimate(resources, "t", region="us-east-1", overrides=OVERRIDES)
    item = next(i for i in est.items if i.type == type_)
    assert item.monthly == pytest.approx(expected, abs=0.011)
    assert item.detail


def test_rds_export_log_groups_are_priced_at_their_own_volume() -> None:
    """0.5 GB x $0.50 ingested + 0.5 GB x 90/30 stored x $0.03 = $0.295, not the app's 2 GB."""
    group = res("aws:cloudwatch/logGroup:LogGroup", "pg", retentionInDays=90)
    group["inputs"]["name"] = "/aws/rds/instance/db/postgresql"
    est = estimate([group], "t", region="us-east-1", overrides=OVERRIDES)
    assert est.total == pytest.approx(0.295, abs=0.011)  # totals are rounded to cents


def test_the_master_secret_rds_manages_is_billed_as_a_secret(dev, prod) -> None:  # noqa: ANN001
    """manage_master_user_password: RDS keeps the password in a Secrets Manager secret, billed as any secret."""
    plain = res("aws:rds/instance:Instance", "db", instanceClass="db.t4g.micro", allocatedStorage=20)
    managed = res("aws:rds/instance:Instance", "db", instanceClass="db.t4g.micro", allocatedStorage=20)
    managed["inputs"]["manageMasterUserPassword"] = True
    price = load_prices()["regions"]["us-east-1"]["secret_month"]
    totals = [estimate([r], "t", region="us-east-1").total for r in (plain, managed)]
    assert totals[1] - totals[0] == pytest.approx(price, abs=0.011)
    for graph in (dev, prod):  # both stacks' databases manage it (WebAppArgs.db_app_role)
        (item,) = [i for i in estimate(graph.resources, graph.stack).items if i.type == "aws:rds/instance:Instance"]
        assert "RDS-managed master secret" in item.detail


def test_spot_public_ip_and_arm() -> None:
    td = res(
        "aws:ecs/taskDefinition:TaskDefinition",
        "td",
        family="web",
        cpu="256",
        memory="512",
        runtimePlatform={"cpuArchitecture": "ARM64"},
    )
    svc = res(
        "aws:ecs/service:Service",
        "svc",
        taskDefinition=ARN,
        desiredCount=1,
        networkConfiguration={"assignPublicIp": True},
        capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT"}],
    )
    item = estimate([svc, td], "t", region="us-east-1", overrides={"hours": 730}).items[0]
    # 730 x (0.25 x 0.03238 + 0.5 x 0.00356) x 0.30 + 730 x 0.005
    assert item.monthly == pytest.approx(730 * (0.25 * 0.03238 + 0.5 * 0.00356) * 0.30 + 3.65, abs=0.01)


def test_small_graph_pinned_to_hand_computed_total() -> None:
    parent = res("slipway:aws:Web", "web")
    graph = [
        parent,
        {**res("aws:lb/loadBalancer:LoadBalancer", "alb", subnets=["a", "b"]), "parent": parent["urn"]},
        res("aws:ecs/service:Service", "svc", taskDefinition=ARN, desiredCount=2),
        TASKDEF,
        res("aws:rds/instance:Instance", "db", instanceClass="db.t4g.micro", allocatedStorage=20, multiAz=False),
        res("aws:secretsmanager/secret:Secret", "s"),
        res("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=30),
        res("aws:ec2/vpc:Vpc", "vpc"),
        res("aws:elasticache/cluster:Cluster", "cache"),
    ]
    est = estimate(graph, "t", region="us-east-1", overrides={"hours": 100, "alb_lcu": 1, "log_gb": 2})
    # ALB 100 x (0.0225 + 0.008) + 2 x 100 x 0.005 = 4.05
    # Fargate 2 x 100 x (1 x 0.04048 + 2 x 0.004445) = 9.874 -> 9.87
    # RDS 100 x 0.016 + 20 x 0.115 = 3.90; secret 0.40; logs 2 x 0.50 + 2 x 30/30 x 0.03 = 1.06
    assert est.total == pytest.approx(19.28, abs=0.001)
    assert [u.type for u in est.unpriced] == ["aws:elasticache/cluster:Cluster"]
    assert est.free == 2  # the vpc and the task definition; the component is neither priced nor unpriced
    assert "aws:elasticache/cluster:Cluster" in render_text(est)


def test_unknown_instance_class_is_listed_not_dropped() -> None:
    est = estimate([res("aws:rds/instance:Instance", "db", instanceClass="db.x99.huge")], "t", region="us-east-1")
    assert est.total == 0 and est.unpriced[0].name == "db" and "db.x99.huge" in est.unpriced[0].reason


def test_assumptions_defaults_overrides_and_errors() -> None:
    assert assumptions_for("dev")["hours"] == 730
    assert assumptions_for("prod")["nat_gb"] > assumptions_for("dev")["nat_gb"]
    assert assumptions_for("dev", {"log_gb": "5"})["log_gb"] == 5
    with pytest.raises(CostError, match="unknown assumption 'lcu'"):
        assumptions_for("dev", {"lcu": "1"})
    with pytest.raises(CostError, match="not a number"):
        assumptions_for("dev", {"hours": "many"})
    with pytest.raises(CostError, match="key=value"):
        cost.parse_assumptions(["hours"])


def test_a_region_without_a_table_still_estimates_and_names_each_missing_figure() -> None:
    """No table for the region: the all-regions rates still price (a KMS key), every other resource is listed
    unpriced with the figure it needs; nothing raises, so the plan always prints."""
    graph = [res("aws:kms/key:Key", "key"), res("aws:ec2/natGateway:NatGateway", "nat")]
    est = estimate(graph, "t", region="af-south-1", overrides={"hours": 730})
    assert [(i.name, i.monthly) for i in est.items] == [("key", 1.0)]
    assert [(u.name, u.reason) for u in est.unpriced] == [
        ("nat", "prices.json has no af-south-1 price for nat_gateway_hour")
    ]
    report = render_text(est)
    assert "af-south-1" in report and "+ 1 unpriced resource(s)" in report and "nat_gateway_hour" in report


def test_eu_central_1_prices_fargate_from_its_own_table_and_names_the_rest() -> None:
    svc = res(
        "aws:ecs/service:Service",
        "svc",
        taskDefinition=ARN.replace("us-east-1", "eu-central-1"),
        desiredCount=1,
    )
    est = estimate([svc, TASKDEF], "t", region="eu-central-1", overrides={"hours": 730})
    assert est.items[0].monthly == round(730 * (1 * 0.04656 + 2 * 0.00511), 2)
    arm = {**TASKDEF, "inputs": {**TASKDEF["inputs"], "runtimePlatform": {"cpuArchitecture": "ARM64"}}}
    est = estimate([svc, arm], "t", region="eu-central-1", overrides={"hours": 730})
    assert est.items == [] and "eu-central-1 price for fargate_vcpu_hour.ARM64" in est.unpriced[0].reason


def test_price_table_is_dated_and_sourced() -> None:
    table = load_prices()
    assert table["date"] and table["source"] and "us-east-1" in table["regions"] and table["refresh"]
    assert set(table["regions"]) == set(table["region_sources"])
    assert set(table["all_regions"]) == set(table["all_regions_sources"])
    assert not set(table["all_regions"]) & {k for figures in table["regions"].values() for k in figures}
    assert set(table["usage_descriptions"]) == set(table["usage_defaults"]["*"])


def test_dev_bill_at_most_60_and_names_what_dominates(dev) -> None:  # noqa: ANN001
    est = estimate(dev.resources, "dev", region="us-east-1")
    assert 20 < est.total <= 60
    assert est.unpriced == []
    top = est.dominant(2)
    assert [i.type for i in top] == ["aws:lb/loadBalancer:LoadBalancer", "aws:rds/instance:Instance"]
    report = render_text(est)
    assert f"${est.total:,.2f}" in report and "dominated by: slipway-dev-web-alb" in report
    assert "assumptions" in report and "alb_lcu=0.2" in report and load_prices()["date"] in report


def test_prod_costs_more_and_nat_is_priced(prod) -> None:  # noqa: ANN001
    est = estimate(prod.resources, "prod", region="us-east-1")
    assert est.total > 200 and est.unpriced == []
    assert sum(1 for i in est.items if i.type == "aws:ec2/natGateway:NatGateway") == 3


def test_json_document_prices_like_the_graph(dev) -> None:  # noqa: ANN001
    doc = json.loads(json.dumps(dev.to_json(), default=str))
    assert estimate(doc["resources"], "dev").total == estimate(dev.resources, "dev", region="us-east-1").total
