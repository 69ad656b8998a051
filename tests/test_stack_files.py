"""Pulumi.yaml, the stack files, the config code and the README agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from slipway.schema import schema
from slipway_aws.config import KEY_DOCS, KNOWN_KEYS, OBJECT_KEYS, PROFILES, StackConfig

ROOT = Path(__file__).resolve().parent.parent


def test_project_file_declares_every_key_with_type_and_description() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "slipway"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project["config"] == schema(), "regenerate the config block from slipway.schema.schema()"
    # mappings (dbRestore) cannot be declared: Pulumi's project schema has no object config type
    assert set(project["config"]) == KNOWN_KEYS - set(OBJECT_KEYS) == set(KEY_DOCS) - set(OBJECT_KEYS)
    for key, spec in project["config"].items():
        assert spec["type"] in ("string", "integer", "boolean") and "Default:" in spec["description"], key


def test_schema_defaults_never_contradict_a_profile() -> None:
    for key, spec in schema().items():
        if "default" in spec:
            assert str(spec["default"]).lower() == PROFILES["dev"][key].lower() == PROFILES["prod"][key].lower()


def test_stack_files_use_only_known_keys_and_validate() -> None:
    for stack in ("dev", "prod"):
        doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        keys = {k.split(":", 1)[1] for k in doc["config"] if k.startswith("slipway:")}
        assert keys <= KNOWN_KEYS, keys - KNOWN_KEYS
        values = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("slipway:")}
        cfg = StackConfig.from_mapping(stack, values, region=doc["config"]["aws:region"])
        assert cfg.environment == stack


def test_prod_stack_encrypts_its_secrets_with_kms() -> None:
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    assert doc["secretsprovider"].startswith("awskms://alias/slipway-prod")


def test_readme_documents_every_config_key_and_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    for key in KEY_DOCS:
        assert re.search(rf"`slipway:{key}`", readme), f"README.md does not document slipway:{key}"
    assert "make plan" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "-m slipway plan --stack dev" in makefile and "-m pytest" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
