"""The component package other Pulumi languages see (components/provider.py, provider/PulumiPlugin.yaml).

The schema is the Python SDK's own inference (``pulumi.provider.experimental``'s analyzer) over the facades;
``slipway schema`` prints it. A component is built through the provider's ``construct`` under the offline mocks,
as the engine does for a TypeScript, Go or YAML program.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from slipway.offline import run_program
from slipway.plan import main
from slipway_aws import provider

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def schema() -> dict[str, Any]:
    out = io.StringIO()
    assert main(["schema"], out=out) == 0
    return json.loads(out.getvalue())


def resource(name: str) -> dict[str, Any]:
    return schema()["resources"][f"slipway:index:{name}"]


def test_the_plugin_is_a_python_component_package() -> None:
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert plugin == {"runtime": "python"}
    assert "serve()" in (ROOT / "provider" / "__main__.py").read_text()
    assert schema()["name"] == "slipway" and schema()["version"].startswith("0.")


def test_at_least_ten_components_each_described() -> None:
    resources = schema()["resources"]
    assert len(resources) >= 10 and set(resources) == {f"slipway:index:{n}" for n in provider.COMPONENTS}
    for token, spec in resources.items():
        assert spec["isComponent"] is True and spec.get("description"), token


@pytest.mark.parametrize("name", sorted(provider.COMPONENTS))
def test_every_input_and_output_is_in_the_schema(name: str) -> None:
    spec = resource(name)
    module_name, args_name = provider.COMPONENTS[name]
    args_cls = getattr(importlib.import_module(f"slipway_aws.{module_name}"), args_name)
    kept, _, dropped = provider.inputs_of(args_cls)
    expected_inputs = {provider.camel(k) for k in kept}
    assert set(spec["inputProperties"]) == expected_inputs
    assert set(spec["properties"]) == {provider.camel(k) for k in provider.OUTPUTS[name]}
    assert all(p.get("description") for p in spec["properties"].values()), name
    # what other languages cannot pass are Pulumi resource objects and Python-only structures, nothing else
    assert set(dropped) <= {
        "deploy_after",
        "run_after",
        "restore",
        "network",
        "cluster",
        "password",
        "access_logs_bucket",
        "task_policy_json",
        "permissions_boundary",
        "db_restore",
    }, dropped


def test_inputs_are_described() -> None:
    inputs = [p for spec in schema()["resources"].values() for p in spec["inputProperties"].values()]
    described = [p for p in inputs if p.get("description")]
    assert len(inputs) >= 150
    assert len(described) / len(inputs) >= 0.95, f"{len(described)}/{len(inputs)}"


def test_required_inputs_are_the_args_without_defaults() -> None:
    assert set(resource("WebService")["requiredInputs"]) >= {"clusterArn", "image", "certificateArn", "vpcId"}
    assert "requiredInputs" not in resource("WebApp") or resource("WebApp")["requiredInputs"] == []


def test_a_component_is_constructed_through_the_provider() -> None:
    results: dict[str, Any] = {}

    def program() -> None:
        host = provider.component_provider()
        result = host.construct(
            "edge",
            "slipway:index:Network",
            {"cidrBlock": "10.40.0.0/16", "azCount": 2, "natStrategy": "single", "tags": {"team": "edge"}},
            pulumi.ResourceOptions(),
        )
        results["state"] = result.state

    graph = run_program(program)
    facade = graph.one("slipway:index:Network", "edge")
    (inner,) = graph.children(facade.urn)
    assert inner.type == "slipway:aws:Network"
    subnets = graph.by_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    assert len(graph.by_type("aws:ec2/natGateway:NatGateway")) == 1
    assert set(results["state"]) >= {"vpcId", "publicSubnetIds", "privateSubnetIds", "taskSubnetIds"}


def test_args_validation_runs_for_other_languages_too() -> None:
    def program() -> None:
        provider.component_provider().construct(
            "bad", "slipway:index:Network", {"cidrBlock": "10.40.0.0/24"}, pulumi.ResourceOptions()
        )

    with pytest.raises(Exception, match="cidr_block"):
        run_program(program)


def test_the_yaml_example_uses_only_what_the_schema_offers() -> None:
    project = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    assert project["runtime"] == "yaml"
    for name, declared in project["resources"].items():
        spec = schema()["resources"][declared["type"]]
        given = set(declared.get("properties", {}))
        assert given <= set(spec["inputProperties"]), (name, given - set(spec["inputProperties"]))
        assert set(spec.get("requiredInputs", [])) <= given, name
    for value in project["outputs"].values():
        resource_name, _, attribute = value.strip("${}").partition(".")
        token = project["resources"][resource_name]["type"]
        assert attribute in schema()["resources"][token]["properties"], value


def test_a_blank_knob_from_yaml_is_unset_not_refused() -> None:
    """Pulumi YAML spells an unset config value "" (examples/yaml's certificateArn default): the profile applies."""
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:" + "4f" * 32
    inputs = {"imageUri": image, "profile": "dev", "certificateArn": "", "containerPort": 8080}

    def program() -> None:
        provider.component_provider().construct("shop", "slipway:index:WebApp", inputs, pulumi.ResourceOptions())

    graph = run_program(program)
    assert graph.by_type("tls:index/selfSignedCert:SelfSignedCert"), "dev without a certificate: self-signed"
    assert graph.one("aws:lb/targetGroup:TargetGroup").input("port") == 8080
