"""ContainerRegistry and AppImage: ECR hygiene, digest deploys, content-addressed tags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slipway.offline import ResourceGraph, SecretValue, run_program
from slipway_aws.image import AppImage, AppImageArgs, find_pushed_image, image_tag, source_tag
from slipway_aws.registry import ContainerRegistry, ContainerRegistryArgs, lifecycle_policy

REPO = "aws:ecr/repository:Repository"
IMAGE = "docker:index/image:Image"


def test_repository_is_immutable_scanned_and_encrypted(stack: ResourceGraph) -> None:
    repo = stack.one(REPO)
    assert repo.input("imageTagMutability") == "IMMUTABLE"
    assert repo.input("imageScanningConfiguration", "scanOnPush") is True
    assert repo.input("encryptionConfigurations", 0, "encryptionType") == "AES256"


def test_only_the_disposable_dev_repository_may_be_force_deleted(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert dev.one(REPO).input("forceDelete") is True
    assert prod.one(REPO).input("forceDelete") is False


def test_lifecycle_policy_expires_untagged_then_caps_tagged_images(stack: ResourceGraph) -> None:
    policy = json.loads(stack.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").input("policy"))
    first, second = policy["rules"]
    assert first["selection"]["tagStatus"] == "untagged" and first["selection"]["countNumber"] == 7
    assert second["selection"]["countType"] == "imageCountMoreThan" and second["selection"]["countNumber"] == 50
    assert json.loads(lifecycle_policy(3, 1))["rules"][1]["selection"]["countNumber"] == 3


def test_image_is_built_for_arm64_from_app_and_pushed_with_secret_credentials(stack: ResourceGraph) -> None:
    image = stack.one(IMAGE)
    assert image.input("build", "platform") == "linux/arm64"
    assert image.input("build", "context") == "app", "relative, so plans from two checkouts compare equal"
    assert image.input("build", "dockerfile") == "app/Dockerfile"
    assert isinstance(image.inputs["registry"], SecretValue), "the ECR token must be a secret in state"
    repo_url = stack.one(REPO).outputs["repositoryUrl"]
    app_dir = Path(__file__).resolve().parent.parent / "app"
    assert image.input("imageName") == f"{repo_url}:{source_tag(str(app_dir))}-arm64"
    assert stack.one(REPO).input("name") == stack.one(REPO).outputs["name"] == f"slipway-{stack.stack}"


def test_stack_exports_and_the_service_runs_the_digest_not_a_tag(stack: ResourceGraph) -> None:
    digest = stack.one(IMAGE).outputs["repoDigest"]
    assert "@sha256:" in digest and stack.outputs["image"] == digest
    for task_def in stack.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        assert json.loads(task_def.input("containerDefinitions"))[0]["image"] == digest


def test_x86_architecture_builds_amd64() -> None:
    def program() -> None:
        registry = ContainerRegistry("r", ContainerRegistryArgs())
        AppImage(
            "i",
            AppImageArgs(
                context="app",
                repository_url=registry.repository_url,
                registry_id=registry.registry_id,
                tag="src-1",
                architecture="x86_64",
            ),
        )

    assert run_program(program).one(IMAGE).input("build", "platform") == "linux/amd64"


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="architecture='sparc'"):
        run_program(
            lambda: AppImage(
                "i", AppImageArgs(context="app", repository_url="x", registry_id="1", tag="t", architecture="sparc")
            )
        )


def test_source_tag_changes_with_content_and_ignores_caches(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print(1)\n")
    first = source_tag(str(tmp_path))
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0junk")
    assert source_tag(str(tmp_path)) == first
    (tmp_path / "main.py").write_text("print(2)\n")
    assert source_tag(str(tmp_path)) != first and first.startswith("src-")


def test_image_uri_promotes_an_existing_digest_without_building() -> None:
    from tests.conftest import graph_with

    digest = "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@sha256:" + "a" * 64
    graph = graph_with("dev", imageUri=digest)
    assert graph.by_type(IMAGE) == []
    assert graph.outputs["image"] == digest
    web = graph.one("aws:ecs/taskDefinition:TaskDefinition", "web")
    assert json.loads(web.input("containerDefinitions"))[0]["image"] == digest


def test_source_tag_hashes_what_docker_build_sees(tmp_path: Path) -> None:
    """Files the .dockerignore drops never change the tag (no new image, migration or rollout for a README edit);
    the Dockerfile and the .dockerignore always do."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "main.py").write_text("print(1)\n")
    (tmp_path / "pkg" / "notes.md").write_text("kept by a negation\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test(): pass\n")
    (tmp_path / "README.md").write_text("docs\n")
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / ".dockerignore").write_text("# comment\ntests\n*.md\n!pkg/**/*.md\nDockerfile\n**/.env\n")
    first = source_tag(str(tmp_path))
    (tmp_path / "tests" / "test_x.py").write_text("def test(): assert 1\n")
    (tmp_path / "README.md").write_text("more docs\n")
    (tmp_path / "pkg" / ".env").write_text("SECRET=1\n")
    assert source_tag(str(tmp_path)) == first
    for path, text in (
        ("pkg/notes.md", "changed\n"),
        ("Dockerfile", "FROM python:3.12\n"),
        (".dockerignore", "tests\n"),
        ("pkg/main.py", "print(2)\n"),
    ):
        (tmp_path / path).write_text(text)
        assert source_tag(str(tmp_path)) != first, f"{path} reaches the image: the tag must change"
        first = source_tag(str(tmp_path))


def test_the_app_context_tag_ignores_its_tests_and_docs() -> None:
    from slipway_aws.image import dockerignore_filter

    included = dockerignore_filter("app")
    assert included("slipway_app/api.py") and included("requirements.lock") and included("pyproject.toml")
    assert included("build-requirements.lock") and included("slipway_app/migrations/versions/0001_create_notes.py")
    for dropped in ("tests/test_app_api.py", "README.md", "docker-compose.yml", ".env", "slipway_app/x.db"):
        assert not included(dropped), dropped


# ---------------------------------------------------------------------------------------- already pushed content


def test_content_already_in_ecr_is_deployed_by_its_digest_without_a_build() -> None:
    """A revert (or an update cancelled after its push) finds its tag in ECR: deploy that digest; rebuilding would
    push other bytes under an immutable tag and fail with ImageTagAlreadyExistsException."""
    from slipway.offline import run_stack

    tag = image_tag(str(Path(__file__).resolve().parent.parent / "app"), "arm64")
    digest = "sha256:" + "c" * 64
    graph = run_stack("dev", pushed_images={tag: digest})
    assert graph.by_type(IMAGE) == [], "nothing is built"
    expected = f"{graph.one(REPO).outputs['repositoryUrl']}@{digest}"
    assert graph.outputs["image"] == expected
    for task_def in graph.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        assert json.loads(task_def.input("containerDefinitions"))[0]["image"] == expected
    assert graph.one("pulumi-python:dynamic/slipway:MigrationGate").input("image_digest") == expected
    other = run_stack("dev", pushed_images={tag.replace("-arm64", "-x86_64"): digest})
    assert len(other.by_type(IMAGE)) == 1, "another architecture's image is never reused"


def test_a_looked_up_digest_must_be_a_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    import slipway_aws.image as image

    monkeypatch.setattr(image, "find_pushed_image", lambda *_a, **_k: "latest")
    with pytest.raises(ValueError, match="digest 'latest' for repo:t"):
        run_program(
            lambda: AppImage(
                "i",
                AppImageArgs(
                    context="app",
                    repository_url="x",
                    registry_id="1",
                    tag="t",
                    repository_name="repo",
                    region="us-east-1",
                ),
            )
        )


def test_no_lookup_without_a_repository_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import slipway_aws.image as image

    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("looked up ECR without a repository name")

    monkeypatch.setattr(image, "find_pushed_image", refuse)
    graph = run_program(
        lambda: AppImage("i", AppImageArgs(context="app", repository_url="x", registry_id="1", tag="t"))
    )
    assert len(graph.by_type(IMAGE)) == 1


@pytest.mark.parametrize("bad", ["A", "x", "slipway_", "-slipway", "slip way"])
def test_invalid_repository_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="repository_name"):
        run_program(lambda: ContainerRegistry("r", ContainerRegistryArgs(repository_name=bad)))


@pytest.fixture
def ecr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("ecr", region_name="eu-west-1")
        client.create_repository(repositoryName="slipway-dev", imageTagMutability="IMMUTABLE")
        yield client


def test_find_pushed_image_against_ecr(ecr: Any) -> None:
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": "sha256:" + "1" * 64,
            },
            "layers": [],
        }
    )
    pushed = ecr.put_image(repositoryName="slipway-dev", imageManifest=manifest, imageTag="src-abc-arm64")
    digest = pushed["image"]["imageId"]["imageDigest"]
    assert find_pushed_image("slipway-dev", "src-abc-arm64", "eu-west-1", ecr_client=ecr) == digest
    assert find_pushed_image("slipway-dev", "src-new-arm64", "eu-west-1", ecr_client=ecr) is None
    assert find_pushed_image("slipway-prod", "src-abc-arm64", "eu-west-1", ecr_client=ecr) is None, "no repo yet"


def test_find_pushed_image_names_the_missing_permission(ecr: Any) -> None:
    from botocore.stub import Stubber

    stub = Stubber(ecr)  # moto has no IAM enforcement by default: stub the refusal on the same client
    stub.add_client_error("describe_images", service_error_code="AccessDeniedException", http_status_code=400)
    with stub, pytest.raises(RuntimeError, match="ecr:DescribeImages"):
        find_pushed_image("slipway-dev", "src-abc-arm64", "eu-west-1", ecr_client=ecr)
