"""Network: subnets per AZ, NAT strategies, private database subnets, locked default security group."""

from __future__ import annotations

import ipaddress

import pytest

from slipway.offline import ResourceGraph, run_program
from slipway_aws.network import Network, NetworkArgs, subnet_cidrs

NAT = "aws:ec2/natGateway:NatGateway"
SUBNET = "aws:ec2/subnet:Subnet"
RT = "aws:ec2/routeTable:RouteTable"


def build(**kwargs: object) -> ResourceGraph:
    return run_program(lambda: Network("net", NetworkArgs(**kwargs)))  # type: ignore[arg-type]


def test_subnets_do_not_overlap_and_fit_the_vpc() -> None:
    public, private = subnet_cidrs("10.20.0.0/16", 3)
    nets = [ipaddress.ip_network(c) for c in public + private]
    assert all(n.subnet_of(ipaddress.ip_network("10.20.0.0/16")) for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert all(n.prefixlen == 20 for n in nets)


@pytest.mark.parametrize(("strategy", "count"), [("none", 0), ("single", 1), ("per_az", 3)])
def test_nat_strategy_sets_the_number_of_nat_gateways(strategy: str, count: int) -> None:
    graph = build(cidr_block="10.0.0.0/16", az_count=3, nat_strategy=strategy)
    assert len(graph.by_type(NAT)) == count
    assert len(graph.by_type(SUBNET)) == 6


def test_per_az_nat_routes_each_private_subnet_through_its_own_az() -> None:
    graph = build(az_count=3, nat_strategy="per_az")
    private_routes = [r.input("routes", 0, "natGatewayId") for r in graph.by_type(RT) if "private" in r.name]
    assert len(private_routes) == 3 and len(set(private_routes)) == 3, private_routes
    assert all(route.startswith("nat-") for route in private_routes)
    public_subnets = {r.name for r in graph.by_type(SUBNET) if "public" in r.name}
    assert len({r.input("subnetId") for r in graph.by_type(NAT)}) == 3 and len(public_subnets) == 3


def test_no_nat_means_private_subnets_have_no_internet_route_and_tasks_need_public_ips() -> None:
    graph = build(az_count=2, nat_strategy="none")
    assert all(not r.input("routes") for r in graph.by_type(RT) if "private" in r.name)
    public_rt = graph.one(RT, "public-rt")
    assert public_rt.input("routes", 0, "cidrBlock") == "0.0.0.0/0" and public_rt.input("routes", 0, "gatewayId")


def test_subnets_never_auto_assign_public_ips_and_spread_over_azs() -> None:
    graph = build(az_count=3, nat_strategy="single")
    subnets = graph.by_type(SUBNET)
    assert all(s.input("mapPublicIpOnLaunch") is False for s in subnets)
    assert {s.input("availabilityZone") for s in subnets} == {"us-east-1a", "us-east-1b", "us-east-1c"}


def test_default_security_group_is_locked_and_s3_endpoint_serves_all_route_tables() -> None:
    graph = build(az_count=2, nat_strategy="none")
    default_sg = graph.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg.input("ingress") and not default_sg.input("egress")
    endpoint = graph.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.input("serviceName") == "com.amazonaws.us-east-1.s3"
    assert endpoint.input("vpcEndpointType") == "Gateway" and len(endpoint.input("routeTableIds")) == 3


def test_children_are_parented_to_the_component() -> None:
    graph = build(az_count=2, nat_strategy="single")
    component = graph.one("slipway:aws:Network")
    assert all(r.parent == component.urn for r in graph.resources if r is not component)
    assert all(r.name.startswith("net-") for r in graph.resources if r is not component)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nat_strategy": "nat"}, "nat_strategy='nat'"),
        ({"az_count": 1}, "az_count=1"),
        ({"availability_zones": ["us-east-1a"], "az_count": 2}, "availability_zones lists 1"),
    ],
)
def test_bad_args_fail_before_any_resource(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        build(**kwargs)
    assert err.value.resources_registered <= 1  # type: ignore[attr-defined]  # at most the component itself


def test_dev_stack_has_no_nat_and_prod_one_per_az(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert dev.by_type(NAT) == []
    assert len(prod.by_type(NAT)) == 3


def test_the_vpc_logs_all_its_traffic_with_finite_retention(stack: ResourceGraph) -> None:
    """FSBP EC2.6: a flow log of the VPC, to a log group with retention, through a role only the flow-logs service
    of this account can assume."""
    import json

    vpc = stack.one("aws:ec2/vpc:Vpc")
    flow = stack.one("aws:ec2/flowLog:FlowLog")
    group = stack.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs")
    role = stack.one("aws:iam/role:Role", "flow-logs")
    assert flow.input("vpcId", default="").startswith("vpc-") and stack.depends_on(flow, vpc)
    assert flow.input("trafficType") == "ALL" and flow.input("logDestination") == group.outputs["arn"]
    assert flow.input("iamRoleArn") == role.outputs["arn"] and group.input("retentionInDays") > 0
    (statement,) = json.loads(role.input("assumeRolePolicy"))["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_the_default_network_acl_is_managed_and_closes_ssh_and_rdp(stack: ResourceGraph) -> None:
    """FSBP EC2.21: no NACL admits 22 or 3389 from anywhere; every subnet is listed on the adopted default ACL."""
    acl = stack.one("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")
    denies = {
        (r["fromPort"], r["toPort"])
        for r in acl.input("ingress")
        if r["action"] == "deny" and r["cidrBlock"] == "0.0.0.0/0"
    }
    assert {(22, 22), (3389, 3389)} <= denies
    first_allow = min(r["ruleNo"] for r in acl.input("ingress") if r["action"] == "allow")
    assert all(r["ruleNo"] < first_allow for r in acl.input("ingress") if r["action"] == "deny"), "denies first"
    assert len(acl.input("subnetIds")) == len(stack.by_type("aws:ec2/subnet:Subnet"))
