"""The offline engine: run the real stack program under Pulumi's mock runtime and record a ResourceGraph.

``run_stack("dev")`` finds the project as the Pulumi CLI does (the nearest ``Pulumi.yaml`` from the current
directory upwards, :func:`find_project`), reads ``Pulumi.yaml`` and ``Pulumi.dev.yaml`` exactly as the CLI would
(project defaults from the config schema, stack values on top, ``secure:`` values replaced by placeholders that stay
secret), executes ``__main__.py``, and returns every registered resource with its type, name, parent, inputs and
dependencies, plus the stack outputs. Tests, the plan, policy, cost, diagram and diff all read this one graph.

What it cannot prove: provider-side validation and AWS API behaviour. The mocks return realistic computed values
(ids, ARNs, DNS names, endpoints) so wiring is exercised, not AWS itself.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import functools
import hashlib
import io
import json
import os
import re
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
"""This checkout (the slipway project itself, when run from a source tree); the commands use :func:`find_project`."""
ACCOUNT = "123456789012"
_LOCK = threading.Lock()  # the Pulumi runtime keeps global state: one program at a time


class SecretValue:
    """An input value that is secret in Pulumi state. ``str()`` never reveals it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "[secret]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other.value == self.value

    def __hash__(self) -> int:
        return hash("SecretValue")


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    inputs: dict[str, Any]
    dependencies: list[str]
    custom: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """The ``aliases`` option as sent to the engine: ``{"urn": ...}`` or a spec ``{"name", "type", "stack",
    "project", "parent"}`` with ``parent`` a URN, ``None`` for no parent (the stack's root), absent when unchanged."""

    def input(self, *path: str | int, default: Any = None) -> Any:
        """Nested input lookup: ``r.input("healthCheck", "interval")``; secrets come back unwrapped."""
        value: Any = self.inputs
        for key in path:
            if isinstance(value, SecretValue):
                value = value.value
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return default
        return value.value if isinstance(value, SecretValue) else value

    def json_input(self, key: str) -> Any:
        """Parse a JSON-document input (policies, container definitions)."""
        raw = self.input(key)
        return json.loads(raw) if isinstance(raw, str) else raw


@dataclass
class ResourceGraph:
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]

    def by_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_contains: str = "") -> Resource:
        found = [r for r in self.by_type(type_) if name_contains in r.name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named *{name_contains}*, found {[r.name for r in found]}")
        return found[0]

    def get(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]

    def depends_on(self, resource: Resource, target: Resource) -> bool:
        """True when ``resource`` depends on ``target`` directly, through inputs, or via its ancestors/children."""
        seen: set[str] = set()
        stack = [resource.urn]
        while stack:
            urn = stack.pop()
            if urn in seen:
                continue
            seen.add(urn)
            deps = self.get(urn).dependencies if any(r.urn == urn for r in self.resources) else []
            for dep in deps:
                if dep == target.urn:
                    return True
                stack.append(dep)
                stack.extend(c.urn for c in self.descendants(dep))
        return False

    def descendants(self, urn: str) -> list[Resource]:
        out, todo = [], [urn]
        while todo:
            kids = self.children(todo.pop())
            out.extend(kids)
            todo.extend(k.urn for k in kids)
        return out

    def to_json(self) -> dict[str, Any]:
        """The plan's JSON document; secret values are masked."""
        return {
            "stack": self.stack,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "inputs": mask(r.inputs),
                    "dependencies": r.dependencies,
                    **({"protect": True} if r.protect else {}),
                    **({"retainOnDelete": True} if r.retain_on_delete else {}),
                    **({"ignoreChanges": r.ignore_changes} if r.ignore_changes else {}),
                }
                for r in self.resources
            ],
            "outputs": mask(self.outputs),
        }


def stable_order(resources: list[Resource]) -> list[Resource]:
    """Creation order that does not depend on scheduling: parents and dependencies first, ties broken by URN.

    The Pulumi runtime registers resources as their inputs resolve, so the recorded order varies from run to run;
    the plan and its JSON must not (a saved plan diffs cleanly in a pull request).
    """
    import heapq

    by_urn = {r.urn: r for r in resources}
    before = {r.urn: {d for d in [r.parent, *r.dependencies] if d in by_urn and d != r.urn} for r in resources}
    after: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, preds in before.items():
        for pred in preds:
            after[pred].append(urn)
    ready = [urn for urn, preds in before.items() if not preds]
    heapq.heapify(ready)
    ordered: list[Resource] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for nxt in after[urn]:
            before[nxt].discard(urn)
            if not before[nxt]:
                heapq.heappush(ready, nxt)
    if len(ordered) != len(resources):  # a cycle cannot be registered by the SDK; keep whatever is left by URN
        seen = {r.urn for r in ordered}
        ordered.extend(sorted((r for r in resources if r.urn not in seen), key=lambda r: r.urn))
    return ordered


def mask(value: Any) -> Any:
    if isinstance(value, SecretValue):
        return "[secret]"
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items() if k != "__provider"}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


# -- stack files ---------------------------------------------------------------------------------------------
class StackFileError(Exception):
    """A stack or project file is missing or malformed."""


PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


def find_project(start: Optional[Path] = None) -> Path:
    """The directory of the nearest project file from ``start`` (default: the current directory) upwards.

    As the Pulumi CLI finds its project (``workspace.DetectProjectPathFrom`` in pulumi/pulumi
    ``sdk/go/common/workspace/paths.go``: ``Pulumi.yaml`` or ``Pulumi.yml`` in the directory or any parent). Raises
    :class:`StackFileError` naming the directory searched when there is none.
    """
    origin = Path(start if start is not None else os.getcwd()).resolve()
    if not origin.is_dir():
        raise StackFileError(f"--cwd {origin}: no such directory")
    for directory in (origin, *origin.parents):
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return directory
    raise StackFileError(
        f"no Pulumi project: no Pulumi.yaml in {origin} or any directory above it "
        "(run slipway inside a Pulumi project, or pass --cwd DIR)"
    )


def project_file(root: Path) -> Path:
    """``Pulumi.yaml`` (or ``Pulumi.yml``) of the project at ``root``."""
    return next((root / n for n in PROJECT_FILES if (root / n).is_file()), root / PROJECT_FILES[0])


def stack_file_path(root: Path, stack: str) -> Path:
    """``Pulumi.<stack>.yaml`` beside the project file, with the project file's extension, as the CLI names it; a
    fully qualified ``org/project/stack`` uses its last part."""
    return root / f"Pulumi.{stack.rsplit('/', 1)[-1]}{project_file(root).suffix}"


def program_path(root: Path) -> Path:
    """The program the project runs: ``__main__.py`` of the project directory, or of ``main:`` in the project
    file (a directory, or a ``.py`` file), as the Python language host resolves it."""
    main = _read_yaml(project_file(root)).get("main")
    if not isinstance(main, str) or not main.strip():
        return root / "__main__.py"
    target = (root / main).resolve()
    return target if target.suffix == ".py" else target / "__main__.py"


def load_config(
    stack: str, root: Optional[Path] = None, overrides: Optional[Mapping[str, Any]] = None
) -> tuple[str, dict[str, str], list[str]]:
    """Project name, the flat config map the CLI would hand the program, and the secret keys.

    A missing or malformed file raises :class:`StackFileError` with one line naming the file, line and column. A key
    set to nothing in the stack file stays, blank, for the program to refuse (``overrides`` of None remove a key).
    ``secure:`` values become placeholders that pass the key's own checks (``components.config.secure_placeholder``)
    and stay secret.
    """
    from slipway_aws.config import config_string, secure_placeholder

    root = Path(root) if root is not None else find_project()
    project_path, stack_file = project_file(root), stack_file_path(root, stack)
    if not project_path.is_file():
        raise StackFileError(f"no Pulumi.yaml in {root}: not a Pulumi project")
    if not stack_file.exists() and _preview_source(stack) is not None:
        # A preview stack (pr-<n>) needs no stack file: everything comes from its source stack (StackReference);
        # the workflow sets only aws:region on it, which the offline run copies from the source stack's file.
        source_file = stack_file_path(root, str(_preview_source(stack)))
        source = _stack_values(source_file) if source_file.exists() else {}
        region = (source or {}).get("aws:region")
        preview = {"aws:region": region, **(overrides or {})}  # what `pulumi config set` would add on the preview
        flat = {k: config_string(v) for k, v in preview.items() if v is not None}
        return str(_read_yaml(project_path).get("name")), flat, []
    if not stack_file.exists():
        stacks = sorted(p.name[len("Pulumi.") : -len(p.suffix)] for p in root.glob(f"Pulumi.*{project_path.suffix}"))
        raise StackFileError(
            f"no stack file {stack_file.name} in project {root}; "
            f"known stacks: {', '.join(stacks) or 'none (create Pulumi.<stack>.yaml beside Pulumi.yaml)'}"
        )
    project = _read_yaml(project_path)
    name = project.get("name")
    if not isinstance(name, str):
        raise StackFileError(f"{project_path.name}: the project needs a `name:`")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in (_mapping_at(project_path, project, "config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            config[full] = config_string(spec["default"])
        elif not isinstance(spec, dict):
            config[full] = config_string(spec)
    values: dict[str, Any] = {k: "" if v is None else v for k, v in (_stack_values(stack_file) or {}).items()}
    values.update(overrides or {})
    environment = values.get(f"{name}:environment")
    region = values.get("aws:region")
    for key, value in values.items():
        if value is None:  # an override of None removes the key
            config.pop(key, None)
            continue
        if isinstance(value, dict) and "secure" in value:
            placeholder = secure_placeholder(
                key,
                environment if isinstance(environment, str) else stack,
                region if isinstance(region, str) else None,
            )
            config[key] = placeholder if placeholder is not None else f"[secure placeholder for {key}]"
            secret_keys.append(key)
        else:
            config[key] = config_string(value)
    return name, config, secret_keys


@functools.lru_cache(maxsize=32)
def _compose(text: str) -> Any:
    """The YAML node tree of ``text`` (for line and column numbers), parsed once per distinct text: one offline run
    reads the same project and stack files many times (deploy-policy generation: hundreds)."""
    return yaml.compose(text)


@functools.lru_cache(maxsize=32)
def _load(text: str) -> Any:
    return yaml.safe_load(text)


def _read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; a syntax error or any other shape is a StackFileError naming line and column.
    The parse is cached by the file's text; each caller gets its own copy."""
    text = path.read_text()
    try:
        doc = copy.deepcopy(_load(text))
    except yaml.MarkedYAMLError as exc:
        mark, start = exc.problem_mark or exc.context_mark, exc.context_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        context = (
            f" ({exc.context} at line {start.line + 1}, column {start.column + 1})" if start and exc.context else ""
        )
        raise StackFileError(f"{where}: not valid YAML: {exc.problem or exc.context}{context}") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name}: not valid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise StackFileError(f"{path.name}:1:1: expected a mapping of keys (`config:`), found {_kind(doc)}")
    return doc


def _mapping_at(path: Path, doc: dict[str, Any], key: str) -> Optional[dict[str, Any]]:
    """``doc[key]``, which must be a mapping (or absent); else a StackFileError at the value's line and column."""
    value = doc.get(key)
    if value is None or isinstance(value, dict):
        return value
    node = _compose(path.read_text())
    line, column = 1, 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                line, column = v.start_mark.line + 1, v.start_mark.column + 1
    raise StackFileError(
        f"{path.name}:{line}:{column}: `{key}:` must be a mapping of KEY: VALUE lines, found {_kind(value)} "
        f"{json.dumps(value, default=str)}"
    )


# The top-level keys of a stack file (pulumi/pulumi sdk/go/common/workspace/project.go, ProjectStack's yaml tags).
STACK_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")
# What `pulumi config set --secret` writes: base64 ciphertext (the passphrase provider: `v1:<nonce>:<ciphertext>`).
_CIPHERTEXT = re.compile(r"^[A-Za-z0-9+/=]+(:[A-Za-z0-9+/=]+)*$")


def _stack_values(stack_file: Path) -> Optional[dict[str, Any]]:
    doc = _read_yaml(stack_file)
    for key in doc:
        if key not in STACK_FILE_KEYS:
            guess = difflib.get_close_matches(str(key), STACK_FILE_KEYS, n=1)
            line, column = _key_position(stack_file, None, str(key))
            raise StackFileError(
                f"{stack_file.name}:{line}:{column}: a stack file has no key `{key}:`"
                + (f"; did you mean `{guess[0]}:`?" if guess else "")
                + f" (its keys: {', '.join(STACK_FILE_KEYS)})"
            )
    values = _mapping_at(stack_file, doc, "config")
    for key in values or {}:
        if not isinstance(key, str):
            raise StackFileError(f"{stack_file.name}: config key {key!r} must be text such as slipway:{key}")
    _refuse_duplicate_keys(stack_file)
    for key, value in (values or {}).items():
        if isinstance(value, dict) and "secure" in value:
            secure = value["secure"]
            if set(value) != {"secure"} or not isinstance(secure, str) or not _CIPHERTEXT.match(secure):
                line, column = _key_position(stack_file, key, "secure")
                raise StackFileError(
                    f"{stack_file.name}:{line}:{column}: {key}: `secure:` must be the one ciphertext "
                    f"`pulumi config set --secret {key} VALUE` writes (base64 text), "
                    f"found {json.dumps(value, default=str)}"
                )
    if values:
        values.update(_scalar_texts(stack_file))
    return values


def _key_position(path: Path, parent: Optional[str], key: str) -> tuple[int, int]:
    """Line and column (1-based) of ``key`` at the top level, or under ``config:`` -> ``parent``."""
    node = _compose(path.read_text())
    if parent is not None:
        node = _child(_child(node, "config"), parent)
    for k, _ in node.value if isinstance(node, yaml.MappingNode) else []:
        if k.value == key:
            return k.start_mark.line + 1, k.start_mark.column + 1
    return 1, 1


def _child(node: Any, key: str) -> Any:
    for k, v in node.value if isinstance(node, yaml.MappingNode) else []:
        if k.value == key:
            return v
    return None


def _scalar_texts(path: Path) -> dict[str, str]:
    """Each scalar under ``config:`` as the text written (quotes removed), as the Pulumi CLI hands it to the program.

    The CLI decodes a stack file's config values into strings first (``config.Value.unmarshalValue`` in
    pulumi/pulumi ``sdk/go/common/resource/config/value.go``; go-yaml then yields the scalar's own text), so
    ``yes``, ``on``, ``010`` and ``1_000`` reach ``pulumi.Config`` as those four texts. PyYAML would resolve them
    (YAML 1.1) to true, true, 8 and 1000 first, and the offline plan would accept what the real run refuses or reads
    differently. Null scalars are left out (the caller treats them as blank); mappings and lists keep their values.
    """
    config = _config_node(path)
    texts: dict[str, str] = {}
    for key, value in config.value if isinstance(config, yaml.MappingNode) else []:
        if isinstance(value, yaml.ScalarNode) and value.tag != "tag:yaml.org,2002:null":
            texts[key.value] = value.value
    return texts


def _config_node(path: Path) -> Any:
    """The YAML node under ``config:`` (None when there is none)."""
    root = _compose(path.read_text())
    if not isinstance(root, yaml.MappingNode):
        return None
    return next((v for k, v in root.value if k.value == "config"), None)


def _refuse_duplicate_keys(path: Path) -> None:
    """A key set twice under ``config:``: YAML loaders keep one of them silently (Pulumi's refuses the file)."""
    config = _config_node(path)
    seen: dict[str, int] = {}
    for key, _ in config.value if isinstance(config, yaml.MappingNode) else []:
        line = key.start_mark.line + 1
        if key.value in seen:
            raise StackFileError(
                f"{path.name}:{line}:{key.start_mark.column + 1}: {key.value} is set twice (first on line "
                f"{seen[key.value]}); keep one"
            )
        seen[key.value] = line


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# -- the run -------------------------------------------------------------------------------------------------
def run_stack(
    stack: str,
    root: Optional[Path] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    pushed_images: Optional[Mapping[str, str]] = None,
    stack_references: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> ResourceGraph:
    """Run ``__main__.py`` for ``stack`` under mocks and return the recorded graph.

    ``stack_references`` (stack name -> outputs) answers the program's ``StackReference`` reads; for a preview
    stack (``pr-<n>``) left None, its source stack (``slipway:previewOf``, default ``dev``) is run offline first.

    ``pushed_images`` (tag -> ``sha256:`` digest) is what the offline ECR holds; empty by default, so the plan shows
    a build. The program's one direct AWS call (``components.image.find_pushed_image``) is answered from it.
    """
    root = Path(root).resolve() if root is not None else find_project()  # the program runs from its directory
    project, config, secret_keys = load_config(stack, root, overrides)
    source = _preview_source(stack, config.get(f"{project}:previewOf"))
    if stack_references is None and source is not None:
        # A preview reads its source stack's outputs: run that stack offline first, as `pulumi up` would have.
        outputs = run_stack(source, root=root, pushed_images=pushed_images).outputs
        if "preview" not in outputs:
            raise StackFileError(
                f"stack {stack} is a preview of stack {source}, whose program exports no `preview` output: a project "
                "with previews calls slipway_aws.preview.export_shared(app) in its program and runs "
                'slipway_aws.preview.preview_program(stack) for pr-<n> stacks (docs/previews.md, "Turning previews '
                'on"; `previews` must be on in the source stack)'
            )
        stack_references = {source: outputs}
    main = program_path(root)
    if not main.is_file():
        raise StackFileError(f"no program {main} in project {root} (a Python project runs __main__.py)")
    with _LOCK, _program_path(main.parent), _offline_ecr(dict(pushed_images or {})):
        return _run(
            project,
            stack,
            config,
            secret_keys,
            lambda: runpy.run_path(str(main), run_name="__main__"),
            stack_outputs={k: dict(v) for k, v in (stack_references or {}).items()},
        )


def _preview_source(stack: str, configured: Optional[str] = None) -> Optional[str]:
    """The stack a preview stack shares (``configured`` or ``dev``); None for any other stack."""
    from slipway_aws.preview import SOURCE_STACK, preview_number

    return (configured or SOURCE_STACK) if preview_number(stack) is not None else None


@contextlib.contextmanager
def _offline_ecr(pushed: dict[str, str]) -> Iterator[None]:
    """Answer ``find_pushed_image`` from ``pushed`` instead of calling ECR (no credentials, no network)."""
    import slipway_aws.image as image

    real = image.find_pushed_image

    def offline_find(
        repository_name: str, tag: str, region: str, ecr_client: Any = None, profile: Optional[str] = None
    ) -> Optional[str]:
        return pushed.get(tag)

    image.find_pushed_image = offline_find
    try:
        yield
    finally:
        image.find_pushed_image = real


def run_program(
    program: Callable[[], Any],
    stack: str = "test",
    config: Optional[Mapping[str, str]] = None,
    project: str = "slipway",
) -> ResourceGraph:
    """Run any callable that declares resources (e.g. one component) under the same mocks; for unit tests."""
    values = {"aws:region": "us-east-1", **(config or {})}
    with _LOCK:
        return _run(project, stack, values, [], program)


def _run(
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    program: Callable[[], Any],
    stack_outputs: Optional[dict[str, dict[str, Any]]] = None,
) -> ResourceGraph:
    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from .mocks import RecordingMonitor, SlipwayMocks

    pulumi_settings.ROOT.set(None)
    _ensure_event_loop()
    monitor = RecordingMonitor(SlipwayMocks(config.get("aws:region", "us-east-1"), stack_outputs))
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            # As the Python language host does: the program runs inside the event loop (stack transforms and
            # other runtime calls need a running loop), then every RPC is awaited and the callback server stopped.
            _sync_await(run_pulumi_func(program))
    except BaseException as exc:
        exc.resources_registered = len(monitor.recorded)  # type: ignore[attr-defined]
        pulumi_settings.ROOT.set(None)
        raise
    root = pulumi_settings.get_root_resource()
    outputs = {k: _resolve(v) for k, v in getattr(root, "outputs", {}).items()}
    graph = ResourceGraph(stack=stack, resources=stable_order(monitor.recorded), outputs=outputs)
    pulumi_settings.ROOT.set(None)
    return graph


def _ensure_event_loop() -> None:
    """The runtime needs a current event loop; ``asyncio.run`` elsewhere in the process (a test, a script) leaves
    none behind, so give it a fresh one, as the language host starts with one."""
    import asyncio
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def _resolve(value: Any) -> Any:
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    out = pulumi.Output.from_input(value)
    resolved = _sync_await(out.future())
    return SecretValue(resolved) if _sync_await(out.is_secret()) else resolved


@contextlib.contextmanager
def _program_path(root: Path) -> Iterator[None]:
    """Make the project importable and the working directory as the CLI does (the program's directory first on
    sys.path, and the current directory: programs resolve relative paths such as a build context against it)."""
    sys.path.insert(0, str(root))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path.remove(str(root))


def fake_id(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]
