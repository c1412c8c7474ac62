"""The catalog resolved at build time, so a cold hook need not load pydantic to find its service.

Validating ``services.yaml`` with the catalog's pydantic models costs a cold start about as much as
importing boto3 (building the models' schemas, then every service in every environment). The catalog
shipped in the Lambda package never changes, so ``scripts/build_lambda.py`` resolves it once and
writes ``hooks/catalog_snapshot.json``: every (service, environment)'s ``hooks.service_view`` record,
and what the resolution depended on. A hook uses the snapshot (stdlib ``json``) only when it is
*fresh*: the catalog the hook would load is the file beside the package's ``hooks/`` with the same
bytes (sha256), every file the catalog names still exists (the catalog checks that on load), and
every ``${VAR}`` the catalog names has the value it had at build time (unset, as the Lambda's
environment in template.yaml leaves them). Anything else, a snapshot missing, unreadable, of
another format or stale, means ``services.yaml`` is loaded as before: the sandbox's Lambda runner
and the tests point ``BLUEGREEN_CATALOG`` at other catalogs, and get exactly what they got before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hooks.service_view import Record, record_of

SNAPSHOT_NAME = "catalog_snapshot.json"
FORMAT = 1
# orchestrator.catalog's placeholder syntax (``${VAR}`` / ``${VAR:-default}``): the variables a
# catalog can read from the environment while it is resolved.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


# The Lambda package's root (the repository root in a checkout): hooks/ and services.yaml are in it.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def snapshot_path(root: Path = PACKAGE_ROOT) -> Path:
    """Where the build writes the snapshot: in the package's ``hooks/``."""
    return root / "hooks" / SNAPSHOT_NAME


def bundled_catalog_path(root: Path = PACKAGE_ROOT) -> Path:
    """services.yaml at the root of the Lambda package (the repository root in a checkout)."""
    return root / "services.yaml"


def placeholder_variables(catalog_text: str) -> list[str]:
    """Every environment variable a ``${VAR}`` placeholder in the catalog may read, sorted."""
    return sorted(set(_PLACEHOLDER.findall(catalog_text)))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fresh_records(
    catalog: Path, environ: Mapping[str, str] | None = None, root: Path = PACKAGE_ROOT
) -> list[Record] | None:
    """The snapshot's records when it describes exactly what loading ``catalog`` would give; else None."""
    environ = os.environ if environ is None else environ
    try:
        snapshot = json.loads(snapshot_path(root).read_bytes())
        data = catalog.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        return None
    try:
        fresh = (
            catalog.resolve() == bundled_catalog_path(root).resolve()
            and snapshot["sha256"] == _sha256(data)
            and all(environ.get(name) == value for name, value in snapshot["environment"].items())
            and all((root / name).is_file() for name in snapshot["files"])
        )
        records: list[Record] = snapshot["services"]
    except (KeyError, TypeError, AttributeError):  # not a snapshot this code wrote
        return None
    return records if fresh else None


@contextlib.contextmanager
def _without(names: list[str]) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def build_snapshot(catalog: Path) -> dict[str, Any]:
    """Resolve ``catalog`` as the Lambda will (none of its ``${VAR}`` variables set) into a snapshot.

    Raises CatalogError when the catalog does not load that way (the hooks would fail on it too), and
    ValueError when a record does not survive JSON unchanged (e.g. a YAML date in a smoke check's
    ``equals``): then no snapshot is shipped and the hooks load the catalog as before."""
    from orchestrator.catalog import load_catalog

    data = catalog.read_bytes()
    variables = placeholder_variables(data.decode("utf-8"))
    with _without(variables):
        loaded = load_catalog(catalog)
    resolved = [loaded.resolve(name, env) for env in loaded.environments for name in loaded.services]
    records = [record_of(service) for service in resolved]
    try:
        carried = json.loads(json.dumps(records, allow_nan=False))
    except (TypeError, ValueError):  # a value JSON cannot hold (a YAML date, NaN)
        carried = None
    if carried != records:
        raise ValueError("a service's hook settings do not survive JSON unchanged")
    root = loaded.root.resolve()
    named = {s.task_definition_path for s in resolved if s.task_definition_path is not None}
    files = sorted(str(path.relative_to(root)) for path in named)
    return {
        "format": FORMAT,
        "sha256": _sha256(data),
        "environment": {name: None for name in variables},
        "files": files,
        "services": records,
    }
