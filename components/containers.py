"""Container definitions shared by the web service and the migration task (one image, one runtime contract).

Hardened by construction: numeric non-root user, read-only root filesystem with a writable ``/tmp`` volume, an
init process to reap children and forward SIGTERM, secrets only as ``valueFrom`` ARNs, logs through awslogs.

Image contract: Fargate creates the ``/tmp`` bind volume owned by root with mode 0755, so the image must declare
``VOLUME ["/tmp"]`` after making ``/tmp`` mode 1777 (ECS then copies those permissions into the volume), as
``app/Dockerfile`` does; otherwise UID 10001 cannot write anywhere and the app cannot start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import pulumi

if TYPE_CHECKING:
    import pulumi_aws

APP_USER = "10001:10001"
CPU_ARCHITECTURES = {"arm64": "ARM64", "x86_64": "X86_64"}
TMP_VOLUME = "tmp"
# ECS waits this long after SIGTERM before SIGKILL; the app's gunicorn graceful timeout (20 s) stays below it.
STOP_TIMEOUT_SECONDS = 30


def health_check_command(port: int, path: str) -> list[str]:
    """A container health check for images that ship Python (the sample app: no curl in a slim image).

    Components never assume it: ``WebServiceArgs.container_health_check`` defaults to none, the load balancer's
    check decides, and any image can be deployed. The slipway program passes this one for ``app/``."""
    url = f"http://127.0.0.1:{port}{path}"
    return [
        "CMD",
        "python",
        "-c",
        f"import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('{url}', timeout=3).status == 200 else 1)",
    ]


@dataclass(frozen=True)
class ContainerSpec:
    """Everything that differs between the web container and the migration container."""

    name: str
    image: pulumi.Input[str]
    log_group: pulumi.Input[str]
    region: pulumi.Input[str]
    stream_prefix: str
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    command: Optional[Sequence[str]] = None
    port: Optional[int] = None
    health_check_path: Optional[str] = None
    health_check: Optional[Sequence[str]] = None
    """ECS health check command run inside the container (``["CMD", ...]`` or ``["CMD-SHELL", "..."]``); None: none."""


def render(
    spec: ContainerSpec,
    image: str,
    log_group: str,
    region: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
) -> str:
    """The ``container_definitions`` JSON for one container, from resolved values."""
    container: dict = {
        "name": spec.name,
        "image": image,
        "essential": True,
        "user": APP_USER,
        "readonlyRootFilesystem": True,
        "mountPoints": [
            {
                "sourceVolume": TMP_VOLUME,
                "containerPath": "/tmp",  # noqa: S108  # nosec B108
                "readOnly": False,
            }
        ],
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": spec.stream_prefix,
                "mode": "non-blocking",
                "max-buffer-size": "4m",
            },
        },
    }
    if spec.command:
        container["command"] = list(spec.command)
    if spec.port:
        container["portMappings"] = [{"containerPort": spec.port, "protocol": "tcp", "name": "http"}]
    if spec.port and spec.health_check:
        container["healthCheck"] = {
            "command": list(spec.health_check),
            "interval": 10,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 15,
        }
    return json.dumps([container])


def container_definitions(spec: ContainerSpec) -> pulumi.Output[str]:
    """Resolve the spec's outputs and render its JSON."""
    env_keys, secret_keys = list(spec.environment), list(spec.secrets)
    overlap = set(env_keys) & set(secret_keys)
    if overlap:
        raise ValueError(f"{sorted(overlap)} set both as plain environment and as secrets")
    return pulumi.Output.all(
        spec.image, spec.log_group, spec.region, *spec.environment.values(), *spec.secrets.values()
    ).apply(
        lambda v: render(
            spec,
            v[0],
            v[1],
            v[2],
            dict(zip(env_keys, v[3 : 3 + len(env_keys)], strict=True)),
            dict(zip(secret_keys, v[3 + len(env_keys) :], strict=True)),
        )
    )


def fargate_task_definition(
    resource_name: str,
    *,
    family: pulumi.Input[str],
    cpu: int,
    memory: int,
    architecture: str,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    spec: ContainerSpec,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> pulumi_aws.ecs.TaskDefinition:
    """The one Fargate task definition every slipway container runs in (web, migration, companions, previews): awsvpc,
    Linux on ``architecture``, the writable ``/tmp`` volume the read-only root needs, the hardened container
    definitions of ``spec``. Old revisions are kept (``skip_destroy``): ``ecs:DeregisterTaskDefinition`` has no
    resource-level permission, so a deploy role allowed it could deregister every stack's revisions
    (slipway/deploy_actions.json)."""
    import pulumi_aws as aws

    return aws.ecs.TaskDefinition(
        resource_name,
        family=family,
        cpu=str(cpu),
        memory=str(memory),
        network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX",
            cpu_architecture=CPU_ARCHITECTURES[architecture],
        ),
        execution_role_arn=execution_role_arn,
        task_role_arn=task_role_arn,
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=TMP_VOLUME)],
        container_definitions=container_definitions(spec),
        tags=tags,
        skip_destroy=True,
        opts=opts,
    )
