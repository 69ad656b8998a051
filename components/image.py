"""AppImage: build the app with pulumi-docker, push it to ECR, and expose the immutable ``repo@sha256:`` digest.

The tag is derived from the build context's content (:func:`source_tag`), so an unchanged app never pushes a new
tag (the ECR repository's tags are immutable) and a changed one always does. Services run ``image_ref``, the
digest, never a mutable tag. Registry credentials come from ``aws.ecr.get_authorization_token`` at deploy time and
are secret outputs, never stored in plain text.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

PLATFORMS = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}


@dataclass(frozen=True)
class AppImageArgs:
    context: str
    """Docker build context (the app directory). Required."""
    repository_url: pulumi.Input[str]
    """ECR repository URL (``ContainerRegistry.repository_url``). Required."""
    registry_id: pulumi.Input[str]
    """ECR registry id, for the authorization token. Required."""
    tag: str
    """Image tag pushed to ECR; must be new for new content (tags are immutable). Use :func:`source_tag`."""
    dockerfile: Optional[str] = None
    """Dockerfile path. Default ``<context>/Dockerfile``."""
    architecture: str = "arm64"
    """``arm64`` (default: Graviton Fargate is ~20 % cheaper) or ``x86_64``; must match the task definition."""


def source_tag(context: str, length: int = 16) -> str:
    """A content hash of the build context (file paths and bytes), stable across machines and checkouts."""
    digest = hashlib.sha256()
    root = Path(context)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".db")):
                continue
            path = Path(dirpath, filename)
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return f"src-{digest.hexdigest()[:length]}"


class AppImage(pulumi.ComponentResource):
    """Built and pushed image. Output: ``image_ref`` (``<repository>@sha256:<digest>``)."""

    image_ref: pulumi.Output[str]

    def __init__(self, name: str, args: AppImageArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:AppImage", name, None, opts)
        if args.architecture not in PLATFORMS:
            raise ValueError(f"architecture={args.architecture!r}: use one of {', '.join(PLATFORMS)}")
        token = aws.ecr.get_authorization_token_output(registry_id=args.registry_id,
                                                       opts=pulumi.InvokeOutputOptions(parent=self))
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(args.repository_url, ":", args.tag),
            build=docker.DockerBuildArgs(
                context=args.context,
                dockerfile=args.dockerfile or str(Path(args.context, "Dockerfile")),
                platform=PLATFORMS[args.architecture],
            ),
            registry=docker.RegistryArgs(
                server=args.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = image.repo_digest
        self.register_outputs({"image_ref": self.image_ref})
