"""Orderings AWS needs on a first create (issue #9, item 3), one test each, checked on the recorded dependency graph.

Pulumi creates a resource as soon as the resources it depends on exist; a missing edge does not fail offline, it
fails (or leaves something broken) on the first real ``pulumi up``. ``graph.depends_on`` follows dependencies
transitively, so an edge through an intermediate resource (e.g. ALB -> subnet id -> route table association ->
route table -> internet gateway) counts.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from slipway.offline import Resource, ResourceGraph

Select = Callable[[ResourceGraph], list[Resource]]


def of(type_: str, name_contains: str = "") -> Select:
    return lambda graph: [r for r in graph.by_type(type_) if name_contains in r.name]


ALB = of("aws:lb/loadBalancer:LoadBalancer")
IGW = of("aws:ec2/internetGateway:InternetGateway")
SERVICE = of("aws:ecs/service:Service")
MIGRATION = of("pulumi-python:dynamic/slipway:MigrationGate")
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"

# (id, dependents, dependencies, stacks, why): every dependent must depend on every dependency.
ORDERINGS: list[tuple[str, Select, Select, tuple[str, ...], str]] = [
    (
        "alb-after-internet-gateway",
        ALB,
        IGW,
        ("dev", "prod"),
        "CreateLoadBalancer for an internet-facing ALB fails while the VPC has no internet gateway",
    ),
    (
        "alb-after-public-routes",
        ALB,
        of(RTA, "public-rta"),
        ("dev", "prod"),
        "the ALB's nodes are unreachable until its subnets route 0.0.0.0/0 to the internet gateway",
    ),
    (
        "nat-after-internet-gateway",
        of("aws:ec2/natGateway:NatGateway"),
        IGW,
        ("prod",),
        "a public NAT gateway needs the VPC's internet gateway attached (EC2 docs)",
    ),
    (
        "nat-eip-after-internet-gateway",
        of("aws:ec2/eip:Eip"),
        IGW,
        ("prod",),
        "an EIP in a VPC may require the internet gateway to exist first (provider docs)",
    ),
    (
        "public-route-after-internet-gateway",
        of("aws:ec2/routeTable:RouteTable", "public-rt"),
        IGW,
        ("dev", "prod"),
        "CreateRoute needs the gateway it points at",
    ),
    (
        "service-after-listeners",
        SERVICE,
        of("aws:lb/listener:Listener"),
        ("dev", "prod"),
        "CreateService with a load balancer fails while its target group is not attached to the ALB",
    ),
    (
        "service-after-target-group",
        SERVICE,
        of("aws:lb/targetGroup:TargetGroup"),
        ("dev", "prod"),
        "the service registers its tasks in the target group",
    ),
    (
        "service-after-capacity-providers",
        SERVICE,
        of("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"),
        ("dev", "prod"),
        "a capacity provider strategy needs the providers associated with the cluster",
    ),
    (
        "service-after-task-subnet-routes",
        SERVICE,
        lambda g: [r for r in g.by_type(RTA) if ("public-rta" if g.stack == "dev" else "private-rta") in r.name],
        ("dev", "prod"),
        "tasks pull their image and secrets over the task subnets' default route (NAT, or IGW without NAT)",
    ),
    (
        "migration-after-task-subnet-routes",
        MIGRATION,
        lambda g: [r for r in g.by_type(RTA) if ("public-rta" if g.stack == "dev" else "private-rta") in r.name],
        ("dev", "prod"),
        "the migration task runs during the deploy and pulls the same image over the same routes",
    ),
    (
        "tasks-after-execution-role-policy",
        lambda g: SERVICE(g) + MIGRATION(g),
        lambda g: [
            r for r in g.by_type("aws:iam/rolePolicy:RolePolicy") if r.name == f"slipway-{g.stack}-execution-policy"
        ],
        ("dev", "prod"),
        "a task started before its execution role may pull the image and read secrets fails to start",
    ),
    (
        "tasks-after-secret-values",
        lambda g: SERVICE(g) + MIGRATION(g),
        of("aws:secretsmanager/secretVersion:SecretVersion"),
        ("dev", "prod"),
        "a secret with no value yet cannot be injected with valueFrom",
    ),
    (
        "migration-after-database",
        MIGRATION,
        of("aws:rds/instance:Instance"),
        ("dev", "prod"),
        "the migration connects to the database",
    ),
    (
        "service-after-migration",
        SERVICE,
        MIGRATION,
        ("dev", "prod"),
        "no task of a new image may serve before the schema it expects exists",
    ),
    (
        "tasks-after-app-log-group",
        lambda g: SERVICE(g) + MIGRATION(g),
        of("aws:cloudwatch/logGroup:LogGroup", "-app"),
        ("dev", "prod"),
        "the awslogs driver cannot create the group (the execution role has no logs:CreateLogGroup)",
    ),
    (
        "rds-after-its-log-groups",
        of("aws:rds/instance:Instance"),
        lambda g: [
            r
            for r in g.by_type("aws:cloudwatch/logGroup:LogGroup")
            if str(r.input("name")).startswith("/aws/rds/instance/")
        ],
        ("dev", "prod"),
        "RDS creates the export log groups itself, with no retention, when they do not exist yet",
    ),
    (
        "alb-after-access-log-bucket-policy",
        ALB,
        of("aws:s3/bucketPolicy:BucketPolicy"),
        ("prod",),
        "enabling access logs fails while ELB may not yet write to the bucket",
    ),
    (
        "https-listener-after-certificate-validation",
        of("aws:lb/listener:Listener", "https"),
        of("aws:acm/certificateValidation:CertificateValidation"),
        ("prod",),
        "CreateListener refuses a certificate that is not yet issued",
    ),
    (
        "request-scaling-after-listeners",
        of("aws:appautoscaling/policy:Policy", "scale-requests"),
        of("aws:lb/listener:Listener"),
        ("dev", "prod"),
        "ALBRequestCountPerTarget needs the target group attached to the load balancer",
    ),
]


@pytest.mark.parametrize(
    ("dependents", "dependencies", "stacks", "why"),
    [pytest.param(*o[1:], id=o[0]) for o in ORDERINGS],
)
def test_ordering_aws_needs(
    dev: ResourceGraph, prod: ResourceGraph, dependents: Select, dependencies: Select, stacks: tuple[str, ...], why: str
) -> None:
    for graph in (g for g in (dev, prod) if g.stack in stacks):
        later, earlier = dependents(graph), dependencies(graph)
        assert later and earlier, f"{graph.stack}: nothing selected; the test would prove nothing"
        missing = [(a.name, b.name) for a in later for b in earlier if not graph.depends_on(a, b)]
        assert missing == [], f"{graph.stack}: {why}: {missing}"


def test_depends_on_is_not_vacuous(dev: ResourceGraph) -> None:
    """The check can fail: the internet gateway does not depend on the ALB, and the ALB not on the database."""
    alb, igw = ALB(dev)[0], IGW(dev)[0]
    assert not dev.depends_on(igw, alb)
    assert not dev.depends_on(alb, dev.one("aws:rds/instance:Instance"))


def test_ordering_private_routes_after_their_nat_gateway(prod: ResourceGraph) -> None:
    """CreateRoute needs the NAT gateway it points at: with per-AZ NAT, private route table i uses NAT gateway i."""
    tables = of("aws:ec2/routeTable:RouteTable", "private-rt")(prod)
    assert len(tables) == 3
    for table in tables:
        nat = prod.one("aws:ec2/natGateway:NatGateway", f"nat-{table.name.rsplit('-', 1)[1]}")
        assert prod.depends_on(table, nat), table.name


def test_ordering_nat_gateways_after_their_public_route(prod: ResourceGraph) -> None:
    """A NAT gateway forwards nothing until its public subnet routes to the internet gateway; tasks behind it would
    start without egress (image pull, secrets)."""
    nats = of("aws:ec2/natGateway:NatGateway")(prod)
    assert len(nats) == 3
    for nat in nats:
        association = prod.one(RTA, f"public-rta-{nat.name.rsplit('-', 1)[1]}")
        assert prod.depends_on(nat, association), nat.name
