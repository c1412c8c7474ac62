"""`bluegreen drill SERVICE --env ENV [--force] [--fault alarm|hook]`: prove that rollback works.

Redeploys the live revision (the newest Succeeded deployment's task definition, else the one the
ECS service runs) through the same plan -> start path as `deploy` (every guardrail applies), and
once production traffic has reached the new task set, breaks it on purpose. ``--fault alarm``: one
of the service's alarms is set to ALARM (CloudWatch SetAlarmState, re-asserted at every poll,
because CloudWatch puts a forced state back at the alarm's next evaluation). ``--fault hook``: the
deployment carries a marker (drill_rules.fault_marker; CodeDeploy: its description, ECS: its Lambda
hooks' hookDetails) on which the real AfterAllowTraffic hook answers Failed (hooks/drill.py), in AWS
as in the sandbox, once production traffic is all on green. The watcher does NOT stop the deployment
itself (stop-on-alarm is off): the drill tests that the engine does, as it must for a deployment
nobody watches. Passes when the deployment was rolled back and traffic was back on blue within the
bound the configuration implies (commands/drill_rules.py); otherwise exit 1, naming what the
configuration lacks when it can tell (CodeDeploy: the deployment group's alarm configuration and
its autoRollbackConfiguration events: DEPLOYMENT_STOP_ON_ALARM, or DEPLOYMENT_FAILURE for a hook).

A drill deployment is marked `bluegreen drill ...` in its description (CodeDeploy) and does not
carry the catalog's per-deployment autoRollbackConfiguration override: the drill tests the
deployment group's own wiring, which protects every deployment of the group (console, pipelines),
not only bluegreen's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from orchestrator import documents
from orchestrator.commands import drill_rules
from orchestrator.commands.deploy import validate_watch_flags
from orchestrator.commands.failure import error_context
from orchestrator.commands.follow import watched_alarms
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, BluegreenError, DeploymentFailedError, ErrorContext
from orchestrator.vocabulary import AFTER_ALLOW_TRAFFIC, AlarmState, AutoRollbackEvent, LifecycleStatus
from orchestrator.watching.snapshots import Snapshot


@dataclass(frozen=True)
class DrillOptions:
    """`bluegreen drill`."""

    service: str
    fault: str = drill_rules.Fault.ALARM.value  # alarm | hook
    force: bool = False
    strategy: str | None = None  # default: the catalog's when it shifts traffic gradually, else canary10
    alarm: str | None = None  # which of the service's alarms to force (default: the first)
    watch: WatchFlags = field(default_factory=lambda: WatchFlags(stop_on_alarm=False))


# How often (deployment seconds) the alarm drill re-asserts its forced ALARM between its polls, and
# the least real time between two re-assertions (each is a SetAlarmState call: at a high time scale
# a shorter wait only takes the machine from the engines that must act on it).
REASSERT_SECONDS = 1.0
REASSERT_REAL_FLOOR = 0.02

# A drill needs a traffic window to break the release in: all-at-once has none.
WINDOWLESS = "all-at-once"
DRILL_STRATEGY = "canary10"


def run(session: Session, options: DrillOptions) -> Result:
    known = ErrorContext(service=options.service, environment=session.options.env)
    with error_context(known):
        validate_watch_flags(options.watch)
        try:
            fault = drill_rules.parse_fault(options.fault)
        except ValueError as err:
            raise BadInputError(str(err)) from None
        service = session.resolve(options.service)
        spec = session.catalog.environment(service.environment)
        why_not = drill_rules.refusal(service.environment, spec.production, options.force)
        if why_not is not None:
            raise BadInputError(why_not)
        if fault is drill_rules.Fault.ALARM:
            alarm: str | None = _alarm_to_force(service, options.alarm)
        else:
            _check_hook_drill(service, options.alarm)
            alarm = None
    known = known.learned(environment=service.environment)
    with error_context(known):
        return _drill(session, options, service, fault, alarm)


def _check_hook_drill(service: Any, alarm: str | None) -> None:
    """A hook drill fails the service's AfterAllowTraffic hook: the catalog must name one."""
    if alarm is not None:
        raise BadInputError("--alarm chooses the alarm of --fault alarm; --fault hook forces no alarm")
    if AFTER_ALLOW_TRAFFIC not in service.settings.hooks:
        raise BadInputError(
            f"{service.name} ({service.environment}) has no {AFTER_ALLOW_TRAFFIC} hook (services.yaml "
            "`hooks`): there is no hook for the drill to fail; use --fault alarm"
        )


def _alarm_to_force(service: Any, chosen: str | None) -> str:
    names = watched_alarms(service)
    if not names:
        raise BadInputError(
            f"{service.name} ({service.environment}) watches no alarms (services.yaml `alarms`): there is "
            "no alarm for the engine to stop the deployment on; add one, then `bluegreen alarms sync`"
        )
    if chosen is None:
        return names[0]
    if chosen not in names:
        raise BadInputError(f"--alarm {chosen!r} is not one of {service.name}'s alarms: {', '.join(names)}")
    return chosen


def _strategy(service: Any, chosen: str | None) -> Any:
    from orchestrator.strategies import parse_strategy

    name = chosen or service.settings.strategy
    strategy = parse_strategy(name)
    if strategy.name == WINDOWLESS:
        if chosen is not None:
            raise BadInputError(
                "--strategy all-at-once: a drill breaks the release while traffic shifts; choose a canary "
                "or linear strategy"
            )
        strategy = parse_strategy(DRILL_STRATEGY)
    return strategy


def _drill(
    session: Session, options: DrillOptions, service: Any, fault: drill_rules.Fault, alarm: str | None
) -> Result:
    from orchestrator.engines import engine_for
    from orchestrator.engines.base import DeployInputs

    strategy = _strategy(service, options.strategy)
    clients = session.clients(service.region)
    engine = engine_for(service, clients)
    cloudwatch = clients.client("cloudwatch")
    timing = _alarm_timing(cloudwatch, alarm) if alarm is not None else None
    scale = options.watch.scale()
    wiring = _wiring_problem(engine.name, clients, service, alarm)
    revision = _live_revision(engine, clients, service)
    image = _live_image(clients, service, revision)
    # The live image as a new revision (the catalog's task definition source, as `deploy --image`):
    # Amazon ECS starts no service deployment for the task definition the service already runs.
    # A hook drill marks the deployment for the hooks (drill_rules.fault_marker).
    marked = fault.value if fault is drill_rules.Fault.HOOK else None
    inputs = DeployInputs(service=service, strategy=strategy, image=image, reason="drill", drill_fault=marked)
    plan = engine.plan(inputs)
    breaks = (
        f"forcing alarm {alarm} to ALARM once production traffic is on green"
        if alarm is not None
        else f"its {AFTER_ALLOW_TRAFFIC} hook failing on purpose once production traffic is on green"
    )
    session.print(
        f"drilling {service.name} in {service.environment}: redeploying the live image {image} (from "
        f"{revision}) with {strategy.name}, then {breaks}"
    )
    created = engine.start(plan, on_step=lambda label, detail: session.print(f"  {label:<22}{detail}"))
    deployment_id = created.deployment_id
    session.print(f"  {'deployment':<22}{deployment_id} created")
    with error_context(ErrorContext(deployment_id=deployment_id)):
        listener: _Injector | _HookWatch = (
            _Injector(cloudwatch, alarm, deployment_id) if alarm is not None else _HookWatch()
        )
        observed = _watch(engine, deployment_id, plan.timeout_seconds, scale, listener, wiring)
        if isinstance(listener, _Injector):
            released = listener.release()
            if released:
                session.print(f"  {'alarm':<22}{released}")
    # The drill sees the end at a poll: the bound counts its longest gap between two (a busy client
    # polls less often than the policy's 5 s), never less than the policy's; an alarm drill's misses
    # come from the longest gap between re-assertions of the forced state (at polls and between).
    poll = max(_drill_poll(), listener.longest_gap)
    if timing is not None and isinstance(listener, _Injector):
        kept = listener.longest_reassert_gap or poll
        bound = drill_rules.alarm_bound(engine.name, timing[0], timing[1], poll, reassert_gap=kept)
    else:
        bound = drill_rules.hook_bound(poll)
    outcome = drill_rules.verdict(observed, bound)
    document = documents.DrillDocument(
        service=service.name,
        environment=service.environment,
        engine=engine.name,  # type: ignore[arg-type]  # an Engine.name
        fault=fault.value,
        alarm=alarm,
        deployment_id=deployment_id,
        strategy=strategy.name,
        revision=revision,
        status=observed.status,
        rolled_back=observed.rolled_back,
        injected_at_seconds=_rounded(observed.injected_at),
        back_on_blue_at_seconds=_rounded(observed.back_on_blue_at),
        seconds_to_rollback=_rounded(outcome.seconds_to_rollback),
        bound_seconds=round(bound.seconds, 1),
        bound=bound.why,
        wiring_problem=wiring,
        passed=outcome.passed,
        verdict=outcome.line,
        api_calls=clients.counter.total,
    )
    text = lines(session.style(outcome.line, "green" if outcome.passed else "red"))
    error = None if outcome.passed else DeploymentFailedError(outcome.line)
    return Result(document, text, error)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _drill_poll() -> float:
    """Deployment seconds between the drill's polls while traffic moves (the watch loop's)."""
    from orchestrator.watching.snapshots import PollPolicy

    return PollPolicy().moving_seconds


def _alarm_timing(cloudwatch: Any, alarm: str) -> tuple[float, int]:
    """(Period, EvaluationPeriods) of the alarm; BadInputError when it does not exist."""
    from orchestrator.aws.cloudwatch import describe_alarms

    found = describe_alarms(cloudwatch, [alarm]).get(alarm)
    if found is None:
        raise BadInputError(
            f"alarm {alarm} does not exist in CloudWatch; create it with `bluegreen alarms sync`"
        )
    period = found.get("Period") or max(
        (q["MetricStat"]["Period"] for q in found.get("Metrics") or [] if q.get("MetricStat")), default=60
    )
    return float(period), int(found.get("EvaluationPeriods") or 1)


def _wiring_problem(engine: str, clients: Any, service: Any, alarm: str | None) -> str | None:
    """What the engine's configuration lacks for it to roll back on ``alarm`` (a hook drill: on a
    failed hook) (None: nothing seen). CodeDeploy: the deployment group's alarmConfiguration and
    autoRollbackConfiguration (a drill deployment carries no override of them). Amazon ECS: every
    UpdateService sends the catalog's alarms and rollback flag, and a failed hook always rolls back,
    so there is no standing configuration to read."""
    if engine != "codedeploy":
        return None
    from orchestrator.aws.deployment_groups import batch_get_deployment_groups
    from orchestrator.engines.guardrails import auto_rollback_events

    settings = service.settings
    group_name = settings.deployment_group
    groups = batch_get_deployment_groups(clients.client("codedeploy"), settings.application, [group_name])
    group = groups.get(group_name)
    if group is None:
        return f"deployment group {group_name} not found"
    events = auto_rollback_events(group.get("autoRollbackConfiguration"))
    if alarm is None:
        return _missing_event(group_name, events, AutoRollbackEvent.DEPLOYMENT_FAILURE, "a failed hook")
    alarms = group.get("alarmConfiguration") or {}
    named = {a.get("name") for a in alarms.get("alarms") or []}
    if not alarms.get("enabled") or alarm not in named:
        return (
            f"deployment group {group_name}'s alarmConfiguration does not watch {alarm} "
            "(`bluegreen alarms sync`)"
        )
    return _missing_event(group_name, events, AutoRollbackEvent.DEPLOYMENT_STOP_ON_ALARM, "an alarm")


def _missing_event(group: str, events: frozenset[str], needed: AutoRollbackEvent, cause: str) -> str | None:
    """The group's autoRollbackConfiguration lacks ``needed``: what that means (None: it has it)."""
    if needed.value in events:
        return None
    verb = "stops" if needed is AutoRollbackEvent.DEPLOYMENT_STOP_ON_ALARM else "fails"
    return (
        f"deployment group {group}'s autoRollbackConfiguration has no {needed.value} "
        f"(events: {', '.join(sorted(events)) or 'none'}): {cause} {verb} the deployment without "
        "rolling it back"
    )


def _live_revision(engine: Any, clients: Any, service: Any) -> str:
    """The task definition ARN live now: the newest Succeeded deployment's (what `rollback` knows),
    else the one the ECS service runs (a service no deployment has reached yet)."""
    from orchestrator.aws.ecs import current_task_definition_arn
    from orchestrator.commands.rollback import task_definition_of

    infos = sorted(
        engine.succeeded_deployments(service), key=lambda i: i.get("createTime") or 0, reverse=True
    )
    if infos:
        live = infos[0]
        if live.get("taskDefinitionArn"):
            return str(live["taskDefinitionArn"])
        content = (live.get("revision") or {}).get("appSpecContent", {}).get("content")
        if content:
            return task_definition_of(str(content))
    settings = service.settings
    return current_task_definition_arn(clients.client("ecs"), settings.cluster, settings.ecs_service)


def _live_image(clients: Any, service: Any, revision: str) -> str:
    """The image of the service's container in the live task definition."""
    from orchestrator.aws.ecs import describe_task_definition
    from orchestrator.files.taskdef import container_image

    container = service.settings.container_name
    image = container_image(describe_task_definition(clients.client("ecs"), revision), container)
    if image is None:
        raise BadInputError(f"the live task definition {revision} has no container {container} with an image")
    return image


class _Injector:
    """Forces the alarm to ALARM once production traffic reaches green, and keeps it there (CloudWatch
    resets a forced state at the alarm's next evaluation) until the deployment ends or rolls back.

    It re-asserts the state at each of the drill's polls and, once given a clock (``keep_with``),
    also from a thread every ``REASSERT_SECONDS``: the engine's alarm poll misses the alarm
    only when it falls between an evaluation and the next re-assertion, and an engine polling at the
    alarm's period falls there at the same phase every period. With re-assertions only at the
    drill's polls (5 s, 8-17 s on a busy machine) two misses in a row pushed a wired drill past its
    bound (CI, 189 s of 188).
    """

    def __init__(self, cloudwatch: Any, alarm: str, deployment_id: str) -> None:
        self.cloudwatch = cloudwatch
        self.alarm = alarm
        self.reason = f"bluegreen drill of deployment {deployment_id}: forced to ALARM on purpose"
        self.injected_at: float | None = None
        self.asserted: list[float] = []  # when the forced state was (re-)asserted, deployment seconds
        self.polled: list[float] = []  # the drill's polls while it kept the state, deployment seconds
        self.reassert_error: str | None = None  # the thread's last failed re-assertion, if any
        self._keep: tuple[Callable[[], float], float] | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._anchor = (0.0, 0.0)  # (deployment seconds, clock) of the latest poll

    def __call__(self, snapshot: Snapshot, _events: list[Any], elapsed: float) -> None:
        if not snapshot.status.is_active or snapshot.rolled_back:
            # no more re-assertions; not waiting here for one in flight (the watch goes on seeing
            # traffic move back): release() and the drill's end wait for it
            self._done.set()
            return
        if self.injected_at is None and not (snapshot.replacement_weight or 0) > 0:
            return  # not yet: the fault goes in once users reach the new task set
        if self._keep is not None:
            self._anchor = (elapsed, self._keep[0]())
        self.polled.append(elapsed)
        self._assert(elapsed)
        if self.injected_at is None:
            self.injected_at = elapsed
            self._start()

    def keep_with(self, clock: Callable[[], float], scale: float) -> None:
        """Re-assert between polls too, on this clock (real seconds) at this time scale."""
        self._keep = (clock, scale)

    def _assert(self, elapsed: float) -> None:
        from orchestrator.aws.clients import cli_call

        cli_call(
            f"SetAlarmState {self.alarm}",
            lambda: self.cloudwatch.set_alarm_state(
                AlarmName=self.alarm, StateValue=AlarmState.ALARM.value, StateReason=self.reason
            ),
        )
        self.asserted.append(elapsed)

    def _start(self) -> None:
        if self._keep is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._reassert, args=self._keep, name="drill-reassert", daemon=True
        )
        self._thread.start()

    def _reassert(self, clock: Callable[[], float], scale: float) -> None:
        every = max(REASSERT_SECONDS / scale, REASSERT_REAL_FLOOR)
        while not self._done.wait(every):
            at, then = self._anchor
            try:
                self._assert(at + (clock() - then) * scale)
            except Exception as err:  # throttled, a network blip: the next one may pass (and a
                # thread's uncaught error would print a traceback on the user's terminal)
                self.reassert_error = str(err) or type(err).__name__

    def stop(self) -> None:
        """No more re-assertions (the deployment ended or rolls back); waits for the thread."""
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def release(self) -> str | None:
        """After the deployment: an alarm still in the drill's forced ALARM goes back to OK (CloudWatch
        would keep it until the alarm's next evaluation, up to a period, and a deployment started
        meanwhile would be stopped on it at once). Its next evaluation decides from the data, as
        ever. What was done, in a line; None when nothing was forced or it already moved on."""
        self.stop()
        if self.injected_at is None:
            return None
        from orchestrator.aws.clients import cli_call

        try:
            found = cli_call(
                f"DescribeAlarms {self.alarm}",
                lambda: self.cloudwatch.describe_alarms(AlarmNames=[self.alarm])["MetricAlarms"],
            )
            if not found or found[0].get("StateReason") != self.reason:
                return None  # evaluated since, or set by someone else: theirs stands
            cli_call(
                f"SetAlarmState {self.alarm}",
                lambda: self.cloudwatch.set_alarm_state(
                    AlarmName=self.alarm,
                    StateValue=AlarmState.OK.value,
                    StateReason=f"{self.reason.split(':')[0]} ended: the forced ALARM released",
                ),
            )
        except BluegreenError as err:
            return f"{self.alarm} left in its forced ALARM until CloudWatch evaluates it again: {err}"
        return f"{self.alarm} back to OK (the drill's forced ALARM released; CloudWatch evaluates it as ever)"

    @property
    def longest_gap(self) -> float:
        """The longest time between two of the drill's polls while it kept the state (0: fewer)."""
        return _longest_gap(self.polled)

    @property
    def longest_reassert_gap(self) -> float:
        """The longest time between two assertions of the forced state (0 with fewer than two)."""
        return _longest_gap(sorted(self.asserted))


def _longest_gap(moments: list[float]) -> float:
    return max((b - a for a, b in pairwise(moments)), default=0.0)


class _HookWatch:
    """Notes when the AfterAllowTraffic hook a hook drill fails got to run: the first poll that shows
    its step under way or over, or production traffic all on green (the hook runs right after)."""

    def __init__(self) -> None:
        self.injected_at: float | None = None
        self.polled: list[float] = []  # deployment seconds of the polls until the deployment ended
        self.shifting = False  # a poll saw users on the replacement (the canary's step)

    def __call__(self, snapshot: Snapshot, _events: list[Any], elapsed: float) -> None:
        if snapshot.status.is_active:
            self.polled.append(elapsed)
        if self.injected_at is not None:
            return
        step = snapshot.lifecycle_model.hook_steps.get(AFTER_ALLOW_TRAFFIC)
        started = step is not None and snapshot.lifecycle_status(step) is not LifecycleStatus.PENDING
        late = snapshot.rolled_back or snapshot.status.is_terminal
        # First seen already rolling back or over (a poll late on a busy machine, or the sandbox's
        # clock held while the hook ran): the hook ran after the previous poll, so that poll is when
        # it went in (the time to rollback is then an upper bound, never the 0 s of one poll seeing
        # both). A rolled-back deployment need not show the step at all (Amazon ECS reports the
        # rollback's stages instead): users on green at an earlier poll then stand for it.
        if started or (snapshot.replacement_weight or 0) >= 100 or (late and self.shifting):
            before = [at for at in self.polled if at < elapsed]
            self.injected_at = before[-1] if late and before else elapsed
        if (snapshot.replacement_weight or 0) > 0:
            self.shifting = True

    @property
    def longest_gap(self) -> float:
        """The longest time between two polls (0 with fewer than two)."""
        return _longest_gap(self.polled)


def _watch(
    engine: Any,
    deployment_id: str,
    timeout: float,
    scale: float,
    injector: _Injector | _HookWatch,
    wiring: str | None,
) -> drill_rules.Observed:
    """Follow the drill deployment to its end (and a separate rollback deployment to its end)."""
    from orchestrator.watching.loop import Watcher, WatchOptions

    clock = engine.server_clock(scale)
    options = WatchOptions(until="done", timeout_seconds=timeout, time_scale=scale, continue_at_ready=True)
    started = clock()
    if isinstance(injector, _Injector):
        injector.keep_with(clock, scale)
    try:
        result = Watcher(engine, deployment_id, clock=clock, sleep=time.sleep, listener=injector).run(options)
    finally:
        if isinstance(injector, _Injector):
            injector.stop()
    snapshot = result.snapshot
    back = result.elapsed_seconds if snapshot.rolled_back and snapshot.status.is_terminal else None
    rollback_id = snapshot.rollback_deployment_id
    if back is not None and rollback_id and rollback_id != deployment_id:
        # CodeDeploy's rollback is a deployment of its own: traffic is back once it succeeded.
        rest = Watcher(engine, rollback_id, clock=clock, sleep=time.sleep).run(
            WatchOptions(until="done", timeout_seconds=timeout, time_scale=scale)
        )
        back = (clock() - started) * scale if rest.snapshot.status.succeeded else None
    return drill_rules.Observed(
        deployment_id=deployment_id,
        status=snapshot.status.value,
        rolled_back=snapshot.rolled_back,
        injected_at=injector.injected_at,
        back_on_blue_at=back,
        wiring_problem=wiring,
    )
