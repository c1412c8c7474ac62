"""The shipped catalog (services.yaml) as the fleet's sandbox tests stage it: some or all of its
services, their depends_on as shipped (cut to the services kept) or as a test sets them, and a
short bake. Everything else (engines, images, task definitions, alarms, hooks, smoke checks) is the
shipped one's, so what a fleet run does per service is what it does on the shipped catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
# The dev environment bakes 30 virtual seconds after the last shift; a fleet test reads outcomes,
# waves and deployment counts, never the bake (tests/sandbox/test_world_* prove it).
BAKE_SECONDS = 5


def fleet_catalog(
    directory: Path,
    services: Sequence[str] | None = None,
    *,
    depends_on: Mapping[str, Sequence[str]] | None = None,
    bake_seconds: int = BAKE_SECONDS,
    one_task: bool = False,
) -> Path:
    """Write the catalog into ``directory`` and return its services.yaml.

    ``services``: the ones kept (None: all 16). ``depends_on``: each kept service's, replacing the
    shipped ones (None: the shipped ones among the kept services). ``one_task``: every service runs
    one task in dev (the environment's default) instead of its own count: fewer targets for the
    load balancer to health-check on each virtual second, the same lifecycle per deployment."""
    document: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    kept = list(services) if services is not None else list(document["services"])
    chosen = {name: dict(document["services"][name]) for name in kept}
    for name, settings in chosen.items():
        if depends_on is not None:
            settings["depends_on"] = list(depends_on.get(name, []))
            settings.pop("wave", None)
        else:
            settings["depends_on"] = [d for d in settings.get("depends_on") or [] if d in chosen]
        if one_task:
            settings.pop("tasks", None)
            overrides = {env: dict(layer) for env, layer in (settings.get("overrides") or {}).items()}
            if "dev" in overrides:
                overrides["dev"].pop("tasks", None)
                settings["overrides"] = {env: layer for env, layer in overrides.items() if layer}
    document["services"] = chosen
    document["environments"]["dev"]["defaults"]["deployment"]["bake_seconds"] = bake_seconds
    (directory / "task-definitions").symlink_to(REPO / "task-definitions")
    (directory / "alarms").mkdir()
    for source in (REPO / "alarms").glob("*.yaml"):  # overrides may only name services the catalog has
        alarms = yaml.safe_load(source.read_text(encoding="utf-8"))
        if isinstance(alarms, dict) and isinstance(alarms.get("services"), dict):
            alarms["services"] = {k: v for k, v in alarms["services"].items() if k in chosen}
        (directory / "alarms" / source.name).write_text(
            yaml.safe_dump(alarms, sort_keys=False), encoding="utf-8"
        )
    path = directory / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
