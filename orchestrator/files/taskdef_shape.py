"""Check a task definition document against botocore's RegisterTaskDefinition input shape.

A file with ``"cpu": {"a": 1}`` used to reach botocore, whose parameter validation failed with a
multi-line message after bluegreen had started talking to AWS. The same model botocore validates
with (``botocore/data/ecs/*/service-2.json``, shipped with botocore) is walked here first, so the
file is bad input (exit 2) naming the field: types, required members, unknown members (with a
did-you-mean) and enums. Reads only botocore's JSON data: no clients, no AWS calls.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from typing import Any

_OPERATION = "RegisterTaskDefinition"

# botocore shape type -> (Python types a JSON document may hold for it, how to say it).
_SCALARS: dict[str, tuple[tuple[type, ...], str]] = {
    "string": ((str,), "a string"),
    "integer": ((int,), "an integer"),
    "long": ((int,), "an integer"),
    "double": ((int, float), "a number"),
    "float": ((int, float), "a number"),
    "boolean": ((bool,), "true or false"),
    "timestamp": ((str, int, float), "a timestamp"),
    "blob": ((str,), "a base64 string"),
}


@functools.cache
def _model() -> dict[str, Any]:
    import botocore.loaders

    model: dict[str, Any] = botocore.loaders.create_loader().load_service_model("ecs", "service-2")
    return model


def _shapes() -> dict[str, Any]:
    shapes: dict[str, Any] = _model()["shapes"]
    return shapes


def request_shape_name() -> str:
    """The name of RegisterTaskDefinition's input shape in botocore's ECS model."""
    return str(_model()["operations"][_OPERATION]["input"]["shape"])


def shape_problem(document: Mapping[str, Any]) -> str | None:
    """The first way ``document`` breaks RegisterTaskDefinition's input shape (``field F: ...``), or None."""
    return _problem(document, request_shape_name(), "")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


def _problem(value: Any, shape_name: str, path: str) -> str | None:
    shape = _shapes()[shape_name]
    kind = shape["type"]
    field = f"field {path or '(top level)'}"
    if kind == "structure":
        return _structure_problem(value, shape, path, field)
    if kind == "list":
        if not isinstance(value, list):
            return f"{field}: expected a list, got {_kind(value)}"
        for index, item in enumerate(value):
            problem = _problem(item, shape["member"]["shape"], f"{path}[{index}]")
            if problem:
                return problem
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return f"{field}: expected an object, got {_kind(value)}"
        for key, item in value.items():
            problem = _problem(item, shape["value"]["shape"], f"{path}.{key}")
            if problem:
                return problem
        return None
    types, said = _SCALARS[kind]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        return f"{field}: expected {said}, got {_kind(value)} ({str(value)[:40]!r})"
    if "enum" in shape and value not in shape["enum"]:
        return f"{field}: {value!r} is not one of {', '.join(shape['enum'])}"
    return None


def _structure_problem(value: Any, shape: Mapping[str, Any], path: str, field: str) -> str | None:
    if not isinstance(value, dict):
        return f"{field}: expected an object, got {_kind(value)}"
    members: Mapping[str, Any] = shape.get("members", {})
    prefix = f"{path}." if path else ""
    for key in value:
        if key not in members:
            close = difflib.get_close_matches(key, list(members), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return f"field {prefix}{key}: not a RegisterTaskDefinition field{hint}"
    for required in shape.get("required", []):
        if required not in value:
            return f"field {prefix}{required}: required by RegisterTaskDefinition"
    for key, item in value.items():
        problem = _problem(item, members[key]["shape"], f"{prefix}{key}")
        if problem:
            return problem
    return None
