"""Every policy rule: a compliant and a violating resource; the real stacks: prod clean, dev only its trade-offs;
the Pulumi pack wraps the same rules with the right enforcement per environment."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from slipway.offline import SecretValue
from slipway_policy import rules
from slipway_policy.rules import ADVISORY, DEV_TRADE_OFFS, MANDATORY, RULES, RULES_BY_ID, evaluate

HTTPS = {
    "protocol": "HTTPS",
    "port": 443,
    "certificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
    "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=31536000; includeSubDomains",
    "routingHttpResponseXContentTypeOptionsHeaderValue": "nosniff",
    "routingHttpResponseXFrameOptionsHeaderValue": "DENY",
}
REDIRECT = {
    "protocol": "HTTP",
    "port": 80,
    "defaultActions": [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ],
}
ALB = {
    "loadBalancerType": "application",
    "dropInvalidHeaderFields": True,
    "enableDeletionProtection": True,
    "accessLogs": {"enabled": True, "bucket": "logs"},
}
RDS = {
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "final",
    "multiAz": True,
    "copyTagsToSnapshot": True,
    "autoMinorVersionUpgrade": True,
    "performanceInsightsEnabled": True,
    "monitoringInterval": 60,
    "monitoringRoleArn": "arn:aws:iam::1:role/monitoring",
    "iamDatabaseAuthenticationEnabled": True,
    "manageMasterUserPassword": True,
}
CONTAINER = {
    "name": "app",
    "image": "1.dkr.ecr.us-east-1.amazonaws.com/r@sha256:" + "a" * 64,
    "user": "10001:10001",
    "readonlyRootFilesystem": True,
    "environment": [{"name": "LOG_LEVEL", "value": "INFO"}],
    "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}],
}
SERVICE = {
    "networkConfiguration": {"assignPublicIp": False},
    "capacityProviderStrategies": [{"capacityProvider": "FARGATE", "weight": 1}],
}


def taskdef(**container: Any) -> dict[str, Any]:
    return {"containerDefinitions": json.dumps([{**CONTAINER, **container}])}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


ALLOW_ALL = {"ruleNo": 100, "action": "allow", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlock": "0.0.0.0/0"}
ADMIN_DENIES = [
    {"ruleNo": 10 + i, "action": "deny", "protocol": "tcp", "fromPort": p, "toPort": p, "cidrBlock": "0.0.0.0/0"}
    for i, p in enumerate((22, 3389))
]


def trust(condition: dict[str, str] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = {"StringEquals": condition}
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


SECRET_READ = {
    "Sid": "Read",
    "Effect": "Allow",
    "Action": ["secretsmanager:GetSecretValue"],
    "Resource": ["arn:aws:secretsmanager:us-east-1:1:secret:db-abc"],
}

# rule id -> (type, compliant inputs, violating inputs)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "alb-https-tls-policy": (rules.T_LISTENER, HTTPS, {**HTTPS, "sslPolicy": "ELBSecurityPolicy-2016-08"}),
    "alb-http-redirects-https": (
        rules.T_LISTENER,
        REDIRECT,
        {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]},
    ),
    "alb-drop-invalid-headers": (rules.T_LB, ALB, {**ALB, "dropInvalidHeaderFields": False}),
    "alb-deletion-protection": (rules.T_LB, ALB, {**ALB, "enableDeletionProtection": False}),
    "alb-security-headers": (rules.T_LISTENER, HTTPS, {**HTTPS, "routingHttpResponseXFrameOptionsHeaderValue": None}),
    "alb-access-logs": (rules.T_LB, ALB, {k: v for k, v in ALB.items() if k != "accessLogs"}),
    "s3-block-public-access": (
        rules.T_BUCKET_PAB,
        dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True),
        {"blockPublicAcls": True},
    ),
    "s3-deny-insecure-transport": (
        rules.T_BUCKET_POLICY,
        policy(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
        policy({"Effect": "Allow", "Principal": {"AWS": "x"}, "Action": "s3:PutObject", "Resource": "*"}),
    ),
    "s3-default-encryption": (
        rules.T_BUCKET_SSE,
        {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        {"rules": []},
    ),
    "ecs-no-public-ip": (rules.T_SERVICE, SERVICE, {**SERVICE, "networkConfiguration": {"assignPublicIp": True}}),
    "ecs-on-demand-capacity": (
        rules.T_SERVICE,
        SERVICE,
        {**SERVICE, "capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
    ),
    "ecs-non-root": (rules.T_TASKDEF, taskdef(), taskdef(user="root")),
    "ecs-not-privileged": (rules.T_TASKDEF, taskdef(), taskdef(privileged=True)),
    "rds-enhanced-monitoring": (rules.T_RDS, RDS, {**RDS, "monitoringInterval": 0}),
    "rds-iam-authentication": (rules.T_RDS, RDS, {**RDS, "iamDatabaseAuthenticationEnabled": False}),
    "rds-managed-master-password": (
        rules.T_RDS,
        RDS,
        {**RDS, "manageMasterUserPassword": None, "password": SecretValue("hunter2")},
    ),
    "nacl-no-admin-ports": (
        rules.T_DEFAULT_ACL,
        {"ingress": [*ADMIN_DENIES, ALLOW_ALL]},
        {"ingress": [ALLOW_ALL, *[{**d, "ruleNo": d["ruleNo"] + 200} for d in ADMIN_DENIES]]},
    ),
    "iam-trust-confused-deputy": (rules.T_ROLE, trust({"aws:SourceAccount": "1"}), trust(None)),
    "kms-cloudwatch-grant-scoped": (
        rules.T_KMS,
        policy(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": "1"},
                    "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:1:alarm:*"},
                },
            }
        ),
        policy(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
            }
        ),
    ),
    "ecs-readonly-root-fs": (rules.T_TASKDEF, taskdef(), taskdef(readonlyRootFilesystem=False)),
    "ecs-secrets-value-from": (
        rules.T_TASKDEF,
        taskdef(),
        taskdef(environment=[{"name": "DB_PASSWORD", "value": "hunter2"}]),
    ),
    "ecs-image-by-digest": (rules.T_TASKDEF, taskdef(), taskdef(image="1.dkr.ecr.us-east-1.amazonaws.com/r:latest")),
    "ecs-container-insights": (
        rules.T_CLUSTER,
        {"settings": [{"name": "containerInsights", "value": "enabled"}]},
        {"settings": []},
    ),
    "prod-always-awake": (
        rules.T_SCHEDULED_ACTION,
        {"schedule": "cron(15 7 ? * MON-FRI *)", "scalableTargetAction": {"minCapacity": 1, "maxCapacity": 2}},
        {"schedule": "cron(0 20 ? * MON-FRI *)", "scalableTargetAction": {"minCapacity": 0, "maxCapacity": 0}},
    ),
    "iam-secrets-exact-arns": (rules.T_ROLE_POLICY, policy(SECRET_READ), policy({**SECRET_READ, "Resource": "*"})),
    "iam-least-privilege": (
        rules.T_ROLE_POLICY,
        policy(SECRET_READ, {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}),
        policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    ),
    "sg-public-ingress-web-only": (
        rules.T_SG_IN,
        {"cidrIpv4": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp"},
        {"cidrIpv4": "0.0.0.0/0", "fromPort": 5432, "toPort": 5432, "ipProtocol": "tcp"},
    ),
    "vpc-default-sg-closed": (
        rules.T_DEFAULT_SG,
        {"ingress": [], "egress": []},
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]},
    ),
    "vpc-subnet-no-auto-public-ip": (rules.T_SUBNET, {"mapPublicIpOnLaunch": False}, {"mapPublicIpOnLaunch": True}),
    "tls-trusted-certificate": (
        "aws:acm/certificate:Certificate",
        {"domainName": "app.example.com"},
        {"subject": {"commonName": "x.invalid"}},
    ),
    "rds-not-public": (rules.T_RDS, RDS, {**RDS, "publiclyAccessible": True}),
    "rds-storage-encrypted": (rules.T_RDS, RDS, {**RDS, "storageEncrypted": False}),
    "rds-force-ssl": (
        rules.T_PARAMS,
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "1"}]},
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "0"}]},
    ),
    "rds-backup-retention": (rules.T_RDS, {**RDS, "backupRetentionPeriod": 7}, {**RDS, "backupRetentionPeriod": 1}),
    "rds-backup-retention-prod": (rules.T_RDS, RDS, {**RDS, "backupRetentionPeriod": 7}),
    "rds-deletion-protection": (rules.T_RDS, RDS, {**RDS, "deletionProtection": False}),
    "rds-final-snapshot": (rules.T_RDS, RDS, {**RDS, "skipFinalSnapshot": True}),
    "rds-multi-az": (rules.T_RDS, RDS, {**RDS, "multiAz": False}),
    "rds-copy-tags-to-snapshots": (rules.T_RDS, RDS, {**RDS, "copyTagsToSnapshot": False}),
    "rds-auto-minor-upgrades": (rules.T_RDS, RDS, {**RDS, "autoMinorVersionUpgrade": False}),
    "rds-performance-insights": (rules.T_RDS, RDS, {**RDS, "performanceInsightsEnabled": False}),
    "ecr-immutable-tags": (rules.T_ECR, {"imageTagMutability": "IMMUTABLE"}, {"imageTagMutability": "MUTABLE"}),
    "ecr-scan-on-push": (rules.T_ECR, {"imageScanningConfiguration": {"scanOnPush": True}}, {}),
    "ecr-lifecycle-policy": (
        rules.T_ECR_LIFECYCLE,
        {
            "policy": json.dumps(
                {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged"}, "action": {"type": "expire"}}]}
            )
        },
        {"policy": json.dumps({"rules": []})},
    ),
    "logs-finite-retention": (rules.T_LOGS, {"retentionInDays": 14}, {"name": "/forever"}),
    "logs-retention-prod": (rules.T_LOGS, {"retentionInDays": 90}, {"retentionInDays": 14}),
}
VAULT_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Resource": "*",
    "Action": list(rules.VAULT_DENIED),
}
CASES["backup-vault-policy-denies-deletes"] = (
    rules.T_VAULT_POLICY,
    {"policy": json.dumps({"Statement": [VAULT_DENY]})},
    # a deny scoped to one role is not "no one": a compromised deploy role is another principal
    {"policy": json.dumps({"Statement": [{**VAULT_DENY, "Principal": {"AWS": "arn:aws:iam::1:role/ops"}}]})},
)
CASES["backup-vault-lock-retention"] = (rules.T_VAULT_LOCK, {"minRetentionDays": 7}, {"maxRetentionDays": 365})
CASES["backup-vault-lock-compliance"] = (
    rules.T_VAULT_LOCK,
    {"changeableForDays": 3, "minRetentionDays": 35},
    {"minRetentionDays": 35},
)
CASES["backup-plan-cross-region-copy"] = (
    rules.T_BACKUP_PLAN,
    {
        "rules": [
            {"ruleName": "daily", "copyActions": [{"destinationVaultArn": "arn:aws:backup:us-west-2:1:backup-vault:v"}]}
        ]
    },
    {"rules": [{"ruleName": "daily"}]},
)
# the self-signed certificate rule fires on the tls provider's resource itself
CASES["tls-trusted-certificate"] = (rules.T_SELF_SIGNED, {}, {"subject": {"commonName": "x.invalid"}})


def test_every_rule_has_a_case_and_metadata() -> None:
    assert set(CASES) == set(RULES_BY_ID), "add a compliant and a violating case for each rule"
    for rule in RULES:
        assert rule.description and rule.remediation and rule.applies_to
        assert rule.level("prod") == MANDATORY, rule.id
        assert rule.level("dev") in (MANDATORY, ADVISORY)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_compliant_and_violating(rule_id: str) -> None:
    rule = RULES_BY_ID[rule_id]
    type_, good, bad = CASES[rule_id]
    if rule_id == "tls-trusted-certificate":  # any self-signed cert violates; a CA-issued one is another type
        assert rule.check("aws:acm/certificate:Certificate", {"domainName": "app.example.com"}) == []
    else:
        assert rule.check(type_, good) == [], f"{rule_id} flagged a compliant resource"
    violations = rule.check(type_, bad)
    assert violations and all(isinstance(v, str) and v for v in violations)


def test_rules_ignore_other_types_and_unwrap_secrets() -> None:
    assert RULES_BY_ID["rds-multi-az"].check(rules.T_LB, {"multiAz": False}) == []
    assert RULES_BY_ID["rds-multi-az"].check(rules.T_RDS, {"multiAz": SecretValue(True)}) == []
    assert RULES_BY_ID["rds-multi-az"].check(rules.T_RDS, {"multiAz": SecretValue(False)})


def test_fsbp_controls_cited() -> None:
    cited = {r.id: r.fsbp for r in RULES if r.fsbp}
    assert cited["alb-http-redirects-https"] == "ELB.1"
    assert cited["rds-storage-encrypted"] == "RDS.3"
    assert cited["ecr-immutable-tags"] == "ECR.2"
    assert cited["ecs-secrets-value-from"] == "ECS.8"


def test_dev_relaxes_only_the_documented_trade_offs() -> None:
    assert DEV_TRADE_OFFS == {
        "ecs-no-public-ip",
        "rds-multi-az",
        "rds-deletion-protection",
        "rds-final-snapshot",
        "alb-deletion-protection",
        "tls-trusted-certificate",
        "alb-access-logs",
        "ecs-on-demand-capacity",
        "rds-backup-retention-prod",
        "logs-retention-prod",
        "backup-vault-lock-compliance",
        "backup-plan-cross-region-copy",
        "ecs-container-insights",
        "prod-always-awake",
    }


def test_prod_stack_has_no_findings(prod) -> None:  # noqa: ANN001
    findings = evaluate(prod.resources, "prod")
    assert [f for f in findings if f.mandatory] == []
    assert findings == []


def test_dev_stack_lists_only_its_trade_offs(dev) -> None:  # noqa: ANN001
    findings = evaluate(dev.resources, "dev")
    assert findings and all(f.level == ADVISORY for f in findings)
    assert {f.rule for f in findings} == DEV_TRADE_OFFS


def test_dev_graph_held_to_prod_levels_fails(dev) -> None:  # noqa: ANN001
    mandatory = {f.rule for f in evaluate(dev.resources, "prod") if f.mandatory}
    assert {"rds-multi-az", "ecs-no-public-ip"} <= mandatory


def test_evaluate_reads_json_documents(dev) -> None:  # noqa: ANN001
    doc = dev.to_json()
    assert {f.rule for f in evaluate(doc["resources"], "dev")} == DEV_TRADE_OFFS


def test_unknown_environment_is_held_to_prod() -> None:
    assert rules.environment_for("staging") == "prod"
    assert rules.environment_for("feature-x", "dev") == "dev"


# -- the Pulumi policy pack ------------------------------------------------------------------------------------
def _pack():  # noqa: ANN202
    import slipway_policy.__main__ as pack

    return pack


def _validate(policy_obj, type_: str, props: dict[str, Any]) -> list[str]:  # noqa: ANN001
    reported: list[str] = []
    args = ResourceValidationArgs(
        type_, unknown_checking_proxy(props), "urn:pulumi:prod::slipway::t::n", "n", None, None
    )  # type: ignore[arg-type]
    policy_obj.validate(args, lambda message, urn=None: reported.append(message))
    return reported


def test_pack_enforcement_per_environment() -> None:
    pack = _pack()
    prod = {p.name: p for p in pack.build_policies("prod")}
    dev = {p.name: p for p in pack.build_policies("dev")}
    assert set(prod) == set(RULES_BY_ID) | {r.id for r in rules.STACK_RULES}
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in prod.values())
    assert dev["rds-multi-az"].enforcement_level == EnforcementLevel.ADVISORY
    assert dev["rds-storage-encrypted"].enforcement_level == EnforcementLevel.MANDATORY
    assert prod["rds-storage-encrypted"].framework.reference == "RDS.3"


def test_pack_environment_from_stack_config_and_name() -> None:
    pack = _pack()
    assert pack.environment_from({"PULUMI_STACK": "dev"}) == "dev"
    assert pack.environment_from({"PULUMI_STACK": "pr-42", "PULUMI_CONFIG": '{"slipway:environment": "dev"}'}) == "dev"
    assert pack.environment_from({"PULUMI_STACK": "prod"}) == "prod"
    assert pack.environment_from({}) == "prod"


@pytest.mark.parametrize("rule_id", ["rds-multi-az", "ecs-secrets-value-from", "alb-http-redirects-https"])
def test_pack_validates_props_like_the_offline_plan(rule_id: str) -> None:
    policies = {p.name: p for p in _pack().build_policies("prod")}
    type_, good, bad = CASES[rule_id]
    assert _validate(policies[rule_id], type_, good) == []
    reported = _validate(policies[rule_id], type_, bad)
    assert reported and RULES_BY_ID[rule_id].remediation in reported[0]


# -- stack rules: properties of the whole graph ------------------------------------------------------------------
def _graph(*resources: tuple[str, str, list[str]]) -> list[dict[str, Any]]:
    return [{"type": t, "urn": u, "name": u, "inputs": {}, "dependencies": d} for t, u, d in resources]


@pytest.mark.parametrize(
    ("rule_id", "kind"),
    [
        ("vpc-flow-logs", "aws:ec2/flowLog:FlowLog"),
        ("vpc-default-acl-managed", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"),
    ],
)
def test_stack_rules_want_each_vpc_covered(rule_id: str, kind: str) -> None:
    rule = next(r for r in rules.STACK_RULES if r.id == rule_id)
    covered = _graph(("aws:ec2/vpc:Vpc", "vpc", []), (kind, "x", ["vpc"]))
    bare = _graph(("aws:ec2/vpc:Vpc", "vpc", []), ("aws:ec2/vpc:Vpc", "other", []), (kind, "x", ["vpc"]))
    assert rule.check(covered) == []
    assert [(r["urn"], bool(m)) for r, m in rule.check(bare)] == [("other", True)]
    assert rule.fsbp in ("EC2.6", "EC2.21") and rule.level("prod") == MANDATORY


def test_pack_runs_stack_rules_over_the_stacks_resources() -> None:
    from pulumi_policy.policy import PolicyResource, StackValidationArgs

    policies = {p.name: p for p in _pack().build_policies("prod")}
    vpc = PolicyResource("aws:ec2/vpc:Vpc", {}, "urn:vpc", "vpc", None, None, None, [], {})  # type: ignore[arg-type]
    reported: list[tuple[str, str]] = []
    args = StackValidationArgs([vpc], None)  # type: ignore[arg-type]
    policies["vpc-flow-logs"].validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported and reported[0][1] == "urn:vpc" and "Fix:" in reported[0][0]


def test_privileged_is_ecs4_and_non_root_claims_no_control() -> None:
    assert RULES_BY_ID["ecs-not-privileged"].fsbp == "ECS.4"
    assert RULES_BY_ID["ecs-non-root"].fsbp is None


def test_every_vault_needs_its_lock_and_policy() -> None:
    rule = next(r for r in rules.STACK_RULES if r.id == "backup-vault-locked-and-guarded")
    guarded = _graph((rules.T_VAULT, "v", []), (rules.T_VAULT_LOCK, "l", ["v"]), (rules.T_VAULT_POLICY, "p", ["v"]))
    assert rule.check(guarded) == []
    unlocked = _graph((rules.T_VAULT, "v", []), (rules.T_VAULT_POLICY, "p", ["v"]), (rules.T_VAULT_LOCK, "l", ["w"]))
    assert [(r["urn"], m) for r, m in rule.check(unlocked)] == [("v", "no VaultLockConfiguration of this vault")]


def test_the_database_must_be_selected_by_a_backup_plan() -> None:
    rule = next(r for r in rules.STACK_RULES if r.id == "rds-in-locked-backup-plan")
    assert rule.check(_graph((rules.T_RDS, "db", []), (rules.T_BACKUP_SELECTION, "s", ["db"]))) == []
    # after a restore the kept original has its own backups: one selected instance is enough
    restored = _graph((rules.T_RDS, "db", []), (rules.T_RDS, "db-rp", []), (rules.T_BACKUP_SELECTION, "s", ["db-rp"]))
    assert rule.check(restored) == []
    assert [r["urn"] for r, _ in rule.check(_graph((rules.T_RDS, "db", []), (rules.T_BACKUP_SELECTION, "s", [])))] == [
        "db"
    ]
    assert rule.check(_graph((rules.T_VPC, "vpc", []))) == [], "no database, nothing to back up"


def test_findings_name_the_projects_own_key_and_the_webappargs_field() -> None:
    from slipway_aws.config import stack_keys
    from slipway_policy.rules import RULES, in_project

    urn = "urn:pulumi:dev::shop::slipway:aws:WebApp$aws:lb/loadBalancer:LoadBalancer::shop-dev-web-alb"
    assert in_project("set slipway:deletionProtection=true", urn) == (
        "set shop:deletionProtection (WebAppArgs.deletion_protection)=true"
    )
    fields = stack_keys()
    for r in RULES:
        for key in re.findall(r"\bslipway:([a-zA-Z]+)", r.remediation):
            assert key in fields, f"{r.id} names slipway:{key}, which is no stack key"
            assert f"(WebAppArgs.{fields[key]})" in in_project(r.remediation, urn), r.id
