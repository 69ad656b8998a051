"""EcsCluster: the ECS cluster shared by the web service and the one-off migration task.

Container Insights is on by default (task-level CPU/memory/running-count metrics feed the alarms; ``WebApp`` turns it
off in dev, ``WebAppArgs.container_insights``), and both Fargate and Fargate Spot capacity providers are attached so a
service can choose per environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields


@document_fields
@dataclass(frozen=True)
class EcsClusterArgs:
    container_insights: str = "enabled"
    """``enabled`` (default), ``enhanced`` (more metrics, more cost) or ``disabled`` (alarms on running tasks
    then have no data)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _ecs_cluster_args(self)


class EcsCluster(pulumi.ComponentResource):
    """Outputs: ``cluster_name``, ``cluster_arn``."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EcsClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:EcsCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.container_insights)],
            tags=dict(args.tags),
            opts=child,
        )
        providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity", cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"], opts=child
        )
        # Services using a capacity provider strategy must wait for the association.
        self.cluster_name = pulumi.Output.all(cluster.name, providers.id).apply(lambda a: a[0])
        self.cluster_arn = pulumi.Output.all(cluster.arn, providers.id).apply(lambda a: a[0])
        self.register_outputs({"cluster_name": self.cluster_name, "cluster_arn": self.cluster_arn})


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _ecs_cluster_args(args: EcsClusterArgs) -> None:
    from .validation import CONTAINER_INSIGHTS, Checks

    c = Checks()
    c.one_of("container_insights", args.container_insights, CONTAINER_INSIGHTS)
    c.raise_for("EcsClusterArgs")
