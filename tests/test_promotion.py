"""ImagePromotion: the promoted image is this stack's own copy, same digest; the copy runs in `pulumi up` only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slipway.offline import run_program
from slipway_aws import ecr_copy
from slipway_aws.promotion import ImagePromotion, ImagePromotionArgs, ImagePromotionProvider

DIGEST = "sha256:" + "ab" * 32
SOURCE = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@{DIGEST}"
TARGET_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-prod"


def test_check_refuses_an_image_by_tag_before_anything_runs() -> None:
    news = {
        "source_image": SOURCE.split("@")[0] + ":latest",
        "target_repository": "slipway-prod",
        "region": "us-east-1",
    }
    failures = ImagePromotionProvider().check({}, news).failures
    assert [f.property for f in failures] == ["source_image"] and "digest" in failures[0].reason


def test_only_a_new_source_or_target_copies_again() -> None:
    provider = ImagePromotionProvider()
    olds = {"source_image": SOURCE, "target_repository": "slipway-prod", "region": "us-east-1", "tag": None}
    assert not provider.diff("id", olds, {**olds, "tag": "x"}).changes
    assert provider.diff("id", olds, {**olds, "source_image": SOURCE.replace("ab", "cd")}).changes


def test_act_copies_into_the_target_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake_copy(source_uri: str, target_repository: str, **kwargs: Any) -> str:
        calls.append({"source": source_uri, "target": target_repository, **kwargs})
        return f"{TARGET_URL}@{DIGEST}"

    monkeypatch.setattr(ecr_copy, "copy_image", fake_copy)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    id_, outs = ImagePromotionProvider().act(
        {"source_image": SOURCE, "target_repository": "slipway-prod", "region": "eu-west-1", "tag": "v1"}
    )
    assert outs == {"image_uri": f"{TARGET_URL}@{DIGEST}"} and id_.startswith("promotion-")
    (call,) = calls
    assert call["source_ecr"].meta.region_name == "us-east-1", "the source is read in its own region"
    assert call["target_ecr"].meta.region_name == "eu-west-1" and call["tag"] == "v1"


def test_the_promoted_uri_is_the_targets_repository_at_the_same_digest() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        promotion = ImagePromotion(
            "p",
            ImagePromotionArgs(
                source_image=SOURCE,
                target_repository="slipway-prod",
                target_registry_url=TARGET_URL,
                region="us-east-1",
            ),
        )
        promotion.pinned_uri.apply(lambda uri: seen.setdefault("uri", uri))

    graph = run_program(program)
    assert seen["uri"] == f"{TARGET_URL}@{DIGEST}"
    (resource,) = graph.by_type("pulumi-python:dynamic/slipway:ImagePromotion")
    assert resource.input("source_image") == SOURCE


def test_prod_promotes_devs_image_into_its_own_repository_and_never_pulls_from_dev() -> None:
    from tests.conftest import graph_with

    dev_image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@{DIGEST}"
    graph = graph_with("prod", imageUri=dev_image)
    (promotion,) = graph.by_type("pulumi-python:dynamic/slipway:ImagePromotion")
    repo = graph.one("aws:ecr/repository:Repository")
    assert promotion.input("source_image") == dev_image and promotion.input("target_repository") == "slipway-prod"
    images = {
        json.loads(t.input("containerDefinitions"))[0]["image"]
        for t in graph.by_type("aws:ecs/taskDefinition:TaskDefinition")
    }
    assert images == {f"{repo.outputs['repositoryUrl']}@{DIGEST}"}, "the same digest, from prod's own repository"
    execution = graph.one("aws:iam/rolePolicy:RolePolicy", "execution-policy").input("policy")
    assert "repository/slipway-dev" not in execution, "prod's tasks are not allowed to pull from dev"
    assert not graph.by_type("docker:index/image:Image"), "nothing is rebuilt"
