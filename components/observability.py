"""Observability: the alarms that page people, the SNS topic they publish to, and one dashboard.

Every alarm notifies on ALARM and on OK (so the pager also hears "resolved"). Thresholds are deliberately few and
actionable: users see errors (5xx rate), users wait (p95 latency), capacity is missing (unhealthy hosts, running
tasks below desired), a resource is saturated (ECS CPU/memory, RDS CPU, connections, free storage).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields
from .naming import stack_scoped

# Memory (GiB) of common Graviton/Intel classes; RDS PostgreSQL's default max_connections is
# LEAST(DBInstanceClassMemory / 9531392, 5000).
_CLASS_MEMORY_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64}


def default_max_connections(instance_class: str) -> int:
    """RDS PostgreSQL's default ``max_connections`` for a burstable/general class (approximate)."""
    size = instance_class.rsplit(".", 1)[-1]
    memory_gib = _CLASS_MEMORY_GIB.get(size, 4)
    return min(int(memory_gib * 1024**3 * 0.9 / 9531392), 5000)  # ~10 % of memory is reserved by the OS


@document_fields
@dataclass(frozen=True)
class ObservabilityArgs:
    alb_arn_suffix: pulumi.Input[str]
    """``WebService.alb_arn_suffix``. Required."""
    target_group_arn_suffix: pulumi.Input[str]
    """``WebService.target_group_arn_suffix``. Required."""
    cluster_name: pulumi.Input[str]
    """ECS cluster name. Required."""
    service_name: pulumi.Input[str]
    """ECS service name. Required."""
    db_identifier: pulumi.Input[str]
    """RDS instance identifier. Required."""
    db_instance_class: str = "db.t4g.micro"
    """Sizes the connections alarm (80 % of the class's default max_connections). Default db.t4g.micro."""
    db_allocated_storage_gb: int = 20
    """Initial storage allocation; sizes the free-storage alarm's floor (half the autoscaling trigger). Default 20."""
    alarm_email: Optional[str] = None
    """E-mail subscribed to the alarm topic (must confirm the subscription). Default None."""
    error_rate_percent: float = 5.0
    """5xx responses as % of requests, over 3 of 5 minutes. Default 5."""
    p95_latency_seconds: float = 1.0
    """Target p95 response time. Default 1 s."""
    key_deletion_window_days: int = 30
    """Waiting period before the topic's KMS key is deleted after a destroy (7..30). Default 30."""
    container_insights: bool = True
    """The cluster has Container Insights, so the running-tasks alarm compares its desired and running task counts.
    Default True; False: the alarm watches the load balancer's healthy targets (``HealthyHostCount``) instead."""
    sleeps: bool = False
    """The stack sleeps outside its awake hours (``components/sleep.py``): the database publishes no metrics while
    stopped and the service runs no task, so no alarm treats missing data as breaching, and the running-tasks alarm
    fires only when requests arrive. Default False."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _observability_args(self)


# RDS storage autoscaling grows the volume when free space stays below 10 % of the *current* allocation, and then
# waits at least six hours (or until storage optimization ends) before it may grow it again. CloudWatch has no
# per-instance allocated-storage metric, so "10 % of allocated" cannot be computed once storage has grown; a static
# 10 % of the initial size fires exactly when autoscaling starts and means nothing after. The alarm instead pages
# when autoscaling cannot help: free space below a floor under every autoscaling trigger (half the trigger at the
# initial, smallest, size), or free space that the current usage rate exhausts within the six hours autoscaling
# may have to wait. Both hold at any allocated size up to the ceiling.
STORAGE_RUNWAY_SECONDS = 6 * 3600
UNSERVED_EXPRESSION = "IF(FILL(requests, 0) > 0 AND FILL(healthy, 0) < 1, 1, 0)"
"""Metric math, 1 in a minute when requests arrived and no target was healthy (IF, FILL, AND and the comparisons are
metric math functions and operators an alarm may use, "Metric math syntax and functions")."""


def metric_query(
    mid: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, Any],
    stat: str,
    period: int = 60,
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """One metric of a metric-math alarm, not returned itself (the expression is)."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=mid,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace, metric_name=metric_name, dimensions=dimensions, period=period, stat=stat
        ),
    )


def expression_query(mid: str, label: str, expression: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """The alarm's returned metric-math expression."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(id=mid, label=label, return_data=True, expression=expression)


def storage_floor_bytes(allocated_storage_gb: int) -> int:
    """Free-space floor: half the autoscaling trigger (10 % of allocated) at the initial allocation."""
    return int(allocated_storage_gb * 1024**3 * 0.05)


def storage_at_risk_expression(free: str, floor_bytes: int) -> str:
    """Metric math, 1 when storage is at risk: below the floor, or projected empty within the runway. ``RATE`` is
    the change per second between consecutive datapoints (negative while space is being used); IF, OR and the
    comparisons are metric math functions and operators an alarm may use ("Metric math syntax and functions",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html)."""
    return f"IF({free} < {floor_bytes} OR {free} + {STORAGE_RUNWAY_SECONDS} * RATE({free}) < 0, 1, 0)"


def alarm_key_policy(account_id: str, region: str = "*") -> str:
    """Key policy: the account administers the key (IAM decides who); CloudWatch alarms of this account and region
    may use it to publish to the encrypted topic (SNS's own delivery, e-mail included, needs no grant). The
    ``aws:SourceArn`` condition limits the grant to alarms, not any CloudWatch feature acting for the account."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:*"},
                    },
                },
            ],
        }
    )


class Observability(pulumi.ComponentResource):
    """Outputs: ``topic_arn``, ``alarm_names``, ``dashboard_name``."""

    topic_arn: pulumi.Output[str]
    alarm_names: list[str]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:Observability", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        # Encrypted with a key of our own: CloudWatch cannot use the AWS managed alias/aws/sns key (its policy cannot
        # be changed), so alarms on a topic encrypted with it never publish and nobody is paged.
        key = aws.kms.Key(
            f"{name}-alarms-key",
            description=f"{name}: encrypts the alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=pulumi.Output.all(
                aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id,
                aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region,
            ).apply(lambda parts: alarm_key_policy(parts[0], parts[1])),
            tags=dict(args.tags),
            opts=self._child,
        )
        topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=key.arn, tags=dict(args.tags), opts=self._child)
        if args.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-alarm-email", topic=topic.arn, protocol="email", endpoint=args.alarm_email, opts=self._child
            )
        self._topic = topic
        self.alarm_names = []
        self._alb_alarms()
        self._ecs_alarms()
        self._rds_alarms()
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{stack_scoped(name)}-overview",
            # PutDashboard refuses a metric widget without a region; the provider's region is where the metrics are.
            dashboard_body=pulumi.Output.all(
                args.alb_arn_suffix,
                args.target_group_arn_suffix,
                args.cluster_name,
                args.service_name,
                args.db_identifier,
                aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region,
            ).apply(lambda a: dashboard_json(*a)),
            opts=self._child,
        )
        self.topic_arn = topic.arn
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"topic_arn": self.topic_arn, "dashboard_name": self.dashboard_name})

    def _alarm(self, key: str, description: str, **kwargs: Any) -> None:
        name = f"{self._name}-{key}"
        aws.cloudwatch.MetricAlarm(
            name,
            name=f"{stack_scoped(self._name)}-{key}",
            alarm_description=description,
            alarm_actions=[self._topic.arn],
            ok_actions=[self._topic.arn],
            tags=dict(self._args.tags),
            opts=self._child,
            **kwargs,
        )
        self.alarm_names.append(f"{stack_scoped(self._name)}-{key}")

    def _alb_alarms(self) -> None:
        a = self._args
        lb = {"LoadBalancer": a.alb_arn_suffix}
        tg = {"LoadBalancer": a.alb_arn_suffix, "TargetGroup": a.target_group_arn_suffix}

        def metric(mid: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return metric_query(mid, "AWS/ApplicationELB", metric_name, lb, "Sum")

        self._alarm(
            "alb-5xx-rate",
            f"More than {a.error_rate_percent}% of requests answered 5xx",
            comparison_operator="GreaterThanThreshold",
            threshold=a.error_rate_percent,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
            metric_queries=[
                metric("target5xx", "HTTPCode_Target_5XX_Count"),
                metric("elb5xx", "HTTPCode_ELB_5XX_Count"),
                metric("requests", "RequestCount"),
                expression_query(
                    "rate", "5xx %", "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)"
                ),
            ],
        )
        self._alarm(
            "p95-latency",
            f"Target p95 response time above {a.p95_latency_seconds}s",
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=tg,
            extended_statistic="p95",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            threshold=a.p95_latency_seconds,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
        self._alarm(
            "unhealthy-hosts",
            "A target failed its health checks for 3 minutes",
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            dimensions=tg,
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )

    def _ecs_alarms(self) -> None:
        a = self._args
        svc = {"ClusterName": a.cluster_name, "ServiceName": a.service_name}
        for metric_name, key in (("CPUUtilization", "ecs-cpu"), ("MemoryUtilization", "ecs-memory")):
            self._alarm(
                key,
                f"Service {metric_name} above 85% for 5 minutes",
                namespace="AWS/ECS",
                metric_name=metric_name,
                dimensions=svc,
                statistic="Average",
                period=60,
                evaluation_periods=5,
                threshold=85,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
            )

        if not a.container_insights:
            self._healthy_targets_alarm()
            return
        self._alarm(
            "tasks-below-desired",
            "Running tasks stayed below the desired count for 5 minutes",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=5,
            # asleep, desired and running are 0 (or not published): missing data is not a missing task
            treat_missing_data="notBreaching" if a.sleeps else "breaching",
            metric_queries=[
                metric_query("desired", "ECS/ContainerInsights", "DesiredTaskCount", svc, "Average"),
                metric_query("running", "ECS/ContainerInsights", "RunningTaskCount", svc, "Average"),
                expression_query("missing", "tasks missing", "desired - running"),
            ],
        )

    def _healthy_targets_alarm(self) -> None:
        """Without Container Insights ECS publishes no task counts (AWS/ECS has CPU and memory only): the load
        balancer's ``HealthyHostCount`` of the service's target group says whether any task serves."""
        a = self._args
        tg = {"LoadBalancer": a.alb_arn_suffix, "TargetGroup": a.target_group_arn_suffix}
        if not a.sleeps:
            self._alarm(
                "no-healthy-task",
                "No task of the service was healthy for 5 minutes",
                namespace="AWS/ApplicationELB",
                metric_name="HealthyHostCount",
                dimensions=tg,
                statistic="Minimum",
                period=60,
                evaluation_periods=5,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="breaching",
            )
            return

        # Asleep there is no task by design: only requests that find no healthy task (each gets a 503) count.
        self._alarm(
            "no-healthy-task",
            "Requests arrived while no task was healthy, in 3 of 5 minutes (outside awake hours: dev is asleep)",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
            metric_queries=[
                metric_query("requests", "AWS/ApplicationELB", "RequestCount", tg, "Sum"),
                metric_query("healthy", "AWS/ApplicationELB", "HealthyHostCount", tg, "Minimum"),
                expression_query("unserved", "requests without a healthy task", UNSERVED_EXPRESSION),
            ],
        )

    def _rds_missing(self) -> str:
        """No RDS metric while the instance is stopped: a sleeping stack's database alarms take that as fine (an
        instance that is down while awake then shows on the service's alarms, not these)."""
        return "notBreaching" if self._args.sleeps else "breaching"

    def _rds_alarms(self) -> None:
        a = self._args
        db = {"DBInstanceIdentifier": a.db_identifier}
        common = {
            "namespace": "AWS/RDS",
            "dimensions": db,
            "statistic": "Average",
            "period": 300,
            "evaluation_periods": 3,
            "treat_missing_data": self._rds_missing(),
        }
        connections = int(default_max_connections(a.db_instance_class) * 0.8)
        self._alarm(
            "rds-cpu",
            "Database CPU above 80% for 15 minutes",
            metric_name="CPUUtilization",
            threshold=80,
            comparison_operator="GreaterThanThreshold",
            **common,
        )
        floor = storage_floor_bytes(a.db_allocated_storage_gb)
        self._alarm(
            "rds-free-storage",
            f"Database storage runs out: free space below {floor / 1024**3:g} GiB, or used fast enough to be "
            f"exhausted within {STORAGE_RUNWAY_SECONDS // 3600} hours (longer than storage autoscaling may wait)",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data=self._rds_missing(),
            metric_queries=[
                metric_query("free", "AWS/RDS", "FreeStorageSpace", db, "Minimum", period=300),
                expression_query("atrisk", "storage at risk", storage_at_risk_expression("free", floor)),
            ],
        )
        self._alarm(
            "rds-connections",
            f"Database connections above {connections} (80% of max_connections)",
            metric_name="DatabaseConnections",
            threshold=connections,
            comparison_operator="GreaterThanThreshold",
            **common,
        )


def dashboard_json(alb: str, tg: str, cluster: str, service: str, db: str, region: str) -> str:
    """The dashboard body (CloudWatch "Dashboard Body Structure and Syntax"): every metric widget names its
    ``region``, which PutDashboard requires."""

    def widget(title: str, metrics: list[list[Any]], stat: str = "Average") -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "metrics": metrics,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
            },
        }

    elb = "AWS/ApplicationELB"
    return json.dumps(
        {
            "widgets": [
                widget(
                    "Requests and 5xx",
                    [
                        [elb, "RequestCount", "LoadBalancer", alb],
                        [elb, "HTTPCode_Target_5XX_Count", "LoadBalancer", alb],
                        [elb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb],
                    ],
                    "Sum",
                ),
                widget(
                    "Target p95 latency", [[elb, "TargetResponseTime", "LoadBalancer", alb, "TargetGroup", tg]], "p95"
                ),
                widget(
                    "ECS CPU / memory",
                    [
                        ["AWS/ECS", "CPUUtilization", "ClusterName", cluster, "ServiceName", service],
                        ["AWS/ECS", "MemoryUtilization", "ClusterName", cluster, "ServiceName", service],
                    ],
                ),
                widget(
                    "RDS",
                    [
                        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db],
                        ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db],
                    ],
                ),
            ]
        }
    )


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _observability_args(args: ObservabilityArgs) -> None:
    from .validation import EMAIL, INSTANCE_CLASS, Checks, plain

    c = Checks()
    if plain(args.key_deletion_window_days) and not 7 <= args.key_deletion_window_days <= 30:
        c.bad(
            "key_deletion_window_days",
            args.key_deletion_window_days,
            "KMS allows 7..30 days",
            ("key_deletion_window_days", 30),
        )
    c.matches("alarm_email", args.alarm_email, EMAIL, "an e-mail address", "oncall@example.com")
    c.matches("db_instance_class", args.db_instance_class, INSTANCE_CLASS, "an RDS instance class", "db.t4g.micro")
    if plain(args.error_rate_percent) and not 0 < args.error_rate_percent <= 100:
        c.bad(
            "error_rate_percent",
            args.error_rate_percent,
            "must be above 0 and at most 100",
            ("error_rate_percent", 5.0),
        )
    if plain(args.p95_latency_seconds) and args.p95_latency_seconds <= 0:
        c.bad("p95_latency_seconds", args.p95_latency_seconds, "must be above 0", ("p95_latency_seconds", 1.0))
    c.int_range("db_allocated_storage_gb", args.db_allocated_storage_gb, 20, 65536, "GiB")
    c.raise_for("ObservabilityArgs")
