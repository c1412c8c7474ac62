"""Past deployments for `history` and `dora`: from the ledger when the environment has one, else
from each service's engine (CodeDeploy's or ECS's own API, batched by the engine's ``history``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError
from orchestrator.insight.records import DeploymentRecord
from orchestrator.insight.since import parse_since

SOURCES = ("auto", "ledger", "api")


@dataclass(frozen=True)
class Wanted:
    """What to read: one service or all of the environment's, from when, from where."""

    service: str | None
    since: str
    source: str = "auto"  # auto: the ledger when the services name one, else the engines' APIs


@dataclass(frozen=True)
class PastDeployments:
    """Records newest first, and where they came from."""

    environment: str
    service: str | None
    since: datetime
    until: datetime
    source: str  # ledger | api
    ledger_tables: tuple[str, ...]
    records: tuple[DeploymentRecord, ...]
    api_calls: int


def validate_source(source: str) -> str:
    """``--source``'s value, or BadInputError naming the valid ones."""
    chosen = source.strip().lower()
    if chosen not in SOURCES:
        raise BadInputError(f"--source {source!r}: valid values are {', '.join(SOURCES)}")
    return chosen


def read(session: Session, wanted: Wanted, now: Callable[[], datetime] | None = None) -> PastDeployments:
    """Validate everything that needs no AWS, then read the records (BadInputError, exit 2, for a
    bad --since, an unknown service or environment, a ledger asked for where there is none)."""
    until = (now or (lambda: datetime.now(UTC)))()
    source = validate_source(wanted.source)
    since = parse_since(wanted.since, until)
    services = _services(session, wanted.service)
    environment = services[0].environment
    tables = tuple(dict.fromkeys(s.settings.ledger_table for s in services if s.settings.ledger_table))
    source = _choose(source, services, tables, environment)
    region = services[0].region
    clients = session.clients(region)
    if source == "ledger":
        records = _from_ledger(clients, tables, environment, since, wanted.service, services)
    else:
        records = _from_engines(clients, services, since)
    ordered = tuple(sorted(records, key=_newest_first))
    return PastDeployments(
        environment=environment,
        service=wanted.service,
        since=since,
        until=_window_end(until, ordered),
        source=source,
        ledger_tables=tables if source == "ledger" else (),
        records=ordered,
        api_calls=clients.counter.total,
    )


def _services(session: Session, name: str | None) -> list[Any]:
    if name is not None:
        return [session.resolve(name)]
    services = list(session.catalog.resolve_all(session.options.env))
    if not services:
        raise BadInputError("the catalog has no services in this environment")
    return services


def _choose(source: str, services: Sequence[Any], tables: tuple[str, ...], environment: str) -> str:
    """auto: the ledger when every service names a table (a partial ledger would hide deployments)."""
    every = all(s.settings.ledger_table for s in services)
    if source == "ledger" and not every:
        missing = next(s.name for s in services if not s.settings.ledger_table)
        raise BadInputError(
            f"--source ledger: {missing} ({environment}) has no ledger_table in the catalog; "
            "set ledger_table or use --source api"
        )
    if source == "auto":
        return "ledger" if every and tables else "api"
    return source


def _from_ledger(
    clients: Any,
    tables: tuple[str, ...],
    environment: str,
    since: datetime,
    service: str | None,
    services: Sequence[Any],
) -> list[DeploymentRecord]:
    """Every table's rows of the environment (DynamoDB query on its byEnvironment index)."""
    from orchestrator.aws.ledger import DynamoLedger

    names = {s.name for s in services}
    found: list[DeploymentRecord] = []
    for table in tables:
        ledger = DynamoLedger(clients.client("dynamodb"), table)
        found.extend(r for r in ledger.query(environment, since, service) if r.service in names)
    return found


def _from_engines(clients: Any, services: Sequence[Any], since: datetime) -> list[DeploymentRecord]:
    """Each service's deployments from its own engine (ListDeployments / ListServiceDeployments)."""
    from orchestrator.engines import engine_for

    found: list[DeploymentRecord] = []
    for service in services:
        found.extend(engine_for(service, clients).history(service, since))
    return found


def _window_end(now: datetime, records: Sequence[DeploymentRecord]) -> datetime:
    """Now, or the newest time a record carries when that is later: a service clock ahead of ours
    (skew; the sandbox's virtual clock runs ahead by design) must not push deployments out."""
    times = [t for r in records for t in (r.created, r.completed) if t is not None]
    return max([now, *times])


def _newest_first(record: DeploymentRecord) -> tuple[float, str]:
    created = record.created.timestamp() if record.created is not None else float("inf")
    return (-created, record.deployment_id)
