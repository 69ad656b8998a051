"""Pulumi.yaml, the stack files, WebAppArgs (whose knobs are the stack keys) and the README agree with each other."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from slipway.schema import readme_table, schema
from slipway_aws.config import from_mapping, stack_keys
from slipway_aws.knobs import knobs
from slipway_aws.webapp import WebAppArgs

ROOT = Path(__file__).resolve().parent.parent


def test_project_file_declares_every_key_with_type_and_description() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "slipway"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project["config"] == schema(), "regenerate the config block: python -m slipway.schema"
    # mappings (dbRestore) cannot be declared (Pulumi's project schema has no object config type), nor aws: keys
    own = {
        k
        for k, f in stack_keys().items()
        if ":" not in k and not (f in knobs(WebAppArgs) and knobs(WebAppArgs)[f].mapping)
    }
    assert set(project["config"]) == own
    for key, spec in project["config"].items():
        assert spec["type"] in ("string", "integer", "boolean"), key
        assert "Default:" in spec["description"] or "Required." in spec["description"], key


def test_every_webappargs_knob_is_a_stack_key_with_its_defaults() -> None:
    fields = stack_keys()
    assert fields["minTasks"] == "min_tasks" and fields["environment"] == "profile"
    assert fields["aws:region"] == "region" and fields["albAccessLogs"] == "access_logs"
    assert set(fields.values()) == {"profile", *knobs(WebAppArgs)}
    for key, spec in schema().items():
        if "default" in spec:
            knob = knobs(WebAppArgs)[fields[key]]
            assert spec["default"] == knob.dev == knob.prod, key


def test_stack_files_use_only_known_keys_and_validate() -> None:
    for stack in ("dev", "prod"):
        doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        values = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("slipway:")}
        assert set(values) <= set(stack_keys()), set(values) - set(stack_keys())
        others = {k: v for k, v in doc["config"].items() if not k.startswith("slipway:")}
        args = from_mapping(stack, values, others, program={"build_context": "app"})
        assert args.profile == stack


def test_prod_stack_encrypts_its_secrets_with_kms() -> None:
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    assert doc["secretsprovider"].startswith("awskms://alias/slipway-prod")


def test_readme_documents_every_config_key_and_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme_table() in readme, "regenerate the README table: python -m slipway.schema"
    for key in stack_keys():
        full = key if ":" in key else f"slipway:{key}"
        assert re.search(rf"`{full}`", readme), f"README.md does not document {full}"
    assert "make plan" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "-m slipway plan --stack dev" in makefile and "-m pytest" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_schema_help_and_check_change_no_file() -> None:
    before = [(ROOT / name).read_text() for name in ("Pulumi.yaml", "README.md")]
    shown = subprocess.run(
        [sys.executable, "-m", "slipway.schema", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "Regenerate" in shown.stdout
    checked = subprocess.run(
        [sys.executable, "-m", "slipway.schema", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout
    assert [(ROOT / name).read_text() for name in ("Pulumi.yaml", "README.md")] == before


def test_the_program_is_short_and_copies_no_field() -> None:
    """The stack file's keys reach WebApp through WebAppArgs.from_config, not a field-by-field copy."""
    program = (ROOT / "__main__.py").read_text()
    assert len(program.splitlines()) <= 25 and "WebAppArgs.from_config(" in program
    assert "cfg." not in program and "StackConfig" not in program
    for path in [*(ROOT / "components").glob("*.py"), *(ROOT / "slipway").glob("*.py")]:
        assert "StackConfig" not in path.read_text(), path
