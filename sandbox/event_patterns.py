"""EventBridge's event pattern matching (pure), for the sandbox's event bus.

A pattern is a JSON object whose leaves are arrays: an event matches when, for every key of the
pattern, the event has that field and its value (or, for an array value, any of its elements)
matches one of the array's items; a nested object descends into the event's object of that name.
An item is a literal (string, number, boolean, null, compared exactly) or a content filter:
``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a literal, a list, or a
``prefix``/``suffix`` object) and ``exists``. ``$or`` takes a list of patterns, any of which may
match. (AWS, "Amazon EventBridge event patterns" and "Content filtering in Amazon EventBridge event
patterns".) Numeric ranges, wildcards and CIDR matching are left out: nothing bluegreen ships uses
them, and a pattern that does is refused (``PatternError``) rather than matched wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = object()


class PatternError(ValueError):
    """A pattern EventBridge would refuse (InvalidEventPatternException), or one the sandbox does
    not implement."""


def check_pattern(pattern: Any) -> None:
    """Raise ``PatternError`` unless ``pattern`` is a pattern this module can match."""
    if not isinstance(pattern, Mapping) or not pattern:
        raise PatternError(f"an event pattern is a non-empty JSON object, got {pattern!r}")
    for key, value in pattern.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise PatternError("$or takes a list of at least two patterns")
            for branch in value:
                check_pattern(branch)
        elif isinstance(value, Mapping):
            check_pattern(value)
        elif isinstance(value, list) and value:
            for item in value:
                _check_item(key, item)
        else:
            raise PatternError(f"field {key!r}: a pattern's leaf must be a non-empty array, got {value!r}")


def _check_item(key: str, item: Any) -> None:
    if not isinstance(item, Mapping):
        return
    if len(item) != 1 or next(iter(item)) not in _FILTERS:
        raise PatternError(f"field {key!r}: unsupported content filter {dict(item)!r}")


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """True when ``event`` matches ``pattern`` (checked with ``check_pattern`` first)."""
    for key, value in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in value):
                return False
            continue
        found = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(value, Mapping):
            if not isinstance(found, Mapping) or not matches(value, found):
                return False
        elif not _leaf_matches(value, found):
            return False
    return True


def _leaf_matches(items: Sequence[Any], found: Any) -> bool:
    values = found if isinstance(found, list) else [found]
    for item in items:
        if isinstance(item, Mapping):
            name, arg = next(iter(item.items()))
            if _FILTERS[name](arg, found, values):
                return True
        elif found is not _MISSING and any(_same(item, value) for value in values):
            return True
    return False


def _same(expected: Any, value: Any) -> bool:
    """Exact match; a number matches the same number (1 and 1.0), never a string or a boolean."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return float(expected) == float(value)
    return bool(type(expected) is type(value) and expected == value)


def _strings(values: list[Any]) -> list[str]:
    return [v for v in values if isinstance(v, str)]


def _prefix(arg: Any, found: Any, values: list[Any]) -> bool:
    return found is not _MISSING and any(v.startswith(arg) for v in _strings(values))


def _suffix(arg: Any, found: Any, values: list[Any]) -> bool:
    return found is not _MISSING and any(v.endswith(arg) for v in _strings(values))


def _equals_ignore_case(arg: Any, found: Any, values: list[Any]) -> bool:
    return found is not _MISSING and any(v.casefold() == str(arg).casefold() for v in _strings(values))


def _exists(arg: Any, found: Any, values: list[Any]) -> bool:
    return (found is not _MISSING) is bool(arg)


def _anything_but(arg: Any, found: Any, values: list[Any]) -> bool:
    """The field is there and none of its values is excluded (a list, a literal, a prefix/suffix)."""
    if found is _MISSING:
        return False
    if isinstance(arg, Mapping):
        name, inner = next(iter(arg.items()))
        excluded = {"prefix": _prefix, "suffix": _suffix}[name]
        return not excluded(inner, found, values)
    banned = arg if isinstance(arg, list) else [arg]
    return not any(_same(b, v) for b in banned for v in values)


_FILTERS = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "exists": _exists,
    "anything-but": _anything_but,
}
