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

from orchestrator.commands.failure import error_context
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.session import Session, sigterm_as_interrupt
from orchestrator.engines.base import Engine, RollbackWait
from orchestrator.errors import DeploymentFailedError, DeploymentTimeoutError, InterruptedByUser
from orchestrator.watching.loop import Watcher, WatchOptions, WatchResult
from orchestrator.watching.snapshots import Event, Snapshot
from orchestrator.watching.timing import READY_WAIT, Phase
from orchestrator.watching.views import (
    EtaTracker,
    LiveView,
    Outcome,
    PlainView,
    SilentView,
    View,
    summary_line,
)

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
    # deploy and rollback continue a deployment waiting at Ready themselves (unless --until ready);
    # `watch` only looks.
    continues_at_ready: bool = False
    # Deployed into a sandbox started for this run (deploy --sandbox): the sandbox, and the
    # deployment with it, ends with this process, so there is nothing to re-attach to.
    ephemeral: bool = False

    @property
    def expected_seconds(self) -> float:
        return sum(phase.expected_seconds for phase in self.phases)


def _waits_at_ready(subject: Subject) -> bool:
    """The group's ready action is STOP_DEPLOYMENT: the deployment waits at Ready for a promote."""
    return any(phase.name == READY_WAIT for phase in subject.phases)


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
        "waitsAtReady": _waits_at_ready(subject),
        **subject.extra,
        "exitCode": 0,
    }


# What to say instead of the re-attach hint when the deployment lived in this run's sandbox.
SANDBOX_GONE = "the sandbox stopped with this run and the deployment with it; nothing keeps running"


def interrupted_message(subject: Subject) -> str:
    """What an interrupt leaves behind: a deployment to re-attach to, or (sandbox) nothing."""
    if subject.ephemeral:
        return (
            f"interrupted; {SANDBOX_GONE} (deployment {subject.deployment_id} ended with it, "
            "nothing to re-attach to)"
        )
    return (
        f"interrupted; deployment {subject.deployment_id} keeps running in CodeDeploy: "
        f"{reattach_hint(subject.deployment_id)}"
    )


def reattach_hint(deployment_id: str) -> str:
    return (
        f"re-attach with `bluegreen watch {deployment_id}`, stop and roll back with "
        f"`bluegreen stop {deployment_id}`, stop without rollback with "
        f"`bluegreen stop {deployment_id} --no-rollback`"
    )


def follow(
    session: Session,
    engine: Engine,
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
    view = make_view(session, subject, flags.until)
    options = WatchOptions(
        until=flags.until,
        timeout_seconds=subject.timeout_seconds,
        time_scale=flags.scale(),
        ready_waits=_waits_at_ready(subject),
        continue_at_ready=subject.continues_at_ready,
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
        clock = engine.server_clock(options.time_scale)
    watcher = Watcher(engine, subject.deployment_id, clock=clock, sleep=sleep, listener=listen)
    watch_started = time.time()  # wall clock: where a failed hook's log lines start, at the latest
    with error_context(known):
        try:
            with sigterm_as_interrupt():
                if announce:
                    session.print(announce)
                result = watcher.run(options)
        except KeyboardInterrupt:
            if subject.ephemeral or not flags.rollback_on_interrupt:
                raise InterruptedByUser(interrupted_message(subject)) from None
            _interrupted(engine, subject.deployment_id, flags, clock, sleep)
        finally:
            view.close()
    outcome = outcome_of(result, flags.until)
    failure = _hook_failure(session, clients, subject, result, outcome, watch_started, sleep)
    if session.json:
        limit = options.policy.max_calls_per_minute
        document = report_document(subject, result, outcome, clients.counter.total, flags, limit)
        if failure is not None:
            document = {**document, "hookFailure": failure.to_json()}
        session.print_json(document)
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
        for text in failure.lines() if failure is not None else ():
            session.print(f"  {text}")
        if outcome.ok and flags.until == "ready" and result.snapshot.status.value == "Ready":
            session.print(
                f"next: test through the test listener, then `bluegreen promote {subject.deployment_id}`"
            )
        elif outcome.ok and flags.until == "ready" and not options.ready_waits:
            session.print(
                "note: this deployment group continues at Ready by itself (ready action "
                "CONTINUE_DEPLOYMENT): traffic shifts without `bluegreen promote`"
            )
    return _exit(subject, result, outcome)


def _hook_failure(
    session: Session,
    clients: Any,
    subject: Subject,
    result: WatchResult,
    outcome: Outcome,
    since: float,
    sleep: Callable[[float], None],
) -> Any:
    """The failed hook's own reason when the deployment did not succeed (None otherwise)."""
    if outcome.ok or result.timed_out:
        return None
    from orchestrator.commands.hook_reason import hook_failure

    lifecycle = [(name, status.value) for name, status in result.snapshot.lifecycle]
    return hook_failure(
        session, clients, subject.deployment_id, subject.service, subject.environment, lifecycle, since, sleep
    )


def _exit(subject: Subject, result: WatchResult, outcome: Outcome) -> int:
    deployment_id = subject.deployment_id
    snapshot = result.snapshot
    if result.timed_out:
        after = (
            f"deployment {deployment_id} still {snapshot.status.value} after the "
            f"{round(subject.timeout_seconds / 60, 1):g}-minute timeout"
        )
        if subject.ephemeral:
            raise DeploymentTimeoutError(f"{after}; {SANDBOX_GONE}")
        raise DeploymentTimeoutError(f"{after}; it keeps running: {reattach_hint(deployment_id)}")
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
    engine: Engine,
    deployment_id: str,
    flags: WatchFlags,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> NoReturn:
    wait = RollbackWait(
        timeout_seconds=ROLLBACK_START_TIMEOUT_SECONDS / flags.scale(),
        interval_seconds=2.0 / flags.scale(),
        clock=clock,
        sleep=sleep,
    )
    snapshot = engine.stop(deployment_id, rollback=True, wait=wait).snapshot
    assert snapshot is not None  # asked to wait: the engine looked at least once
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


def follow_created(
    session: Session, engine: Engine, clients: Any, subject: Subject, flags: WatchFlags
) -> int:
    """After a deployment was created: with --no-wait, say how to follow it (or print the created
    document); otherwise watch it to the end."""
    if not flags.wait:
        if session.json:
            session.print_json(created_document(subject, clients.counter.total))
        elif subject.ephemeral:
            session.print(f"not waiting; {SANDBOX_GONE}")
        else:
            session.print(f"not waiting; follow it with `bluegreen watch {subject.deployment_id}`")
            if _waits_at_ready(subject):
                session.print(
                    f"it will wait at Ready: shift traffic with `bluegreen promote {subject.deployment_id}` "
                    "(CodeDeploy stops it when the group's ready wait ends)"
                )
        return 0
    return follow(session, engine, clients, subject, flags)
