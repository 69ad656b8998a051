"""The components as a Pulumi component package, for every Pulumi language (TypeScript, Go, C#, Java, YAML).

``pulumi package add <repo>/provider`` runs ``provider/__main__.py``, which calls :func:`serve`: the Python SDK's
component provider host (``pulumi.provider.experimental``) infers the package schema from type annotations and
generates an SDK per language; ``construct`` requests then build the real components in this process.

The SDK's analyzer reads annotations as written (``inspect.get_annotations``) and cannot resolve the string
annotations of modules using ``from __future__ import annotations``; its ``construct`` passes the inputs as a
``dict``, and it reads outputs from class-level annotations. So each exposed component gets a thin facade here:

* inputs: the component's Args fields with their annotations *resolved* (``typing.get_type_hints``), minus those
  no other language can express (Pulumi resource objects such as ``deploy_after``, Python dataclasses such as
  ``restore``); descriptions are the fields' docstrings (``components.docs``), defaults stated in them;
* outputs: the attributes listed in :data:`OUTPUTS`, with their types and descriptions;
* the facade (type ``slipway:index:<Name>``) builds the Args dataclass from the inputs (its validation included)
  and the real component (``slipway:aws:<Name>``) as its only child, then copies the outputs.
"""

import dataclasses
import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import pulumi

from . import __version__

PACKAGE = "slipway"

# Component -> output attribute -> (type, description).
OUTPUTS: dict[str, dict[str, tuple[Any, str]]] = {
    "Network": {
        "vpc_id": (str, "ID of the VPC."),
        "public_subnet_ids": (list[str], "Public subnets (load balancer; tasks too when there is no NAT)."),
        "private_subnet_ids": (list[str], "Private subnets (database; tasks when there is NAT)."),
        "task_subnet_ids": (list[str], "The subnets app tasks run in."),
        "assign_public_ip": (bool, "Whether tasks need a public IP (no NAT)."),
    },
    "ContainerRegistry": {
        "repository_name": (str, "ECR repository name."),
        "repository_url": (str, "ECR repository URL, for docker push."),
        "repository_arn": (str, "ECR repository ARN, for pull permissions."),
        "registry_id": (str, "Account ID of the registry."),
    },
    "AppSecrets": {
        "db_password_arn": (str, "ARN of the generated database password secret."),
        "secret_key_arn": (str, "ARN of the generated signing key secret."),
        "arns": (list[str], "ARNs of every generated secret (for the execution role)."),
        "read_policy_json": (str, "IAM policy allowing GetSecretValue on exactly these secrets."),
        "container_secrets": (dict[str, str], "Env var name -> valueFrom reference pinned to the secret version."),
    },
    "AppLogs": {
        "log_group_name": (str, "CloudWatch log group name."),
        "log_group_arn": (str, "CloudWatch log group ARN."),
    },
    "TaskRoles": {
        "execution_role_arn": (str, "ECS execution role ARN (image pull, logs, secrets)."),
        "task_role_arn": (str, "The app's own role ARN."),
    },
    "Database": {
        "address": (str, "Hostname of the PostgreSQL instance."),
        "port": (int, "PostgreSQL port."),
        "endpoint": (str, "host:port of the instance."),
        "identifier": (str, "RDS instance identifier."),
        "arn": (str, "RDS instance ARN."),
        "resource_id": (str, "RDS resource ID (for IAM database authentication)."),
        "master_user_secret_arn": (str, "Secrets Manager ARN of the RDS-managed master password, when managed."),
        "db_name": (str, "Name of the app database."),
        "username": (str, "Master user name."),
        "security_group_id": (str, "Security group of the database."),
        "client_security_group_id": (str, "Security group the database admits: attach it to its clients."),
    },
    "EcsCluster": {
        "cluster_name": (str, "ECS cluster name."),
        "cluster_arn": (str, "ECS cluster ARN."),
    },
    "MigrationTask": {
        "task_definition_arn": (str, "Task definition of the migration task."),
        "security_group_id": (str, "Security group of the migration task."),
    },
    "TlsCertificate": {
        "certificate_arn": (str, "ACM certificate ARN, validated and ready for a listener."),
    },
    "AccessLogBucket": {
        "bucket": (str, "Name of the access log bucket."),
        "prefix": (str, "Key prefix load balancers write under."),
    },
    "WebService": {
        "url": (str, "HTTPS address of the service."),
        "dns_name": (str, "DNS name of the load balancer."),
        "alb_zone_id": (str, "Route 53 zone ID of the load balancer (for alias records)."),
        "alb_arn": (str, "Load balancer ARN."),
        "alb_arn_suffix": (str, "Load balancer ARN suffix (CloudWatch dimension)."),
        "target_group_arn_suffix": (str, "Target group ARN suffix (CloudWatch dimension)."),
        "service_name": (str, "ECS service name."),
        "task_definition_arn": (str, "Task definition the service runs."),
        "task_security_group_id": (str, "Security group of the tasks."),
    },
    "Observability": {
        "topic_arn": (str, "SNS topic the alarms notify."),
        "alarm_names": (list[str], "Names of the alarms."),
        "dashboard_name": (str, "CloudWatch dashboard name."),
    },
    "WebApp": {
        "url": (str, "The app's HTTPS address."),
        "image_ref": (str, "The deployed image, pinned by digest."),
        "db_endpoint": (str, "host:port of the database (absent without one)."),
        "log_group_name": (str, "Log group of the app and its migrations."),
        "cluster_name": (str, "ECS cluster name."),
        "service_name": (str, "ECS service name."),
        "alarm_topic_arn": (str, "SNS topic of the alarms (absent without observability)."),
    },
}

# Component name -> (module, Args class name); the component class has the same name in the module.
COMPONENTS: dict[str, tuple[str, str]] = {
    "Network": ("network", "NetworkArgs"),
    "ContainerRegistry": ("registry", "ContainerRegistryArgs"),
    "AppSecrets": ("secrets", "AppSecretsArgs"),
    "AppLogs": ("logs", "AppLogsArgs"),
    "TaskRoles": ("task_roles", "TaskRolesArgs"),
    "Database": ("database", "DatabaseArgs"),
    "EcsCluster": ("cluster", "EcsClusterArgs"),
    "MigrationTask": ("migration", "MigrationTaskArgs"),
    "TlsCertificate": ("tls", "TlsCertificateArgs"),
    "AccessLogBucket": ("access_logs", "AccessLogBucketArgs"),
    "WebService": ("web_service", "WebServiceArgs"),
    "Observability": ("observability", "ObservabilityArgs"),
    "WebApp": ("webapp", "WebAppArgs"),
}

_SIMPLE = (str, int, float, bool)


def _input_of(tp: Any) -> Any:
    """``T`` when ``tp`` is ``pulumi.Input[T]`` (``Union[T, Awaitable[T], Output[T]]``), else None."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and len(args) == 3:
        awaitable, output = args[1], args[2]
        is_output = (
            isinstance(output, typing.ForwardRef) or getattr(typing.get_origin(output), "__name__", "") == "Output"
        )
        if (
            typing.get_origin(awaitable) is not None
            and typing.get_origin(awaitable).__name__ == "Awaitable"
            and is_output
        ):
            return args[0]
    return None


def expressible(tp: Any) -> bool:
    """Whether every language can express ``tp``: plain values, lists, maps, Inputs and Optionals of them."""
    if tp in _SIMPLE:
        return True
    inner = _input_of(tp)
    if inner is not None:
        return expressible(inner)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        return all(expressible(a) for a in args if a is not type(None))
    if origin in (list, Sequence, tuple) or origin in (dict, Mapping):
        inner = args[1:] if origin in (dict, Mapping) else args[:1]
        return all(expressible(a) for a in inner if a is not Ellipsis)
    if origin is typing.Awaitable or getattr(origin, "__name__", "") in ("Awaitable", "Output"):
        return all(expressible(a) for a in args)
    return False


def _portable(tp: Any) -> Any:
    """``tp`` in the forms the analyzer knows (tuples become lists)."""
    inner = _input_of(tp)
    if inner is not None:
        return pulumi.Input[_portable(inner)]  # type: ignore[misc]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        return list[_portable(args[0])]  # type: ignore[misc]
    if origin is typing.Union:
        return typing.Union[tuple(_portable(a) for a in args)]  # noqa: UP007
    if origin in (list, Sequence):
        return list[_portable(args[0])]  # type: ignore[misc]
    if origin in (dict, Mapping):
        return dict[str, _portable(args[1])]  # type: ignore[misc]
    if origin is not None and args and getattr(origin, "__name__", "") == "Output":
        return pulumi.Output[_portable(args[0])]  # type: ignore[misc]
    return tp


def inputs_of(args_cls: type) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The schema inputs of an Args dataclass: (field -> annotation, field -> description, dropped fields)."""
    import importlib

    module = importlib.import_module(args_cls.__module__)
    names = {**vars(typing), **vars(pulumi), **vars(module)}
    docs: dict[str, str] = getattr(args_cls, "__field_docs__", {})
    kept, dropped = {}, []
    for f in dataclasses.fields(args_cls):
        try:
            tp = eval(f.type, names) if isinstance(f.type, str) else f.type  # noqa: S307  # nosec B307 (own source)
        except NameError:  # a name imported for type checking only: not a type other languages could use
            tp = None
        if not expressible(tp):
            dropped.append(f.name)
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        kept[f.name] = _portable(tp) if required else Optional[_portable(tp)]  # noqa: UP045
    return kept, {k: docs.get(k, "") for k in kept}, dropped


def facade(name: str) -> type[pulumi.ComponentResource]:
    """The provider-facing component ``name``: schema-friendly annotations, builds the real component inside."""
    import importlib

    module_name, args_name = COMPONENTS[name]
    module = importlib.import_module(f".{module_name}", __package__)
    real_cls, args_cls = getattr(module, name), getattr(module, args_name)
    inputs, input_docs, _ = inputs_of(args_cls)
    args_type = type(
        f"{name}Args",
        (),
        {"__annotations__": inputs, "__doc__": args_cls.__doc__, "__module__": __name__, "__field_docs__": input_docs},
    )
    output = typing.cast(Any, pulumi.Output)
    outputs = {k: output[t] for k, (t, _) in OUTPUTS[name].items()}
    from .knobs import knobs

    unset_when_blank = set(knobs(args_cls))

    def __init__(  # noqa: N807
        self: Any, resource_name: str, args: Any, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        pulumi.ComponentResource.__init__(self, f"{PACKAGE}:index:{name}", resource_name, {}, opts)
        # A knob given as "" (how Pulumi YAML spells an unset config value) is unset: the profile's value applies.
        given: dict[str, Any] = {
            k: v for k, v in dict(args or {}).items() if v is not None and not (v == "" and k in unset_when_blank)
        }
        child = real_cls(resource_name, args_cls(**given), opts=pulumi.ResourceOptions(parent=self))
        self.component = child
        for key in OUTPUTS[name]:
            value = getattr(child, key, None)
            setattr(self, key, None if value is None else pulumi.Output.from_input(value))
        self.register_outputs({key: getattr(self, key) for key in OUTPUTS[name]})

    __init__.__annotations__ = {"resource_name": str, "args": args_type, "opts": Optional[pulumi.ResourceOptions]}
    first_line = (module.__doc__ or real_cls.__doc__ or name).strip().split("\n\n")[0]
    return type(
        name,
        (pulumi.ComponentResource,),
        {
            "__init__": __init__,
            "__annotations__": outputs,
            "__doc__": first_line,
            "__module__": __name__,
            "__output_docs__": {k: d for k, (_, d) in OUTPUTS[name].items()},
        },
    )


def camel(name: str) -> str:
    """The schema's name of a Python field (the SDK's own rule): ``cidr_block`` -> ``cidrBlock``."""
    from pulumi.provider.experimental.util import camel_case

    return camel_case(name)


def facades() -> list[type[pulumi.ComponentResource]]:
    return [facade(name) for name in COMPONENTS]


def _analyzer_class() -> type:
    from pulumi.provider.experimental.analyzer import Analyzer

    class DocumentedAnalyzer(Analyzer):
        """Descriptions from ``__field_docs__``/``__output_docs__`` (facades have no source to parse)."""

        def get_docstring(self, typ: type, name: str) -> Optional[str]:
            for attr in ("__field_docs__", "__output_docs__"):
                docs = typ.__dict__.get(attr)
                if docs is not None and name in docs:
                    return str(docs[name]) or None
            return super().get_docstring(typ, name)

    return DocumentedAnalyzer


def component_provider(components: Optional[list[type[pulumi.ComponentResource]]] = None) -> Any:
    """The SDK's ComponentProvider for the facades, with field docstrings as descriptions."""
    from pulumi.provider.experimental import component as component_module

    analyzer = _analyzer_class()
    real = component_module.Analyzer
    component_module.Analyzer = analyzer  # type: ignore[misc,assignment]  # the provider builds its own analyzer
    try:
        return component_module.ComponentProvider(components or facades(), PACKAGE, None, __version__)
    finally:
        component_module.Analyzer = real  # type: ignore[misc]


def schema() -> dict[str, Any]:
    """The package schema other languages see (what ``pulumi package get-schema`` prints)."""
    provider = component_provider()
    return json.loads(provider.schema)


def serve() -> None:
    """The plugin entry point (``provider/__main__.py``): the SDK's ``component_provider_host`` serving the facades,
    with the documenting analyzer (the host builds its provider, and so its analyzer, itself)."""
    from pulumi.provider.experimental import component as component_module
    from pulumi.provider.experimental import component_provider_host

    component_module.Analyzer = _analyzer_class()  # type: ignore[misc,assignment]  # for the whole (serving) process
    component_provider_host(facades(), PACKAGE, version=__version__)
