"""One formatter and one linter for all Python, enforced by `make test` (and so by `.ci/run`), not only by hooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUFF), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_python_file_is_ruff_formatted() -> None:
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, f"run `.venv/bin/ruff format .`:\n{result.stdout}{result.stderr}"


def test_ruff_check_is_clean() -> None:
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
