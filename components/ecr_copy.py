"""Copy an image between ECR repositories by digest: same manifest bytes, so the same digest; nothing is rebuilt.

Promotion uses it so that a stack runs images from its *own* repository: destroying dev, or dev's lifecycle policy
expiring an image, never breaks prod's scale-outs or restores. Plain boto3, no Pulumi (moto-tested).

Steps: read the manifest by digest (``BatchGetImage``); for an image index, copy each child manifest first; for an
image manifest, upload every blob (config and layers) the target lacks (``BatchCheckLayerAvailability``, then
``GetDownloadUrlForLayer`` -> ``InitiateLayerUpload``/``UploadLayerPart``/``CompleteLayerUpload``, each blob's
digest checked); finally ``PutImage`` with the exact manifest bytes, so ECR computes the same digest.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
PART_SIZE = 10 * 1024 * 1024  # ECR accepts parts of at least 5 MiB (except the last)

Fetch = Callable[[str], bytes]


class ImageCopyError(Exception):
    """The image could not be copied; the message names the image, the step and what to check."""


@dataclass(frozen=True)
class ImageRef:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<hex>``"""

    registry_id: str
    region: str
    repository: str
    digest: str

    @classmethod
    def parse(cls, uri: str) -> ImageRef:
        try:
            location, digest = uri.split("@", 1)
            host, repository = location.split("/", 1)
            account, _dkr, _ecr, region = host.split(".")[:4]
        except ValueError:
            raise ImageCopyError(
                f"{uri!r} is not an ECR image by digest (<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:...)"
            ) from None
        if not digest.startswith("sha256:") or len(digest) != 71:
            raise ImageCopyError(f"{uri!r}: pin the image by digest (@sha256:<64 hex>), not by tag")
        return cls(registry_id=account, region=region, repository=repository, digest=digest)

    def uri(self) -> str:
        return f"{self.registry_id}.dkr.ecr.{self.region}.amazonaws.com/{self.repository}@{self.digest}"


def _download(url: str) -> bytes:
    if not url.startswith("https://"):
        raise ImageCopyError(f"refusing a non-HTTPS layer URL {url[:60]}")
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310 (HTTPS checked above)
        return bytes(response.read())


def _manifest(ecr: Any, repository: str, registry_id: str, digest: str) -> tuple[str, str]:
    response = ecr.batch_get_image(
        registryId=registry_id,
        repositoryName=repository,
        imageIds=[{"imageDigest": digest}],
        acceptedMediaTypes=list(MANIFEST_TYPES),
    )
    images = response.get("images") or []
    if not images:
        reasons = "; ".join(f.get("failureReason", "?") for f in response.get("failures") or [])
        raise ImageCopyError(f"{repository}@{digest} is not in the source repository ({reasons or 'not found'})")
    image = images[0]
    body = image["imageManifest"]
    media_type = image.get("imageManifestMediaType") or json.loads(body).get("mediaType") or MANIFEST_TYPES[3]
    return body, media_type


def _copy_blobs(
    source: Any, target: Any, src: ImageRef, target_repo: str, manifest: dict[str, Any], fetch: Fetch
) -> int:
    blobs = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest.get("layers", []))]
    available = target.batch_check_layer_availability(repositoryName=target_repo, layerDigests=blobs)
    present = {
        layer["layerDigest"] for layer in available.get("layers", []) if layer.get("layerAvailability") == "AVAILABLE"
    }
    copied = 0
    for blob in blobs:
        if blob in present:
            continue
        url = source.get_download_url_for_layer(
            registryId=src.registry_id, repositoryName=src.repository, layerDigest=blob
        )["downloadUrl"]
        data = fetch(url)
        if "sha256:" + hashlib.sha256(data).hexdigest() != blob:
            raise ImageCopyError(f"blob {blob} of {src.uri()} downloaded with a different digest; nothing was written")
        upload = target.initiate_layer_upload(repositoryName=target_repo)["uploadId"]
        for first in range(0, max(len(data), 1), PART_SIZE):
            part = data[first : first + PART_SIZE]
            target.upload_layer_part(
                repositoryName=target_repo,
                uploadId=upload,
                partFirstByte=first,
                partLastByte=first + len(part) - 1,
                layerPartBlob=part,
            )
        done = target.complete_layer_upload(repositoryName=target_repo, uploadId=upload, layerDigests=[blob])
        if done.get("layerDigest") != blob:
            raise ImageCopyError(f"ECR stored blob {blob} as {done.get('layerDigest')}")
        copied += 1
    return copied


def _put(target: Any, repository: str, body: str, media_type: str, digest: str, tag: Optional[str]) -> None:
    request: dict[str, Any] = {
        "repositoryName": repository,
        "imageManifest": body,
        "imageManifestMediaType": media_type,
        "imageDigest": digest,
    }
    if tag:
        request["imageTag"] = tag
    try:
        target.put_image(**request)
    except target.exceptions.ImageAlreadyExistsException:
        pass  # same digest (and tag) already there: a rerun is a no-op


def copy_image(
    source_uri: str,
    target_repository: str,
    source_ecr: Any,
    target_ecr: Any,
    tag: Optional[str] = None,
    fetch: Fetch = _download,
) -> str:
    """Copy ``source_uri`` (repo@sha256:...) into ``target_repository``; returns the target URI with the same digest.

    Idempotent: blobs the target has are skipped, and an image already there is left as it is.
    """
    src = ImageRef.parse(source_uri)
    target_registry = target_ecr.describe_repositories(repositoryNames=[target_repository])["repositories"][0][
        "registryId"
    ]
    body, media_type = _manifest(source_ecr, src.repository, src.registry_id, src.digest)
    if media_type in INDEX_TYPES:
        for child in json.loads(body).get("manifests", []):
            child_body, child_type = _manifest(source_ecr, src.repository, src.registry_id, child["digest"])
            _copy_blobs(source_ecr, target_ecr, src, target_repository, json.loads(child_body), fetch)
            _put(target_ecr, target_repository, child_body, child_type, child["digest"], None)
    else:
        _copy_blobs(source_ecr, target_ecr, src, target_repository, json.loads(body), fetch)
    _put(target_ecr, target_repository, body, media_type, src.digest, tag)
    found = target_ecr.describe_images(repositoryName=target_repository, imageIds=[{"imageDigest": src.digest}])
    if not found.get("imageDetails"):
        raise ImageCopyError(f"{target_repository}@{src.digest} is missing after PutImage")
    region = target_ecr.meta.region_name
    return ImageRef(target_registry, region, target_repository, src.digest).uri()
