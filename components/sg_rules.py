"""Security-group rules more than one component needs.

* :func:`tcp_between`: one TCP port from one group to another. Security groups are stateful but every group here
  has its default allow-all egress removed, so the pair is always two rules: egress on the source, ingress on the
  target. One call makes both, so neither side can be forgotten.
* :func:`https_to_aws_apis`: HTTPS out to anywhere, what a task needs for ECR, Secrets Manager and CloudWatch
  (through the NAT gateway or a public IP).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

AWS_APIS = "HTTPS to AWS APIs (ECR, Secrets Manager, CloudWatch)"


def tcp_between(
    *,
    source: pulumi.Input[str],
    target: pulumi.Input[str],
    port: int,
    egress: tuple[str, str],
    ingress: tuple[str, str],
    opts: pulumi.ResourceOptions,
) -> None:
    """Allow ``port`` from group ``source`` to group ``target``; ``egress``/``ingress`` are (resource name,
    description) of the rule on each side."""
    for rule, (resource_name, description), own, other in (
        (aws.vpc.SecurityGroupEgressRule, egress, source, target),
        (aws.vpc.SecurityGroupIngressRule, ingress, target, source),
    ):
        rule(
            resource_name,
            security_group_id=own,
            referenced_security_group_id=other,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            opts=opts,
        )


def https_to_aws_apis(resource_name: str, security_group_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
    """Allow HTTPS from ``security_group_id`` to anywhere."""
    aws.vpc.SecurityGroupEgressRule(
        resource_name,
        security_group_id=security_group_id,
        cidr_ipv4="0.0.0.0/0",
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        description=AWS_APIS,
        opts=opts,
    )
