"""Field documentation at runtime.

Args fields are documented the way IDEs read them, with an attribute docstring under each field. Python discards
those at runtime, so ``help(WebServiceArgs)`` would show none of them. :func:`document_fields` reads them back from
the class's source with :mod:`ast` when the class is defined and writes them into the class ``__doc__`` (one entry
per field: name, annotation, default, text) and into ``__field_docs__`` (field name -> text), which the component
package schema (``slipway schema``) uses for input descriptions too.
"""

import ast
import dataclasses
import inspect
import textwrap
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of ``cls``'s own class body, by field name (empty when the source is unavailable)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = next((n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)), None)
    docs: dict[str, str] = {}
    statements = body.body if body else []
    for node, following in zip(statements, statements[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs


def knob_default(f: "dataclasses.Field[Any]") -> str:
    """A knob's default per profile in words (``dev 256, prod 512``; ``8000``; ``unset``)."""
    spec = f.metadata["knob"]
    if spec.dev == spec.prod:
        return "unset" if spec.dev is None else _plain(spec.dev)
    return f"dev {_plain(spec.dev)}, prod {_plain(spec.prod)}"


def _plain(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _default(f: "dataclasses.Field[Any]") -> str:
    if "knob" in f.metadata:
        return f"None (the profile's: {knob_default(f)})"
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return repr(f.default_factory())
    return "required"


def _annotation(f: "dataclasses.Field[Any]") -> str:
    kind = f.type
    text = kind if isinstance(kind, str) else kind.__name__ if isinstance(kind, type) else repr(kind)
    return str(text).replace("typing.", "").replace("collections.abc.", "")


def document_fields(cls: T) -> T:
    """Class decorator (outside ``@dataclass``): put every field's docstring and default into ``cls.__doc__``."""
    docs = field_docs(cls)
    inherited: dict[str, str] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited.update(getattr(base, "__field_docs__", {}))
    docs = {**inherited, **docs}
    for f in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else []:
        if "knob" in f.metadata and f.name in docs and "Default None: the profile's" not in docs[f.name]:
            rule = f.metadata["knob"].rule_text()
            docs[f.name] += f"{' ' + rule if rule else ''} Default None: the profile's ({knob_default(f)})."
    lines = []
    for f in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else []:
        text = docs.get(f.name, "")
        lines.append(f"{f.name}: {_annotation(f)} = {_default(f)}")
        lines.extend(f"    {line}" for line in text.splitlines())
    head = inspect.cleandoc(cls.__doc__) if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}(") else ""
    cls.__doc__ = "\n\n".join(part for part in (head, "Fields:\n\n" + "\n".join(lines) if lines else "") if part)
    cls.__field_docs__ = docs  # type: ignore[attr-defined]
    return cls
