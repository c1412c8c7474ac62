"""How a hook learns its service's settings: the catalog bundled in the Lambda package.

``services.yaml`` ships next to ``hooks/`` (``BLUEGREEN_CATALOG`` may point elsewhere). Nothing is
read at import. On the first invocation ``service_for`` finds the service in the build's snapshot
(``hooks.catalog_snapshot``: plain JSON, no pydantic) when that snapshot is fresh, and otherwise
loads the catalog with the orchestrator's own pydantic models; either way it answers with a
``hooks.service_view.ServiceView``; ``service_for_ecs`` finds it by the ECS cluster and service an
Amazon ECS hook event names. What was read is kept for the container's life and read again
only when the file or a ``BLUEGREEN_*`` variable (or one the catalog's ``${VAR:-default}``
placeholders read: the sandbox sets them) changes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from hooks.catalog_snapshot import bundled_catalog_path, fresh_records
from hooks.service_view import ServiceView, record_of
from orchestrator.errors import CatalogError, UnknownServiceError

if TYPE_CHECKING:  # pydantic models: imported only when services.yaml itself is loaded
    from orchestrator.catalog import Catalog

# orchestrator.catalog.CATALOG_ENV_VAR, repeated so this module does not import the catalog at import.
CATALOG_ENV_VAR = "BLUEGREEN_CATALOG"

_lock = threading.Lock()
_cache: dict[tuple[object, ...], Catalog] = {}
_services: dict[tuple[object, ...], ServiceIndex] = {}


# The environment a deployed hook belongs to (template.yaml sets it): it picks the environment when
# several have a service of the same ECS cluster and name.
ENVIRONMENT_ENV_VAR = "BLUEGREEN_ENVIRONMENT"


class ServiceIndex(NamedTuple):
    """The catalog's services by (CodeDeploy application, deployment group) and by (ECS cluster,
    service) in catalog order, and where they came from."""

    catalog_name: str
    by_group: dict[tuple[str, str], ServiceView]
    from_snapshot: bool
    by_ecs_service: dict[tuple[str, str], list[ServiceView]]


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
    """The catalog, loaded with its pydantic models once per container (again only if its inputs changed)."""
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


def services() -> ServiceIndex:
    """Every service a hook may run for: from the fresh snapshot, else from services.yaml."""
    path = catalog_location()
    key = _cache_key(path)
    with _lock:
        index = _services.get(key)
    if index is None:
        index = _index(path)
        with _lock:
            _services.clear()
            _services[key] = index
    return index


def _index(path: Path) -> ServiceIndex:
    views = _snapshot_views(path)
    from_snapshot = views is not None
    if views is None:
        loaded = catalog()
        resolved = [service for env in loaded.environments for service in loaded.resolve_all(env)]
        views = [ServiceView.from_record(record_of(service)) for service in resolved]
    # The first (service, environment) of a pair wins, as Catalog.find_by_deployment_group's does.
    by_group: dict[tuple[str, str], ServiceView] = {}
    by_ecs_service: dict[tuple[str, str], list[ServiceView]] = {}
    for view in views:
        by_group.setdefault((view.application, view.deployment_group), view)
        by_ecs_service.setdefault((view.cluster, view.ecs_service), []).append(view)
    return ServiceIndex(path.resolve().name, by_group, from_snapshot, by_ecs_service)


def _snapshot_views(path: Path) -> list[ServiceView] | None:
    records = fresh_records(path)
    if records is None:
        return None
    try:
        return [ServiceView.from_record(record) for record in records]
    except (KeyError, TypeError, AttributeError):  # records this code did not write: load the catalog
        return None


def service_for(application: str, deployment_group: str) -> ServiceView:
    """The catalog service deployed by this CodeDeploy application and deployment group."""
    index = services()
    service = index.by_group.get((application, deployment_group))
    if service is None:
        raise UnknownServiceError(
            f"{index.catalog_name}: no service has application {application!r} and deployment group "
            f"{deployment_group!r}; add it to the catalog or fix the deployment group's name"
        )
    return service


def service_for_ecs(cluster: str | None, service_name: str, account_id: str | None = None) -> ServiceView:
    """The catalog service an Amazon ECS hook runs for: its cluster and service name (an old-format
    service ARN names no cluster: the name must then be unique). Environments may share a cluster
    (this catalog's dev and prod do), so the one named by ``$BLUEGREEN_ENVIRONMENT`` (template.yaml
    sets it) wins, then the one whose account is the service ARN's, then the first in catalog order."""
    index = services()
    found = [
        view
        for (view_cluster, name), views in index.by_ecs_service.items()
        if name == service_name and cluster in (None, view_cluster)
        for view in views
    ]
    if cluster is None and len({view.cluster for view in found}) > 1:
        raise UnknownServiceError(
            f"{index.catalog_name}: service {service_name!r} is in several clusters; the event's service "
            "ARN names none (an old-format ARN): switch the account to the long ARN format"
        )
    if not found:
        where = f"cluster {cluster!r} and " if cluster else ""
        raise UnknownServiceError(
            f"{index.catalog_name}: no service has {where}ECS service {service_name!r}; add it to the "
            "catalog or fix its cluster/ecs_service"
        )
    return _preferred(found, os.environ.get(ENVIRONMENT_ENV_VAR, ""), account_id)


def _preferred(found: list[ServiceView], environment: str, account_id: str | None) -> ServiceView:
    for view in found:
        if view.environment == environment:
            return view
    for view in found:
        if account_id and view.account_id == account_id:
            return view
    return found[0]


def forget_catalog() -> None:
    """Drop the cached catalog and services (tests)."""
    with _lock:
        _cache.clear()
        _services.clear()


__all__ = [
    "CatalogError",
    "UnknownServiceError",
    "bundled_catalog_path",
    "catalog",
    "service_for",
    "service_for_ecs",
]
