"""slipway components: reusable Pulumi ComponentResources for a Python web app on AWS.

Import what you need in your own stack::

    from components import Network, NetworkArgs
    net = Network("edge", NetworkArgs(cidr_block="10.40.0.0/16", az_count=2, nat_strategy="single"))

Components never read stack config, environment variables or files; everything comes in through their Args.
"""

from .access_logs import AccessLogBucket, AccessLogBucketArgs
from .cluster import EcsCluster, EcsClusterArgs
from .database import Database, DatabaseArgs
from .gates import MigrationGate, MigrationGateArgs, RolloutCheck, RolloutCheckArgs
from .image import AppImage, AppImageArgs, find_pushed_image, image_tag, source_tag
from .logs import AppLogs, AppLogsArgs
from .migration import MigrationTask, MigrationTaskArgs
from .network import Network, NetworkArgs
from .observability import Observability, ObservabilityArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .secrets import AppSecrets, AppSecretsArgs
from .task_roles import TaskRoles, TaskRolesArgs
from .tls import TlsCertificate, TlsCertificateArgs
from .web_service import WebService, WebServiceArgs

__all__ = [
    "AccessLogBucket",
    "AccessLogBucketArgs",
    "AppImage",
    "AppImageArgs",
    "AppLogs",
    "AppLogsArgs",
    "AppSecrets",
    "AppSecretsArgs",
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
    "TaskRoles",
    "TaskRolesArgs",
    "TlsCertificate",
    "TlsCertificateArgs",
    "WebService",
    "WebServiceArgs",
    "find_pushed_image",
    "image_tag",
    "source_tag",
]
