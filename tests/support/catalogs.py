"""Catalog documents cut down for a test's world (the shipped services.yaml, fewer services)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


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


def patient_smoke(document: dict[str, Any], latency_budget_ms: int) -> dict[str, Any]:
    """``document`` with every smoke check's ``latency_budget_ms`` set (defaults, services and their
    overrides): for a test that is not about the checks' latency but starves the machine, where one
    answer held by the CPU is over a budget measured in real milliseconds."""
    layers = [document.get("defaults") or {}, *(document.get("services") or {}).values()]
    layers += [
        o
        for service in (document.get("services") or {}).values()
        for o in (service.get("overrides") or {}).values()
    ]
    for layer in layers:
        for check in (layer.get("smoke") or {}).get("checks") or ():
            check["latency_budget_ms"] = latency_budget_ms
    return document


def patient_catalog(folder: Path, latency_budget_ms: int = 10_000) -> Path:
    """The shipped catalog with ``patient_smoke`` budgets, written to ``folder`` beside links to the
    repository's task-definitions/ and alarms/ (relative to the catalog, as in the repository)."""
    import yaml

    document = patient_smoke(yaml.safe_load((REPO / "services.yaml").read_text()), latency_budget_ms)
    for name in ("task-definitions", "alarms"):
        (folder / name).symlink_to(REPO / name)
    path = folder / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
