"""How many image builds (and so migrations + rollouts) this repository's own history would have triggered.

Side by side, over the same commits: slipway's tag (hash of what ``docker build`` sees, ``components.image.image_tag``)
against the common peer scheme of tagging every build with the git commit (Copilot, most CI templates), which builds
and deploys on every commit that reaches main. Each commit's ``app/`` is exported with ``git archive`` into a temp
directory and hashed exactly as ``pulumi up`` would hash it.

Rerun: ``.venv/bin/python bench/rebuilds.py [--rev main]``
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slipway_aws.image import image_tag  # noqa: E402


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout  # noqa: S603,S607


def tag_at(commit: str) -> str | None:
    """slipway's image tag for ``app/`` at ``commit``; None when the commit has no app."""
    if not git("ls-tree", "--name-only", commit, "app/").strip():
        return None
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(git("archive", commit, "app"))) as tar:
        tar.extractall(tmp, filter="data")
        return image_tag(str(Path(tmp, "app")), "arm64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD")
    rev = parser.parse_args().rev
    commits = git("rev-list", "--reverse", rev).decode().split()
    tags = [(c, tag_at(c)) for c in commits]
    with_app = [(c, t) for c, t in tags if t]
    builds = sum(1 for i, (_, t) in enumerate(with_app) if i == 0 or t != with_app[i - 1][1])
    print(f"commits with app/ on {rev}: {len(with_app)} (of {len(commits)})")
    print(f"  tag = git commit (peers)       : {len(with_app):3d} builds + migrations + rollouts")
    print(f"  tag = build-context hash (ours): {builds:3d} builds + migrations + rollouts")
    if builds:
        print(f"  ratio                          : {len(with_app) / builds:.1f}x fewer deploys")


if __name__ == "__main__":
    main()
