"""Two stacks of one project never share a physical name, even when a team uses the components directly."""

from __future__ import annotations

from slipway.mocks import NAME_INPUTS
from slipway.offline import ResourceGraph, run_program
from slipway_aws.database import Database, DatabaseArgs
from slipway_aws.logs import AppLogs, AppLogsArgs
from slipway_aws.naming import stack_scoped
from slipway_aws.network import Network, NetworkArgs


def _team_program() -> None:
    """What a team writes without WebApp: fixed logical names, the same in every stack."""
    net = Network("shop-net", NetworkArgs(cidr_block="10.40.0.0/16", az_count=2, nat_strategy="none"))
    Database("shop-db", DatabaseArgs(vpc_id=net.vpc_id, subnet_ids=net.private_subnet_ids, multi_az=False))
    AppLogs("shop", AppLogsArgs(retention_days=14))


def _explicit_names(graph: ResourceGraph) -> set[str]:
    """Names the program sets itself (auto-names get a random suffix from the engine, so they cannot collide)."""
    names = set()
    for r in graph.resources:
        key = NAME_INPUTS.get(r.type, "name")
        if r.custom and isinstance(r.inputs.get(key), str):
            names.add(f"{r.type} {r.inputs[key]}")
    return names


def test_the_same_program_in_dev_and_prod_shares_no_physical_name() -> None:
    dev, prod = (_explicit_names(run_program(_team_program, stack=s)) for s in ("dev", "prod"))
    assert dev and prod and not dev & prod, sorted(dev & prod)
    assert "aws:rds/instance:Instance shop-db-dev" in dev and "aws:rds/instance:Instance shop-db-prod" in prod


def test_names_that_already_carry_the_stack_are_kept() -> None:
    """slipway's own names (slipway-prod-db) already carry the stack: unchanged, so no existing stack is replaced."""
    seen: dict[str, str] = {}

    def program() -> None:
        seen.update({n: stack_scoped(n) for n in ("slipway-prod-db", "prod-api", "shop-db", "shop-production")})

    run_program(program, stack="prod")
    assert seen == {
        "slipway-prod-db": "slipway-prod-db",
        "prod-api": "prod-api",
        "shop-db": "shop-db-prod",
        "shop-production": "shop-production-prod",
    }
