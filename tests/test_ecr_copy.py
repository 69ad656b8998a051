"""Image promotion copies by digest into the target stack's own repository (moto's ECR, real boto3 calls)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from slipway_aws.ecr_copy import ImageCopyError, copy_image

REGION = "us-east-1"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Source:
    """moto's ECR client, plus download URLs for blobs (moto does not implement GetDownloadUrlForLayer)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_download_url_for_layer(self, **kwargs: Any) -> dict[str, str]:
        return {"downloadUrl": f"https://layers.example/{kwargs['layerDigest']}"}


def _push(ecr: Any, repo: str, blobs: dict[str, bytes], arch: str = "arm64") -> tuple[str, str]:
    """Upload a config and two layers with the layer API, then the manifest; returns (manifest, digest)."""
    config = json.dumps({"architecture": arch, "os": "linux"}).encode()
    layers = [f"layer one {arch}".encode(), f"layer two {arch}".encode()]
    for data in [config, *layers]:
        blobs[_digest(data)] = data
        upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        ecr.upload_layer_part(
            repositoryName=repo, uploadId=upload, partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data
        )
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[_digest(data)])
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _digest(x), "size": len(x)}
                for x in layers
            ],
        }
    )
    digest = _digest(manifest.encode())
    # ECR's digest is the sha256 of the manifest bytes; moto computes its own unless told, so it is passed.
    ecr.put_image(
        repositoryName=repo,
        imageManifest=manifest,
        imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
        imageTag=f"src-{arch}",
        imageDigest=digest,
    )
    return manifest, digest


@pytest.fixture
def ecr() -> Any:
    with mock_aws():
        client = boto3.client("ecr", region_name=REGION)
        for repo in ("slipway-dev", "slipway-prod"):
            client.create_repository(repositoryName=repo)
        yield client


def _uri(ecr: Any, repo: str, digest: str) -> str:
    registry = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["registryId"]
    return f"{registry}.dkr.ecr.{REGION}.amazonaws.com/{repo}@{digest}"


def test_copy_keeps_the_digest_uploads_only_missing_blobs_and_is_idempotent(ecr: Any) -> None:
    blobs: dict[str, bytes] = {}
    _, digest = _push(ecr, "slipway-dev", blobs)
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return blobs[url.rsplit("/", 1)[-1]]

    target = copy_image(
        _uri(ecr, "slipway-dev", digest), "slipway-prod", _Source(ecr), ecr, tag="promoted", fetch=fetch
    )
    assert target == _uri(ecr, "slipway-prod", digest), "same digest, target's own repository"
    details = ecr.describe_images(repositoryName="slipway-prod", imageIds=[{"imageDigest": digest}])["imageDetails"]
    assert details and "promoted" in details[0]["imageTags"]
    assert len(fetched) == 3, "config and two layers"
    available = ecr.batch_check_layer_availability(repositoryName="slipway-prod", layerDigests=sorted(blobs))
    assert {x["layerAvailability"] for x in available["layers"]} == {"AVAILABLE"}
    fetched.clear()
    assert copy_image(_uri(ecr, "slipway-dev", digest), "slipway-prod", _Source(ecr), ecr, fetch=fetch) == target
    assert fetched == [], "a rerun downloads nothing"


def test_a_multi_arch_index_is_copied_with_its_children(ecr: Any) -> None:
    blobs: dict[str, bytes] = {}
    children = [_push(ecr, "slipway-dev", blobs, arch) for arch in ("arm64", "amd64")]
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": len(m)}
                for m, d in children
            ],
        }
    )
    ecr.put_image(
        repositoryName="slipway-dev",
        imageManifest=index,
        imageManifestMediaType="application/vnd.oci.image.index.v1+json",
        imageTag="multi",
        imageDigest=_digest(index.encode()),
    )
    digest = _digest(index.encode())
    copy_image(
        _uri(ecr, "slipway-dev", digest), "slipway-prod", _Source(ecr), ecr, fetch=lambda u: blobs[u.rsplit("/", 1)[-1]]
    )
    ids = [{"imageDigest": d} for _, d in children] + [{"imageDigest": digest}]
    assert len(ecr.describe_images(repositoryName="slipway-prod", imageIds=ids)["imageDetails"]) == 3


def test_a_corrupt_download_writes_nothing(ecr: Any) -> None:
    blobs: dict[str, bytes] = {}
    _, digest = _push(ecr, "slipway-dev", blobs)
    with pytest.raises(ImageCopyError, match="different digest"):
        copy_image(_uri(ecr, "slipway-dev", digest), "slipway-prod", _Source(ecr), ecr, fetch=lambda u: b"tampered")
    assert ecr.list_images(repositoryName="slipway-prod")["imageIds"] == []


def test_tags_and_missing_images_are_refused_with_the_reason(ecr: Any) -> None:
    tagged = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/slipway-dev:latest"
    with pytest.raises(ImageCopyError, match="not an ECR image by digest|pin the image by digest"):
        copy_image(tagged, "slipway-prod", _Source(ecr), ecr)
    missing = _uri(ecr, "slipway-dev", "sha256:" + "0" * 64)
    with pytest.raises(ImageCopyError, match="slipway-dev@sha256:0+ is not in the source repository"):
        copy_image(missing, "slipway-prod", _Source(ecr), ecr)
