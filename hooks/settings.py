"""How a hook learns its service's settings: the catalog bundled in the Lambda package.

``services.yaml`` ships next to ``hooks/`` (``BLUEGREEN_CATALOG`` may point elsewhere). It is loaded
with the orchestrator's own pydantic models on the first invocation, never at import, and kept for
the container's life; it is reloaded when the file or a ``BLUEGREEN_*`` variable changes (the
catalog's ``${VAR:-default}`` placeholders read the environment, and the sandbox sets them).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import CatalogError, UnknownServiceError

if TYPE_CHECKING:  # pydantic models: imported on the first invocation, not at import
    from orchestrator.catalog import Catalog, ResolvedService

# orchestrator.catalog.CATALOG_ENV_VAR, repeated so this module does not import the catalog at import.
CATALOG_ENV_VAR = "BLUEGREEN_CATALOG"

_lock = threading.Lock()
_cache: dict[tuple[object, ...], Catalog] = {}


def bundled_catalog_path() -> Path:
    """services.yaml at the root of the Lambda package (the repository root in a checkout)."""
    return Path(__file__).resolve().parent.parent / "services.yaml"


def catalog_location() -> Path:
    return Path(os.environ.get(CATALOG_ENV_VAR) or bundled_catalog_path())


def _cache_key(path: Path) -> tuple[object, ...]:
    try:
        stat = path.stat()
        file_key: tuple[object, ...] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        file_key = ("missing",)
    env_key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("BLUEGREEN_")))
    return (str(path), *file_key, env_key)


def catalog() -> Catalog:
    """The catalog, loaded once per container (and again only if its inputs changed)."""
    path = catalog_location()
    key = _cache_key(path)
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            from orchestrator.catalog import load_catalog

            cached = load_catalog(path)  # CatalogError on anything malformed
            _cache.clear()
            _cache[key] = cached
        return cached


def service_for(application: str, deployment_group: str) -> ResolvedService:
    """The catalog service deployed by this CodeDeploy application and deployment group."""
    loaded = catalog()
    service = loaded.find_by_deployment_group(application, deployment_group)
    if service is None:
        raise UnknownServiceError(
            f"{loaded.path.name}: no service has application {application!r} and deployment group "
            f"{deployment_group!r}; add it to the catalog or fix the deployment group's name"
        )
    return service


def forget_catalog() -> None:
    """Drop the cached catalog (tests)."""
    with _lock:
        _cache.clear()


__all__ = ["CatalogError", "UnknownServiceError", "bundled_catalog_path", "catalog", "service_for"]
