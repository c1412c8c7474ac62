"""`bluegreen history [SERVICE]`: past deployments newest first, from the ledger or the engines' APIs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrator import documents
from orchestrator.commands.failure import error_context
from orchestrator.commands.records import PastDeployments, Wanted, read
from orchestrator.commands.result import Result
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext
from orchestrator.insight.records import PROBE_STOP, DeploymentRecord, stopped_by_probe

COLUMNS = (
    "id",
    "engine",
    "strategy",
    "status",
    "outcome",
    "duration",
    "rolled back by",
    "image",
    "who",
    "commit",
)


def run(session: Session, wanted: Wanted) -> Result:
    with error_context(ErrorContext(service=wanted.service, environment=session.options.env)):
        past = read(session, wanted)
    return Result(document(past), text(past))


def iso(moment: datetime | None) -> str | None:
    """A time as the documents print it: ISO 8601 in UTC."""
    return moment.isoformat() if moment is not None else None


def rolled_back_by(record: DeploymentRecord) -> str | None:
    """What ended it: the watch's record of its own stop (the ledger's ``stoppedBy``: "alarm X", or
    "green probe") over the engine's word for any stop ("stop")."""
    if record.stopped_by is None:
        return record.rolled_back_by
    return PROBE_STOP if stopped_by_probe(record.stopped_by) is not None else record.stopped_by


def row(record: DeploymentRecord) -> documents.HistoryRow:
    p = record.provenance
    return documents.HistoryRow(
        deployment_id=record.deployment_id,
        engine=record.engine,  # type: ignore[arg-type]  # an EngineName value
        service=record.service,
        environment=record.environment,
        kind=record.kind.value,
        strategy=record.strategy,
        status=record.status,
        outcome=record.outcome.value,
        created=iso(record.created),
        completed=iso(record.completed),
        duration_seconds=record.duration_seconds,
        rolled_back_by=rolled_back_by(record),
        rollback_deployment_id=record.rollback_deployment_id,
        rollback_of=record.rollback_of,
        image=record.image,
        task_definition=record.task_definition,
        deployer=p.deployer,
        commit=p.commit,
        commit_time=iso(p.commit_time),
    )


def document(past: PastDeployments) -> documents.HistoryDocument:
    return documents.HistoryDocument(
        environment=past.environment,
        service=past.service,
        since=past.since.isoformat(),
        source=past.source,  # type: ignore[arg-type]  # ledger | api
        ledger_tables=list(past.ledger_tables),
        deployments=[row(record) for record in past.records],
        api_calls=past.api_calls,
    )


def source_line(past: PastDeployments) -> str:
    """Where the records were read, for people."""
    if past.source == "ledger":
        return f"from the ledger ({', '.join(past.ledger_tables)})"
    return "from the engines' APIs (no ledger)" if not past.ledger_tables else "from the engines' APIs"


def text(past: PastDeployments) -> str:
    """A header, then one aligned line per deployment, newest first."""
    from orchestrator.watching.views import duration

    what = past.service or f"every service of {past.environment}"
    head = (
        f"{len(past.records)} deployments of {what} since {past.since:%Y-%m-%d %H:%M} UTC, "
        f"{source_line(past)}\n"
    )
    if not past.records:
        return head
    table = [COLUMNS] + [
        (
            r.deployment_id if past.service else f"{r.deployment_id} ({r.service})",
            r.engine,
            r.strategy or "-",
            r.status,
            r.outcome.value if r.kind.value == "deploy" else f"{r.outcome.value} ({r.kind.value})",
            duration(r.duration_seconds) if r.duration_seconds is not None else "-",
            r.rolled_back_by or "-",
            _short_image(r.image),
            r.provenance.deployer or "-",
            (r.provenance.commit or "-")[:12],
        )
        for r in past.records
    ]
    return head + aligned(table)


def aligned(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns two spaces apart (the last column unpadded)."""
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip() + "\n"
        for cells in rows
    )


def _short_image(image: str | None) -> str:
    """The repository's last part and the tag (registries make image URIs long)."""
    if not image:
        return "-"
    return image.rsplit("/", 1)[-1]
