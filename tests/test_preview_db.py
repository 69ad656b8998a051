"""Issue #20: a preview cannot read or change dev's data, secrets or resources.

dev owns the database admin (components/preview_db.py: a task definition with dev's master secret and the
``<prefix>-preview-db`` state machine that validates its input); a ``pr-<n>`` stack only starts executions of it
(components/gates.py ``PreviewDatabaseGate``, components/sfn_runner.py). Checked here: the preview's graph holds
nothing that reads dev's master secret; dev's graph holds the admin and prod's does not; the state machine's
definition passes asl-validator (the npm package, pinned in tools/node) and its Choice rules, run by the small
interpreter below, let through only ``create``/``drop`` of PR 1..49000; the gate's boto3 calls against botocore's
own ``stepfunctions`` model (Stubber), a failed execution included.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from slipway.offline import ROOT, ResourceGraph, SecretValue
from slipway_aws import gates, sfn_runner
from slipway_aws.preview import MAX_PR_NUMBER
from slipway_aws.preview_db import CONTAINER, IDLE_COMMAND, definition
from slipway_aws.sfn_runner import ExecutionFailedError, ExecutionStartError, ExecutionTimeoutError
from tests.test_workflows import INSTALL_HINT, NODE_TOOLS

T_MACHINE = "aws:sfn/stateMachine:StateMachine"
T_TASK = "aws:ecs/taskDefinition:TaskDefinition"
T_POLICY = "aws:iam/rolePolicy:RolePolicy"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:slipway-dev-preview-db"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:slipway-dev-preview-db:create-pr-123-1"


def _master_secret(dev: ResourceGraph) -> str:
    return dev.one("aws:rds/instance:Instance").outputs["masterUserSecrets"][0]["secretArn"]


def _revealed(inputs: Any) -> str:
    """All of a resource's inputs as JSON text, secret ones (``SecretValue``) included."""
    return json.dumps(inputs, default=lambda v: v.value if isinstance(v, SecretValue) else repr(v))


def _definition(dev: ResourceGraph) -> dict[str, Any]:
    return dev.one(T_MACHINE, "preview-db").json_input("definition")


# -- the preview's graph: nothing of dev's master secret ---------------------------------------------------------------
def test_nothing_in_the_preview_reads_names_or_passes_dev_master_secret(
    pr123: ResourceGraph, dev: ResourceGraph
) -> None:
    master = _master_secret(dev)
    assert master.split(":secret:", 1)[1].startswith("rds!db-"), "the RDS-managed secret's name"
    holders = [
        r.name
        for r in pr123.resources
        if r.custom and (master in _revealed(r.inputs) or "rds!db-" in _revealed(r.inputs))
    ]
    assert holders == [], "no role, policy, task definition or gate of a preview may name dev's master secret"
    assert master not in json.dumps(dev.outputs["preview"]), "dev does not hand it to previews"
    assert "image" not in dev.outputs["preview"], "no preview task runs dev's image: dev's state machine does"
    types = {r.type for r in pr123.resources if r.custom}
    assert T_MACHINE not in types, "the state machine is dev's, never a preview's"
    assert not [r.name for r in pr123.by_type("aws:iam/role:Role") if "preview-db" in r.name or "dbadmin" in r.name]


# -- dev's graph: the admin, its roles, and prod without it ------------------------------------------------------------
def test_dev_owns_the_admin_task_and_its_execution_role_reads_only_the_master_secret(dev: ResourceGraph) -> None:
    master = _master_secret(dev)
    task = dev.one(T_TASK, "preview-db")
    assert task.input("family") == "slipway-dev-preview-db"
    (container,) = task.json_input("containerDefinitions")
    web = dev.one(T_TASK, "-web-").json_input("containerDefinitions")[0]
    assert container["name"] == CONTAINER and container["image"] == web["image"], "dev's own image, by digest"
    assert container["command"] == list(IDLE_COMMAND), "run without the state machine's override it only exits 2"
    assert container["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": f"{master}:password::"}]
    policy = dev.one(T_POLICY, "preview-db-execution-policy").json_input("policy")
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadAppSecrets")
    assert read["Resource"] == [master], "the one secret it may read"
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullAppImage")
    assert pull["Resource"] == [dev.one("aws:ecr/repository:Repository").outputs["arn"]]
    roles = {r.name: r.outputs["arn"] for r in dev.by_type("aws:iam/role:Role")}
    assert task.input("executionRoleArn") == roles["slipway-dev-preview-db-execution"]
    assert task.input("taskRoleArn") == roles["slipway-dev-preview-db-task"]
    assert not [p for p in dev.by_type(T_POLICY) if p.name == "slipway-dev-preview-db-task-policy"], "no AWS rights"


def test_dev_state_machine_runs_only_that_task_and_passes_only_its_roles(dev: ResourceGraph) -> None:
    machine = dev.one(T_MACHINE, "preview-db")
    assert (machine.input("name"), machine.input("type")) == ("slipway-dev-preview-db", "STANDARD")
    assert dev.outputs["preview"]["db_admin_state_machine_arn"] == machine.outputs["arn"]
    task = dev.one(T_TASK, "preview-db")
    run = _definition(dev)["States"]["Run"]
    assert run["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert run["Parameters"]["TaskDefinition"] == task.outputs["arn"]
    dynamic = [k for k in json.dumps(run["Parameters"]).split('"') if k.endswith(".$")]
    assert dynamic == ["Command.$"], "the input reaches the task's command and nothing else"
    assert run["Parameters"]["Overrides"] == {
        "ContainerOverrides": [{"Name": CONTAINER, "Command.$": "$.task.command"}]
    }
    policy = dev.one(T_POLICY, "preview-db-sfn-policy").json_input("policy")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["RunJobTask"]["Resource"].endswith(":task-definition/slipway-dev-preview-db:*")
    roles = {r.name: r.outputs["arn"] for r in dev.by_type("aws:iam/role:Role")}
    assert by_sid["PassJobRoles"]["Resource"] == sorted(
        [roles["slipway-dev-preview-db-execution"], roles["slipway-dev-preview-db-task"]]
    )
    assert "SeePreviousRuns" not in by_sid, "executions overlap (two PRs at once): no ListExecutions"


def test_prod_shares_nothing_with_previews(prod: ResourceGraph) -> None:
    assert not prod.by_type(T_MACHINE) and "preview" not in prod.outputs
    assert not [r.name for r in prod.resources if "preview-db" in r.name]


# -- the definition: asl-validator, then its Choice rules run ---------------------------------------------------------
def _asl_validator(documents: dict[str, dict[str, Any]], tmp_path: Path) -> dict[str, str]:
    """asl-validator's verdict per document (one node process for all): "valid", or its errors."""
    node = shutil.which("node")
    script = NODE_TOOLS / "node_modules" / "asl-validator" / "dist" / "bin" / "asl-validator.js"
    if node is None or not script.is_file():
        pytest.fail(f"node or tools/node/node_modules/asl-validator is missing: {INSTALL_HINT}")
    args = []
    for name, document in documents.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
        args += ["--json-path", str(tmp_path / f"{name}.json")]
    proc = subprocess.run([node, str(script), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    verdicts = {}
    for block in re.split(r"[✓✕] State machine definition ", proc.stdout + proc.stderr)[1:]:
        name = Path(block.split('"')[1]).stem
        verdicts[name] = "valid" if block.split('"', 2)[2].strip() == "is valid" else block
    assert set(verdicts) == set(documents), proc.stdout + proc.stderr
    return verdicts


def test_asl_validator_accepts_dev_state_machine_and_refuses_a_broken_one(dev: ResourceGraph, tmp_path: Path) -> None:
    document = _definition(dev)
    breaks = {
        "command.$": lambda d: d["States"]["Command"]["Parameters"].update({"command.$": "States.Array('app'"}),
        "NumericGreaterThanEquals": lambda d: d["States"]["InputValues"]["Choices"][0]["And"][1].update(
            {"NumericGreaterThanEquals": "1"}
        ),
        "Nowhere": lambda d: d["States"]["WholeNumber"].update({"Default": "Nowhere"}),
    }
    documents = {"dev": document}
    for i, change in enumerate(breaks.values()):
        documents[f"broken{i}"] = copy.deepcopy(document)
        change(documents[f"broken{i}"])
    verdicts = _asl_validator(documents, tmp_path)
    assert verdicts.pop("dev") == "valid"
    for i, where in enumerate(breaks):
        assert "is invalid" in verdicts[f"broken{i}"] and where in verdicts[f"broken{i}"], (where, verdicts)


class StatesRuntimeError(Exception):
    """What Step Functions does when a comparison meets a missing or mistyped field: the execution fails."""


MISSING = object()


def _path(doc: Any, path: str) -> Any:
    assert re.fullmatch(r"\$(\.\w+)*", path), f"only plain paths are interpreted here: {path}"
    for key in path.split(".")[1:]:
        if not isinstance(doc, dict) or key not in doc:
            return MISSING
        doc = doc[key]
    return doc


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rule(rule: dict[str, Any], doc: Any) -> bool:
    """One JSONPath Choice Rule (AWS Step Functions developer guide, "Choice workflow state"); anything else raises."""
    if "And" in rule:
        return all(_rule(r, doc) for r in rule["And"])
    if "Or" in rule:
        return any(_rule(r, doc) for r in rule["Or"])
    if "Not" in rule:
        return not _rule(rule["Not"], doc)
    value = _path(doc, rule["Variable"])
    ((op, expected),) = [(k, v) for k, v in rule.items() if k not in ("Variable", "Next")]
    if op == "IsPresent":
        return (value is not MISSING) is expected
    if value is MISSING:
        raise StatesRuntimeError(f"{rule['Variable']} is missing")
    if op == "IsString":
        return isinstance(value, str) is expected
    if op == "IsNumeric":
        return _numeric(value) is expected
    if op in ("StringEquals", "StringMatches"):
        if not isinstance(value, str):
            raise StatesRuntimeError(f"{op} on {value!r}")
        if op == "StringEquals":
            return bool(value == expected)
        return re.fullmatch(".*".join(map(re.escape, expected.split("*"))), value) is not None
    if op in ("NumericGreaterThanEquals", "NumericLessThanEquals"):
        if not _numeric(value):
            raise StatesRuntimeError(f"{op} on {value!r}")
        return bool(value >= expected if op == "NumericGreaterThanEquals" else value <= expected)
    raise NotImplementedError(op)


def _text(value: Any) -> str:
    """JSON text of a value (a string as it is); Pulumi secrets as their repr, which never shows them."""
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def _intrinsic(expression: str, doc: Any) -> Any:
    """``States.Format`` and ``States.Array`` with literal and path arguments, nested."""
    tokens = iter(re.findall(r"States\.\w+\(|'(?:[^'\\]|\\.)*'|\$[\w.]*|[(),]", expression))

    def value(token: str) -> Any:
        if token.startswith("States."):
            args: list[Any] = []
            for t in tokens:
                if t == ")":
                    break
                if t != ",":
                    args.append(value(t))
            if token == "States.Format(":
                template, *rest = args
                parts = template.split("{}")
                assert len(parts) == len(rest) + 1
                return "".join(p + _text(r) for p, r in zip(parts, [*rest, ""], strict=True))
            if token == "States.Array(":
                return args
            raise NotImplementedError(token)
        if token.startswith("'"):
            return token[1:-1]
        if token.startswith("$"):
            found = _path(doc, token)
            if found is MISSING:
                raise StatesRuntimeError(f"{token} is missing")
            return found
        raise NotImplementedError(token)

    return value(next(tokens))


def _resolve(parameters: Any, doc: Any) -> Any:
    if isinstance(parameters, dict):
        out = {}
        for key, val in parameters.items():
            if key.endswith(".$"):
                out[key[:-2]] = _intrinsic(val, doc) if val.startswith("States.") else _path(doc, val)
            else:
                out[key] = _resolve(val, doc)
        return out
    if isinstance(parameters, list):
        return [_resolve(v, doc) for v in parameters]
    return parameters


def execute(document: dict[str, Any], execution_input: Any) -> tuple[str, Any]:
    """Run the definition up to its task: ("task", the command ECS would get) or ("fail", the Fail state's error)."""
    states, name, doc = document["States"], document["StartAt"], copy.deepcopy(execution_input)
    for _ in range(len(states) + 1):
        state = states[name]
        if state["Type"] == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _rule(c, doc)), state.get("Default"))
        elif state["Type"] == "Pass":
            key = state["ResultPath"].removeprefix("$.")
            doc = {**doc, key: _resolve(state["Parameters"], doc)}
            name = state["Next"]
        elif state["Type"] == "Fail":
            return "fail", state["Error"]
        elif state["Type"] == "Task":
            parameters = _resolve(state["Parameters"], doc)
            (override,) = parameters["Overrides"]["ContainerOverrides"]
            return "task", override["Command"]
        else:
            raise NotImplementedError(state["Type"])
    raise AssertionError("no end")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The definition as dev declares it (the same function the graph's document comes from)."""
    return json.loads(
        definition(
            name="slipway-dev-preview-db",
            cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/c",
            task_definition_arn="arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-dev-preview-db:1",
            subnets=["subnet-1"],
            security_groups=["sg-1"],
            assign_public_ip=True,
            max_pr=MAX_PR_NUMBER,
        )
    )


def test_the_graph_holds_the_definition_interpreted_here(dev: ResourceGraph, document: dict[str, Any]) -> None:
    graph = _definition(dev)
    assert {k: v for k, v in graph["States"].items() if k != "Run"} == {
        k: v for k, v in document["States"].items() if k != "Run"
    }
    assert graph["StartAt"] == document["StartAt"] == "InputPresent"


@pytest.mark.parametrize(
    ("execution_input", "command"),
    [
        ({"action": "create", "pr": 123}, ["app", "preview-db", "create", "pr_123"]),
        ({"action": "drop", "pr": 1}, ["app", "preview-db", "drop", "pr_1"]),
        ({"action": "create", "pr": MAX_PR_NUMBER}, ["app", "preview-db", "create", f"pr_{MAX_PR_NUMBER}"]),
        ({"action": "drop", "pr": 7, "command": ["sh", "-c", "env"]}, ["app", "preview-db", "drop", "pr_7"]),
    ],
)
def test_create_and_drop_of_a_pr_number_reach_the_task(
    document: dict[str, Any], execution_input: dict[str, Any], command: list[str]
) -> None:
    from slipway_app.preview_db import PREVIEW_NAME

    assert execute(document, execution_input) == ("task", command)
    assert PREVIEW_NAME.match(command[-1]), "a name `app preview-db` accepts too"


@pytest.mark.parametrize(
    "execution_input",
    [
        {},
        {"action": "create"},
        {"pr": 1},
        {"action": "create", "pr": 0},
        {"action": "create", "pr": -5},
        {"action": "create", "pr": MAX_PR_NUMBER + 1},
        {"action": "create", "pr": 12.5},
        {"action": "create", "pr": "123"},
        {"action": "create", "pr": True},
        {"action": "create", "pr": None},
        {"action": "create", "pr": [1]},
        {"action": "CREATE", "pr": 1},
        {"action": "create; env", "pr": 1},
        {"action": "migrate", "pr": 1},
        {"action": ["create"], "pr": 1},
        {"action": None, "pr": 1},
        {"action": {"create": True}, "pr": 1},
    ],
    ids=repr,
)
def test_anything_else_fails_before_a_task_starts(document: dict[str, Any], execution_input: dict[str, Any]) -> None:
    assert execute(document, execution_input) == ("fail", "InvalidInput")


def test_the_interpreter_refuses_what_it_does_not_know(document: dict[str, Any]) -> None:
    """So a new operator in the definition fails here instead of passing unexamined."""
    changed = copy.deepcopy(document)
    changed["States"]["InputValues"]["Choices"][0]["And"][1] = {"Variable": "$.pr", "NumericGreaterThan": 0}
    with pytest.raises(NotImplementedError):
        execute(changed, {"action": "create", "pr": 1})


# -- the gate's calls, against botocore's stepfunctions model -------------------------------------------------------
@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "stepfunctions", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    stub = Stubber(client)
    monkeypatch.setattr(sfn_runner, "aws_client", lambda service, region, profile=None: client)
    with stub:
        yield client, stub
        stub.assert_no_pending_responses()


NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _start(stub: Stubber, named: bool = True) -> None:
    expected = {"stateMachineArn": MACHINE, "input": json.dumps({"action": "create", "pr": 123})}
    stub.add_response(
        "start_execution",
        {"executionArn": EXECUTION, "startDate": NOW},
        {**expected, **({"name": ANY} if named else {})},
    )


def _described(status: str, **extra: Any) -> dict[str, Any]:
    return {"executionArn": EXECUTION, "stateMachineArn": MACHINE, "status": status, "startDate": NOW, **extra}


def _props(**changes: Any) -> dict[str, Any]:
    return {"state_machine": MACHINE, "pr": 123, "region": "us-east-1", "timeout_s": 900, **changes}


def test_the_gate_starts_create_for_its_pr_and_records_the_execution(stubbed: tuple[Any, Stubber]) -> None:
    _, stub = stubbed
    _start(stub)
    stub.add_response("describe_execution", _described("SUCCEEDED", output="{}"), {"executionArn": EXECUTION})
    result = gates.PreviewDatabaseGateProvider().create(_props())
    assert result.id == "preview-db-pr-123" and result.outs["execution_arn"] == EXECUTION


def test_a_failed_execution_fails_the_gate_with_its_error_and_cause(stubbed: tuple[Any, Stubber]) -> None:
    _, stub = stubbed
    _start(stub)
    failed = _described("FAILED", error="ExitedNonZero", cause="the job's container did not exit 0")
    stub.add_response("describe_execution", failed, {"executionArn": EXECUTION})
    with pytest.raises(ExecutionFailedError) as caught:
        gates.PreviewDatabaseGateProvider().create(_props())
    text = str(caught.value)
    assert "ended FAILED" in text and "ExitedNonZero" in text and "did not exit 0" in text and "console" in text


def test_a_refused_start_is_a_clear_error(stubbed: tuple[Any, Stubber]) -> None:
    _, stub = stubbed
    stub.add_client_error("start_execution", service_error_code="StateMachineDoesNotExist", http_status_code=400)
    with pytest.raises(ExecutionStartError, match="StateMachineDoesNotExist"):
        gates.PreviewDatabaseGateProvider().create(_props())


def test_the_runner_waits_while_running_and_gives_up_after_its_timeout(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    _start(stub, named=False)
    stub.add_response("describe_execution", _described("RUNNING"), {"executionArn": EXECUTION})
    stub.add_response("describe_execution", _described("SUCCEEDED"), {"executionArn": EXECUTION})
    naps: list[float] = []
    done = sfn_runner.run_execution(
        state_machine_arn=MACHINE,
        execution_input={"action": "create", "pr": 123},
        sfn_client=client,
        sleep=naps.append,
        progress=lambda _: None,
    )
    assert done.execution_arn == EXECUTION and naps == [5]
    _start(stub, named=False)
    stub.add_response("describe_execution", _described("RUNNING"), {"executionArn": EXECUTION})
    ticks = iter([0.0, 61.0])
    with pytest.raises(ExecutionTimeoutError, match="still RUNNING after 60s"):
        sfn_runner.run_execution(
            state_machine_arn=MACHINE,
            execution_input={"action": "create", "pr": 123},
            sfn_client=client,
            timeout_s=60,
            progress=lambda _: None,
            clock=lambda: next(ticks),
        )


def test_the_gate_runs_again_only_for_another_machine_or_pr_and_never_drops(stubbed: tuple[Any, Stubber]) -> None:
    provider = gates.PreviewDatabaseGateProvider()
    assert provider.diff("id", _props(), _props(region="us-east-1", timeout_s=1200)).changes is False
    assert provider.diff("id", _props(), _props(state_machine=MACHINE + "2")).changes is True
    assert provider.diff("id", _props(), _props(pr=124)).replaces == []
    provider.delete("preview-db-pr-123", _props())  # no call (the Stubber refuses any): teardown drops


@pytest.mark.parametrize("pr", [0, MAX_PR_NUMBER + 1, True, "123"])
def test_gate_args_refuse_what_dev_state_machine_would(pr: Any) -> None:
    from slipway_aws.validation import ArgsError

    with pytest.raises(ArgsError, match="pr"):
        gates.PreviewDatabaseGateArgs(state_machine=MACHINE, pr=pr, region="us-east-1")


def test_bad_admin_args_are_refused_at_once() -> None:
    from slipway_aws.preview_db import PreviewDatabaseAdminArgs
    from slipway_aws.validation import ArgsError

    values = {k: "x" for k in ("cluster_arn", "subnet_ids", "assign_public_ip", "repository_arn", "log_group_name")}
    values |= {k: "x" for k in ("log_group_arn", "region", "db_address", "db_name", "db_username")}
    with pytest.raises(ArgsError) as caught:
        PreviewDatabaseAdminArgs(
            **values,
            security_group_ids=["sg"],
            image="repo:latest",
            db_master_secret_arn="arn",
            max_pr=60_000,
            architecture="amd64",
        )
    assert {p.field for p in caught.value.problems} == {"max_pr", "architecture", "image"}


# -- the database creation started by the workflow beside its install, joined by the gate ---------------------------
RUN_ENV = {"GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "2"}
JOINED = sfn_runner.execution_arn_of(MACHINE, "create-pr-123-run-9876543210-2")


def _start_named(stub: Stubber, response: Any = None, error: str = "") -> None:
    expected = {
        "stateMachineArn": MACHINE,
        "input": json.dumps(gates.create_input(123)),
        "name": "create-pr-123-run-9876543210-2",
    }
    if error:
        stub.add_client_error(
            "start_execution", service_error_code=error, http_status_code=400, expected_params=expected
        )
    else:
        stub.add_response("start_execution", response, expected)


def test_in_a_workflow_run_the_gate_joins_the_execution_the_workflow_started(
    stubbed: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Still running: StartExecution with the same name and input answers with that execution (botocore's
    StartExecution documentation), and the gate waits for it, starting nothing new."""
    for key, value in RUN_ENV.items():
        monkeypatch.setenv(key, value)
    _, stub = stubbed
    _start_named(stub, {"executionArn": JOINED, "startDate": NOW})
    stub.add_response(
        "describe_execution", {**_described("SUCCEEDED"), "executionArn": JOINED}, {"executionArn": JOINED}
    )
    assert gates.PreviewDatabaseGateProvider().create(_props()).outs["execution_arn"] == JOINED


def test_an_execution_that_already_ended_is_taken_as_the_gates_own(
    stubbed: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in RUN_ENV.items():
        monkeypatch.setenv(key, value)
    _, stub = stubbed
    same_input = json.dumps(gates.create_input(123))
    _start_named(stub, error="ExecutionAlreadyExists")
    done = {**_described("SUCCEEDED"), "executionArn": JOINED, "input": same_input}
    stub.add_response("describe_execution", done, {"executionArn": JOINED})
    stub.add_response("describe_execution", done, {"executionArn": JOINED})
    assert gates.PreviewDatabaseGateProvider().create(_props()).outs["execution_arn"] == JOINED
    _start_named(stub, error="ExecutionAlreadyExists")
    failed = {**done, "status": "FAILED", "error": "ExitedNonZero", "cause": "createdb failed"}
    stub.add_response("describe_execution", failed, {"executionArn": JOINED})
    stub.add_response("describe_execution", failed, {"executionArn": JOINED})
    with pytest.raises(ExecutionFailedError, match="createdb failed"):
        gates.PreviewDatabaseGateProvider().create(_props())
    _start_named(stub, error="ExecutionAlreadyExists")
    other = {**done, "input": json.dumps({"action": "drop", "pr": 123})}
    stub.add_response("describe_execution", other, {"executionArn": JOINED})
    with pytest.raises(ExecutionStartError, match="taken by an execution with another input"):
        gates.PreviewDatabaseGateProvider().create(_props())


def test_the_workflow_starts_the_same_execution_before_its_install() -> None:
    """preview-env.yml's early start uses the gate's name and byte-identical input (StartExecution joins only on
    both), and runs before `make install-deploy`, so the database is created beside the install."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview-env.yml").read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    names = [step.get("name", step.get("uses", "")) for step in steps]
    early = next(i for i, step in enumerate(steps) if "start-execution" in step.get("run", ""))
    install = next(i for i, step in enumerate(steps) if "make install-deploy" in step.get("run", ""))
    assert early < install, names
    script = steps[early]["run"]
    name = re.search(r'--name "([^"]+)"', script)
    shape = re.search(r"--input \"\$\(printf '([^']+)' \"\$PR\"\)\"", script)
    assert name and shape, script
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: {**RUN_ENV, "PR": "123"}[m.group(1)], name.group(1))
    assert rendered == gates.create_execution_name(123, RUN_ENV)
    assert shape.group(1).replace("%d", "123") == json.dumps(gates.create_input(123))
