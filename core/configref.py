"""The configuration reference (docs/configuration.md), generated from the pydantic models
so that it cannot drift from what the processes accept."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

HEADER = """# Configuration reference

Every long-running process reads one YAML file given with `--config FILE`, validated at start
by a pydantic model: an unknown or wrong field stops the process (exit code 2) with a message
naming the field. Each component keeps a commented `sample.yaml` beside its code. The demo
writes the files it uses to `var/demo/*.yaml`.

This page is generated from the models (`bldgwatch config-reference > docs/configuration.md`);
a test fails when it is out of date.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "(see below)"
    text = repr(value.value if hasattr(value, "value") else value)
    return f"`{text}`"


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _nested_models(arg)


def _model_section(title: str, model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
    lines = [f"### {title}", "", "| field | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
        type_name = _type_name(field.annotation).replace("|", "\\|")
        lines.append(f"| `{key}` | {type_name} | {_default(field)} | {desc} |")
        for sub in _nested_models(field.annotation):
            if sub not in seen:
                seen.add(sub)
                nested.append((f"{title}.{key}", sub))
    lines.append("")
    for sub_title, sub in nested:
        lines.extend(_model_section(f"{sub_title} ({sub.__name__})", sub, seen))
    return lines


def render(models: Mapping[str, type[BaseModel]]) -> str:
    """Markdown for each component's model, nested models after their parent."""
    out = [HEADER]
    for component, model in models.items():
        out.append(f"## `bldgwatch {component}` ({model.__name__})\n")
        doc = (model.__doc__ or "").strip().splitlines()
        if doc:
            out.append(doc[0] + "\n")
        out.extend(_model_section(component, model, {model}))
    return "\n".join(out).rstrip() + "\n"
