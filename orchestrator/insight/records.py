"""One past deployment as ``history``, the ledger and ``dora`` see it (pure: stdlib only, shared
with the ledger Lambda).

A ``DeploymentRecord`` is built by an engine's ``history`` (from its API, batched) or read from the
ledger's DynamoDB table (``orchestrator/aws/ledger.py``); both carry the same fields, so ``history``
and ``dora`` never ask where a record came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orchestrator.insight.outcome import Outcome


class DeploymentKind(StrEnum):
    """Why a deployment exists: DORA counts deploys; a rollback restores a failure."""

    DEPLOY = "deploy"  # `bluegreen deploy` (or anything else that started one)
    ROLLBACK = "rollback"  # `bluegreen rollback`: redeploys an earlier revision
    AUTO_ROLLBACK = "auto-rollback"  # CodeDeploy's own rollback deployment (ECS rolls back in place)


@dataclass(frozen=True)
class Provenance:
    """Who started a deployment and from which commit (git, or CI's variables)."""

    deployer: str | None = None  # "alice" / "github-actions[bot]" ...
    commit: str | None = None  # the full or short sha
    commit_time: datetime | None = None  # the commit's own time (DORA's lead time starts there)
    source: str | None = None  # where it was read: git | github-actions | gitlab-ci | environment


@dataclass(frozen=True)
class DeploymentRecord:
    """One deployment, newest-first sortable by ``created``."""

    deployment_id: str
    engine: str  # codedeploy | ecs
    service: str
    environment: str
    status: str  # the engine's own status word
    outcome: Outcome
    kind: DeploymentKind = DeploymentKind.DEPLOY
    strategy: str | None = None
    created: datetime | None = None
    completed: datetime | None = None
    rolled_back_by: str | None = None  # what rolled it back: "alarm X", "AfterAllowTestTraffic hook"
    rollback_deployment_id: str | None = None
    rollback_of: str | None = None  # for a rollback: the deployment it rolled back (when known)
    image: str | None = None
    task_definition: str | None = None
    provenance: Provenance = Provenance()
    # bluegreen's watch stopped it (the CLI's attribute: neither StopDeployment nor
    # StopServiceDeployment carries a reason): ``stopped_by_watch``'s words
    stopped_by: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Created to completed (None while it runs or when either is unknown)."""
        if self.created is None or self.completed is None:
            return None
        return (self.completed - self.created).total_seconds()


# What a watching CLI's stop is recorded as (the ledger's ``stoppedBy``; ``why`` reads it back).
PROBE_STOP = "green probe"


def alarm_words(names: Sequence[str]) -> str:
    """``alarm X`` / ``alarms X, Y``: how a record names the alarms that ended a deployment."""
    return f"alarm {names[0]}" if len(names) == 1 else f"alarms {', '.join(names)}"


def stopped_by_watch(alarms: Sequence[str], probe: str | None) -> str:
    """``green probe: <its sign>`` or ``alarm_words`` (rolled_back_by's words)."""
    return f"{PROBE_STOP}: {probe}" if probe is not None else alarm_words(alarms)


def stopped_by_probe(stopped_by: str | None) -> str | None:
    """The probe's sign in a ``stopped_by_watch`` text (None: not the probe's stop)."""
    prefix = f"{PROBE_STOP}: "
    return stopped_by[len(prefix) :] if stopped_by and stopped_by.startswith(prefix) else None


def stopped_by_alarms(stopped_by: str | None) -> list[str]:
    """The alarms in a ``stopped_by_watch`` text ([]: none, or the probe's stop)."""
    for prefix in ("alarms ", "alarm "):
        if stopped_by and stopped_by.startswith(prefix):
            return [name.strip() for name in stopped_by[len(prefix) :].split(",") if name.strip()]
    return []
