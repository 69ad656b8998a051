"""The component library under its installed name, in a source checkout too.

The wheel installs ``components/`` as the import package ``slipway_aws`` and ``policy/`` as ``slipway_policy``
(``[tool.setuptools.package-dir]`` in ``pyproject.toml``). In this repository the same files are the packages
``components`` and ``policy``, which the stack program and the tests import. So that programs written against the
installed name (``examples/reuse``) and this tooling run from a checkout without installing anything, and without
loading every module twice, :func:`install` registers an import hook that makes ``slipway_aws[.x]`` *the same
module objects* as ``components[.x]`` (one ``ArgsError`` class, one ``find_pushed_image`` to patch), even when the
package is also installed into the same environment (``pip install -e .``): the checkout's tooling uses the
checkout's library. An installed ``slipway`` (no ``components/`` beside it) registers nothing and uses the installed
``slipway_aws``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
#: installed name -> source directory (and import name) in a checkout
ALIASES = {"slipway_aws": "components", "slipway_policy": "policy"}


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``slipway_aws.x`` resolves to the already-importable ``components.x`` module object."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        top, _, rest = fullname.partition(".")
        if top not in ALIASES:
            return None
        source = ALIASES[top] + (f".{rest}" if rest else "")
        return importlib.util.spec_from_loader(fullname, self, origin=source)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(str(spec.origin))
        spec.loader_state = module.__spec__  # restored in exec_module: the module keeps its own identity
        return module

    def exec_module(self, module: ModuleType) -> None:
        spec: Any = module.__spec__
        if spec is not None and spec.loader_state is not None:
            module.__spec__ = spec.loader_state


def install() -> None:
    """Register the alias hook when this is a source checkout."""
    if not (ROOT / "components" / "__init__.py").exists():
        return
    if any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        return
    if any(name in sys.modules for name in ALIASES):
        return  # already imported under its own name: too late to alias (one copy must win)
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    sys.meta_path.insert(0, _AliasFinder())  # before PathFinder, which would load slipway_aws.x anew
