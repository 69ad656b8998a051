"""BackendService: a Fargate service without a public load balancer, reachable by name from the others (Copilot's
"Backend Service").

Name resolution is AWS Cloud Map DNS: a private DNS namespace in the VPC (or an existing one, ``namespace_id``)
and a service whose A records ECS keeps equal to the running tasks' addresses (``service_registries``). Anything in
the VPC resolves ``<discovery_name>.<namespace_name>``; only the security groups in ``client_security_group_ids``
may connect, on ``port`` (both sides of each rule, components.sg_rules.tcp_between). Unlike Service Connect, the
clients need no change (the web service keeps its configuration).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from .companion import CompanionArgs, CompanionParts, check_companion
from .docs import document_fields
from .sg_rules import tcp_between

LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
NAMESPACE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


@document_fields
@dataclass(frozen=True, kw_only=True)
class BackendServiceArgs(CompanionArgs):
    port: int = 8000
    """Port the container listens on (passed as ``PORT``). Default 8000."""
    client_security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Security groups that may connect on ``port``, e.g. ``WebService.task_security_group_id``. Default none."""
    discovery_name: Optional[str] = None
    """DNS label of the service in the namespace. Default None: the component's name."""
    namespace_name: str = "internal"
    """Private DNS namespace created in the VPC when ``namespace_id`` is None. Default ``internal``."""
    namespace_id: Optional[pulumi.Input[str]] = None
    """An existing Cloud Map private DNS namespace (another BackendService's ``namespace_id``); ``namespace_name``
    must then be its name. Default None: a new one named ``namespace_name``."""
    desired_count: int = 1
    """Running tasks. Default 1."""
    fargate_spot: bool = False
    """Run on Fargate Spot. Default False."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (components.validation)."""
        backend_service_args(self)


def backend_service_args(args: BackendServiceArgs) -> None:
    from .validation import Checks

    c = Checks()
    check_companion(c, args)
    c.int_range("port", args.port, 1024, 65535)
    c.int_range("desired_count", args.desired_count, 0, 100)
    c.matches("discovery_name", args.discovery_name, LABEL, "a lowercase DNS label", "api")
    c.matches("namespace_name", args.namespace_name, NAMESPACE, "a lowercase DNS name", "internal")
    if "PORT" in args.environment:
        c.bad("environment", "PORT", "is set from port", ("port", 8000))
    c.raise_for("BackendServiceArgs")


class BackendService(pulumi.ComponentResource):
    """Outputs: ``dns_name`` (``<discovery_name>.<namespace_name>``), ``url`` (``http://dns_name:port``),
    ``namespace_id``, ``service_name``, ``task_definition_arn``, ``task_role_arn``, ``security_group_id``."""

    def __init__(self, name: str, args: BackendServiceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:BackendService", name, None, opts)
        parts = CompanionParts(self, name, args)
        child, tags = parts.child, parts.tags
        namespace_id: pulumi.Input[str]
        if args.namespace_id is None:
            namespace = aws.servicediscovery.PrivateDnsNamespace(
                f"{name}-ns",
                name=args.namespace_name,
                vpc=args.vpc_id,
                description=f"{name}: private names of the app's services",
                tags=tags,
                opts=child,
            )
            namespace_id = namespace.id
        else:
            namespace_id = args.namespace_id
        discovery_name = args.discovery_name or name
        registry = aws.servicediscovery.Service(
            f"{name}-discovery",
            name=discovery_name,
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=namespace_id,
                routing_policy="MULTIVALUE",
                dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(type="A", ttl=10)],
            ),
            force_destroy=True,
            tags=tags,
            opts=child,
        )
        role = parts.task_role()
        sg = parts.security_group("Backend tasks: the app port from its clients only")
        for index, client in enumerate(args.client_security_group_ids):
            tcp_between(
                source=client,
                target=sg.id,
                port=args.port,
                egress=(f"{name}-client-{index}-out", f"to {discovery_name} (backend)"),
                ingress=(f"{name}-client-{index}-in", f"from a client of {discovery_name}"),
                opts=child,
            )
        task_def = parts.task_definition(role, "backend", {**args.environment, "PORT": str(args.port)}, port=args.port)
        service = parts.service(
            task_def,
            sg,
            args.desired_count,
            args.fargate_spot,
            service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=registry.arn),
        )
        self.dns_name: pulumi.Output[str] = pulumi.Output.concat(discovery_name, ".", args.namespace_name)
        self.url: pulumi.Output[str] = pulumi.Output.concat("http://", self.dns_name, ":", str(args.port))
        self.namespace_id: pulumi.Output[str] = pulumi.Output.from_input(namespace_id)
        self.service_name: pulumi.Output[str] = service.name
        self.task_definition_arn: pulumi.Output[str] = task_def.arn
        self.task_role_arn: pulumi.Output[str] = role.arn
        self.security_group_id: pulumi.Output[str] = sg.id
        self.service = service
        self.register_outputs(
            {
                "dns_name": self.dns_name,
                "url": self.url,
                "namespace_id": self.namespace_id,
                "service_name": self.service_name,
                "task_definition_arn": self.task_definition_arn,
                "task_role_arn": self.task_role_arn,
                "security_group_id": self.security_group_id,
            }
        )
