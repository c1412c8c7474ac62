"""Catalog documents cut down for a test's world (the shipped services.yaml, fewer services)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def only_services(document: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``document`` with only ``names`` under ``services``, and their ``depends_on`` (any layer)
    cut to those names: the catalog refuses a dependency on a service it does not have."""
    kept = list(names)
    document["services"] = {name: document["services"][name] for name in kept}
    layers = [document["services"][name] for name in kept]
    layers += [o for name in kept for o in (document["services"][name].get("overrides") or {}).values()]
    for layer in layers:
        if "depends_on" in layer:
            layer["depends_on"] = [d for d in layer["depends_on"] if d in kept]
    return document
