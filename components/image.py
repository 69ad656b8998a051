"""AppImage: build the app with pulumi-docker, push it to ECR, and expose the immutable ``repo@sha256:`` digest.

The tag is derived from the build context's content (:func:`source_tag`) and the CPU architecture, so an unchanged
app never pushes a new tag (the ECR repository's tags are immutable) and a changed one always does. When the tag is
already in the repository (a revert to earlier content, or an update that pushed and was then cancelled),
:func:`find_pushed_image` (with ``repository_name`` set) finds its digest and it is deployed without a build:
rebuilding would produce other bytes under a tag ECR refuses to overwrite (``ImageTagAlreadyExistsException``).
Services run ``image_ref``, the digest, never a mutable tag. Registry credentials come from
``aws.ecr.get_authorization_token`` at deploy time and are secret outputs, never stored in plain text.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import boto3
import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
from botocore.exceptions import BotoCoreError, ClientError

from .docs import document_fields

PLATFORMS = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}


@document_fields
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
    repository_name: Optional[str] = None
    """Name of the ECR repository behind ``repository_url``. When set, ECR is asked first whether ``tag`` is already
    there (:func:`find_pushed_image`); if so that digest is deployed and nothing is built. Default None: always
    build and push."""
    region: Optional[str] = None
    """Region of the repository, for that lookup. Default None: boto3's default region."""
    aws_profile: Optional[str] = None
    """Named AWS profile for that lookup (the stack's ``aws:profile``). Default None: default credentials."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _app_image_args(self, PLATFORMS)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """One ``.dockerignore`` pattern as a regex over ``/``-separated paths relative to the context (Go
    ``filepath.Match`` semantics plus ``**``, as Docker's pattern matcher)."""
    pattern = pattern.strip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_filter(context: str) -> Callable[[str], bool]:
    """``included(path)`` for the context's ``.dockerignore``: the last matching pattern wins, ``!`` re-includes,
    and a pattern that matches a directory excludes everything below it."""
    file = Path(context, ".dockerignore")
    rules: list[tuple[bool, re.Pattern[str]]] = []
    if file.is_file():
        for line in file.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            body = os.path.normpath(line[1:].strip() if negated else line).replace(os.sep, "/")
            rules.append((negated, _pattern_regex(body)))

    def included(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        keep = True
        for negated, regex in rules:
            if any(regex.match(prefix) for prefix in prefixes):
                keep = negated
        return keep

    return included


def source_tag(context: str, length: int = 16, dockerfile: str = "Dockerfile") -> str:
    """A content hash of what ``docker build`` sees: the files the context's ``.dockerignore`` keeps (paths and
    bytes), plus the Dockerfile and the ``.dockerignore`` themselves. Stable across machines and checkouts; a change
    to tests or docs that never reach the image does not produce a new tag (nor a new deploy)."""
    digest = hashlib.sha256()
    root = Path(context)
    included = dockerignore_filter(context)
    always = {dockerfile, ".dockerignore"}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            rel = path.relative_to(root).as_posix()
            if filename.endswith((".pyc", ".db")) or not (rel in always or included(rel)):
                continue
            digest.update(rel.encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return f"src-{digest.hexdigest()[:length]}"


def image_tag(context: str, architecture: str) -> str:
    """The ECR tag for a build: content hash plus architecture (one content builds one image per platform)."""
    if architecture not in PLATFORMS:
        raise ValueError(f"architecture={architecture!r}: use one of {', '.join(PLATFORMS)}")
    return f"{source_tag(context)}-{architecture}"


def find_pushed_image(
    repository_name: str, tag: str, region: str, ecr_client: Any = None, profile: Optional[str] = None
) -> Optional[str]:
    """The digest of ``repository_name:tag`` if ECR already holds it, else None (no repository yet, or no such tag).

    Called by the program before it declares the image, at preview and at update; needs ``ecr:DescribeImages``.
    """
    ecr = ecr_client or boto3.Session(profile_name=profile, region_name=region or None).client("ecr")
    try:
        details = ecr.describe_images(repositoryName=repository_name, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code in ("RepositoryNotFoundException", "ImageNotFoundException"):
            return None
        raise RuntimeError(
            f"cannot check ECR for {repository_name}:{tag} ({code}): the deploying role needs "
            f"ecr:DescribeImages on the repository"
        ) from err
    except BotoCoreError as err:
        raise RuntimeError(f"cannot check ECR for {repository_name}:{tag}: {err}") from err
    return str(details[0]["imageDigest"]) if details else None


class AppImage(pulumi.ComponentResource):
    """Built and pushed image, or the one already pushed under the same tag. Output: ``image_ref``
    (``<repository>@sha256:<digest>``)."""

    image_ref: pulumi.Output[str]

    def __init__(self, name: str, args: AppImageArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:AppImage", name, None, opts)
        pushed = (
            find_pushed_image(args.repository_name, args.tag, args.region or "", profile=args.aws_profile)
            if args.repository_name
            else None
        )
        if pushed:  # a revert or a cancelled update: never rebuild over an immutable tag
            if not pushed.startswith("sha256:"):
                raise ValueError(
                    f"ECR returned digest {pushed!r} for {args.repository_name}:{args.tag}: expected sha256:<hex>"
                )
            self.image_ref = pulumi.Output.concat(args.repository_url, "@", pushed)
            self.register_outputs({"image_ref": self.image_ref})
            return
        token = aws.ecr.get_authorization_token_output(
            registry_id=args.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
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


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _app_image_args(args: AppImageArgs, platforms: Iterable[str]) -> None:
    from .validation import Checks, plain

    c = Checks()
    c.one_of("architecture", args.architecture, tuple(platforms))
    if plain(args.tag) and not args.tag:
        c.bad("tag", args.tag, "is empty: use image_tag(context, architecture)")
    c.raise_for("AppImageArgs")
