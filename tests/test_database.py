"""Database: private, encrypted, TLS-only PostgreSQL with backups; prod protected against loss."""

from __future__ import annotations

import json
import re

import pytest

from slipway.offline import ResourceGraph, run_program
from slipway_aws.database import Database, DatabaseArgs

DB = "aws:rds/instance:Instance"


def test_database_is_private_encrypted_and_tls_only(stack: ResourceGraph) -> None:
    db = stack.one(DB)
    assert db.input("publiclyAccessible") is False and db.input("storageEncrypted") is True
    assert db.input("engine") == "postgres" and db.input("engineVersion") == "17"
    assert db.input("storageType") == "gp3" and db.input("autoMinorVersionUpgrade") is True
    assert db.input("copyTagsToSnapshot") is True and db.input("performanceInsightsEnabled") is True
    assert db.input("manageMasterUserPassword") is True and db.input("password") is None, "no password in state"
    assert db.input("iamDatabaseAuthenticationEnabled") is True
    params = {p["name"]: p["value"] for p in stack.one("aws:rds/parameterGroup:ParameterGroup").input("parameters")}
    assert params["rds.force_ssl"] == "1"
    assert stack.one("aws:rds/parameterGroup:ParameterGroup").input("family") == "postgres17"


def test_backups_and_windows(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert dev.one(DB).input("backupRetentionPeriod") == 7
    assert prod.one(DB).input("backupRetentionPeriod") >= 14
    for graph in (dev, prod):
        db = graph.one(DB)
        assert db.input("backupWindow") == "03:00-04:00" and db.input("maintenanceWindow") == "sun:04:30-sun:05:30"


def test_prod_is_multi_az_protected_and_keeps_a_final_snapshot(prod: ResourceGraph) -> None:
    db = prod.one(DB)
    assert db.input("multiAz") is True and db.input("deletionProtection") is True
    assert db.input("skipFinalSnapshot") is False
    # Unique per instance: a fixed name fails the second deletion or replacement with DBSnapshotAlreadyExists.
    assert re.fullmatch(r"slipway-prod-db-final-[0-9a-f]{8}", db.input("finalSnapshotIdentifier"))
    suffix = prod.one("random:index/randomId:RandomId", "final-snapshot-suffix")
    assert suffix.input("keepers", "identifier") == db.input("identifier"), "a new instance identity, a new suffix"
    assert db.input("deleteAutomatedBackups") is False and db.input("applyImmediately") is False
    assert db.input("maxAllocatedStorage") == 500


def test_dev_is_disposable(dev: ResourceGraph) -> None:
    db = dev.one(DB)
    assert db.input("multiAz") is False and db.input("deletionProtection") is False
    assert db.input("skipFinalSnapshot") is True and db.input("finalSnapshotIdentifier") is None
    assert db.input("instanceClass") == "db.t4g.micro"


def test_subnet_group_uses_only_private_subnets(stack: ResourceGraph) -> None:
    group = stack.one("aws:rds/subnetGroup:SubnetGroup")
    subnets = [stack.get(u) for u in group.dependencies if stack.get(u).type == "aws:ec2/subnet:Subnet"]
    private = [s for s in stack.by_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    assert sorted(s.name for s in subnets) == sorted(s.name for s in private)
    assert len(group.input("subnetIds")) == len(private) >= 2


def test_instance_uses_its_own_subnet_group_and_parameter_group(stack: ResourceGraph) -> None:
    """Without dbSubnetGroupName the database would land in the default VPC; without the parameter group, no TLS."""
    db = stack.one("aws:rds/instance:Instance")
    assert db.input("dbSubnetGroupName") == stack.one("aws:rds/subnetGroup:SubnetGroup").outputs["name"]
    assert db.input("parameterGroupName") == stack.one("aws:rds/parameterGroup:ParameterGroup").outputs["name"]


def test_exported_rds_logs_expire_with_the_stack_retention(dev: ResourceGraph, prod: ResourceGraph) -> None:
    """RDS would create its export log groups with no expiry; ours exist first, named for the instance."""
    for graph, days in ((dev, 14), (prod, 90)):
        db = graph.one("aws:rds/instance:Instance")
        groups = [g for g in graph.by_type("aws:cloudwatch/logGroup:LogGroup") if "/aws/rds/" in g.input("name")]
        assert sorted(g.input("name") for g in groups) == sorted(
            f"/aws/rds/instance/{db.input('identifier')}/{kind}" for kind in db.input("enabledCloudwatchLogsExports")
        )
        assert all(g.input("retentionInDays") == days for g in groups)
        assert all(g.urn in db.dependencies for g in groups), "the instance must wait for its log groups"


def test_database_admits_only_its_client_group_on_5432(stack: ResourceGraph) -> None:
    rules = [
        r
        for r in stack.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.endswith("db-from-clients")
    ]
    (rule,) = rules
    assert (rule.input("fromPort"), rule.input("toPort"), rule.input("ipProtocol")) == (5432, 5432, "tcp")
    assert rule.input("referencedSecurityGroupId", default="").startswith("sg-") and rule.input("cidrIpv4") is None
    ingress_to_db = [
        r
        for r in stack.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.input("securityGroupId") == rule.input("securityGroupId")
    ]
    assert ingress_to_db == [rule]


def test_database_resource_is_pulumi_protected_when_deletion_protection_is_on() -> None:
    graph = run_program(lambda: Database("d", DatabaseArgs(vpc_id="vpc-1", subnet_ids=["a", "b"], password="p")))
    assert graph.one(DB).input("deletionProtection") is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backup_retention_days": 0}, "1 to 35"),
        ({"backup_retention_days": 40}, "1 to 35"),
        ({"allocated_storage_gb": 100, "max_allocated_storage_gb": 50}, "max_allocated_storage_gb"),
        ({"log_retention_days": 10}, "log_retention_days=10"),
    ],
)
def test_bad_args_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_program(lambda: Database("d", DatabaseArgs(vpc_id="v", subnet_ids=["a"], password="p", **kwargs)))  # type: ignore[arg-type]


def _standalone_db(**kwargs: object) -> ResourceGraph:
    return run_program(lambda: Database("t-db", DatabaseArgs(vpc_id="vpc-1", subnet_ids=["a", "b"], **kwargs)))


def test_by_default_rds_manages_and_rotates_the_master_password_and_clients_use_iam() -> None:
    """FSBP SecretsManager.1/.4 and RDS.10: no long-lived password in state, IAM database authentication."""
    db = _standalone_db().one("aws:rds/instance:Instance")
    assert db.input("manageMasterUserPassword") is True and db.input("password") is None
    assert db.input("iamDatabaseAuthenticationEnabled") is True


def test_enhanced_monitoring_publishes_with_its_own_role() -> None:
    """FSBP RDS.6: Enhanced Monitoring on, with a role only monitoring.rds.amazonaws.com can assume."""
    graph = _standalone_db()
    db = graph.one("aws:rds/instance:Instance")
    role = graph.one("aws:iam/role:Role", "monitoring")
    assert db.input("monitoringInterval") == 60 and db.input("monitoringRoleArn") == role.outputs["arn"]
    trust = json.loads(role.input("assumeRolePolicy"))
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "monitoring.rds.amazonaws.com"}]
    condition = trust["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": "123456789012"}, "confused deputy"
    assert condition["ArnLike"] == {"aws:SourceArn": "arn:aws:rds:us-east-1:123456789012:db:*"}
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "monitoring").input("policy"))
    resources = {st["Resource"] for st in policy["Statement"]}
    assert resources == {
        "arn:aws:logs:us-east-1:123456789012:log-group:RDSOSMetrics",
        "arn:aws:logs:us-east-1:123456789012:log-group:RDSOSMetrics:log-stream:*",
    }, "only the RDSOSMetrics group of this account and region"


def test_a_monitoring_interval_rds_does_not_accept_is_refused_before_any_resource() -> None:
    with pytest.raises(ValueError, match="monitoring_interval_seconds=45"):
        _standalone_db(monitoring_interval_seconds=45)
