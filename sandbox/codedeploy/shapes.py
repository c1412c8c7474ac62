"""Checks a JSON document against a shape of botocore's CodeDeploy service model.

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
    "timestamp": (int, float, str),
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


def check(value: Any, shape: Any, path: str = "", strict: bool = False) -> list[str]:
    """Problems of ``value`` against ``shape``; empty when it fits. ``strict`` flags unknown members."""
    problems: list[str] = []
    _check(value, shape, path or shape.name, strict, problems)
    return problems


def _check(data: Any, shape: Any, path: str, strict: bool, problems: list[str]) -> None:
    kind = shape.type_name
    expected = _JSON_TYPES.get(kind, (object,))
    value: Any = data
    if strict and kind == "timestamp":  # responses carry epoch seconds, as AWS's JSON protocol does
        expected = (int, float)
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
