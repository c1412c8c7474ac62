"""Turns GetDeployment / GetDeploymentTarget polls into snapshots and a stream of events (pure).

A ``Snapshot`` is what one poll saw: the deployment status, its lifecycle steps (CodeDeploy's
lifecycle events of the ECS target, or Amazon ECS's native lifecycle stages: the names say which,
``Snapshot.lifecycle_model``) and the traffic weights of the original (blue) and replacement (green)
task sets or service revisions. ``diff`` compares two
snapshots and returns the events in between; ``poll_interval`` decides how long to wait before
the next poll. The loop that calls AWS is ``orchestrator.watching.loop``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestrator.vocabulary import (
    DeploymentStatus,
    LifecycleStatus,
    TargetLabel,
)
from orchestrator.watching.lifecycles import Lifecycle, lifecycle_of
from orchestrator.watching.timing import UNTIL_PHASES, until_reached

# Milestones `--until` accepts.
UNTIL_MILESTONES = UNTIL_PHASES


class EventKind(StrEnum):
    """What changed between two polls."""

    STATUS = "status"
    LIFECYCLE = "lifecycle"
    TRAFFIC = "traffic"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Snapshot:
    """One poll of a deployment: status, lifecycle events, traffic weights, rollback id."""

    status: DeploymentStatus
    lifecycle: tuple[tuple[str, LifecycleStatus], ...] = ()
    original_weight: float | None = None
    replacement_weight: float | None = None
    rollback_deployment_id: str | None = None
    error: str | None = None

    def lifecycle_status(self, name: str) -> LifecycleStatus:
        for event_name, status in self.lifecycle:
            if event_name == name:
                return status
        return LifecycleStatus.PENDING

    @property
    def current_lifecycle_event(self) -> str | None:
        """The lifecycle event running now, else the last one finished (None before the first)."""
        last: str | None = None
        for name, status in self.lifecycle:
            if status is LifecycleStatus.IN_PROGRESS or status is LifecycleStatus.FAILED:
                return name
            if status.is_done:
                last = name
        return last

    def lifecycle_events(self) -> list[dict[str, str]]:
        """The lifecycle events in GetDeploymentTarget's shape (for orchestrator.watching.timing)."""
        return [{"lifecycleEventName": name, "status": status.value} for name, status in self.lifecycle]

    @property
    def users_on_replacement(self) -> bool:
        """Production users reach the replacement, or are about to: it has production weight, or
        the step that shifts production traffic is running (its first poll may show weight 0)."""
        if (self.replacement_weight or 0.0) > 0.0:
            return True
        return self.lifecycle_status(self.lifecycle_model.production_shift) is LifecycleStatus.IN_PROGRESS

    @property
    def shift_is_next(self) -> bool:
        """The replacement serves test traffic and production's shift has not begun yet (its
        test-traffic hook runs, or the hook before the shift): the shift may come at any moment."""
        lifecycle = self.lifecycle_model
        tested = self.lifecycle_status(lifecycle.test_traffic_done)
        started = tested is LifecycleStatus.IN_PROGRESS or tested is LifecycleStatus.SUCCEEDED
        return started and self.lifecycle_status(lifecycle.production_shift) is LifecycleStatus.PENDING

    @property
    def rolled_back(self) -> bool:
        return self.rollback_deployment_id is not None

    @property
    def lifecycle_model(self) -> Lifecycle:
        """Whose lifecycle these steps are (CodeDeploy's events or ECS's stages), by their names."""
        return lifecycle_of(name for name, _ in self.lifecycle)


@dataclass(frozen=True)
class Event:
    """A change seen between two polls; ``at`` is seconds since the watch started."""

    at: float
    kind: EventKind
    subject: str
    before: str | None
    after: str
    # A rollback inside the same deployment (Amazon ECS's native ones): ``after`` is its own id.
    in_place: bool = False

    def message(self) -> str:
        if self.kind is EventKind.TRAFFIC:
            return f"traffic {self.after}"
        if self.kind is EventKind.ROLLBACK:
            return ROLLING_BACK_IN_PLACE if self.in_place else f"rolled back by deployment {self.after}"
        if self.kind is EventKind.STATUS:
            return f"deployment {self.after}"
        return f"{self.subject} {self.after}"

    def to_json(self) -> dict[str, Any]:
        """The event as the watch report prints it (keys: orchestrator.documents.WatchEvent)."""
        from orchestrator import documents

        return dict(documents.to_json(documents.watch_event(self)))


# What a rollback inside the deployment itself says (no other deployment to name).
ROLLING_BACK_IN_PLACE = "rolling back to the previous revision (within this deployment)"


def _status(value: Any) -> DeploymentStatus:
    try:
        return DeploymentStatus(str(value))
    except ValueError:
        return DeploymentStatus.CREATED


def _lifecycle_status(value: Any) -> LifecycleStatus:
    try:
        return LifecycleStatus(str(value))
    except ValueError:
        return LifecycleStatus.UNKNOWN


def snapshot_from(deployment: Mapping[str, Any], target: Mapping[str, Any] | None = None) -> Snapshot:
    """Build a snapshot from GetDeployment's deploymentInfo and GetDeploymentTarget's target."""
    ecs = (target or {}).get("ecsTarget") or {}
    events = {
        str(item.get("lifecycleEventName")): _lifecycle_status(item.get("status"))
        for item in ecs.get("lifecycleEvents", []) or []
    }
    # CodeDeploy lists lifecycle events in the order they run; keep it (it includes events this
    # module does not name, e.g. the BlockTraffic ones).
    ordered = list(events)
    original: float | None = None
    replacement: float | None = None
    for task_set in ecs.get("taskSetsInfo", []) or []:
        weight = task_set.get("trafficWeight")
        if weight is None:
            continue
        # CodeDeploy labels the original task set Blue and the replacement Green.
        if task_set.get("taskSetLabel") == TargetLabel.GREEN:
            replacement = float(weight)
        else:
            original = float(weight)
    # Production traffic is split between the two task sets; once one is gone (the original after
    # termination) its share is what the other does not take.
    if original is None and replacement is not None:
        original = 100.0 - replacement
    elif replacement is None and original is not None and len(ecs.get("taskSetsInfo") or []) > 0:
        replacement = 100.0 - original
    rollback = (deployment.get("rollbackInfo") or {}).get("rollbackDeploymentId") or None
    error_info = deployment.get("errorInformation") or {}
    error = None
    if error_info:
        error = ": ".join(str(part) for part in (error_info.get("code"), error_info.get("message")) if part)
    return Snapshot(
        status=_status(deployment.get("status")),
        lifecycle=tuple((name, events[name]) for name in ordered),
        original_weight=original,
        replacement_weight=replacement,
        rollback_deployment_id=rollback,
        error=error or None,
    )


def format_weights(original: float | None, replacement: float | None) -> str:
    """'blue 90% / green 10%'."""
    return f"blue {_pct(original)} / green {_pct(replacement)}"


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:g}%"


def diff(previous: Snapshot | None, current: Snapshot, at: float = 0.0) -> list[Event]:
    """The events between two polls, in the order a person reads them."""
    events: list[Event] = []
    before = previous or Snapshot(status=DeploymentStatus.CREATED)
    status_event: Event | None = None
    if previous is None or previous.status is not current.status:
        status_event = Event(
            at,
            EventKind.STATUS,
            "deployment",
            None if previous is None else previous.status.value,
            current.status,
        )
    # A status that starts something (InProgress) reads first; one that ends the deployment reads
    # after the lifecycle events and the traffic move that led to it.
    if status_event is not None and not current.status.is_terminal:
        events.append(status_event)
    rollback = _rollback_event(before, current, at)
    # A rollback within the deployment (ECS) walks the stages back: say so before the stages it walks.
    if rollback is not None and rollback.in_place:
        events.append(rollback)
    for name, status in current.lifecycle:
        old = before.lifecycle_status(name)
        # A step never goes back to Pending but when ECS rolls back within the deployment and its
        # stage walks back: those steps are not news (the rollback line said it).
        if old is not status and status is not LifecycleStatus.PENDING:
            events.append(Event(at, EventKind.LIFECYCLE, name, old.value, status.value))
    old_weights = (before.original_weight, before.replacement_weight)
    new_weights = (current.original_weight, current.replacement_weight)
    if new_weights != old_weights and current.replacement_weight is not None:
        events.append(
            Event(
                at,
                EventKind.TRAFFIC,
                "traffic",
                None if previous is None or old_weights == (None, None) else format_weights(*old_weights),
                format_weights(*new_weights),
            )
        )
    if status_event is not None and current.status.is_terminal:
        events.append(status_event)
    if rollback is not None and not rollback.in_place:
        events.append(rollback)
    return events


def _rollback_event(before: Snapshot, current: Snapshot, at: float) -> Event | None:
    """The rollback this poll shows for the first time, if any."""
    if not current.rollback_deployment_id or current.rollback_deployment_id == before.rollback_deployment_id:
        return None
    in_place = current.lifecycle_model.rolls_back_in_place
    return Event(at, EventKind.ROLLBACK, "rollback", None, current.rollback_deployment_id, in_place)


def milestone_reached(snapshot: Snapshot, until: str, ready_waits: bool = False) -> bool:
    """Whether the watch may stop: ``until`` reached (ready, traffic-shifted) or, for done, finished.

    ``ready_waits``: the group's ready action is STOP_DEPLOYMENT, so "ready" means CodeDeploy says
    Ready (only then does ContinueDeployment, i.e. `bluegreen promote`, work).
    """
    if until == "done":
        return snapshot.status.is_terminal
    if snapshot.status.is_terminal:
        return snapshot.status.succeeded
    if until == "ready" and ready_waits:
        return snapshot.status in (DeploymentStatus.READY, DeploymentStatus.BAKING) or until_reached(
            "traffic-shifted", snapshot.status.value, snapshot.lifecycle_events()
        )
    return until_reached(until, snapshot.status.value, snapshot.lifecycle_events())


def should_continue_at_ready(snapshot: Snapshot, until: str, continue_at_ready: bool) -> bool:
    """Whether the watcher should call the engine's promote now (CodeDeploy: ContinueDeployment
    READY_WAIT; Amazon ECS: ContinueServiceDeployment CONTINUE on the waiting PAUSE hook).

    Only for a watcher allowed to (deploy and rollback; never `watch`, which only looks), only
    while the deployment says Ready (CodeDeploy's Ready, or ECS's PAUSE hook awaiting action), and
    never when the caller asked to stop there (--until ready: `bluegreen promote` continues it).
    """
    return continue_at_ready and until != "ready" and snapshot.status is DeploymentStatus.READY


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll (seconds of deployment time; divided by the time scale when used)."""

    moving_seconds: float = 5.0  # traffic or lifecycle just changed, or traffic is being shifted
    running_seconds: float = 10.0  # a hook or an install step is running
    waiting_seconds: float = 30.0  # baking, waiting at Ready, queued
    max_calls_per_minute: int = 24  # both calls of a poll count; bounds the bill and throttling
    # While users reach the replacement, a watch that reads alarms also reads them between polls, at
    # most this often, spread at the rate the budget sustains (Watcher._read_spacing): an alarm that
    # fired just after a poll was seen up to a poll later (4.7-5.5 s in bench/exposure.py, canary10, ECS).
    alarm_seconds: float = 2.0


# --probe-green: the probe starts when a poll sees production's shift, so the polls around it come at
# the quick interval, which a CodeDeploy poll with the alarm read (3-4 calls) at 24 a minute cannot
# keep (paced to 10-15 s: in bench/exposure.py the shift was seen 14 s late). 36 calls a minute is
# 0.6 a second, far below the read APIs' throttling limits, and only for a watch that asked for it.
PROBING_POLICY = PollPolicy(max_calls_per_minute=36)


def poll_interval(
    previous: Snapshot | None, current: Snapshot, policy: PollPolicy, *, watching_alarms: bool = False
) -> float:
    """Seconds to wait before the next poll: quick while traffic moves, slow while baking.

    ``watching_alarms``: the poll also reads the alarms to stop at the first sign (``StopOnAlarm``).
    While production users reach the replacement, that read is what ends their exposure, so it
    comes at the quick interval even in a bake: at the bake's 30 s an alarm that fired just after a
    poll waited up to 30 s (alarm -> back on blue 35 s, bench/exposure.py, all-at-once on ECS)."""
    interval = _stage_interval(previous, current, policy)
    if watching_alarms and (current.replacement_weight or 0.0) > 0.0:
        return min(interval, policy.moving_seconds)
    return interval


def _stage_interval(previous: Snapshot | None, current: Snapshot, policy: PollPolicy) -> float:
    """The interval the deployment's own progress calls for (``poll_interval``)."""
    if current.status in (DeploymentStatus.BAKING, DeploymentStatus.READY, DeploymentStatus.QUEUED):
        return policy.waiting_seconds
    if previous is not None and diff(previous, current):
        return policy.moving_seconds
    lifecycle = current.lifecycle_model
    event = current.current_lifecycle_event
    if event in lifecycle.moving_steps and current.lifecycle_status(event) is LifecycleStatus.IN_PROGRESS:
        return policy.moving_seconds
    if event in lifecycle.slow_steps:
        return policy.waiting_seconds
    return policy.running_seconds
