"""Watch a deployment and report it: shared by deploy, rollback and watch.

Prints progress (live view, plain lines or nothing), then the outcome (summary line or one JSON
document), then raises the typed error that sets the exit code: DeploymentFailedError (1),
DeploymentTimeoutError (3), InterruptedByUser (130).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from orchestrator import codedeploy_api
from orchestrator.commands.failure import error_context
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.session import Session, sigterm_as_interrupt
from orchestrator.errors import DeploymentFailedError, DeploymentTimeoutError, InterruptedByUser
from orchestrator.progress import EtaTracker, LiveView, Outcome, PlainView, SilentView, View, summary_line
from orchestrator.timing import READY_WAIT, Phase
from orchestrator.watch import Event, Snapshot
from orchestrator.watcher import DeploymentClock, Watcher, WatchOptions, WatchResult, wait_for_rollback_start

# How long --rollback-on-interrupt waits for CodeDeploy to name the rollback deployment.
ROLLBACK_START_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Subject:
    """What is being watched, for the report: ids, names and the expected phases."""

    deployment_id: str
    service: str | None
    environment: str | None
    strategy: str | None
    deployment_config_name: str | None
    phases: Sequence[Phase]
    timeout_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_seconds(self) -> float:
        return sum(phase.expected_seconds for phase in self.phases)


def make_view(session: Session, subject: Subject, until: str) -> View:
    eta = EtaTracker(subject.phases, until) if subject.phases else None
    if session.json:
        return SilentView()
    if session.is_tty:
        title = f"{subject.service or ''} {subject.deployment_id}".strip()
        return LiveView(session.console(), title, eta)
    return PlainView(session.stdout, eta)


def outcome_of(result: WatchResult, until: str) -> Outcome:
    snapshot = result.snapshot
    if result.timed_out:
        return Outcome("still running", False)
    if snapshot.status.is_terminal:
        if snapshot.status.succeeded:
            return Outcome("succeeded", True)
        if snapshot.rolled_back:
            return Outcome("rolled back", False)
        return Outcome(snapshot.status.value.lower(), False)
    return Outcome({"ready": "ready", "traffic-shifted": "traffic shifted"}.get(until, "running"), True)


def report_document(
    subject: Subject, result: WatchResult, outcome: Outcome, api_calls: int, flags: WatchFlags, limit: int
) -> dict[str, Any]:
    """The --output json document (stable keys)."""
    snapshot = result.snapshot
    return {
        "deploymentId": subject.deployment_id,
        "service": subject.service,
        "environment": subject.environment,
        "strategy": subject.strategy,
        "deploymentConfigName": subject.deployment_config_name,
        "status": snapshot.status.value,
        "outcome": outcome.word,
        "until": flags.until,
        "reached": result.reached and outcome.ok,
        "rolledBack": snapshot.rolled_back,
        "rollbackDeploymentId": snapshot.rollback_deployment_id,
        "error": snapshot.error,
        "durationSeconds": round(result.elapsed_seconds, 1),
        "expectedSeconds": round(subject.expected_seconds),
        "timeoutSeconds": round(subject.timeout_seconds),
        "trafficWeights": {"original": snapshot.original_weight, "replacement": snapshot.replacement_weight},
        "lifecycleEvents": {name: status.value for name, status in snapshot.lifecycle},
        "apiCalls": api_calls,
        "watchCalls": result.calls,
        "maxCallsPerMinute": result.max_calls_per_minute,
        "callsPerMinuteLimit": limit,
        "polls": result.polls,
        "events": [event.to_json() for event in result.events],
        **subject.extra,
        "exitCode": exit_code_of(result, outcome),
    }


def exit_code_of(result: WatchResult, outcome: Outcome) -> int:
    """The exit code a watch ends with (DESIGN.md): 0 ok, 1 failed/stopped/rolled back, 3 timeout."""
    if result.timed_out:
        return DeploymentTimeoutError.exit_code
    return 0 if outcome.ok else DeploymentFailedError.exit_code


def created_document(subject: Subject, api_calls: int) -> dict[str, Any]:
    """The --no-wait document, printed as soon as the deployment exists."""
    return {
        "deploymentId": subject.deployment_id,
        "service": subject.service,
        "environment": subject.environment,
        "strategy": subject.strategy,
        "deploymentConfigName": subject.deployment_config_name,
        "status": "Created",
        "outcome": "created",
        "rolledBack": False,
        "rollbackDeploymentId": None,
        "durationSeconds": 0.0,
        "expectedSeconds": round(subject.expected_seconds),
        "timeoutSeconds": round(subject.timeout_seconds),
        "apiCalls": api_calls,
        "events": [],
        **subject.extra,
        "exitCode": 0,
    }


def reattach_hint(deployment_id: str) -> str:
    return (
        f"re-attach with `bluegreen watch {deployment_id}`, stop and roll back with "
        f"`bluegreen stop {deployment_id}`, stop without rollback with "
        f"`bluegreen stop {deployment_id} --no-rollback`"
    )


def follow(
    session: Session,
    clients: Any,
    subject: Subject,
    flags: WatchFlags,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    announce: str | None = None,
) -> int:
    """Watch until the milestone, the end or the timeout; print the outcome; raise for exit codes.

    ``announce`` is printed once an interrupt would already be handled (it tells scripts the
    watch has started).
    """
    codedeploy = clients.client("codedeploy")
    view = make_view(session, subject, flags.until)
    options = WatchOptions(
        until=flags.until,
        timeout_seconds=subject.timeout_seconds,
        time_scale=flags.scale(),
        ready_waits=any(phase.name == READY_WAIT for phase in subject.phases),
    )
    known: dict[str, Any] = {
        "deploymentId": subject.deployment_id,
        "service": subject.service,
        "environment": subject.environment,
        "strategy": subject.strategy,
    }

    def listen(snapshot: Snapshot, events: list[Event], elapsed: float) -> None:
        known["status"] = snapshot.status.value
        view.update(snapshot, events, elapsed)

    if clock is time.monotonic:  # the deployment's clock: a busy sandbox's runs slower than real x scale
        clock = DeploymentClock(codedeploy, options.time_scale)
    watcher = Watcher(codedeploy, subject.deployment_id, clock=clock, sleep=sleep, listener=listen)
    with error_context(known):
        try:
            with sigterm_as_interrupt():
                if announce:
                    session.print(announce)
                result = watcher.run(options)
        except KeyboardInterrupt:
            _interrupted(session, codedeploy, subject.deployment_id, flags, clock, sleep)
        finally:
            view.close()
    outcome = outcome_of(result, flags.until)
    if session.json:
        limit = options.policy.max_calls_per_minute
        session.print_json(report_document(subject, result, outcome, clients.counter.total, flags, limit))
    else:
        details = []
        if result.snapshot.rollback_deployment_id:
            details.append(f"rollback {result.snapshot.rollback_deployment_id}")
        details.append(f"{clients.counter.total} API calls")
        colour = "green" if outcome.ok else ("yellow" if result.timed_out else "red")
        line = summary_line(outcome, subject.deployment_id, result.elapsed_seconds, ", ".join(details))
        if announce is not None and result.polls == 1 and result.snapshot.status.is_terminal:
            # Attached (`bluegreen watch`) to a deployment that had ended: "succeeded in 0s" would
            # read as the deployment's own duration.
            line = f"already {outcome.word}  {subject.deployment_id}  {', '.join(details)}"
        session.print(session.style(line, colour))
        if outcome.ok and flags.until == "ready" and result.snapshot.status.value == "Ready":
            session.print(
                f"next: test through the test listener, then `bluegreen promote {subject.deployment_id}`"
            )
    return _exit(subject, result, outcome)


def _exit(subject: Subject, result: WatchResult, outcome: Outcome) -> int:
    deployment_id = subject.deployment_id
    snapshot = result.snapshot
    if result.timed_out:
        raise DeploymentTimeoutError(
            f"deployment {deployment_id} still {snapshot.status.value} after the "
            f"{round(subject.timeout_seconds / 60, 1):g}-minute timeout; it keeps running: "
            f"{reattach_hint(deployment_id)}"
        )
    if not outcome.ok:
        reason = f": {snapshot.error}" if snapshot.error else ""
        rollback = (
            f"; rolled back by {snapshot.rollback_deployment_id}" if snapshot.rollback_deployment_id else ""
        )
        raise DeploymentFailedError(
            f"deployment {deployment_id} {snapshot.status.value}{reason}{rollback}; "
            f"details: `bluegreen status {deployment_id}`"
        )
    return 0


def _interrupted(
    session: Session,
    codedeploy: Any,
    deployment_id: str,
    flags: WatchFlags,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> NoReturn:
    if not flags.rollback_on_interrupt:
        raise InterruptedByUser(
            f"interrupted; deployment {deployment_id} keeps running in CodeDeploy: "
            f"{reattach_hint(deployment_id)}"
        )
    codedeploy_api.stop_deployment(codedeploy, deployment_id, rollback=True)
    snapshot = wait_for_rollback_start(
        codedeploy,
        deployment_id,
        timeout_seconds=ROLLBACK_START_TIMEOUT_SECONDS / flags.scale(),
        clock=clock,
        sleep=sleep,
        interval_seconds=2.0 / flags.scale(),
    )
    if snapshot.rollback_deployment_id:
        error = InterruptedByUser(
            f"interrupted; stopped deployment {deployment_id} with rollback: rollback deployment "
            f"{snapshot.rollback_deployment_id} started (`bluegreen watch {snapshot.rollback_deployment_id}`)"
        )
        error.add_context(rollbackDeploymentId=snapshot.rollback_deployment_id)
        raise error
    raise InterruptedByUser(
        f"interrupted; asked CodeDeploy to stop {deployment_id} with rollback "
        f"(status {snapshot.status.value}); "
        f"check it with `bluegreen status {deployment_id}`"
    )


def follow_created(session: Session, clients: Any, subject: Subject, flags: WatchFlags) -> int:
    """After a deployment was created: with --no-wait, say how to follow it (or print the created
    document); otherwise watch it to the end."""
    if not flags.wait:
        if session.json:
            session.print_json(created_document(subject, clients.counter.total))
        else:
            session.print(f"not waiting; follow it with `bluegreen watch {subject.deployment_id}`")
        return 0
    return follow(session, clients, subject, flags)
