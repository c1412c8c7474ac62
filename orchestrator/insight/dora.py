"""DORA's four keys over deployment records (pure: stdlib only, shared with the ledger Lambda).

Definitions (per service, and over all services together):
- **Deployment frequency**: successful deploys per day over the window (``until - since``).
- **Lead time for changes**: a successful deploy's ``completed`` minus its commit's time
  (``provenance.commit_time``); the median, as DORA's Four Keys project computes it (its dashboard
  query takes the median of commit-to-deploy times), plus the count it rests on.
- **Change failure rate**: deploys that failed, were stopped or rolled back, or succeeded and were
  later rolled back (a ``bluegreen rollback`` or an automatic rollback naming them), over all
  finished deploys. Rollbacks themselves are not deploys: they count in neither side.
- **Time to restore**: from a failure (the failing deploy's ``completed``) to the next success of
  the same service (a deploy or a ``bluegreen rollback``); the median (Four Keys: median time to
  restore). CodeDeploy's own rollback deployment does not end a failure: Amazon ECS rolls back
  inside the failed deployment and has no such record, and both engines must count alike.

Deploys still running count nowhere. Records outside ``[since, until]`` (by ``created``) are left out.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class DoraFigures:
    """The four keys for one service (or all of them) and the counts they rest on."""

    deploys: int  # finished deploys (rollbacks excluded)
    succeeded: int
    failed: int  # change failures, rollbacks of successes included
    rollbacks: int  # bluegreen rollbacks and automatic rollback deployments seen
    deployments_per_day: float
    lead_time_median_seconds: float | None
    lead_time_samples: int
    change_failure_rate: float | None  # None without a finished deploy
    time_to_restore_median_seconds: float | None
    time_to_restore_samples: int


@dataclass(frozen=True)
class DoraReport:
    """DORA figures over ``[since, until]``: overall and per service (sorted by name)."""

    since: datetime
    until: datetime
    overall: DoraFigures
    services: tuple[tuple[str, DoraFigures], ...]


def is_deploy(record: DeploymentRecord) -> bool:
    """A change shipped (DORA counts these); rollbacks restore and are not deploys."""
    return record.kind is DeploymentKind.DEPLOY


def _instant(record: DeploymentRecord) -> datetime | None:
    """When a deployment's result was known (its start while it has no end)."""
    return record.completed or record.created


def _instant_key(record: DeploymentRecord) -> datetime:
    at = _instant(record)
    assert at is not None  # callers filter
    return at


def _created(record: DeploymentRecord) -> datetime:
    assert record.created is not None  # callers filter
    return record.created


def lead_time_seconds(record: DeploymentRecord) -> float | None:
    """Commit to success for a successful deploy whose commit time is known, else None."""
    commit_time = record.provenance.commit_time
    if not is_deploy(record) or record.outcome is not Outcome.SUCCEEDED:
        return None
    if commit_time is None or record.completed is None:
        return None
    return (record.completed - commit_time).total_seconds()


def rolled_back_ids(records: Iterable[DeploymentRecord]) -> set[str]:
    """Deployments some rollback names as the one it rolled back (``rollback_of``), or, for a
    ``bluegreen rollback`` that names none, the service's newest successful deploy before it."""
    ordered = sorted((r for r in records if r.created is not None), key=_created)
    found: set[str] = set()
    for index, record in enumerate(ordered):
        if record.rollback_of is not None:
            found.add(record.rollback_of)
        elif record.kind is DeploymentKind.ROLLBACK:
            live = _newest_success_before(ordered[:index], record.service)
            if live is not None:
                found.add(live.deployment_id)
    return found


def _newest_success_before(earlier: Sequence[DeploymentRecord], service: str) -> DeploymentRecord | None:
    for record in reversed(earlier):
        if record.service == service and is_deploy(record) and record.outcome is Outcome.SUCCEEDED:
            return record
    return None


def is_change_failure(record: DeploymentRecord, rolled_back: set[str]) -> bool:
    """A deploy that failed, stopped or rolled back, or whose success was rolled back later."""
    if not is_deploy(record):
        return False
    return record.outcome.is_failure or (
        record.outcome is Outcome.SUCCEEDED and record.deployment_id in rolled_back
    )


def _restores(record: DeploymentRecord) -> bool:
    """A success that ends a failure: a deploy or a bluegreen rollback (not CodeDeploy's own)."""
    return record.outcome is Outcome.SUCCEEDED and record.kind is not DeploymentKind.AUTO_ROLLBACK


def time_to_restore_seconds(record: DeploymentRecord, earlier: Sequence[DeploymentRecord]) -> float | None:
    """When ``record`` is the first success of its service after one or more failures (in
    ``earlier``, any service, any order): seconds from the first of those failures to ``record``'s
    completion; else None."""
    end = record.completed
    if not _restores(record) or end is None:
        return None
    mine = [r for r in earlier if r.service == record.service and r.deployment_id != record.deployment_id]
    rolled_back = rolled_back_ids([*mine, record])
    first_failure: datetime | None = None
    for other in sorted((r for r in mine if _instant(r) is not None), key=_instant_key):
        at = _instant_key(other)
        if at >= end:
            break
        if _restores(other):
            first_failure = None  # restored already (a success later rolled back fails from here on)
        if is_change_failure(other, rolled_back):
            first_failure = first_failure or at
    return None if first_failure is None else (end - first_failure).total_seconds()


def figures(records: Sequence[DeploymentRecord], since: datetime, until: datetime) -> DoraFigures:
    """The four keys over ``records`` (one service, or all: time to restore is per service)."""
    window = [r for r in records if r.created is not None and since <= r.created <= until]
    rolled_back = rolled_back_ids(records)
    finished = [r for r in window if is_deploy(r) and r.outcome is not Outcome.IN_PROGRESS]
    failures = [r for r in finished if is_change_failure(r, rolled_back)]
    succeeded = [r for r in finished if r.outcome is Outcome.SUCCEEDED]
    leads = [lead for r in succeeded if (lead := lead_time_seconds(r)) is not None]
    restores = [ttr for r in window if (ttr := time_to_restore_seconds(r, records)) is not None]
    days = max((until - since).total_seconds(), 1.0) / DAY_SECONDS
    return DoraFigures(
        deploys=len(finished),
        succeeded=len(succeeded),
        failed=len(failures),
        rollbacks=sum(1 for r in window if not is_deploy(r)),
        deployments_per_day=len(succeeded) / days,
        lead_time_median_seconds=statistics.median(leads) if leads else None,
        lead_time_samples=len(leads),
        change_failure_rate=len(failures) / len(finished) if finished else None,
        time_to_restore_median_seconds=statistics.median(restores) if restores else None,
        time_to_restore_samples=len(restores),
    )


def compute(records: Sequence[DeploymentRecord], since: datetime, until: datetime) -> DoraReport:
    """DORA figures per service and overall over ``[since, until]``."""
    names = sorted({r.service for r in records})
    per_service = tuple(
        (name, figures([r for r in records if r.service == name], since, until)) for name in names
    )
    return DoraReport(since=since, until=until, overall=figures(records, since, until), services=per_service)
