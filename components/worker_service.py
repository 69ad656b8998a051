"""WorkerService: a Fargate service that consumes an SQS queue (Copilot's "Worker Service").

- The queue and its dead-letter queue, both encrypted with SQS-managed keys (SSE-SQS); a message received
  ``max_receive_count`` times without being deleted moves to the dead-letter queue (``RedrivePolicy``), and only
  this queue may redrive into it (``RedriveAllowPolicy`` ``byQueue``). Long polling (20 s) on the queue.
- The worker's own task role may receive, delete and extend messages of exactly its queue; ``producer_role_arns``
  (e.g. the web service's task role) may send to it. The container gets ``QUEUE_URL``.
- Scaled on backlog per task: target tracking on the metric-math expression ``visible messages / running tasks``
  (``ApproximateNumberOfMessagesVisible`` of the queue over Container Insights' ``RunningTaskCount``), the approach
  of AWS's Application Auto Scaling guide "Create a target tracking scaling policy using metric math".
- Alarms: any message in the dead-letter queue; the oldest message older than ``max_message_age_seconds``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from .companion import CompanionArgs, CompanionParts, check_companion
from .docs import document_fields

# SQS limits (botocore sqs SetQueueAttributes documentation): visibility 0..43200 s, retention 60..1209600 s,
# maxReceiveCount 1..1000 (RedrivePolicy).
MAX_VISIBILITY_SECONDS = 43_200
MAX_RETENTION_SECONDS = 1_209_600
CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")


@document_fields
@dataclass(frozen=True, kw_only=True)
class WorkerServiceArgs(CompanionArgs):
    visibility_timeout_seconds: int = 300
    """How long a received message stays invisible to other consumers; longer than the slowest message takes
    (0..43200). Default 300."""
    message_retention_seconds: int = 345_600
    """How long an unconsumed message is kept (60..1209600). Default 345600 (4 days, SQS's default)."""
    max_receive_count: int = 5
    """Receives before a message moves to the dead-letter queue (1..1000). Default 5."""
    dead_letter_retention_seconds: int = MAX_RETENTION_SECONDS
    """Retention of the dead-letter queue (60..1209600); longer than the queue's so a message never expires there
    before it would have on the queue. Default 1209600 (14 days, the maximum)."""
    min_tasks: int = 1
    """Autoscaling floor and initial task count (at least 1: the backlog per task divides by running tasks).
    Default 1."""
    max_tasks: int = 4
    """Autoscaling ceiling. Default 4."""
    backlog_per_task: int = 10
    """Target of visible messages per running task (the acceptable latency divided by the time one message takes).
    Default 10."""
    max_message_age_seconds: int = 900
    """Alarm when the oldest message waits longer than this. Default 900."""
    producer_role_arns: Sequence[pulumi.Input[str]] = ()
    """Roles that may send to the queue (``sqs:SendMessage`` on it), e.g. the web service's task role. Default
    none."""
    fargate_spot: bool = False
    """Run on Fargate Spot (interrupted messages return to the queue after the visibility timeout). Default
    False."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (components.validation)."""
        worker_service_args(self)


def worker_service_args(args: WorkerServiceArgs) -> None:
    from .validation import Checks

    c = Checks()
    check_companion(c, args)
    c.int_range("visibility_timeout_seconds", args.visibility_timeout_seconds, 0, MAX_VISIBILITY_SECONDS, "seconds")
    c.int_range("message_retention_seconds", args.message_retention_seconds, 60, MAX_RETENTION_SECONDS, "seconds")
    c.int_range(
        "dead_letter_retention_seconds", args.dead_letter_retention_seconds, 60, MAX_RETENTION_SECONDS, "seconds"
    )
    c.not_above(
        "message_retention_seconds",
        args.message_retention_seconds,
        "dead_letter_retention_seconds",
        args.dead_letter_retention_seconds,
    )
    c.int_range("max_receive_count", args.max_receive_count, 1, 1000)
    c.int_range("min_tasks", args.min_tasks, 1, 100)
    c.int_range("max_tasks", args.max_tasks, 1, 100)
    c.not_above("min_tasks", args.min_tasks, "max_tasks", args.max_tasks)
    c.int_range("backlog_per_task", args.backlog_per_task, 1, None)
    c.int_range("max_message_age_seconds", args.max_message_age_seconds, 60, None, "seconds")
    c.raise_for("WorkerServiceArgs")


def queue_url(region: str, account_id: str, queue_name: str) -> str:
    """An SQS queue's URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``), for producers created before
    the worker (the web service's ``env``)."""
    return f"https://sqs.{region}.amazonaws.com/{account_id}/{queue_name}"


def consumer_statement(queue_arn: str) -> dict[str, object]:
    return {"Sid": "ConsumeQueue", "Effect": "Allow", "Action": list(CONSUMER_ACTIONS), "Resource": queue_arn}


def backlog_expression() -> str:
    """Backlog per task: m1 visible messages over m2 running tasks (min_tasks >= 1 keeps m2 above zero)."""
    return "m1 / m2"


class WorkerService(pulumi.ComponentResource):
    """Outputs: ``queue_url``, ``queue_arn``, ``queue_name``, ``dead_letter_queue_arn``, ``service_name``,
    ``task_definition_arn``, ``task_role_arn``, ``security_group_id``."""

    def __init__(self, name: str, args: WorkerServiceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:WorkerService", name, None, opts)
        parts = CompanionParts(self, name, args)
        child, tags = parts.child, parts.tags
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{parts.physical}-dlq",
            message_retention_seconds=args.dead_letter_retention_seconds,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-queue",
            name=f"{parts.physical}-queue",
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=args.message_retention_seconds,
            receive_wait_time_seconds=20,
            sqs_managed_sse_enabled=True,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count})
            ),
            tags=tags,
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        for index, producer in enumerate(args.producer_role_arns):
            aws.iam.RolePolicy(
                f"{name}-producer-{index}",
                role=pulumi.Output.from_input(producer).apply(lambda arn: arn.rsplit("/", 1)[-1]),
                policy=queue.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Sid": "SendToQueue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}
                            ],
                        }
                    )
                ),
                opts=child,
            )
        role = parts.task_role(queue.arn.apply(lambda arn: [consumer_statement(arn)]))
        sg = parts.security_group("Worker tasks: no inbound traffic")
        task_def = parts.task_definition(role, "worker", {**args.environment, "QUEUE_URL": queue.url})
        service = parts.service(task_def, sg, args.min_tasks, args.fargate_spot)
        self._scaling(name, args, service, queue, child, tags)
        parts.dead_letter_alarm(
            "dlq-messages",
            "Messages in the dead-letter queue: some failed max_receive_count times (inspect, then redrive)",
            dlq.name,
        )
        parts.alarm(
            "queue-age",
            f"The oldest message has waited over {args.max_message_age_seconds} s: workers are stuck or too few",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=5,
            threshold=args.max_message_age_seconds,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
        self.queue_url: pulumi.Output[str] = queue.url
        self.queue_arn: pulumi.Output[str] = queue.arn
        self.queue_name: pulumi.Output[str] = queue.name
        self.dead_letter_queue_arn: pulumi.Output[str] = dlq.arn
        self.service_name: pulumi.Output[str] = service.name
        self.task_definition_arn: pulumi.Output[str] = task_def.arn
        self.task_role_arn: pulumi.Output[str] = role.arn
        self.security_group_id: pulumi.Output[str] = sg.id
        self.queue, self.dead_letter_queue, self.service = queue, dlq, service
        self.register_outputs(
            {
                "queue_url": self.queue_url,
                "queue_arn": self.queue_arn,
                "queue_name": self.queue_name,
                "dead_letter_queue_arn": self.dead_letter_queue_arn,
                "service_name": self.service_name,
                "task_definition_arn": self.task_definition_arn,
                "task_role_arn": self.task_role_arn,
                "security_group_id": self.security_group_id,
            }
        )

    @staticmethod
    def _scaling(
        name: str,
        args: WorkerServiceArgs,
        service: aws.ecs.Service,
        queue: aws.sqs.Queue,
        child: pulumi.ResourceOptions,
        tags: Mapping[str, str],
    ) -> None:
        target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", service.name),
            min_capacity=args.min_tasks,
            max_capacity=args.max_tasks,
            tags=dict(tags),  # the deploy role registers a scalable target only with the stack's tags (issue 18)
            opts=child,
        )
        from pulumi_aws.appautoscaling import _inputs as shapes

        base = "PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification"
        spec = getattr(shapes, f"{base}Args")
        query = getattr(shapes, f"{base}MetricArgs")
        stat = getattr(shapes, f"{base}MetricMetricStatArgs")
        metric = getattr(shapes, f"{base}MetricMetricStatMetricArgs")
        dim = getattr(shapes, f"{base}MetricMetricStatMetricDimensionArgs")
        aws.appautoscaling.Policy(
            f"{name}-scale-backlog",
            policy_type="TargetTrackingScaling",
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            service_namespace=target.service_namespace,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=args.backlog_per_task,
                customized_metric_specification=spec(
                    metrics=[
                        query(
                            id="m1",
                            label="visible messages",
                            return_data=False,
                            metric_stat=stat(
                                stat="Sum",
                                metric=metric(
                                    namespace="AWS/SQS",
                                    metric_name="ApproximateNumberOfMessagesVisible",
                                    dimensions=[dim(name="QueueName", value=queue.name)],
                                ),
                            ),
                        ),
                        query(
                            id="m2",
                            label="running tasks",
                            return_data=False,
                            metric_stat=stat(
                                stat="Average",
                                metric=metric(
                                    namespace="ECS/ContainerInsights",
                                    metric_name="RunningTaskCount",
                                    dimensions=[
                                        dim(name="ClusterName", value=args.cluster_name),
                                        dim(name="ServiceName", value=service.name),
                                    ],
                                ),
                            ),
                        ),
                        query(id="e1", label="backlog per task", expression=backlog_expression(), return_data=True),
                    ]
                ),
                scale_in_cooldown=120,
                scale_out_cooldown=30,
            ),
            opts=child,
        )
