"""IAM documents shared by the components: one way to let an AWS service assume a role of this account."""

from __future__ import annotations

import json
from typing import Optional

BOUNDARY_POLICY_NAME = "{prefix}-boundary"
"""Name of the permissions boundary of a stack's roles (``prefix`` = ``<appName>-<stack>``): set on every role the
stack creates (``WebAppArgs.permissions_boundary_policy``), required by its deploy role (slipway/deploy_policy.py)."""


def service_trust(service: str, account_id: str, source_arn_like: Optional[str] = None) -> str:
    """Trust policy letting ``service`` assume the role only when acting for ``account_id`` (``aws:SourceAccount``)
    and, when given, for resources matching ``source_arn_like`` (``aws:SourceArn``): AWS's confused-deputy guidance
    for service roles (ECS tasks, RDS Enhanced Monitoring, VPC flow logs)."""
    condition: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn_like:
        condition["ArnLike"] = {"aws:SourceArn": source_arn_like}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": condition,
                }
            ],
        }
    )


def scheduler_trust(account_id: str, region: str) -> str:
    """Trust of a role EventBridge Scheduler assumes for schedules of the ``default`` group: the scheduler's
    documented confused-deputy condition names the schedule group (``aws:SourceArn``)."""
    return service_trust(
        "scheduler.amazonaws.com", account_id, f"arn:aws:scheduler:{region}:{account_id}:schedule-group/default"
    )
