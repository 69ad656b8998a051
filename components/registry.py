"""ContainerRegistry: a private ECR repository with immutable tags, scan on push and a lifecycle policy.

Tags are immutable, so a tag can never be re-pointed at other bits; the service deploys by digest anyway
(see :mod:`components.image`). The lifecycle policy expires untagged layers after ``untagged_expiry_days`` and keeps
the newest ``keep_images`` tagged images: keep that number above the count of builds between a prod promotion
and its rollback target, or a scale-out could fail to pull an expired digest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields

_REPOSITORY_NAME = re.compile(r"(?=.{2,256}\Z)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")


@document_fields
@dataclass(frozen=True)
class ContainerRegistryArgs:
    keep_images: int = 50
    """Tagged images kept by the lifecycle policy. Default 50 (a few weeks of deploys)."""
    untagged_expiry_days: int = 7
    """Days after which untagged images expire. Default 7."""
    repository_name: Optional[str] = None
    """Explicit repository name, so the program can look for already pushed tags (``find_pushed_image``) before
    the repository's outputs exist. Default None (auto-named ``<name>-repo-<suffix>``)."""
    force_delete: bool = False
    """Let ``pulumi destroy`` delete a repository that still holds images. Default False (nothing lost);
    the dev stack sets it True because it is disposable."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _container_registry_args(self, _REPOSITORY_NAME)


def lifecycle_policy(keep_images: int, untagged_expiry_days: int) -> str:
    """ECR lifecycle policy JSON: expire untagged images first, then cap the number of tagged ones."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"expire untagged images after {untagged_expiry_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class ContainerRegistry(pulumi.ComponentResource):
    """ECR repository. Outputs: ``repository_url``, ``repository_arn``, ``registry_id``, ``repository_name``."""

    repository_name: pulumi.Output[str]
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    registry_id: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:ContainerRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repo = aws.ecr.Repository(
            f"{name}-repo",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            force_delete=args.force_delete,
            tags=dict(args.tags),
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repo.name,
            policy=lifecycle_policy(args.keep_images, args.untagged_expiry_days),
            opts=child,
        )
        self.repository_name = repo.name
        self.repository_url = repo.repository_url
        self.repository_arn = repo.arn
        self.registry_id = repo.registry_id
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _container_registry_args(args: ContainerRegistryArgs, name_pattern: re.Pattern[str]) -> None:
    from .validation import Checks, plain

    c = Checks()
    c.int_range("keep_images", args.keep_images, 1, None)
    c.int_range("untagged_expiry_days", args.untagged_expiry_days, 1, None, "days")
    if args.repository_name is not None and plain(args.repository_name):
        if not name_pattern.fullmatch(args.repository_name):
            c.bad(
                "repository_name",
                args.repository_name,
                "use 2-256 lowercase letters, digits and '-', '_', '.', '/' separators (ECR's rule)",
            )
    c.raise_for("ContainerRegistryArgs")
