"""The build of ``app/``'s image, measured step by step on this machine without a Docker engine.

Rerun: .venv/bin/python bench/image_build.py

There is no Docker engine here, so the builder stage of ``app/Dockerfile`` is replayed with this machine's Python in
a temporary directory, step for step: a venv, the hashed dependency locks (``--require-hashes``), the app itself
(``--no-deps --no-build-isolation``), ``pip check`` and the byte-compilation. Two cases are timed:

- **cold**: an empty pip cache, every wheel downloaded (a pull request that changes ``requirements.lock``);
- **warm**: what a push that changes only ``slipway_app`` rebuilds with buildx's layer cache: the dependency layer is
  reused, so only the app layer (install, ``pip check``) and the compile layer run again.

Not measured (no engine, no registry here): pulling the base image, the runtime stage's layer copy, and the push.
``preview_time.py`` takes the warm build from :func:`measure`; the sizes printed here are what a push uploads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"


@dataclass(frozen=True)
class Build:
    """Seconds per step of one replay of the builder stage, and the venv's size."""

    deps_cold: float
    deps_warm: float
    app_layer: float
    compile_layer: float
    venv_mb: float

    @property
    def warm(self) -> float:
        """A push that changes only the app: the app layer and the compile layer (the dependency layer is cached)."""
        return self.app_layer + self.compile_layer


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=True, capture_output=True)  # noqa: S603
    return time.monotonic() - start


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _replay(work: Path, cache: Path, env: dict[str, str]) -> tuple[float, float, float, Path]:
    """The builder stage's RUN steps, in order: (deps, app layer, compile layer, venv)."""
    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)  # noqa: S603
    pip = venv / "bin" / "pip"
    src = work / "src"
    deps = _run(
        pip,
        "install",
        "--cache-dir",
        cache,
        "--require-hashes",
        "--no-deps",
        "--no-compile",
        "-r",
        "requirements.lock",
        "-r",
        "build-requirements.lock",
        cwd=src,
        env=env,
    )
    app = _run(
        pip, "install", "--cache-dir", cache, "--no-deps", "--no-compile", "--no-build-isolation", ".", cwd=src, env=env
    )
    app += _run(pip, "uninstall", "--yes", "setuptools", cwd=src, env=env)
    app += _run(pip, "check", cwd=src, env=env)
    compile_ = _run(
        venv / "bin" / "python",
        "-m",
        "compileall",
        "-q",
        "-f",
        "--invalidation-mode",
        "unchecked-hash",
        venv,
        cwd=src,
        env=env,
    )
    return deps, app, compile_, venv


def measure() -> Build:
    """Replay the builder stage twice (empty pip cache, then the cache the first run filled)."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "src"
        src.mkdir()
        for name in ("requirements.lock", "build-requirements.lock", "pyproject.toml", "README.md"):
            if (APP / name).exists():
                shutil.copy2(APP / name, src / name)
        shutil.copytree(APP / "slipway_app", src / "slipway_app", ignore=shutil.ignore_patterns("__pycache__"))
        cache = work / "pip-cache"
        deps_cold, _, _, _ = _replay(work, cache, env)
        deps_warm, app, compile_, venv = _replay(work, cache, env)
        return Build(
            deps_cold=deps_cold,
            deps_warm=deps_warm,
            app_layer=app,
            compile_layer=compile_,
            venv_mb=_size_mb(venv),
        )


def main() -> None:
    b = measure()
    print(f"builder stage of app/Dockerfile, replayed natively ({sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"  dependency layer, empty pip cache (lock changed) : {b.deps_cold:6.1f} s")
    print(f"  dependency layer, warm pip cache                 : {b.deps_warm:6.1f} s")
    print(f"  app layer (install ., uninstall setuptools, check): {b.app_layer:6.1f} s")
    print(f"  compile layer (compileall -f of the venv)        : {b.compile_layer:6.1f} s")
    print(f"  push that changes only the app (app + compile)   : {b.warm:6.1f} s")
    print(f"  venv in the image: {b.venv_mb:.0f} MB")


if __name__ == "__main__":
    main()
