"""Watch a deployment and report it: shared by deploy, rollback and watch.

Prints progress while it watches (live view, plain lines or nothing), then returns the outcome as
a ``Result``: the report document, the summary lines, and the typed error that sets the exit code
(DeploymentFailedError 1, DeploymentTimeoutError 3; none when it succeeded or reached --until).
An interrupt raises InterruptedByUser (130).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from orchestrator import documents
from orchestrator.commands.failure import error_context
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session, sigterm_as_interrupt
from orchestrator.engines import engine_name_of
from orchestrator.engines.base import Engine, RollbackWait
from orchestrator.errors import (
    BluegreenError,
    DeploymentFailedError,
    DeploymentTimeoutError,
    ErrorContext,
    InterruptedByUser,
)
from orchestrator.vocabulary import DeploymentStatus, EngineName
from orchestrator.watching.lifecycles import Lifecycle, lifecycle_for, lifecycle_of
from orchestrator.watching.loop import AlarmStop, StopOnAlarm, Watcher, WatchOptions, WatchResult
from orchestrator.watching.snapshots import PROBING_POLICY, Event, PollPolicy, Snapshot
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
    # What the verb that created the deployment adds to its documents (None: `watch`).
    facts: documents.DeployFacts | documents.RollbackFacts | None = None
    # deploy and rollback continue a deployment waiting at Ready themselves (unless --until ready);
    # `watch` only looks.
    continues_at_ready: bool = False
    # Deployed into a sandbox started for this run (deploy --sandbox): the sandbox, and the
    # deployment with it, ends with this process, so there is nothing to re-attach to.
    ephemeral: bool = False
    engine: str = "codedeploy"  # the engine running it (Engine.name): the documents' `engine`
    # The alarms the deployment watches (the catalog's, as the engine was given them): what the
    # watcher reads to stop at the first sign (WatchFlags.stop_on_alarm).
    alarm_names: tuple[str, ...] = ()
    # The catalog's service whose smoke checks the green probe sends (WatchFlags.probe_green; None:
    # no catalog service, or a rollback, which is never stopped).
    probe_service: Any = None
    # The service's ledger table (None: none): where a stop by this watch is recorded.
    ledger_table: str | None = None

    @property
    def expected_seconds(self) -> float:
        return sum(phase.expected_seconds for phase in self.phases)

    def lifecycle(self, seen: Snapshot | None = None) -> Lifecycle:
        """Whose lifecycle the deployment goes through (CodeDeploy's or ECS's): what a poll showed,
        else what the expected phases are made of."""
        if seen is not None and seen.lifecycle:
            return seen.lifecycle_model
        if self.phases:
            return lifecycle_of(phase.lifecycle_event for phase in self.phases)
        return lifecycle_by_id(self.deployment_id)

    def known(self) -> ErrorContext:
        """What an error while following this deployment can say about it."""
        return ErrorContext(
            deployment_id=self.deployment_id,
            service=self.service,
            environment=self.environment,
            strategy=self.strategy,
        )


def watched_alarms(service: Any) -> tuple[str, ...]:
    """The alarms a deployment of ``service`` watches: the catalog's, which `alarms sync` and both
    engines give the deployment (CodeDeploy's alarmConfiguration, ECS's deploymentConfiguration.alarms)."""
    return tuple(dict.fromkeys(service.settings.alarms)) if service is not None else ()


def lifecycle_by_id(deployment_id: str) -> Lifecycle:
    """The lifecycle of a deployment known only by its id (its form names the engine)."""
    from orchestrator.engines import engine_name_of

    return lifecycle_for(engine_name_of(deployment_id) or EngineName.CODEDEPLOY)


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
) -> documents.ReportHead:
    """What every watch report says (the verb's facts and the exit code are added by ``report``)."""
    snapshot = result.snapshot
    return documents.ReportHead(
        deployment_id=subject.deployment_id,
        service=subject.service,
        environment=subject.environment,
        strategy=subject.strategy,
        deployment_config_name=subject.deployment_config_name,
        status=snapshot.status.value,
        outcome=outcome.word,
        until=flags.until,
        reached=result.reached and outcome.ok,
        rolled_back=snapshot.rolled_back,
        rollback_deployment_id=snapshot.rollback_deployment_id,
        error=snapshot.error,
        duration_seconds=round(result.elapsed_seconds, 1),
        expected_seconds=round(subject.expected_seconds),
        timeout_seconds=round(subject.timeout_seconds),
        traffic_weights=documents.TrafficWeights(
            original=snapshot.original_weight, replacement=snapshot.replacement_weight
        ),
        lifecycle_events={name: status.value for name, status in snapshot.lifecycle},
        api_calls=api_calls,
        watch_calls=result.calls,
        max_calls_per_minute=result.max_calls_per_minute,
        calls_per_minute_limit=limit,
        polls=result.polls,
        events=[documents.watch_event(event) for event in result.events],
        engine=subject.engine,  # type: ignore[arg-type]  # an Engine.name
        stopped_on_alarm=documents.alarm_stop(result.stopped_on_alarm),
        green_probe=_probe_report(result, flags),
    )


def _probe_report(result: WatchResult, flags: WatchFlags) -> documents.GreenProbeReport | None:
    if not flags.probe_green:
        return None
    answers, wrong = result.probe_answers
    return documents.GreenProbeReport(
        rounds=result.probe_rounds, answers=answers, wrong=wrong, off=result.probe_off
    )


def exit_code_of(result: WatchResult, outcome: Outcome) -> int:
    """The exit code a watch ends with (DESIGN.md): 0 ok, 1 failed/stopped/rolled back, 3 timeout."""
    if result.timed_out:
        return DeploymentTimeoutError.exit_code
    return 0 if outcome.ok else DeploymentFailedError.exit_code


def created_document(subject: Subject, api_calls: int) -> documents.CreatedHead:
    """The --no-wait document, printed as soon as the deployment exists."""
    assert subject.facts is not None  # only deploy and rollback create deployments
    head = documents.CreatedHead(
        deployment_id=subject.deployment_id,
        service=subject.service,
        environment=subject.environment,
        strategy=subject.strategy,
        deployment_config_name=subject.deployment_config_name,
        status=DeploymentStatus.CREATED.value,
        outcome="created",
        rolled_back=False,
        rollback_deployment_id=None,
        duration_seconds=0.0,
        expected_seconds=round(subject.expected_seconds),
        timeout_seconds=round(subject.timeout_seconds),
        api_calls=api_calls,
        events=[],
        waits_at_ready=_waits_at_ready(subject),
        engine=subject.engine,  # type: ignore[arg-type]  # an Engine.name
    )
    return documents.created(head, subject.facts)


# What to say instead of the re-attach hint when the deployment lived in this run's sandbox.
SANDBOX_GONE = "the sandbox stopped with this run and the deployment with it; nothing keeps running"


def interrupted_message(subject: Subject, seen: Snapshot | None = None) -> str:
    """What an interrupt leaves behind: a deployment to re-attach to, or (sandbox) nothing."""
    if subject.ephemeral:
        return (
            f"interrupted; {SANDBOX_GONE} (deployment {subject.deployment_id} ended with it, "
            "nothing to re-attach to)"
        )
    return (
        f"interrupted; deployment {subject.deployment_id} keeps running in "
        f"{subject.lifecycle(seen).runner}: {reattach_hint(subject.deployment_id)}"
    )


def _rolled_back_within(snapshot: Snapshot, deployment_id: str) -> bool:
    """The deployment rolls back inside itself (Amazon ECS's native rollback names no other one)."""
    return snapshot.rollback_deployment_id == deployment_id


def reattach_hint(deployment_id: str) -> str:
    hint = (
        f"re-attach with `bluegreen watch {deployment_id}`, stop and roll back with "
        f"`bluegreen stop {deployment_id}`"
    )
    if engine_name_of(deployment_id) is EngineName.ECS:
        return hint  # ECS stops a service deployment only by rolling it back: no --no-rollback
    return f"{hint}, stop without rollback with `bluegreen stop {deployment_id} --no-rollback`"


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
) -> Result:
    """Watch until the milestone, the end or the timeout; the outcome as a Result (its error sets
    the exit code). ``announce`` is printed once an interrupt would already be handled (it tells
    scripts the watch has started)."""
    view = make_view(session, subject, flags.until)
    options = WatchOptions(
        until=flags.until,
        timeout_seconds=subject.timeout_seconds,
        time_scale=flags.scale(),
        ready_waits=_waits_at_ready(subject),
        continue_at_ready=subject.continues_at_ready,
        policy=PROBING_POLICY if flags.probe_green else PollPolicy(),
    )
    seen = _Latest()

    def listen(snapshot: Snapshot, events: list[Event], elapsed: float) -> None:
        seen.snapshot = snapshot
        view.update(snapshot, events, elapsed)

    if clock is time.monotonic:  # the deployment's clock: a busy sandbox's runs slower than real x scale
        clock = engine.server_clock(options.time_scale)
    watcher = Watcher(
        engine,
        subject.deployment_id,
        clock=clock,
        sleep=sleep,
        listener=listen,
        stop_on_alarm=_stop_on_alarm(session, engine, clients, subject, flags),
    )
    watch_started = time.time()  # wall clock: where a failed hook's log lines start, at the latest
    try:
        with sigterm_as_interrupt():
            if announce:
                session.print(announce)
            result = watcher.run(options)
    except KeyboardInterrupt:
        if subject.ephemeral or not flags.rollback_on_interrupt:
            raise InterruptedByUser(
                interrupted_message(subject, seen.snapshot), known=seen.known(subject)
            ) from None
        with error_context(seen.known(subject)):
            _interrupted(engine, subject, flags, clock, sleep)
    except BluegreenError as err:  # an AWS error while watching: say which deployment, at which status
        err.within(seen.known(subject))
        raise
    finally:
        view.close()
    outcome = outcome_of(result, flags.until)
    failure = _hook_failure(session, clients, subject, result, outcome, watch_started, sleep)
    cause = root_cause(session, engine, clients, subject.deployment_id, (result, outcome), sleep)
    limit = options.policy.max_calls_per_minute
    head = report_document(subject, result, outcome, clients.counter.total, flags, limit)
    hook = documents.hook_failure(failure) if failure is not None else None
    document = documents.report(head, subject.facts, hook, exit_code_of(result, outcome), cause)
    told = _Told(failure, cause, result.stopped_on_alarm, subject.deployment_id, result.probe_off)
    text = _summary(session, subject, result, outcome, told, flags, options, announce, clients)
    return Result(document, text, _error(subject, result, outcome))


class WatchedAlarms:
    """The deployment's alarms as the watcher reads them: one DescribeAlarms by names a poll (the
    catalog holds far fewer than its 100 names a call), the names in ALARM."""

    def __init__(self, clients: Any, names: Sequence[str]) -> None:
        self.clients = clients
        self.names = tuple(dict.fromkeys(names))

    def firing(self) -> tuple[str, ...]:
        from orchestrator.aws.cloudwatch import alarm_states
        from orchestrator.vocabulary import AlarmState

        # The client is made at the first read: a watch that never reads alarms needs none.
        states = alarm_states(self.clients.client("cloudwatch"), self.names)
        return tuple(name for name in self.names if states.get(name) == AlarmState.ALARM.value)


class TestListenerProbe:
    """The green probe (``orchestrator.analysis.probe``) through the deployment's test listener: the
    listener (``Engine.test_listener``), its port and load balancer (DescribeListeners), and the host:
    the catalog's ``listener_host``, else the load balancer's DNS name (DescribeLoadBalancers), as the
    hooks' smoke checks call. Found at the first round (three reads); what fails there switches the
    probe off for the watch (``Watcher.unprobed``)."""

    def __init__(self, engine: Engine, clients: Any, service: Any) -> None:
        from orchestrator.analysis.probe import PROBE_SECONDS

        self.engine = engine
        self.clients = clients
        self.service = service
        self.seconds = PROBE_SECONDS
        self.sign: str | None = None  # the sign of the round that found green wrong, once one did
        self._probe: Any = None

    def _made(self) -> Any:
        from orchestrator.analysis.probe import GreenProbe, ProbeTarget, Urllib3Http
        from orchestrator.aws import elbv2 as elbv2_api
        from orchestrator.errors import BadInputError

        checks = self.service.settings.smoke.checks
        if not checks:
            raise BadInputError(f"the catalog has no smoke check for {self.service.name}: nothing to probe")
        elbv2 = self.clients.client("elbv2")
        listener = elbv2_api.describe_listener(elbv2, self.engine.test_listener(self.service))
        host = self.service.listener_host or elbv2_api.load_balancer_dns_name(
            elbv2, str(listener["LoadBalancerArn"])
        )
        target = ProbeTarget(self.service.listener_scheme, host, int(listener["Port"]))
        return GreenProbe(checks, target, Urllib3Http(agent="bluegreen-probe"))

    def round(self) -> str | None:
        if self._probe is None:
            self._probe = self._made()
        sign: str | None = self._probe.round()
        self.sign = sign or self.sign
        return sign

    @property
    def answers(self) -> tuple[int, int]:
        """(answers, wrong) so far."""
        found: tuple[int, int] = self._probe.answers if self._probe is not None else (0, 0)
        return found


def _stop_on_alarm(
    session: Session, engine: Engine, clients: Any, subject: Subject, flags: WatchFlags
) -> StopOnAlarm | None:
    """How the watcher stops the deployment at the first sign (None: not asked, or nothing to watch):
    the alarms (--stop-on-alarm, default on) and the green probe (--probe-green, opt-in). Which sign
    it was goes to the ledger (`why` reads it back: the engines' stops carry no reason)."""
    from orchestrator.commands import recording
    from orchestrator.insight.records import stopped_by_watch

    reading = flags.stop_on_alarm and subject.alarm_names
    alarms = WatchedAlarms(clients, subject.alarm_names) if reading else None
    probing = flags.probe_green and subject.probe_service is not None
    probe = TestListenerProbe(engine, clients, subject.probe_service) if probing else None
    if alarms is None and probe is None:
        return None

    def stop(firing: tuple[str, ...]) -> None:
        engine.stop(subject.deployment_id, rollback=True)
        # no alarm firing: the probe's sign stopped it (the watcher stops on nothing else)
        sign = None if firing else (probe.sign if probe is not None else None) or "green answered wrong"
        stopped_by = stopped_by_watch(firing, sign)
        recording.record_stop(session, clients, subject.ledger_table, subject.deployment_id, stopped_by)

    return StopOnAlarm(alarms, stop, probe=probe)


def alarm_stop_line(stopped: AlarmStop, deployment_id: str) -> str:
    """One line: which alarm the watcher saw (or what its green probe saw), when, and what it did."""
    from orchestrator.watching.views import duration

    if stopped.probe is not None:
        at = duration(stopped.at_seconds)
        if stopped.error is not None:
            return f"green probe at {at}: {stopped.probe}; stopping {deployment_id} failed: {stopped.error}"
        return f"green probe at {at}: {stopped.probe}: stopped {deployment_id} with rollback at once"
    alarms = ", ".join(stopped.alarms)
    if stopped.error is not None:
        at = duration(stopped.at_seconds)
        return f"alarm {alarms} in ALARM at {at}; stopping {deployment_id} failed: {stopped.error}"
    return (
        f"alarm {alarms} in ALARM at {duration(stopped.at_seconds)}: stopped {deployment_id} with rollback "
        "at once (--no-stop-on-alarm leaves it to the engine's own alarm poll)"
    )


@dataclass(frozen=True)
class _Told:
    """What the summary says of a deployment that did not succeed: the root cause, the failed hook."""

    failure: Any  # watching.hook_verdict.HookFailure, or None
    root_cause: str | None
    stopped_on_alarm: AlarmStop | None = None
    deployment_id: str = ""
    probe_off: str | None = None  # why the green probe was switched off (Watcher.unprobed)

    def lines(self) -> list[str]:
        stopped = self.stopped_on_alarm
        first = [alarm_stop_line(stopped, self.deployment_id)] if stopped is not None else []
        return (
            first
            + ([self.root_cause] if self.root_cause else [])
            + (self.failure.lines() if self.failure is not None else [])
        )


def root_cause(
    session: Session,
    engine: Engine,
    clients: Any,
    deployment_id: str,
    ended: tuple[WatchResult, Outcome],
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """`bluegreen why`'s first line for a deployment that failed, stopped or rolled back (None when
    it succeeded, is still running, or could not be diagnosed: the report stands without it). Its
    reads come after the watch and count in the report's apiCalls, not in the watch's budget."""
    result, outcome = ended
    if outcome.ok or result.timed_out or not result.snapshot.status.is_terminal:
        return None
    try:
        from orchestrator.insight.diagnosis import diagnose
        from orchestrator.insight.gather import gather

        stopped = result.stopped_on_alarm
        said = _stopped_by(stopped) if stopped is not None and stopped.error is None else None
        evidence = gather(engine, clients, session, deployment_id, sleep=sleep, stopped_by=said)
        return str(diagnose(evidence).root_cause)
    except Exception:  # the diagnosis is extra: never a reason for the deploy's report to fail
        return None


def _stopped_by(stopped: AlarmStop) -> str:
    from orchestrator.insight.records import stopped_by_watch

    return stopped_by_watch(stopped.alarms, stopped.probe)


class _Latest:
    """The last snapshot the watch saw (what an interrupt can say about the deployment's status)."""

    snapshot: Snapshot | None = None

    def known(self, subject: Subject) -> ErrorContext:
        status = self.snapshot.status.value if self.snapshot is not None else None
        return subject.known().learned(status=status)


def _summary(
    session: Session,
    subject: Subject,
    result: WatchResult,
    outcome: Outcome,
    told: _Told,
    flags: WatchFlags,
    options: WatchOptions,
    announce: str | None,
    clients: Any,
) -> str:
    """The lines a person reads when the watch ends: outcome, duration, id; why a hook failed; next."""
    details = []
    if _rolled_back_within(result.snapshot, subject.deployment_id):
        details.append("rolled back within the deployment")
    elif result.snapshot.rollback_deployment_id:
        details.append(f"rollback {result.snapshot.rollback_deployment_id}")
    details.append(f"{clients.counter.total} API calls")
    colour = "green" if outcome.ok else ("yellow" if result.timed_out else "red")
    line = summary_line(outcome, subject.deployment_id, result.elapsed_seconds, ", ".join(details))
    if announce is not None and result.polls == 1 and result.snapshot.status.is_terminal:
        # Attached (`bluegreen watch`) to a deployment that had ended: "succeeded in 0s" would
        # read as the deployment's own duration.
        line = f"already {outcome.word}  {subject.deployment_id}  {', '.join(details)}"
    out = [session.style(line, colour)]
    out += [f"  {text}" for text in told.lines()]
    if told.probe_off is not None:
        out.append(f"  green probe off: {told.probe_off}")
    if outcome.ok and flags.until == "ready" and result.snapshot.status is DeploymentStatus.READY:
        out.append(f"next: test through the test listener, then `bluegreen promote {subject.deployment_id}`")
    elif outcome.ok and flags.until == "ready" and not options.ready_waits:
        out.append(f"note: {subject.lifecycle(result.snapshot).no_ready_wait}")
    return lines(*out)


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


def _error(subject: Subject, result: WatchResult, outcome: Outcome) -> BluegreenError | None:
    """The error that sets the exit code: timeout (3), failed/stopped/rolled back (1); None when ok."""
    deployment_id = subject.deployment_id
    snapshot = result.snapshot
    if result.timed_out:
        after = (
            f"deployment {deployment_id} still {snapshot.status.value} after the "
            f"{round(subject.timeout_seconds / 60, 1):g}-minute timeout"
        )
        if subject.ephemeral:
            return DeploymentTimeoutError(f"{after}; {SANDBOX_GONE}")
        return DeploymentTimeoutError(f"{after}; it keeps running: {reattach_hint(deployment_id)}")
    if not outcome.ok:
        reason = f": {snapshot.error}" if snapshot.error else ""
        rollback = (
            f"; rolled back by {snapshot.rollback_deployment_id}" if snapshot.rollback_deployment_id else ""
        )
        if _rolled_back_within(snapshot, deployment_id):
            rollback = "; rolled back within the deployment"
        stopped = result.stopped_on_alarm
        if stopped is not None and stopped.error is None:
            reason = f": stopped at once by this watch, alarm {', '.join(stopped.alarms)} in ALARM"
            if stopped.probe is not None:
                reason = f": stopped at once by this watch's green probe, {stopped.probe}"
        return DeploymentFailedError(
            f"deployment {deployment_id} {snapshot.status.value}{reason}{rollback}; "
            f"details: `bluegreen status {deployment_id}`"
        )
    return None


def _interrupted(
    engine: Engine,
    subject: Subject,
    flags: WatchFlags,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> NoReturn:
    deployment_id = subject.deployment_id
    wait = RollbackWait(
        timeout_seconds=ROLLBACK_START_TIMEOUT_SECONDS / flags.scale(),
        interval_seconds=2.0 / flags.scale(),
        clock=clock,
        sleep=sleep,
    )
    snapshot = engine.stop(deployment_id, rollback=True, wait=wait).snapshot
    assert snapshot is not None  # asked to wait: the engine looked at least once
    if _rolled_back_within(snapshot, deployment_id):
        raise InterruptedByUser(
            f"interrupted; stopped deployment {deployment_id} with rollback: it rolls back within "
            f"itself (`bluegreen watch {deployment_id}`)",
            known=ErrorContext(rollback_deployment_id=deployment_id),
        )
    if snapshot.rollback_deployment_id:
        rollback_id = snapshot.rollback_deployment_id
        raise InterruptedByUser(
            f"interrupted; stopped deployment {deployment_id} with rollback: rollback deployment "
            f"{rollback_id} started (`bluegreen watch {rollback_id}`)",
            known=ErrorContext(rollback_deployment_id=rollback_id),
        )
    raise InterruptedByUser(
        f"interrupted; asked {subject.lifecycle(snapshot).runner} to stop {deployment_id} with rollback "
        f"(status {snapshot.status.value}); "
        f"check it with `bluegreen status {deployment_id}`"
    )


def follow_created(
    session: Session, engine: Engine, clients: Any, subject: Subject, flags: WatchFlags
) -> Result:
    """After a deployment was created: with --no-wait, the created document and how to follow it;
    otherwise watch it to the end."""
    if flags.wait:
        return follow(session, engine, clients, subject, flags)
    if subject.ephemeral:
        text = lines(f"not waiting; {SANDBOX_GONE}")
    else:
        text = lines(f"not waiting; follow it with `bluegreen watch {subject.deployment_id}`")
        if _waits_at_ready(subject):
            text += lines(
                f"it will wait at Ready: shift traffic with `bluegreen promote {subject.deployment_id}` "
                f"({subject.lifecycle().ready_timeout})"
            )
    return Result(created_document(subject, clients.counter.total), text)
