"""What the ledger Lambda reads in an EventBridge event and what it says about a deployment (pure:
stdlib only).

Two events (AWS, "Monitoring CodeDeploy deployments with Amazon EventBridge" and "Amazon ECS service
deployment state change events"):
- CodeDeploy Deployment State-change Notification (source aws.codedeploy): ``detail`` names the
  deployment (``deploymentId``), its ``application`` and ``deploymentGroup`` and the new ``state``;
- ECS Deployment State Change (source aws.ecs): ``resources`` holds the service's ARN; ``detail``'s
  ``deploymentId`` is the ECS deployment (``ecs-svc/...``, DescribeServices' deployments[].id), not
  the service deployment's ARN that ListServiceDeployments/DescribeServiceDeployments answer with,
  so the Lambda reads the service's recent service deployments instead (``recent_deployments``).
Neither event's state is trusted: events come at least once and in no set order, so the Lambda reads
the deployment from the engine's API (the truth when it runs) and lets the ledger's conditional write
keep the row moving forward only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from orchestrator.insight.dora import (
    is_deploy,
    lead_time_seconds,
    rolled_back_ids,
    time_to_restore_seconds,
)
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentRecord
from orchestrator.vocabulary import (
    CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
    CODEDEPLOY_EVENT_SOURCE,
    ECS_DEPLOYMENT_STATE_CHANGE,
    ECS_EVENT_SOURCE,
    EngineName,
    ServiceDeploymentStatus,
)

# A service ARN: arn:aws:ecs:<region>:<account>:service/<cluster>/<service> (the long format), or
# .../service/<service> (the old one, no cluster).
_SERVICE_ARN = re.compile(
    r"^arn:[^:]+:ecs:[^:]*:(?P<account>[0-9]*):service/(?:(?P<cluster>[^/]+)/)?(?P<name>[^/]+)$"
)
# DescribeServiceDeployments takes 20 ARNs a call (botocore's ECS model): one call per event.
DESCRIBE_LIMIT = 20
# Which of a service's deployments an ECS event may be about: created at most this long before it
# (a native deployment's bake lasts up to 24 h, its hooks and shifts some more)...
CREATED_WITHIN = timedelta(days=2)
# ...and not finished before it by more than this (the event of its last change came then).
FINISHED_WITHIN = timedelta(hours=1)


class StateChange(NamedTuple):
    """The deployment an event is about, as far as the event says."""

    engine: str  # EngineName value
    deployment_id: str  # CodeDeploy's d-XXXX; ECS: the ecs-svc/... id (not the row's key)
    time: datetime | None  # the event's ``time``
    state: str  # CodeDeploy's ``state`` / ECS's ``eventName`` (logged, never trusted)
    application: str = ""  # CodeDeploy
    deployment_group: str = ""
    cluster: str | None = None  # ECS (None: an old-format service ARN)
    ecs_service: str = ""
    account: str | None = None


def parse(event: Any) -> StateChange | None:
    """The state change an event announces; None for anything else (another source, a malformed one)."""
    if not isinstance(event, Mapping):
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    kind = (event.get("source"), event.get("detail-type"))
    time = _time(event.get("time"))
    if kind == (CODEDEPLOY_EVENT_SOURCE, CODEDEPLOY_DEPLOYMENT_STATE_CHANGE):
        return _codedeploy(detail, time)
    if kind == (ECS_EVENT_SOURCE, ECS_DEPLOYMENT_STATE_CHANGE):
        return _ecs(event.get("resources"), detail, time)
    return None


def _codedeploy(detail: Mapping[str, Any], time: datetime | None) -> StateChange | None:
    values = [detail.get(key) for key in ("deploymentId", "application", "deploymentGroup")]
    if not all(isinstance(value, str) and value for value in values):
        return None
    deployment_id, application, group = (str(value) for value in values)
    state = str(detail.get("state") or "")
    return StateChange(EngineName.CODEDEPLOY.value, deployment_id, time, state, application, group)


def _ecs(resources: Any, detail: Mapping[str, Any], time: datetime | None) -> StateChange | None:
    arns = [r for r in resources if isinstance(r, str)] if isinstance(resources, list) else []
    found = next((m for m in map(_SERVICE_ARN.match, arns) if m), None)
    if found is None:
        return None
    return StateChange(
        EngineName.ECS.value,
        str(detail.get("deploymentId") or ""),
        time,
        str(detail.get("eventName") or ""),
        cluster=found.group("cluster"),
        ecs_service=found.group("name"),
        account=found.group("account") or None,
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def recent_deployments(briefs: Sequence[Mapping[str, Any]], at: datetime) -> list[str]:
    """The service deployment ARNs an ECS event at ``at`` may be about, newest first, at most 20:
    those still running, and those that finished at most FINISHED_WITHIN before it (ListServiceDeployments'
    briefs; times as botocore parses them)."""
    chosen = [
        brief
        for brief in briefs
        if not _terminal(brief.get("status"))
        or not isinstance(brief.get("finishedAt"), datetime)
        or brief["finishedAt"] >= at - FINISHED_WITHIN
    ]
    chosen.sort(key=lambda brief: _sortable(brief.get("createdAt")), reverse=True)
    return [str(brief["serviceDeploymentArn"]) for brief in chosen[:DESCRIBE_LIMIT]]


def _terminal(status: Any) -> bool:
    try:
        return ServiceDeploymentStatus(status).is_terminal
    except ValueError:
        return False


def _sortable(moment: Any) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else 0.0


def duration_text(seconds: float) -> str:
    """6m12s, 42s, 1h02m: how long a deployment took, as a person says it."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def outcome_line(record: DeploymentRecord, by: str | None) -> str:
    """The one line the notification topic gets: ``product-service dev: rolled back d-XXX (alarm
    product-service-5xx-errors) after 6m12s; canary10; by alice@abc123``."""
    line = f"{record.service} {record.environment}: {record.outcome.value} {record.deployment_id}"
    if record.rolled_back_by:
        line += f" ({record.rolled_back_by})"
    if record.duration_seconds is not None:
        line += f" after {duration_text(record.duration_seconds)}"
    return "; ".join(part for part in (line, record.strategy, by) if part)


def dora_metrics(record: DeploymentRecord, earlier: Sequence[DeploymentRecord]) -> dict[str, float]:
    """What one deployment that just ended adds to the DORA figures, counted as ``insight.dora``
    counts (``earlier``: the service's other rows): a deploy is one of Deployments and, failed,
    stopped or rolled back, one of ChangeFailures; a ``bluegreen rollback`` makes the success it
    rolled back a change failure now (not a deploy itself); LeadTimeSeconds for a successful deploy
    whose commit time is known; TimeToRestoreSeconds for the success that ends a failure. A sum of
    ChangeFailures over a sum of Deployments is then ``bluegreen dora``'s change failure rate."""
    figures: dict[str, float] = {}
    newly = rolled_back_ids([*earlier, record]) - rolled_back_ids(earlier)
    undone = [
        r for r in earlier if r.deployment_id in newly and is_deploy(r) and r.outcome is Outcome.SUCCEEDED
    ]
    failures = int(is_deploy(record) and record.outcome.is_failure) + len(undone)
    if is_deploy(record):
        figures["Deployments"] = 1
    if is_deploy(record) or failures:
        figures["ChangeFailures"] = failures
    lead = lead_time_seconds(record)
    if lead is not None:
        figures["LeadTimeSeconds"] = lead
    restore = time_to_restore_seconds(record, earlier)
    if restore is not None:
        figures["TimeToRestoreSeconds"] = restore
    return figures
