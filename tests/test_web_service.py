"""WebService: TLS edge, hardened containers, fast and safe deploys, autoscaling."""

from __future__ import annotations

import json

import pytest

from slipway.offline import ResourceGraph, run_program
from slipway_aws.web_service import WebService, WebServiceArgs

LISTENER = "aws:lb/listener:Listener"
SERVICE = "aws:ecs/service:Service"
TG = "aws:lb/targetGroup:TargetGroup"
ALB = "aws:lb/loadBalancer:LoadBalancer"
SG_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"


def web_container(graph: ResourceGraph) -> dict:
    return json.loads(graph.one("aws:ecs/taskDefinition:TaskDefinition", "web").input("containerDefinitions"))[0]


def _id_of(graph: ResourceGraph, urn: str) -> str:
    """The mock id of a resource, as seen by resources that reference it."""
    from slipway.offline import fake_id

    resource = graph.get(urn)
    return f"sg-{fake_id(resource.type, resource.name)}"


def test_https_listener_uses_tls13_policy_and_injects_security_headers(stack: ResourceGraph) -> None:
    https = stack.one(LISTENER, "https")
    assert https.input("port") == 443 and https.input("protocol") == "HTTPS"
    assert https.input("sslPolicy").startswith("ELBSecurityPolicy-TLS13-")
    assert https.input("routingHttpResponseStrictTransportSecurityHeaderValue").startswith("max-age=31536000")
    assert https.input("routingHttpResponseXContentTypeOptionsHeaderValue") == "nosniff"
    assert https.input("routingHttpResponseXFrameOptionsHeaderValue") == "DENY"
    assert https.input("defaultActions", 0, "type") == "forward"


def test_http_listener_only_redirects_301_to_https(stack: ResourceGraph) -> None:
    (http,) = [r for r in stack.by_type(LISTENER) if r.name.endswith("-http")]
    (action,) = http.input("defaultActions")
    assert action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_alb_drops_invalid_headers_and_is_protected_in_prod(dev: ResourceGraph, prod: ResourceGraph) -> None:
    for graph in (dev, prod):
        alb = graph.one(ALB)
        assert alb.input("dropInvalidHeaderFields") is True and alb.input("internal") is False
        assert alb.input("desyncMitigationMode") == "strictest"
    assert prod.one(ALB).input("enableDeletionProtection") is True
    assert dev.one(ALB).input("enableDeletionProtection") is False


def test_prod_alb_writes_access_logs_to_an_encrypted_private_bucket(prod: ResourceGraph, dev: ResourceGraph) -> None:
    logs = prod.one(ALB).input("accessLogs")
    assert logs["enabled"] is True and logs["prefix"] == "alb"
    bucket = prod.one("aws:s3/bucket:Bucket")
    assert logs["bucket"] == bucket.outputs["bucket"]
    block = prod.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.input(k) is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.input("rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm") == "AES256"
    policy = json.loads(prod.one("aws:s3/bucketPolicy:BucketPolicy").input("policy"))
    assert {s["Sid"] for s in policy["Statement"]} == {"LogDeliveryService", "ElbLogDelivery", "DenyInsecureTransport"}
    assert dev.one(ALB).input("accessLogs") is None


def test_target_group_is_tuned_for_fast_deploys(stack: ResourceGraph) -> None:
    tg = stack.one(TG)
    assert tg.input("deregistrationDelay") <= 30 and tg.input("targetType") == "ip"
    check = tg.input("healthCheck")
    assert (check["interval"], check["healthyThreshold"], check["path"]) == (10, 2, "/healthz")
    assert check["timeout"] < check["interval"]


def test_service_rolls_out_safely(stack: ResourceGraph) -> None:
    service = stack.one(SERVICE)
    assert service.input("deploymentCircuitBreaker") == {"enable": True, "rollback": True}
    assert service.input("deploymentMinimumHealthyPercent") == 100
    assert service.input("deploymentMaximumPercent") == 200
    assert 0 < service.input("healthCheckGracePeriodSeconds") <= 60
    assert service.input("loadBalancers", 0, "containerName") == "app"
    assert service.input("loadBalancers", 0, "containerPort") == 8000


def test_tasks_run_private_in_prod_and_public_ip_only_without_nat(dev: ResourceGraph, prod: ResourceGraph) -> None:
    prod_net = prod.one(SERVICE).input("networkConfiguration")
    assert prod_net["assignPublicIp"] is False
    prod_subnets = {
        prod.get(u).name for u in prod.one(SERVICE).dependencies if prod.get(u).type == "aws:ec2/subnet:Subnet"
    }
    assert prod_subnets and all("private" in n for n in prod_subnets)
    assert dev.one(SERVICE).input("networkConfiguration")["assignPublicIp"] is True


def test_task_security_group_admits_only_the_alb(stack: ResourceGraph) -> None:
    task_sg, alb_sg = _id_of(stack, stack.one(SG, "web-task-sg").urn), _id_of(stack, stack.one(SG, "alb-sg").urn)
    into_tasks = [r for r in stack.by_type(SG_IN) if r.input("securityGroupId") == task_sg]
    assert len(into_tasks) == 1
    assert into_tasks[0].input("referencedSecurityGroupId") == alb_sg and into_tasks[0].input("cidrIpv4") is None
    assert into_tasks[0].input("fromPort") == into_tasks[0].input("toPort") == 8000
    assert task_sg in stack.one(SERVICE).input("networkConfiguration")["securityGroups"]


def test_container_is_hardened(stack: ResourceGraph) -> None:
    container = web_container(stack)
    assert container["user"] == "10001:10001" and container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert container["linuxParameters"]["initProcessEnabled"] is True and container["stopTimeout"] == 30
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert container["logConfiguration"]["options"]["awslogs-group"] == stack.outputs["log_group"]
    assert "127.0.0.1:8000/healthz" in " ".join(container["healthCheck"]["command"])
    task_def = stack.one("aws:ecs/taskDefinition:TaskDefinition", "web")
    assert task_def.input("volumes") == [{"name": "tmp"}] or task_def.input("volumes")[0]["name"] == "tmp"
    assert task_def.input("runtimePlatform")["cpuArchitecture"] == "ARM64"


def test_container_environment_points_at_the_database_over_tls(stack: ResourceGraph) -> None:
    env = {e["name"]: e["value"] for e in web_container(stack)["environment"]}
    db = stack.one("aws:rds/instance:Instance")
    assert env["DB_HOST"] == db.outputs["address"] and env["DB_PORT"] == "5432" and env["DB_SSLMODE"] == "verify-full"
    assert env["APP_ENV"] == stack.stack and env["PORT"] == "8000"


def test_autoscaling_on_cpu_and_requests_within_config_bounds(dev: ResourceGraph, prod: ResourceGraph) -> None:
    for graph, bounds in ((dev, (1, 2)), (prod, (2, 6))):
        target = graph.one("aws:appautoscaling/target:Target")
        assert (target.input("minCapacity"), target.input("maxCapacity")) == bounds
        kinds = {
            p.input("targetTrackingScalingPolicyConfiguration", "predefinedMetricSpecification", "predefinedMetricType")
            for p in graph.by_type("aws:appautoscaling/policy:Policy")
        }
        assert kinds == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
        assert graph.one(SERVICE).input("desiredCount") == bounds[0]


def test_dev_runs_on_spot_and_prod_on_regular_fargate(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert dev.one(SERVICE).input("capacityProviderStrategies", 0, "capacityProvider") == "FARGATE_SPOT"
    assert prod.one(SERVICE).input("capacityProviderStrategies", 0, "capacityProvider") == "FARGATE"
    for graph in (dev, prod):  # a capacity switch only moves running tasks with a forced new deployment
        assert graph.one("aws:ecs/service:Service").input("forceNewDeployment") is True


def test_container_insights_is_on_in_prod_and_off_in_dev_like_the_peers(
    dev: ResourceGraph, prod: ResourceGraph
) -> None:
    assert {"name": "containerInsights", "value": "enabled"} in prod.one("aws:ecs/cluster:Cluster").input("settings")
    assert {"name": "containerInsights", "value": "disabled"} in dev.one("aws:ecs/cluster:Cluster").input("settings")


def test_prod_domain_gets_an_alias_record_and_url(prod: ResourceGraph) -> None:
    alias = prod.one("aws:route53/record:Record", "web-alias")
    assert alias.input("name") == "app.example.com" and alias.input("type") == "A"
    assert prod.outputs["url"] == "https://app.example.com"


def _args(**overrides: object) -> WebServiceArgs:
    base: dict[str, object] = dict(
        cluster_arn="c",
        cluster_name="c",
        vpc_id="v",
        public_subnet_ids=["a", "b"],
        task_subnet_ids=["a"],
        image="r@sha256:" + "0" * 64,
        certificate_arn="arn",
        execution_role_arn="e",
        task_role_arn="t",
        log_group_name="l",
        region="us-east-1",
    )
    base.update(overrides)
    return WebServiceArgs(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_tasks": 5, "max_tasks": 2}, r"min_tasks=5: exceeds max_tasks \(2\)"),
        ({"tls_policy": "ELBSecurityPolicy-2016-08"}, "TLS 1.3 policy"),
        ({"architecture": "sparc"}, "architecture"),
    ],
)
def test_bad_args_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_program(lambda: WebService("w", _args(**overrides)))


def test_plain_env_and_secret_with_the_same_name_is_refused() -> None:
    with pytest.raises(ValueError, match="both as plain environment and as secrets"):
        run_program(lambda: WebService("w", _args(environment={"SECRET_KEY": "x"}, secrets={"SECRET_KEY": "arn"})))


def test_alb_log_delivery_principal_follows_the_region() -> None:
    """Regions opened since August 2022 have no ELB account: only the log-delivery service principal writes."""
    from slipway.offline import run_program
    from slipway_aws.access_logs import LOG_DELIVERY_SERVICE, AccessLogBucket, AccessLogBucketArgs

    def principals(region: str) -> list[dict]:
        graph = run_program(
            lambda: AccessLogBucket("logs", AccessLogBucketArgs(region=region)), config={"aws:region": region}
        )
        policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy").input("policy"))
        return [st["Principal"] for st in policy["Statement"] if st["Effect"] == "Allow"]

    assert {"Service": LOG_DELIVERY_SERVICE} in principals("eu-west-1")
    assert any("AWS" in p for p in principals("eu-west-1")), "legacy regions also grant their ELB account"
    assert principals("ap-southeast-4") == [{"Service": LOG_DELIVERY_SERVICE}]


def test_readyz_answers_within_the_target_groups_health_check_timeout(stack: ResourceGraph) -> None:
    """The app's /readyz budget is derived from the ALB's timeout it names; both must be the one the stack sets."""
    from slipway_app.api import ALB_HEALTH_CHECK_TIMEOUT_SECONDS, READYZ_TIMEOUT_SECONDS

    check = stack.one(TG).input("healthCheck")
    assert check["timeout"] == ALB_HEALTH_CHECK_TIMEOUT_SECONDS
    assert READYZ_TIMEOUT_SECONDS < check["timeout"]
