"""Sleep: a dev stack that runs only in its awake hours: the web service scales to 0 and back, the database stops
and starts.

- The service: two Application Auto Scaling scheduled actions on its existing scalable target (``PutScheduledAction``
  with ``Timezone``, botocore's ``application-autoscaling`` model): at the end of the window min = max = 0, and
  ``DB_LEAD_MINUTES`` after its start the min/max the target had (``min_tasks``/``max_tasks``).
- The database: two EventBridge Scheduler schedules with the universal targets
  ``arn:aws:scheduler:::aws-sdk:rds:startDBInstance`` / ``stopDBInstance`` ("Using universal targets in EventBridge
  Scheduler": ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``, the Input being the API's request as JSON;
  ``DbInstanceIdentifier`` as in AWS CDK's ``Universal`` target example for RDS), run by a role of their own that may
  only ``rds:StartDBInstance``/``rds:StopDBInstance`` that one instance.

A stopped instance still bills its storage; RDS starts an instance stopped for 7 days by itself (StopDBInstance's
API reference), which a weekly schedule never reaches. Refused in prod (``WebAppArgs`` and the policy rule
``prod-always-awake``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .awake import AwakeHours, parse_awake_hours
from .docs import document_fields
from .iam import scheduler_trust

RDS_TARGET = "arn:aws:scheduler:::aws-sdk:rds:{action}"
"""EventBridge Scheduler's universal target of an RDS API action (camelCase action name)."""


@document_fields
@dataclass(frozen=True)
class SleepArgs:
    awake_hours: str
    """When the stack runs, ``<days> <HH:MM>-<HH:MM>`` local time (``MON-FRI 07:00-20:00``). Required."""
    scaling_target: aws.appautoscaling.Target
    """The web service's scalable target (``WebService.scaling_target``). Required."""
    min_tasks: int
    """The target's minimum capacity, restored on waking. Required."""
    max_tasks: int
    """The target's maximum capacity, restored on waking. Required."""
    timezone: str = "UTC"
    """IANA time zone of ``awake_hours`` (``Europe/Berlin``). Default ``UTC``."""
    db_identifier: Optional[pulumi.Input[str]] = None
    """RDS instance to stop and start. Default None: the service only."""
    db_arn: Optional[pulumi.Input[str]] = None
    """ARN of that instance (the scheduler role may start and stop exactly it). Required with ``db_identifier``."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """Permissions boundary of the scheduler role. Default None."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the role. Default none (scheduled actions and schedules take none)."""

    def __post_init__(self) -> None:
        from .validation import Checks

        c = Checks()
        try:
            parse_awake_hours(self.awake_hours)
        except ValueError as err:
            c.bad("awake_hours", self.awake_hours, str(err))
        check_timezone(c, "timezone", self.timezone)
        if (self.db_identifier is None) != (self.db_arn is None):
            c.bad("db_arn", self.db_arn, "give db_identifier and db_arn together")
        c.raise_for("SleepArgs")


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    """zoneinfo's IANA names (it reads every file of the tz database: tens of milliseconds, so once)."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def check_timezone(c: object, name: str, value: object) -> None:
    """An IANA zone name Python's zoneinfo knows (Application Auto Scaling and Scheduler take IANA names)."""
    from .validation import Checks, closest, plain

    assert isinstance(c, Checks)
    if value is None or not plain(value):
        return
    zones = _zones()
    if not isinstance(value, str) or value not in zones:
        guess = closest(str(value), sorted(zones))
        c.bad(
            name, value, "must be an IANA time zone such as Europe/Berlin or UTC", *([(name, guess)] if guess else [])
        )


class Sleep(pulumi.ComponentResource):
    """Children: ``wake`` and ``sleep`` (scheduled actions), ``db_start`` and ``db_stop`` (schedules, or None),
    ``role`` (or None). Output ``awake``: the parsed :class:`AwakeHours`."""

    def __init__(self, name: str, args: SleepArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:Sleep", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=[args.scaling_target])
        awake: AwakeHours = parse_awake_hours(args.awake_hours)
        self.awake = awake
        target = args.scaling_target

        def action(key: str, schedule: str, low: int, high: int) -> aws.appautoscaling.ScheduledAction:
            return aws.appautoscaling.ScheduledAction(
                f"{name}-{key}",
                name=f"{name}-{key}",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                schedule=schedule,
                timezone=args.timezone,
                scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(
                    min_capacity=low, max_capacity=high
                ),
                opts=child,
            )

        self.wake = action("wake", awake.service_wake, args.min_tasks, args.max_tasks)
        self.sleep = action("sleep", awake.service_sleep, 0, 0)
        self.role: Optional[aws.iam.Role] = None
        self.db_start: Optional[aws.scheduler.Schedule] = None
        self.db_stop: Optional[aws.scheduler.Schedule] = None
        if args.db_identifier is not None and args.db_arn is not None:
            self._database(name, args, awake)
        self.register_outputs({})

    def _database(self, name: str, args: SleepArgs, awake: AwakeHours) -> None:
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        role = aws.iam.Role(
            f"{name}-db-scheduler",
            assume_role_policy=pulumi.Output.all(account, region).apply(lambda a: scheduler_trust(a[0], a[1])),
            description=f"{name}: EventBridge Scheduler stops and starts the database",
            permissions_boundary=args.permissions_boundary,
            tags=dict(args.tags),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-db-scheduler",
            role=role.id,
            policy=pulumi.Output.from_input(args.db_arn).apply(lambda arn: db_schedule_policy(str(arn))),
            opts=child,
        )
        self.role = role

        def schedule(key: str, action: str, expression: str) -> aws.scheduler.Schedule:
            return aws.scheduler.Schedule(
                f"{name}-{key}",
                name=f"{name}-{key}",
                group_name="default",
                description=f"{name}: {action} ({args.awake_hours}, {args.timezone})",
                schedule_expression=expression,
                schedule_expression_timezone=args.timezone,
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=RDS_TARGET.format(action=action),
                    role_arn=role.arn,
                    input=pulumi.Output.from_input(args.db_identifier).apply(
                        lambda identifier: json.dumps({"DbInstanceIdentifier": identifier})
                    ),
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        self.db_start = schedule("db-start", "startDBInstance", awake.db_start)
        self.db_stop = schedule("db-stop", "stopDBInstance", awake.db_stop)


def db_schedule_policy(db_arn: str) -> str:
    """The scheduler role's only permission: start and stop this one instance (StopDBInstance's dependent actions,
    CreateDBSnapshot and AddTagsToResource, are only for a snapshot before stopping, which is never asked for)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "StartStopTheDatabase",
                    "Effect": "Allow",
                    "Action": ["rds:StartDBInstance", "rds:StopDBInstance"],
                    "Resource": db_arn,
                }
            ],
        }
    )
