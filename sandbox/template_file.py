"""template.yaml as plain data: CloudFormation's short tags (!Ref, !Sub, !GetAtt ...) read as the
plain values under them, so the sandbox can read what the template gives AWS (the hook functions'
retry attempts, the EventBridge rules) without a CloudFormation engine.

libyaml's parser when present: every world reads template.yaml at its start (0.25-0.7 s with the
pure-Python parser on a loaded 2-core machine, ~0.03 s with libyaml's)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml


class _CfnTagLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML with CloudFormation's short tags read as plain values."""


_CfnTagLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def load_template(template: Path) -> dict[str, Any]:
    """The template's document ({} when the file is empty): a copy of one parse per file version,
    since each world read it three times (0.4 CPU-s a world start, measured with py-spy)."""
    stat = template.stat()
    return copy.deepcopy(_parsed(str(template.resolve()), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """The file's document, parsed once per (path, modification time, size)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_CfnTagLoader) or {}
