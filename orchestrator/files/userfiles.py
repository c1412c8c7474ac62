"""Reading files a user wrote (catalog, alarm definitions, task definitions), strictly and cheaply.

- Text must be UTF-8: a stray Latin-1 byte is named with its line, never an internal
  UnicodeDecodeError.
- YAML is parsed by PyYAML's safe loader with two refusals it lacks: a mapping key written twice
  (YAML 1.2 says keys are unique; PyYAML keeps the last one silently) and documents whose aliases
  expand past a node budget (a "billion laughs" alias bomb: 2 KB of anchors that expands to
  billions of nodes would pin a core in validation). The budget is checked on the composed node
  graph, before any Python object is built, in time linear in the distinct nodes.

Errors are ``UserFileError`` whose text names the place (``line N``) but not the file: callers
prefix the file name the user knows. Pure: stdlib and PyYAML only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Expanded nodes a document may have (aliases counted as copies of what they point to). The
# shipped catalog has ~400; the alarm definitions ~600. Far above any hand-written file, far
# below what takes more than a few milliseconds to validate.
MAX_EXPANDED_NODES = 50_000
_REPHRASE_LIMIT = 256 * 1024  # characters
MAX_DEPTH = 100  # nesting levels; the catalog uses 6
_MERGE_TAG = "tag:yaml.org,2002:merge"


class UserFileError(ValueError):
    """A user file is not UTF-8 or not acceptable YAML; the message names the line, not the file."""


def read_utf8(path: Path) -> str:
    """The file's text; UserFileError naming the first byte that is not UTF-8 (OSError passes)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UserFileError(
            f"not UTF-8 text: byte 0x{data[err.start]:02x} at line {line}; save the file as UTF-8"
        ) from None


def load_yaml(text: str) -> Any:
    """Parse one YAML document strictly (see the module docstring); UserFileError otherwise."""
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError as err:
        fast_error = err
    # Say it as PyYAML's own parser does (it names what it expected and what it found), unless
    # that parser would be slow: it scans deep nesting in quadratic time.
    if "nesting depth" in str(getattr(fast_error, "problem", "")) or len(text) > _REPHRASE_LIMIT:
        raise _yaml_error(fast_error) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise _yaml_error(err) from None
    except RecursionError:  # the pure-Python parser composes recursively
        raise UserFileError(f"nested more than {MAX_DEPTH} levels deep") from None


def _yaml_error(err: yaml.YAMLError) -> UserFileError:
    mark = getattr(err, "problem_mark", None)
    position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(err, "problem", None) or "invalid YAML"
    return UserFileError(f"{problem}{position}")


class _Strict:
    """SafeLoader additions: refuse duplicate keys, alias bombs and absurd nesting."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()  # type: ignore[attr-defined]
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)  # type: ignore[attr-defined]

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue  # merge keys override by design; complex keys are refused by the constructor
            key = self.construct_object(key_node)  # type: ignore[attr-defined]
            line = key_node.start_mark.line + 1
            if key in seen:
                raise UserFileError(
                    f"key {key!r} is defined twice (line {seen[key]} and line {line}); keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _StrictLoader(_Strict, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, strict."""


# libyaml's parser when PyYAML was built with it: 5x faster (the catalog loads on every command);
# the pure-Python one is the fallback and phrases the errors.
class _FastLoader(_Strict, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader, strict."""


def _check_expansion(root: Node) -> None:
    """Refuse a node graph whose expansion (aliases as copies) exceeds MAX_EXPANDED_NODES or loops."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise UserFileError(f"an alias refers to itself (line {node.start_mark.line + 1})")
        if depth > MAX_DEPTH:
            line = node.start_mark.line + 1
            raise UserFileError(f"nested more than {MAX_DEPTH} levels deep at line {line}")
        in_progress.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        in_progress.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise UserFileError(
                f"aliases expand to more than {MAX_EXPANDED_NODES} nodes (line {node.start_mark.line + 1}); "
                "write the settings out or use fewer nested aliases"
            )
        sizes[key] = total
        return total

    size(root, 1)
