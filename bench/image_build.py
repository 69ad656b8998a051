"""The build of ``app/``'s image, measured step by step on this machine without a Docker engine.

Rerun: .venv/bin/python bench/image_build.py [--against REV]   (REV: also replay app/Dockerfile as of that git
revision, side by side in the same run, e.g. the commit before a Dockerfile change)

There is no Docker engine here, so the builder stage of ``app/Dockerfile`` is replayed from the Dockerfile itself
(``app/tests/dockerfile_replay.py``, the same replay the container tests build their venv with) with this machine's
Python, pip's cache starting empty. Every ``RUN`` is timed. Two totals:

- **every layer** (a pull request that changes ``requirements.lock``: nothing cached, every wheel fetched);
- **app only**: what a push that changes only ``slipway_app`` rebuilds with buildx's layer cache, i.e. every ``RUN``
  after the ``COPY`` of the app's source (the layers before it are reused).

Not measured (no engine, no registry here): pulling the base image, the runtime stage's copy, and the push.
``preview_time.py`` takes the app-only build from :func:`measure`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
sys.path.insert(0, str(APP / "tests"))

from dockerfile_replay import Step, parse_dockerfile, replay_builder  # noqa: E402


@dataclass(frozen=True)
class Build:
    steps: list[Step]
    """Every RUN of the builder stage, empty pip cache."""

    @property
    def app_only(self) -> float:
        """Seconds of the RUNs a push that changes only the app runs again (the layers before are cached)."""
        return sum(s.seconds for s in self.steps if s.after_source_copy)

    @property
    def total(self) -> float:
        return sum(s.seconds for s in self.steps)


def measure(dockerfile: str | None = None) -> Build:
    """Replay the builder stage of ``dockerfile`` (text; default: app/Dockerfile) once, from an empty pip cache."""
    _, stages = parse_dockerfile(dockerfile if dockerfile is not None else (APP / "Dockerfile").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        env = {"HOME": tmp, "PIP_CACHE_DIR": f"{tmp}/pip-cache", "PATH": os.environ["PATH"]}
        _, steps = replay_builder(
            stages[0], context=APP, work=Path(tmp), python_dir=Path(sys.executable).parent, env=env
        )
    return Build(steps=steps)


def _report(label: str, build: Build) -> None:
    print(f"{label}: builder stage replayed natively (Python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    for step in build.steps:
        print(f"  {step.seconds:6.1f} s  {'app' if step.after_source_copy else '   '}  {step.command[:90]}")
    print(f"  every layer, empty pip cache (a lock changed)  : {build.total:6.1f} s")
    print(f"  a push that changes only the app (marked 'app'): {build.app_only:6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also replay app/Dockerfile as of this git revision")
    args = parser.parse_args()
    build = measure()
    _report("app/Dockerfile (working tree)", build)
    if args.against:
        text = subprocess.run(  # noqa: S603
            ["git", "show", f"{args.against}:app/Dockerfile"],  # noqa: S607
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        before = measure(text)
        _report(f"app/Dockerfile at {args.against}", before)
        ratio = before.app_only / build.app_only
        print(f"app-only rebuild: {before.app_only:.1f} s -> {build.app_only:.1f} s ({ratio:.1f}x faster)")


if __name__ == "__main__":
    main()
