"""Field documentation at runtime: help() shows every Args field with its default (components/docs.py)."""

from __future__ import annotations

import dataclasses
import pydoc

import pytest

import slipway_aws
from slipway_aws.docs import document_fields

ARGS = sorted(n for n in slipway_aws.__all__ if n.endswith("Args"))


@pytest.mark.parametrize("name", ARGS)
def test_help_shows_every_field_with_its_default(name: str) -> None:
    cls = getattr(slipway_aws, name)
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    for f in dataclasses.fields(cls):
        doc = cls.__field_docs__.get(f.name)
        assert doc, f"{name}.{f.name} has no docstring"
        first_line = doc.splitlines()[0]
        assert f"{f.name}: " in text and first_line in text, f"{name}.{f.name}"
        assert any(line.strip(" |").startswith(f"{f.name}: ") and " = " in line for line in text.splitlines())


def test_web_service_args_shows_defaults() -> None:
    text = pydoc.render_doc(slipway_aws.WebServiceArgs, renderer=pydoc.plaintext)
    assert "cpu: int = 512" in text
    assert "cluster_arn: Input[str] = required" in text or "cluster_arn: pulumi.Input[str] = required" in text
    assert "container_health_check: Optional[Sequence[str]] = None" in text


def test_without_the_decorator_the_docstrings_are_lost() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        size: int = 3
        """How big. Default 3."""

    assert "How big" not in (Plain.__doc__ or "")
    assert "size: int = 3\n    How big. Default 3." in (document_fields(Plain).__doc__ or "")
