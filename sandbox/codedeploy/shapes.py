"""Checks a JSON document against a shape of a botocore service model (CodeDeploy's; the ECS native
emulator uses it for ECS's).

Used on every request (input shapes: required members, JSON types, enums, lengths, ranges and simple
patterns) and by the tests on every response (output shapes, strict about unknown members).
"""

from __future__ import annotations

import functools
import re
from typing import Any

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    # JSON 1.1 sends timestamps as epoch seconds (botocore serializes them so; AWS answers them so)
    "timestamp": (int, float),
    "blob": (str,),
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
}


@functools.cache
def service_model() -> Any:
    """botocore's CodeDeploy model (loaded once)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("codedeploy")


@functools.cache
def _pattern(regex: str) -> re.Pattern[str] | None:
    try:
        return re.compile(regex)
    except re.error:  # a Java-only construct: not worth checking
        return None


def nesting_depth(value: Any, limit: int) -> int:
    """How deep lists and objects nest in a parsed JSON value, counted without recursion and
    stopping at ``limit + 1`` (enough to refuse it)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return deepest


def known_members(value: Any, shape: Any) -> Any:
    """``value`` without the structure members ``shape`` does not define: AWS's JSON deserializers
    ignore unknown members, so they are never stored or echoed back (call after ``check``)."""
    kind = shape.type_name
    if getattr(shape, "is_document_type", False):
        return value  # a document (e.g. ECS's HookDetails) is any JSON value, kept whole
    if kind == "structure" and isinstance(value, dict):
        return {
            name: known_members(item, shape.members[name])
            for name, item in value.items()
            if name in shape.members
        }
    if kind == "list" and isinstance(value, list):
        return [known_members(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: known_members(item, shape.value) for key, item in value.items()}
    return value


def check(value: Any, shape: Any, path: str = "", strict: bool = False) -> list[str]:
    """Problems of ``value`` against ``shape``; empty when it fits. ``strict`` flags unknown members."""
    problems: list[str] = []
    _check(value, shape, path or shape.name, strict, problems)
    return problems


def _check(data: Any, shape: Any, path: str, strict: bool, problems: list[str]) -> None:
    if getattr(shape, "is_document_type", False):
        return  # a document is any JSON value (ECS's HookDetails); nothing to check inside
    kind = shape.type_name
    expected = _JSON_TYPES.get(kind, (object,))
    value: Any = data
    if not isinstance(data, expected) or (isinstance(data, bool) and kind != "boolean"):
        problems.append(f"{path}: expected {kind}, got {type(value).__name__}")
        return
    meta = shape.metadata
    if kind == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{path}: does not match {meta['pattern']}")
    elif kind in ("integer", "long", "double", "float"):
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: below {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: above {meta['max']}")
    elif kind == "list":
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: fewer than {meta['min']} items")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: more than {meta['max']} items")
        for index, item in enumerate(value):
            _check(item, shape.member, f"{path}[{index}]", strict, problems)
    elif kind == "map":
        for key, item in value.items():
            _check(key, shape.key, f"{path}.<key>", strict, problems)
            _check(item, shape.value, f"{path}.{key}", strict, problems)
    elif kind == "structure":
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}: missing required member {name}")
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                if strict:
                    problems.append(f"{path}: unknown member {name}")
                continue
            if item is None:
                if strict:  # AWS leaves a member out rather than sending null
                    problems.append(f"{path}.{name}: null")
                continue
            _check(item, member, f"{path}.{name}", strict, problems)
