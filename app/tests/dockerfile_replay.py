"""app/Dockerfile read and its builder stage replayed without a Docker engine.

:func:`parse_dockerfile` is a small parser (enough for our own file): the static checks of test_app_dockerfile.py
read the recipe with it. :func:`replay_builder` runs the builder stage's own instructions with this machine's Python:
``ENV``, ``WORKDIR``, ``COPY`` (from the build context) and every ``RUN`` as written, ``--mount`` options dropped and
``/opt/venv`` moved under a work directory. The container tests (test_app_container.py) serve the app from the
venv it builds, and bench/image_build.py times it, so neither keeps its own copy of the install steps: change the
Dockerfile and both follow.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

VENV = "/opt/venv"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.db", ".env", ".env.*", "*.egg-info")


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored by Docker too
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        keyword, _, args = buffer.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    assert not buffer, "Dockerfile ends inside a continued instruction"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for inst in instructions:
        if inst.keyword == "FROM":
            parts = inst.args.split()
            parts = [p for p in parts if not p.startswith("--platform")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
        elif not stages:
            if inst.keyword == "ARG":
                key, _, value = inst.args.partition("=")
                global_args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append(inst)
    return global_args, stages


@dataclass(frozen=True)
class Step:
    """One ``RUN`` of the builder stage: the command as run, its seconds, and whether it comes after the first
    ``COPY`` of a directory (the app's source), i.e. whether a change to the app alone runs it again."""

    command: str
    seconds: float
    after_source_copy: bool


def replay_builder(
    stage: Stage,
    context: Path,
    work: Path,
    python_dir: Path,
    env: dict[str, str],
) -> tuple[Path, list[Step]]:
    """Run ``stage``'s instructions under ``work`` with the Python in ``python_dir`` first on PATH (the base
    image's ``python``), ``env`` as the starting environment; returns the built venv and the timed RUN steps."""
    venv = work / "opt-venv"
    env = {**env, "PATH": f"{python_dir}:{env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"}
    cwd = work
    steps: list[Step] = []
    source_copied = False
    for inst in stage.instructions:
        args = inst.args.replace(VENV, str(venv))
        if inst.keyword == "ENV":
            for word in shlex.split(args):
                key, _, value = word.partition("=")
                env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
        elif inst.keyword == "WORKDIR":
            cwd = work / "root" / args.lstrip("/")
            cwd.mkdir(parents=True, exist_ok=True)
        elif inst.keyword == "COPY":
            *sources, _ = shlex.split(args)
            for source in sources:
                if (context / source).is_dir():
                    source_copied = True
                    shutil.copytree(context / source, cwd / source, ignore=IGNORED)
                else:
                    shutil.copy2(context / source, cwd / source)
        elif inst.keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", args)
            start = time.monotonic()
            result = subprocess.run(  # noqa: S603 - the Dockerfile's own RUN lines, run as the build would
                ["bash", "-euc", command],  # noqa: S607
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, (
                f"RUN {command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
            steps.append(Step(command, time.monotonic() - start, source_copied))
    return venv, steps
