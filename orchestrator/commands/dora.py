"""`bluegreen dora`: DORA's four keys per service and overall over a window (insight/dora.py)."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.commands.failure import error_context
from orchestrator.commands.history import aligned, source_line
from orchestrator.commands.records import PastDeployments, Wanted, read
from orchestrator.commands.result import Result
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext
from orchestrator.insight.dora import DoraFigures, DoraReport, compute

COLUMNS = (
    "service",
    "deploys",
    "per day",
    "lead time (median)",
    "change failure rate",
    "time to restore (median)",
)


def run(session: Session, wanted: Wanted) -> Result:
    with error_context(ErrorContext(service=wanted.service, environment=session.options.env)):
        past = read(session, wanted)
    report = compute(past.records, past.since, past.until)
    return Result(document(past, report), text(past, report))


def figures(f: DoraFigures) -> dict[str, object]:
    return {
        "deploys": f.deploys,
        "succeeded": f.succeeded,
        "failed": f.failed,
        "rollbacks": f.rollbacks,
        "deployments_per_day": f.deployments_per_day,
        "lead_time_median_seconds": f.lead_time_median_seconds,
        "lead_time_samples": f.lead_time_samples,
        "change_failure_rate": f.change_failure_rate,
        "time_to_restore_median_seconds": f.time_to_restore_median_seconds,
        "time_to_restore_samples": f.time_to_restore_samples,
    }


def document(past: PastDeployments, report: DoraReport) -> documents.DoraDocument:
    return documents.DoraDocument(
        environment=past.environment,
        service=past.service,
        since=report.since.isoformat(),
        until=report.until.isoformat(),
        source=past.source,  # type: ignore[arg-type]  # ledger | api
        ledger_tables=list(past.ledger_tables),
        overall=documents.DoraFigures(**figures(report.overall)),  # type: ignore[arg-type]
        services=[
            documents.DoraServiceFigures(service=name, **figures(f))  # type: ignore[arg-type]
            for name, f in report.services
        ],
        api_calls=past.api_calls,
    )


def text(past: PastDeployments, report: DoraReport) -> str:
    days = (report.until - report.since).total_seconds() / 86_400
    head = (
        f"DORA metrics of {past.service or past.environment} over {days:.1f} days since "
        f"{report.since:%Y-%m-%d %H:%M} UTC, {source_line(past)}\n"
    )
    rows = [COLUMNS, *(_cells(name, f) for name, f in report.services)]
    if past.service is None:
        rows.append(_cells("overall", report.overall))
    return head + aligned(rows)


def _cells(name: str, f: DoraFigures) -> tuple[str, ...]:
    from orchestrator.watching.views import duration

    rate = (
        f"{f.change_failure_rate:.0%} ({f.failed}/{f.deploys})" if f.change_failure_rate is not None else "-"
    )
    lead = f"{duration(f.lead_time_median_seconds)} (n={f.lead_time_samples})" if f.lead_time_samples else "-"
    restore = (
        f"{duration(f.time_to_restore_median_seconds)} (n={f.time_to_restore_samples})"
        if f.time_to_restore_samples
        else "-"
    )
    return (name, str(f.deploys), f"{f.deployments_per_day:.2f}", lead, rate, restore)
