"""ImagePromotion: during ``pulumi up``, copy an image another stack built into this stack's own ECR repository,
by digest (``components.ecr_copy``), and hand the copy to the service and the migration task.

Prod then never pulls from dev's repository: destroying dev, or dev's lifecycle policy expiring the image, cannot
break prod's scale-outs or restores. The digest is the same, so what prod runs is byte for byte what dev tested.
The copy runs on create and whenever the source image or target repository changes; ``delete`` leaves the image
(the repository's own lifecycle decides). Preview only checks the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult

from .gates import _known, _WaitingProvider

PROMOTION_TRIGGERS = ("source_image", "target_repository")


class ImagePromotionProvider(_WaitingProvider):
    triggers = PROMOTION_TRIGGERS
    required = ("source_image", "target_repository", "region")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from .ecr_copy import ImageCopyError, ImageRef

        result = super().check(_olds, news)
        source = news.get("source_image")
        if isinstance(source, str) and _known(source):
            try:
                ImageRef.parse(source)
            except ImageCopyError as err:
                result.failures.append(CheckFailure("source_image", str(err)))
        return result

    def act(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        import boto3

        from .ecr_copy import ImageRef, copy_image

        source = ImageRef.parse(props["source_image"])
        session = boto3.Session(profile_name=props.get("aws_profile") or None)
        copied = copy_image(
            props["source_image"],
            props["target_repository"],
            source_ecr=session.client("ecr", region_name=source.region),
            target_ecr=session.client("ecr", region_name=props["region"]),
            tag=props.get("tag") or None,
        )
        return f"promotion-{source.digest[7:19]}", {"image_uri": copied}


@dataclass(frozen=True)
class ImagePromotionArgs:
    source_image: pulumi.Input[str]
    """Image to promote, pinned by digest (``<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:...``). Required."""
    target_repository: pulumi.Input[str]
    """Name of this stack's ECR repository that receives the copy. Required."""
    target_registry_url: pulumi.Input[str]
    """Repository URL of the target (``ContainerRegistry.repository_url``); the copy's URI is built from it so
    previews know it before the copy runs. Required."""
    region: pulumi.Input[str]
    """Region of the target repository. Required."""
    tag: Optional[str] = None
    """Tag to put on the copy (immutable repositories refuse re-tagging another digest). Default None: digest only."""
    aws_profile: Optional[str] = None
    """Named AWS profile for the copy (the stack's ``aws:profile``). Default None: default credentials."""


class ImagePromotion(pulumi.dynamic.Resource, module="slipway", name="ImagePromotion"):
    """Outputs: ``image_uri`` (target repository @ the same digest, known at preview)."""

    image_uri: pulumi.Output[str]

    def __init__(self, name: str, args: ImagePromotionArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = {
            "source_image": args.source_image,
            "target_repository": args.target_repository,
            "region": args.region,
            "tag": args.tag,
            "aws_profile": args.aws_profile,
            "image_uri": None,
        }
        super().__init__(ImagePromotionProvider(), name, props, opts)
        # Known at preview: the same digest in the target repository. Waits for the copy (depends on self).
        digest = pulumi.Output.from_input(args.source_image).apply(lambda uri: uri.split("@", 1)[1])
        self.pinned_uri: pulumi.Output[str] = pulumi.Output.all(args.target_registry_url, digest, self.id).apply(
            lambda parts: f"{parts[0]}@{parts[1]}"
        )
