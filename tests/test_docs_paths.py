"""Docs a stranger can trust: every repository path, `slipway` command and flag, `python -m` module and `make`
target that README.md and docs/*.md name exists.

What counts as a path: a `backticked` token or a relative Markdown link of path characters that has a `/` or a
file extension. One whose first part is not in this repository (another project's source, an S3 key, a log stream,
an AWS name) must be listed in ELSEWHERE with what it is, so a renamed or deleted file cannot hide there.
Placeholders (`<stack>`, `N`, `*`) match any text.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from slipway.plan import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TRACKED = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
FILES = set(TRACKED) | {str(p.relative_to(ROOT)) for p in (ROOT / "deploy").rglob("*") if p.is_file()}
DIRS = {str(Path(f).parents[i]) for f in FILES for i in range(len(Path(f).parts) - 1)}

ELSEWHERE = {
    "pkg/resource/deploy/source_eval.go": "pulumi/pulumi's engine source, cited",
    "slipway_app/iam_auth.py": "the sample app's package, relative to app/",
    ".pulumi/stacks/<project>/<stack>.json*": "keys in the Pulumi state bucket",
    ".pulumi/locks/organization/<project>/<stack>/": "keys in the Pulumi state bucket",
    ".pulumi/meta.yaml": "a key in the Pulumi state bucket",
    "alias/slipway-prod": "a KMS key alias",
    "migrate/migrate/<task-id>": "a CloudWatch Logs stream",
    "<org>/dev": "a Pulumi Cloud stack name",
    "<org>/prod": "a Pulumi Cloud stack name",
    "<url>/readyz": "the deployed app's URL",
    "alias/slipway-<stack>": "a KMS key alias",
    "owner/name": "a GitHub repository's form",
    "COPILOT-IMPORT.md": "the report `slipway import copilot` writes",
    "copilot/.workspace": "a file of a Copilot workspace",
    "copilot/<service>/manifest.yml": "a file of a Copilot workspace",
    "copilot/environments/<env>/manifest.yml": "a file of a Copilot workspace",
    "aws/backup": "an AWS-managed KMS key alias",
    "aws/rds": "an AWS-managed KMS key alias",
    "repository/<prefix>": "part of an ECR repository ARN",
    "src/mapping/aws/resource/backup/*.json": "pike's IAM maps (JamesWoolfenden/pike), cited",
    "aquasecurity/trivy-action": "a GitHub Action",
    "docker-library/repo-info": "the Docker official images' digest records (GitHub)",
    "repos/python/remote/3.12-slim-bookworm.md": "a file of docker-library/repo-info, cited",
    "rule/StepFunctionsGetEventsForECSTaskRule": "the EventBridge rule Step Functions manages for runTask.sync",
}
OTHER_TOOLS_FLAGS = {
    "--offline": "zizmor",
    "--policy-pack-config": "pulumi preview",
    "--thumbprint-list": "aws iam create-open-id-connect-provider",
    "-pitr-latest": "a suffix of a restored instance's name, not a flag",
    "--help": "every command",
    "--by-resource-arn": "aws backup list-recovery-points-by-backup-vault",
}


def doc_tokens() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        found += [(doc.name, m.group(1)) for m in re.finditer(r"`([^`\n]+)`", text)]
        found += [(doc.name, m.group(1).split("#")[0]) for m in re.finditer(r"\]\(([^)\s:]+)\)", text)]
    return found


def path_like(token: str) -> bool:
    if not re.fullmatch(r"[\w./<>*{}-]+", token) or token.startswith("/") or token.startswith("-"):
        return False
    return "/" in token or bool(re.search(r"\.(py|md|ya?ml|json|toml|txt|lock|sh|cfg|ini)$", token))


def exists(token: str) -> bool:
    pattern = re.sub(r"<[^>]+>|\bN\b", "*", token.rstrip("/"))
    if "/" not in token:  # a bare file name: some file of the repository has it
        return any(fnmatch.fnmatch(Path(f).name, pattern) for f in FILES)
    return any(fnmatch.fnmatch(f, pattern) for f in FILES | DIRS)


def test_every_path_the_docs_name_exists() -> None:
    missing = sorted(
        {
            f"{doc}: {token}"
            for doc, token in doc_tokens()
            if path_like(token) and token not in ELSEWHERE and not exists(token)
        }
    )
    assert missing == []


def test_the_checker_catches_what_the_issue_found() -> None:
    for gone in ("shared/ARCHITECTURE.md", "tests/data/dev-graph.json", "slipway/_lib.py", "components/nope.py"):
        assert path_like(gone) and not exists(gone)
    for present in ("components/webapp.py", "deploy/iam/deploy-policy-<stack>-N.json", "prices.json", "docs/"):
        assert exists(present)


def code(doc: Path) -> list[str]:
    """The commands the doc shows: `inline spans` and the lines of ```sh blocks (other blocks show output)."""
    text = doc.read_text()
    blocks = re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`\n]+)`", text) + [line for block in blocks for line in block.splitlines()]


def slipway_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for doc in DOCS:
        for snippet in code(doc):
            for match in re.finditer(r"(?:python -m slipway|^slipway)\s+([a-z][\w-]*)([^|#>&;\n]*)", snippet.strip()):
                words = shlex.split(re.sub(r"[\[\]\\]", " ", match.group(2)), posix=False)
                words = words[: words.index("--")] if "--" in words else words  # after `--`: the task's command
                commands.append((doc.name, [match.group(1), *words]))
    return commands


def test_every_slipway_command_and_flag_the_docs_name_exists() -> None:
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    top = set(parser._option_string_actions)
    every_flag = top | {flag for sub in subcommands.values() for flag in sub._option_string_actions}
    wrong = []
    for doc, (command, *words) in slipway_commands():
        if command not in subcommands:
            wrong.append(f"{doc}: slipway {command}")
            continue
        known = top | set(subcommands[command]._option_string_actions)
        for nested in subcommands[command]._subparsers._group_actions if subcommands[command]._subparsers else []:
            known |= {flag for sub in nested.choices.values() for flag in sub._option_string_actions}
        wrong += [f"{doc}: slipway {command} {w}" for w in words if w.startswith("--") and w.split("=")[0] not in known]
    for doc, token in doc_tokens():
        if re.fullmatch(r"--?[\w-]+(=\S+)?", token) and token.split("=")[0] not in every_flag | set(OTHER_TOOLS_FLAGS):
            wrong.append(f"{doc}: {token}")
    assert len(slipway_commands()) >= 10
    assert wrong == []


def test_every_python_module_and_make_target_the_docs_name_exists() -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    wrong = []
    for doc in DOCS:
        text = doc.read_text()
        for module in re.findall(r"python -m ([\w.]+)", text):
            if importlib.util.find_spec(module) is None:
                wrong.append(f"{doc.name}: python -m {module}")
        wrong += [f"{doc.name}: make {t}" for t in re.findall(r"\bmake ([a-z][\w-]*)", text) if t not in targets]
    assert wrong == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    links = [m.group(1).split("#")[0] for m in re.finditer(r"\]\(([^)\s:]+)\)", doc.read_text())]
    assert [link for link in links if link and not (doc.parent / link).exists()] == []
