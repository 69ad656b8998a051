"""slipway components: reusable Pulumi ComponentResources for a web app on AWS.

Installed (``pip install <repo>``) this package is ``slipway_aws``; in this repository it is ``components``. Import
what you need in your own stack::

    from slipway_aws import WebApp, WebAppArgs
    app = WebApp("shop", WebAppArgs(image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:..."))

or the lower-level components (``Network``, ``Database``, ``WebService``, ...). Names load lazily: importing
``Network`` does not import pulumi-docker, pulumi-tls or boto3; only the components that use them do.

Components never read stack config, environment variables or files; everything comes in through their Args.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule defining it
_EXPORTS = {
    "AccessLogBucket": "access_logs",
    "AccessLogBucketArgs": "access_logs",
    "AppImage": "image",
    "AppImageArgs": "image",
    "AppLogs": "logs",
    "AppLogsArgs": "logs",
    "AppSecrets": "secrets",
    "AppSecretsArgs": "secrets",
    "BackendService": "backend_service",
    "BackendServiceArgs": "backend_service",
    "ContainerRegistry": "registry",
    "ContainerRegistryArgs": "registry",
    "Database": "database",
    "DatabaseArgs": "database",
    "EcsCluster": "cluster",
    "EcsClusterArgs": "cluster",
    "MigrationGate": "gates",
    "MigrationGateArgs": "gates",
    "MigrationTask": "migration",
    "MigrationTaskArgs": "migration",
    "Network": "network",
    "NetworkArgs": "network",
    "Observability": "observability",
    "ObservabilityArgs": "observability",
    "RolloutCheck": "gates",
    "RolloutCheckArgs": "gates",
    "ScheduledJob": "scheduled_job",
    "ScheduledJobArgs": "scheduled_job",
    "TaskRoles": "task_roles",
    "TaskRolesArgs": "task_roles",
    "TlsCertificate": "tls",
    "TlsCertificateArgs": "tls",
    "WebService": "web_service",
    "WebServiceArgs": "web_service",
    "WebApp": "webapp",
    "WebAppArgs": "webapp",
    "WorkerService": "worker_service",
    "WorkerServiceArgs": "worker_service",
    "beside": "companion",
    "document_fields": "docs",
    "find_pushed_image": "image",
    "image_tag": "image",
    "source_tag": "image",
}

__all__ = [
    "AccessLogBucket",
    "AccessLogBucketArgs",
    "AppImage",
    "AppImageArgs",
    "AppLogs",
    "AppLogsArgs",
    "AppSecrets",
    "AppSecretsArgs",
    "BackendService",
    "BackendServiceArgs",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "Database",
    "DatabaseArgs",
    "EcsCluster",
    "EcsClusterArgs",
    "MigrationGate",
    "MigrationGateArgs",
    "MigrationTask",
    "MigrationTaskArgs",
    "Network",
    "NetworkArgs",
    "Observability",
    "ObservabilityArgs",
    "RolloutCheck",
    "RolloutCheckArgs",
    "ScheduledJob",
    "ScheduledJobArgs",
    "TaskRoles",
    "TaskRolesArgs",
    "TlsCertificate",
    "TlsCertificateArgs",
    "WebService",
    "WebServiceArgs",
    "WebApp",
    "WebAppArgs",
    "WorkerService",
    "WorkerServiceArgs",
    "beside",
    "document_fields",
    "find_pushed_image",
    "image_tag",
    "source_tag",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # what IDEs and mypy see
    from .access_logs import AccessLogBucket, AccessLogBucketArgs
    from .backend_service import BackendService, BackendServiceArgs
    from .cluster import EcsCluster, EcsClusterArgs
    from .companion import beside
    from .database import Database, DatabaseArgs
    from .docs import document_fields
    from .gates import MigrationGate, MigrationGateArgs, RolloutCheck, RolloutCheckArgs
    from .image import AppImage, AppImageArgs, find_pushed_image, image_tag, source_tag
    from .logs import AppLogs, AppLogsArgs
    from .migration import MigrationTask, MigrationTaskArgs
    from .network import Network, NetworkArgs
    from .observability import Observability, ObservabilityArgs
    from .registry import ContainerRegistry, ContainerRegistryArgs
    from .scheduled_job import ScheduledJob, ScheduledJobArgs
    from .secrets import AppSecrets, AppSecretsArgs
    from .task_roles import TaskRoles, TaskRolesArgs
    from .tls import TlsCertificate, TlsCertificateArgs
    from .web_service import WebService, WebServiceArgs
    from .webapp import WebApp, WebAppArgs
    from .worker_service import WorkerService, WorkerServiceArgs
