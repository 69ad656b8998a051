"""AppLogs: the CloudWatch log group the web service and the migration task write to, with finite retention.

Retention must be a value CloudWatch accepts (validated by :mod:`components.config`); dev keeps 14 days, prod at
least 90. The group is created before any task so the awslogs driver never needs ``logs:CreateLogGroup``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields
from .naming import stack_scoped


@document_fields
@dataclass(frozen=True)
class AppLogsArgs:
    retention_days: int = 90
    """Days log events are kept; one of CloudWatch's allowed values. Default 90 (prod minimum)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _app_logs_args(self)


class AppLogs(pulumi.ComponentResource):
    """Outputs: ``log_group_name``, ``log_group_arn``."""

    log_group_name: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AppLogsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:AppLogs", name, None, opts)
        group = aws.cloudwatch.LogGroup(
            f"{name}-app",
            name=f"/slipway/{stack_scoped(name)}/app",
            retention_in_days=args.retention_days,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.log_group_name = group.name
        self.log_group_arn = group.arn
        self.register_outputs({"log_group_name": self.log_group_name, "log_group_arn": self.log_group_arn})


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _app_logs_args(args: AppLogsArgs) -> None:
    from .validation import Checks

    c = Checks()
    c.log_retention("retention_days", args.retention_days)
    c.raise_for("AppLogsArgs")
