"""ScheduledJob: a container run on a schedule (Copilot's "Scheduled Job").

EventBridge Scheduler starts a Step Functions state machine on ``schedule`` (a validated ``cron(...)``, ``rate(...)``
or ``at(...)`` expression, in ``timezone``). The state machine, which is also how Copilot runs its jobs:

1. unless ``allow_overlap``: lists its own RUNNING executions (``aws-sdk:sfn:listExecutions`` on
   ``$$.StateMachine.Id``) and, when another one than itself is still going (its task, or waiting for a retry),
   ends this run as ``Skipped`` (succeeded, nothing started): two runs never overlap;
2. runs the task and waits for it (``ecs:runTask.sync``), at most ``timeout_seconds`` (``TimeoutSeconds``: the
   execution fails with ``States.Timeout`` and Step Functions stops the task), retrying a failed run ``retries``
   times with exponential backoff (``Retry`` on ``States.TaskFailed``, which never matches a timeout);
3. fails unless the container exited 0.

A run that could not even be started (the scheduler's ``StartExecution`` refused after its own retries) lands in
a dead-letter queue. Alarms: any failed execution, any message in that dead-letter queue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .companion import CONTAINER, CompanionArgs, CompanionParts, check_companion
from .docs import document_fields
from .iam import scheduler_trust, service_trust

# EventBridge Scheduler schedule types ("Schedule types on EventBridge Scheduler"): cron with six fields
# (minutes hours day-of-month month day-of-week year), rate with a singular unit for 1 and plural otherwise, at.
RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
AT = re.compile(r"^at\(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\)$")
CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
MONTHS = tuple("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
WEEKDAYS = tuple("SUN MON TUE WED THU FRI SAT".split())
CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
    ("minutes", 0, 59, (), ",-*/"),
    ("hours", 0, 23, (), ",-*/"),
    ("day-of-month", 1, 31, (), ",-*?/LW"),
    ("month", 1, 12, MONTHS, ",-*/"),
    ("day-of-week", 1, 7, WEEKDAYS, ",-*?L#"),
    ("year", 1970, 2199, (), ",-*/"),
)
MAX_RETRIES = 10
MAX_TIMEOUT_SECONDS = 99_999_999  # Step Functions TimeoutSeconds: a positive integer (States Language)


def schedule_problem(expression: str) -> Optional[str]:
    """Why EventBridge Scheduler would refuse ``expression``; None when it is a valid cron, rate or at."""
    if not isinstance(expression, str):
        return "must be a string"
    rate = RATE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            return "a rate must be at least 1"
        if (value == 1) != (not unit.endswith("s")):
            return f"use the {'singular' if value == 1 else 'plural'} unit with {value}"
        return None
    if expression.startswith("rate("):
        return "must be rate(<value> <minute(s)|hour(s)|day(s)>), e.g. rate(5 minutes)"
    if expression.startswith("at("):
        return None if AT.match(expression) else "must be at(yyyy-mm-ddThh:mm:ss)"
    cron = CRON.match(expression)
    if not cron:
        return "must be cron(...), rate(...) or at(...)"
    fields = cron["fields"].split()
    if len(fields) != len(CRON_FIELDS):
        return "a cron expression has six fields: minutes hours day-of-month month day-of-week year"
    for text, (what, lo, hi, names, specials) in zip(fields, CRON_FIELDS, strict=True):
        problem = _cron_field(text, what, lo, hi, names, specials)
        if problem:
            return problem
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be ? (EventBridge cannot take both)"
    return None


def _cron_field(text: str, what: str, lo: int, hi: int, names: tuple[str, ...], specials: str) -> Optional[str]:
    allowed = set(specials)
    for char in text:
        if not (char.isalnum() or char in allowed):
            return f"{what} field {text!r}: {char!r} is not allowed there"
    for token in re.split(r"[,\-/#]", text):
        if token in ("*", "?", "L", "W", "") or token.upper() in names:
            continue
        number = token.rstrip("LW")
        if not number.isdigit():
            return f"{what} field {text!r}: {token!r} is not a number or name"
        if not lo <= int(number) <= hi and "/" not in text:
            return f"{what} field {text!r}: {number} is outside {lo}-{hi}"
    return None


@document_fields
@dataclass(frozen=True, kw_only=True)
class ScheduledJobArgs(CompanionArgs):
    schedule: str
    """EventBridge Scheduler expression: ``cron(min hour day-of-month month day-of-week year)`` (exactly one of the
    day fields ``?``), ``rate(N minute(s)|hour(s)|day(s))`` or ``at(yyyy-mm-ddThh:mm:ss)``. Required."""
    timezone: str = "UTC"
    """Time zone of a cron or at expression (IANA name). Default ``UTC``."""
    timeout_seconds: int = 3600
    """A run longer than this fails (``States.Timeout``) and its task is stopped. Default 3600."""
    retries: int = 0
    """Runs retried after a failure (not after a timeout), with backoff (0..10). Default 0."""
    retry_interval_seconds: int = 60
    """Wait before the first retry; doubled each time. Default 60."""
    allow_overlap: bool = False
    """Start a run even while the previous one is still running. Default False: the run is skipped."""
    fargate_spot: bool = False
    """Run on Fargate Spot (an interrupted run fails and is retried). Default False."""
    enabled: bool = True
    """Schedule state; False keeps everything but starts nothing. Default True."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (components.validation)."""
        scheduled_job_args(self)


def scheduled_job_args(args: ScheduledJobArgs) -> None:
    from .validation import Checks, plain

    c = Checks()
    check_companion(c, args)
    if plain(args.schedule):
        problem = schedule_problem(args.schedule)
        if problem:
            c.bad("schedule", args.schedule, problem, ("schedule", "cron(0 3 * * ? *)"), ("schedule", "rate(1 hour)"))
    c.int_range("timeout_seconds", args.timeout_seconds, 60, MAX_TIMEOUT_SECONDS, "seconds")
    c.int_range("retries", args.retries, 0, MAX_RETRIES)
    c.int_range("retry_interval_seconds", args.retry_interval_seconds, 1, 3600, "seconds")
    if plain(args.timezone) and (
        not isinstance(args.timezone, str) or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", args.timezone)
    ):
        c.bad("timezone", args.timezone, "must be an IANA time zone name", ("timezone", "UTC"))
    c.raise_for("ScheduledJobArgs")


def state_machine_definition(
    *,
    name: str,
    cluster_arn: str,
    task_definition_arn: str,
    subnets: list[str],
    security_groups: list[str],
    assign_public_ip: bool,
    capacity_provider: str,
    timeout_seconds: int,
    retries: int,
    retry_interval_seconds: int,
    allow_overlap: bool,
    enable_execute_command: bool,
    command: Optional[tuple[str, str]] = None,
    before: Optional[tuple[str, Mapping[str, Any]]] = None,
    comment: str = "run the job's task once",
) -> str:
    """The job's Amazon States Language document (RunTask's parameters in Step Functions' PascalCase).

    ``command`` (container name, JSONPath into the state's input) overrides that container's command and nothing
    else; ``before`` (first state's name, states) runs ahead of the task, after the overlap check: its states go on
    to ``Run`` or end the execution (components/preview_db.py validates its input there)."""
    run: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": cluster_arn,
            "TaskDefinition": task_definition_arn,
            "CapacityProviderStrategy": [{"CapacityProvider": capacity_provider, "Weight": 1}],
            "PlatformVersion": "LATEST",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": subnets,
                    "SecurityGroups": security_groups,
                    "AssignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
                }
            },
            "StartedBy": name[:128],
            "PropagateTags": "TASK_DEFINITION",
            "EnableExecuteCommand": enable_execute_command,
        },
        "TimeoutSeconds": timeout_seconds,
        "ResultPath": "$.run",
        "Next": "Exited0",
    }
    if command:
        # Step Functions' RunTask parameters (PascalCase); "Command.$" takes the array from the state's input.
        container, path = command
        run["Parameters"]["Overrides"] = {"ContainerOverrides": [{"Name": container, "Command.$": path}]}
    if retries:
        run["Retry"] = [
            {
                "ErrorEquals": ["States.TaskFailed"],
                "IntervalSeconds": retry_interval_seconds,
                "MaxAttempts": retries,
                "BackoffRate": 2,
            }
        ]
    exit_code = f"$.run.Containers[?(@.Name == '{command[0] if command else CONTAINER}')].ExitCode"
    states: dict[str, Any] = {
        "Run": run,
        "Exited0": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.run.Containers[0].ExitCode", "IsPresent": True},
                        {"Variable": "$.run.Containers[0].ExitCode", "NumericEquals": 0},
                    ],
                    "Next": "Succeeded",
                }
            ],
            "Default": "ExitedNonZero",
        },
        "Succeeded": {"Type": "Succeed"},
        "ExitedNonZero": {
            "Type": "Fail",
            "Error": "ExitedNonZero",
            "Cause": f"the job's container did not exit 0 (see {exit_code} in the execution's output)",
        },
    }
    start = "Run"
    if before:
        start, extra = before
        clash = set(extra) & set(states)
        if clash:
            raise ValueError(f"states {sorted(clash)} are already the task's")
        states.update(extra)
    if not allow_overlap:
        states["PreviousRun"] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sfn:listExecutions",
            "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING"},
            "ResultSelector": {"running.$": "States.ArrayLength($.Executions)"},
            "ResultPath": "$.previous",
            "Next": "StillRunning",
        }
        states["StillRunning"] = {
            "Type": "Choice",
            # this execution is one of the RUNNING ones: another one means the previous run is still going
            "Choices": [{"Variable": "$.previous.running", "NumericGreaterThan": 1, "Next": "Skipped"}],
            "Default": start,
        }
        start = "PreviousRun"
        states["Skipped"] = {"Type": "Succeed", "Comment": "the previous run is still running: no overlap"}
    return json.dumps({"Comment": f"{name}: {comment}", "StartAt": start, "States": states})


def state_machine_policy(
    *,
    region: str,
    account: str,
    cluster_arn: str,
    family: str,
    pass_roles: list[str],
    list_executions: bool = True,
) -> str:
    """What the state machine's role needs for ``ecs:runTask.sync`` (Step Functions developer guide, "IAM policies
    for Amazon ECS/AWS Fargate"), listing its own executions (``family`` is also the state machine's name; only
    ``list_executions``, the overlap check's), and passing exactly the job's two roles."""
    cluster_name = cluster_arn.rsplit("/", 1)[-1]
    in_cluster = {"ArnEquals": {"ecs:cluster": cluster_arn}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RunJobTask",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": f"arn:aws:ecs:{region}:{account}:task-definition/{family}:*",
            "Condition": in_cluster,
        },
        {
            "Sid": "WatchAndStopJobTasks",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Resource": f"arn:aws:ecs:{region}:{account}:task/{cluster_name}/*",
        },
        {
            "Sid": "TagStartedTasks",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": f"arn:aws:ecs:{region}:{account}:task/{cluster_name}/*",
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        },
        {
            "Sid": "SyncRule",
            "Effect": "Allow",
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Resource": f"arn:aws:events:{region}:{account}:rule/StepFunctionsGetEventsForECSTaskRule",
        },
        {
            "Sid": "PassJobRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": sorted(set(pass_roles)),
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
    ]
    if list_executions:
        statements.insert(
            2,
            {
                "Sid": "SeePreviousRuns",
                "Effect": "Allow",
                "Action": "states:ListExecutions",
                "Resource": f"arn:aws:states:{region}:{account}:stateMachine:{family}",
            },
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def task_state_machine(
    name: str,
    *,
    physical: str,
    definition: pulumi.Input[str],
    account: pulumi.Input[str],
    region: pulumi.Input[str],
    cluster_arn: pulumi.Input[str],
    pass_roles: list[pulumi.Input[str]],
    permissions_boundary: Optional[pulumi.Input[str]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    list_executions: bool = True,
    description: str = "Step Functions runs the job's task",
) -> aws.sfn.StateMachine:
    """A STANDARD state machine named ``physical`` (also its task definition's family) that runs one task with
    ``ecs:runTask.sync``, and its role (:func:`state_machine_policy`, assumable by Step Functions of this account):
    the scheduled job's, and dev's preview-database machine (components/preview_db.py)."""
    child = pulumi.ResourceOptions(parent=parent)
    machine_role = aws.iam.Role(
        f"{name}-sfn",
        assume_role_policy=pulumi.Output.all(account, region).apply(
            lambda a: service_trust("states.amazonaws.com", a[0], f"arn:aws:states:{a[1]}:{a[0]}:stateMachine:*")
        ),
        description=f"{name}: {description}",
        permissions_boundary=permissions_boundary,
        tags=dict(tags),
        opts=child,
    )
    machine_policy = aws.iam.RolePolicy(
        f"{name}-sfn-policy",
        role=machine_role.id,
        policy=pulumi.Output.all(region, account, cluster_arn, *pass_roles).apply(
            lambda a: state_machine_policy(
                region=a[0],
                account=a[1],
                cluster_arn=a[2],
                family=physical,
                pass_roles=list(a[3:]),
                list_executions=list_executions,
            )
        ),
        opts=child,
    )
    return aws.sfn.StateMachine(
        f"{name}-sfn",
        name=physical,
        role_arn=machine_role.arn,
        definition=definition,
        type="STANDARD",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[machine_policy]),
    )


class ScheduledJob(pulumi.ComponentResource):
    """Outputs: ``schedule_arn``, ``state_machine_arn``, ``task_definition_arn``, ``task_role_arn``,
    ``dead_letter_queue_arn``, ``security_group_id``."""

    def __init__(self, name: str, args: ScheduledJobArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:ScheduledJob", name, None, opts)
        parts = CompanionParts(self, name, args)
        child, tags = parts.child, parts.tags
        role = parts.task_role()
        sg = parts.security_group("Scheduled job tasks: no inbound traffic")
        task_def = parts.task_definition(role, "job", dict(args.environment))
        account, region = parts.account_id, pulumi.Output.from_input(args.region)

        definition = pulumi.Output.all(
            args.cluster_arn, task_def.arn, args.subnet_ids, sg.id, *args.security_group_ids
        ).apply(
            lambda v: state_machine_definition(
                name=parts.physical,
                cluster_arn=v[0],
                task_definition_arn=v[1],
                subnets=list(v[2]),
                security_groups=[v[3], *v[4:]],
                assign_public_ip=args.assign_public_ip,
                capacity_provider="FARGATE_SPOT" if args.fargate_spot else "FARGATE",
                timeout_seconds=args.timeout_seconds,
                retries=args.retries,
                retry_interval_seconds=args.retry_interval_seconds,
                allow_overlap=args.allow_overlap,
                enable_execute_command=args.enable_execute_command,
            )
        )
        machine = task_state_machine(
            name,
            physical=parts.physical,
            definition=definition,
            account=account,
            region=region,
            cluster_arn=args.cluster_arn,
            pass_roles=[args.execution_role_arn, role.arn],
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            parent=self,
        )
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{parts.physical}-dlq",
            message_retention_seconds=1_209_600,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler",
            assume_role_policy=pulumi.Output.all(account, region).apply(lambda a: scheduler_trust(a[0], a[1])),
            description=f"{name}: EventBridge Scheduler starts the job",
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            opts=child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=scheduler_role.id,
            policy=pulumi.Output.all(machine.arn, dlq.arn).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Sid": "StartJob", "Effect": "Allow", "Action": "states:StartExecution", "Resource": a[0]},
                            {"Sid": "DeadLetter", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": a[1]},
                        ],
                    }
                )
            ),
            opts=child,
        )
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=parts.physical,
            group_name="default",
            description=f"{name}: {args.schedule}",
            schedule_expression=args.schedule,
            schedule_expression_timezone=args.timezone,
            state="ENABLED" if args.enabled else "DISABLED",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=machine.arn,
                role_arn=scheduler_role.arn,
                input="{}",
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=5
                ),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dlq.arn),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]),
        )
        parts.alarm(
            "failed-runs",
            "A run of the job failed, timed out or exited non-zero (see the state machine's executions)",
            namespace="AWS/States",
            metric_name="ExecutionsFailed",
            dimensions={"StateMachineArn": machine.arn},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
        parts.dead_letter_alarm(
            "missed-runs",
            "The scheduler could not start a run (message in the job's dead-letter queue)",
            dlq.name,
        )
        self.schedule_arn: pulumi.Output[str] = schedule.arn
        self.state_machine_arn: pulumi.Output[str] = machine.arn
        self.task_definition_arn: pulumi.Output[str] = task_def.arn
        self.task_role_arn: pulumi.Output[str] = role.arn
        self.dead_letter_queue_arn: pulumi.Output[str] = dlq.arn
        self.security_group_id: pulumi.Output[str] = sg.id
        self.schedule, self.state_machine, self.task_definition = schedule, machine, task_def
        self.register_outputs(
            {
                "schedule_arn": self.schedule_arn,
                "state_machine_arn": self.state_machine_arn,
                "task_definition_arn": self.task_definition_arn,
                "task_role_arn": self.task_role_arn,
                "dead_letter_queue_arn": self.dead_letter_queue_arn,
                "security_group_id": self.security_group_id,
            }
        )
