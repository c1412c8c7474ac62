"""The picture of one deployment as data: ``Evidence`` -> ``Timeline`` (pure: no boto3, no matplotlib).

``bluegreen timeline`` draws it (``timeline_text`` for a terminal, ``timeline_figure`` for SVG/PNG/HTML).
Every time is in seconds since ``Timeline.origin`` (the deployment's creation, else the earliest
time known), so the renderers never do date arithmetic. The lanes:

- traffic: the replacement's (green's) share of production traffic from ``inspection.traffic``, a
  step function starting at 0 %; blue's share is the rest. CodeDeploy pins it (AllowTraffic's times:
  no AllowTraffic start, no production traffic ever moved, whatever a hook logged). When the engine
  could not pin it (ECS says when a shift ran only for a deployment that succeeded), the strategy's schedule
  (``insight.traffic.scheduled_traffic``) starts at the first passed line of the hook that runs
  before production traffic moves (BeforeAllowTraffic, ECS's PRE_PRODUCTION_TRAFFIC_SHIFT), ends
  at the first line of the hook after it (AfterAllowTraffic), and goes back to blue when the
  rollback started;
- lifecycle: one span per lifecycle event (CodeDeploy) or stage (ECS) with its verdict. CodeDeploy
  times every event; Amazon ECS keeps no per-stage history, so a step without times of its own is
  timed by the hooks' verdict lines at that step (``source`` "hooks"): it ends at its last line and
  starts where the step before it ended (steps run one after another), else at its first line; a
  step with an end but no start (the stage ECS reached) starts where the step before it ended. A
  step nothing times is kept with no times (the table lists it; the picture cannot place it);
- hooks: one span per (step, function) from its first verdict line to its last (an ECS bake answers
  IN_PROGRESS many times), with the final verdict;
- alarms: per alarm, bands of OK / ALARM / INSUFFICIENT_DATA from ``evidence.alarms``; before its
  first change the alarm was in that change's old state; an alarm the deployment watched that did not
  change in the window is one band of unknown state (``None``);
- rollback: the rollback's own steps (CodeDeploy's rollback deployment's lifecycle events);
- marks: the failed step, a stop, the rollback's start and end, the deployment's end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orchestrator.errors import BluegreenError
from orchestrator.insight.evidence import AlarmChange, Evidence, HookVerdict, Outcome, Step, TrafficPoint
from orchestrator.insight.traffic import scheduled_traffic
from orchestrator.strategies import Strategy, parse_strategy
from orchestrator.vocabulary import (
    AFTER_ALLOW_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    EVENT_FOR_NATIVE_STAGE,
    NATIVE_STAGE_FOR_EVENT,
    EngineName,
)


class Verdict(StrEnum):
    """A step's or a hook's verdict, whichever engine's word it came in."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    SKIPPED = "skipped"
    IN_PROGRESS = "in progress"
    PENDING = "pending"
    UNKNOWN = "unknown"


# The engines' words (CodeDeploy's LifecycleEventStatus, ECS's hook and deployment statuses, the
# hooks' verdict words), compared without case, "_" or spaces.
_VERDICT_WORDS = {
    "succeeded": Verdict.SUCCEEDED,
    "successful": Verdict.SUCCEEDED,
    "success": Verdict.SUCCEEDED,
    "failed": Verdict.FAILED,
    "failure": Verdict.FAILED,
    "timedout": Verdict.FAILED,
    "stopped": Verdict.STOPPED,
    "skipped": Verdict.SKIPPED,
    "inprogress": Verdict.IN_PROGRESS,
    "awaitingaction": Verdict.IN_PROGRESS,
    "pending": Verdict.PENDING,
}


def verdict_of(word: str | None) -> Verdict:
    """``Succeeded``, ``SUCCEEDED``, ``IN_PROGRESS``, ``InProgress``... as a ``Verdict``."""
    key = "".join((word or "").split()).replace("_", "").lower()
    return _VERDICT_WORDS.get(key, Verdict.UNKNOWN)


class MarkKind(StrEnum):
    """A moment drawn across every lane."""

    FAILED = "failed"  # the step whose failure ended the deployment
    STOPPED = "stopped"
    ROLLBACK_STARTED = "rollback started"
    ROLLBACK_COMPLETED = "rollback completed"
    ENDED = "ended"  # the deployment completed (any outcome)


@dataclass(frozen=True)
class TrafficStep:
    """From ``at`` on, green had ``green_percent`` of production traffic (blue the rest)."""

    at: float
    green_percent: float

    @property
    def blue_percent(self) -> float:
        return 100.0 - self.green_percent


@dataclass(frozen=True)
class Span:
    """A lifecycle step, a hook or a rollback step: from ``start`` to ``end`` (None: not known)."""

    label: str
    verdict: Verdict
    start: float | None
    end: float | None
    detail: str | None = None  # the step's diagnostics or the hook's reason
    source: str = "engine"  # engine (its API's times) | hooks (the hooks' verdict lines) | none
    function: str | None = None  # the hook's Lambda function (the hooks lane)

    @property
    def placed(self) -> bool:
        """Both ends known: the picture can draw it."""
        return self.start is not None and self.end is not None


@dataclass(frozen=True)
class Band:
    """An alarm in ``state`` (OK | ALARM | INSUFFICIENT_DATA; None: unknown) from ``start`` to ``end``."""

    alarm: str
    state: str | None
    start: float
    end: float
    reason: str | None = None  # CloudWatch's stateReason of the change that began the band


@dataclass(frozen=True)
class Mark:
    """A moment across every lane."""

    kind: MarkKind
    at: float
    label: str


@dataclass(frozen=True)
class Timeline:
    """One deployment's lanes; every time in seconds since ``origin``; ``end`` is the last second shown."""

    deployment_id: str
    engine: str
    service: str | None
    environment: str | None
    strategy: str | None
    status: str
    outcome: Outcome
    origin: datetime
    end: float
    traffic: tuple[TrafficStep, ...]
    lifecycle: tuple[Span, ...]
    hooks: tuple[Span, ...]
    alarms: tuple[Band, ...]
    rollback: tuple[Span, ...]
    marks: tuple[Mark, ...]
    unreadable: tuple[str, ...]  # "source: problem" for each source that could not be read

    @property
    def short_id(self) -> str:
        """The id as a title shows it: an ECS service deployment ARN's last part (its cluster and
        service are in the ARN before it, and the service in the title), CodeDeploy's as it is."""
        if self.deployment_id.startswith("arn:"):
            return self.deployment_id.rsplit("/", 1)[-1]
        return self.deployment_id

    @property
    def title(self) -> str:
        """``product-service (dev) d-X canary10 on codedeploy: rolled back``."""
        where = f"{self.service} ({self.environment}) " if self.service else ""
        strategy = f" {self.strategy}" if self.strategy else ""
        return f"{where}{self.short_id}{strategy} on {self.engine}: {self.outcome.value}"

    @property
    def alarm_names(self) -> tuple[str, ...]:
        """The alarms in the order their bands come."""
        return tuple(dict.fromkeys(band.alarm for band in self.alarms))


def build(evidence: Evidence) -> Timeline:
    """The timeline of the deployment ``evidence`` describes."""
    inspection, facts = evidence.inspection, evidence.facts
    origin = _origin(evidence)
    clock = _Clock(origin)
    lifecycle = _lifecycle_spans(inspection.steps, evidence.hooks, clock)
    hooks = _hook_spans(evidence.hooks, clock)
    rollback = tuple(_step_span(step, clock) for step in inspection.rollback_steps)
    marks = _marks(evidence, lifecycle, rollback, clock)
    end = _end(clock, evidence, (*lifecycle, *hooks, *rollback), marks)
    return Timeline(
        deployment_id=facts.deployment_id,
        engine=facts.engine,
        service=facts.service,
        environment=facts.environment,
        strategy=facts.strategy,
        status=facts.status,
        outcome=facts.outcome,
        origin=origin,
        end=end,
        traffic=_traffic(evidence, clock),
        lifecycle=lifecycle,
        hooks=hooks,
        alarms=_alarm_bands(inspection.alarm_names, evidence.alarms, clock, end),
        rollback=rollback,
        marks=marks,
        unreadable=tuple(f"{u.source}: {u.problem}" for u in evidence.all_unreadable()),
    )


@dataclass(frozen=True)
class _Clock:
    origin: datetime

    def at(self, moment: datetime | None) -> float | None:
        if moment is None:
            return None
        return round((moment - self.origin).total_seconds(), 3)


def _origin(evidence: Evidence) -> datetime:
    """The deployment's creation, else the earliest time any source gives."""
    created = evidence.facts.created
    if created is not None:
        return created
    known = sorted(_all_times(evidence))
    if not known:
        raise ValueError(f"{evidence.facts.deployment_id}: no source gives any time to draw")
    return known[0]


def _all_times(evidence: Evidence) -> Iterable[datetime]:
    inspection, facts = evidence.inspection, evidence.facts
    for step in (*inspection.steps, *inspection.rollback_steps):
        yield from (t for t in (step.started, step.ended) if t is not None)
    yield from (point.at for point in inspection.traffic)
    yield from (hook.at for hook in evidence.hooks if hook.at is not None)
    yield from (change.at for change in evidence.alarms)
    yield from (t for t in (facts.completed, facts.rollback_started) if t is not None)


def _traffic(evidence: Evidence, clock: _Clock) -> tuple[TrafficStep, ...]:
    """Green's share as a step function from 0 s (0 % until the first point). CodeDeploy's inspection
    is the whole truth: a deployment stopped after the gate hook passed but before AllowTraffic
    started moved no production traffic, though the hook's passed line is there."""
    points = evidence.inspection.traffic
    if not points and evidence.facts.engine != EngineName.CODEDEPLOY:
        points = _traffic_from_hooks(evidence)
    steps = [TrafficStep(0.0, 0.0)]
    for point in sorted(points, key=lambda p: p.at):
        at = max(0.0, clock.at(point.at) or 0.0)
        if steps[-1].at == at:
            steps[-1] = TrafficStep(at, point.green_percent)
        elif steps[-1].green_percent != point.green_percent:
            steps.append(TrafficStep(at, point.green_percent))
    return tuple(steps)


def _traffic_from_hooks(evidence: Evidence) -> tuple[TrafficPoint, ...]:
    """The strategy's schedule between the hooks around the production shift (see the module doc)."""
    strategy = _strategy(evidence.facts.strategy)
    passed = [
        hook.at
        for hook in _hooks_at(BEFORE_ALLOW_TRAFFIC, evidence.hooks)
        if hook.at is not None and verdict_of(hook.verdict) is Verdict.SUCCEEDED
    ]
    if strategy is None or not passed:
        return ()
    after = [hook.at for hook in _hooks_at(AFTER_ALLOW_TRAFFIC, evidence.hooks) if hook.at is not None]
    facts, shift_ended = evidence.facts, (min(after) if after else None)
    return scheduled_traffic(
        strategy, min(passed), shift_ended, facts.rollback_started, until=facts.completed
    )


def _strategy(name: str | None) -> Strategy | None:
    """bluegreen's strategy of that name (None: unknown, or the engine's own words for another)."""
    if not name:
        return None
    try:
        return parse_strategy(name)
    except BluegreenError:
        return None


def _step_span(step: Step, clock: _Clock) -> Span:
    return Span(
        label=step.name,
        verdict=verdict_of(step.status),
        start=clock.at(step.started),
        end=clock.at(step.ended),
        detail=_joined(step.error_code, step.message),
        source="engine" if step.started is not None or step.ended is not None else "none",
    )


def _lifecycle_spans(steps: Sequence[Step], hooks: Sequence[HookVerdict], clock: _Clock) -> tuple[Span, ...]:
    """The steps in order; times a step lacks come from its hooks' lines and the step before it
    (see the module doc)."""
    spans: list[Span] = []
    previous_end: float | None = 0.0  # the first step starts at the creation
    for step in steps:
        span = _step_span(step, clock)
        if span.end is None:
            span = _timed_by_hooks(span, _hooks_at(step.name, hooks), previous_end, clock)
        elif span.start is None and previous_end is not None:
            span = dataclasses.replace(span, start=min(previous_end, span.end))
        spans.append(span)
        previous_end = span.end
    return tuple(spans)


def _timed_by_hooks(
    span: Span, lines: Sequence[HookVerdict], previous_end: float | None, clock: _Clock
) -> Span:
    """The step ends at its hook's last line; it started when the step before it ended, else at
    the hook's first line."""
    times = [t for t in (clock.at(line.at) for line in lines) if t is not None]
    if not times:
        return span
    start = span.start
    if start is None:
        start = min(previous_end, min(times)) if previous_end is not None else min(times)
    return dataclasses.replace(span, start=start, end=max(times), source="hooks")


def _hooks_at(step: str, hooks: Sequence[HookVerdict]) -> list[HookVerdict]:
    """The hook lines of ``step``, whether a line names the ECS stage or the CodeDeploy event."""
    names = {step, EVENT_FOR_NATIVE_STAGE.get(step), NATIVE_STAGE_FOR_EVENT.get(step)}
    return [hook for hook in hooks if hook.step in names]


def _hook_spans(hooks: Sequence[HookVerdict], clock: _Clock) -> tuple[Span, ...]:
    """One span per (step, function), first line to last, in the order the hooks first answered."""
    groups: dict[tuple[str, str], list[HookVerdict]] = {}
    for hook in sorted(hooks, key=lambda h: (h.at is None, h.at or clock.origin)):
        groups.setdefault((hook.step, hook.function), []).append(hook)
    return tuple(_hook_span(step, lines, clock) for (step, _), lines in groups.items())


def _hook_span(step: str, lines: Sequence[HookVerdict], clock: _Clock) -> Span:
    times = [t for t in (clock.at(line.at) for line in lines) if t is not None]
    last = lines[-1]
    failed = next((line for line in lines if verdict_of(line.verdict) is Verdict.FAILED), None)
    chosen = failed or last
    return Span(
        label=step,
        verdict=verdict_of(chosen.verdict),
        start=min(times) if times else None,
        end=max(times) if times else None,
        detail=chosen.reason or None,
        source="hooks",
        function=last.function,
    )


def _alarm_bands(
    watched: Sequence[str], changes: Sequence[AlarmChange], clock: _Clock, end: float
) -> tuple[Band, ...]:
    """Per alarm (watched first, then any other that changed), its states across the window."""
    by_alarm: dict[str, list[AlarmChange]] = {name: [] for name in watched}
    for change in sorted(changes, key=lambda c: c.at):
        by_alarm.setdefault(change.alarm, []).append(change)
    bands: list[Band] = []
    for alarm, history in by_alarm.items():
        bands.extend(_bands_of(alarm, history, clock, end))
    return tuple(bands)


def _bands_of(alarm: str, history: Sequence[AlarmChange], clock: _Clock, end: float) -> list[Band]:
    if not history:
        return [Band(alarm, None, 0.0, end)]
    bands: list[Band] = []
    start, state, reason = 0.0, history[0].old_state, None
    for change in history:
        at = min(max(0.0, clock.at(change.at) or 0.0), end)
        if at > start:
            bands.append(Band(alarm, state, start, at, reason))
        start, state, reason = at, change.new_state, change.reason
    if end > start or not bands:
        bands.append(Band(alarm, state, start, end, reason))
    return bands


def _marks(
    evidence: Evidence, lifecycle: Sequence[Span], rollback: Sequence[Span], clock: _Clock
) -> tuple[Mark, ...]:
    """The failed step, a stop, the rollback's start and end, the end; in time order."""
    facts = evidence.facts
    marks: list[Mark] = []
    failed = next((s for s in lifecycle if s.verdict is Verdict.FAILED and s.end is not None), None)
    if failed is not None and failed.end is not None:
        marks.append(Mark(MarkKind.FAILED, failed.end, f"{failed.label} failed"))
    completed = clock.at(facts.completed)
    if (facts.stopped_by_user or facts.outcome is Outcome.STOPPED) and completed is not None:
        marks.append(Mark(MarkKind.STOPPED, completed, "stopped"))
    started = clock.at(facts.rollback_started)
    if started is None and rollback:
        started = min((s.start for s in rollback if s.start is not None), default=None)
    if started is not None:
        marks.append(Mark(MarkKind.ROLLBACK_STARTED, started, _rollback_label(facts.rollback_reason)))
    back = _rollback_completed(evidence, rollback, completed)
    if back is not None:
        marks.append(Mark(MarkKind.ROLLBACK_COMPLETED, back, "rollback completed"))
    if completed is not None and back != completed:
        marks.append(Mark(MarkKind.ENDED, completed, f"{facts.outcome.value} ({facts.status})"))
    return tuple(sorted(marks, key=lambda m: m.at))


def _rollback_label(reason: str | None) -> str:
    return f"rollback started: {reason}" if reason else "rollback started"


def _rollback_completed(
    evidence: Evidence, rollback: Sequence[Span], completed: float | None
) -> float | None:
    """The rollback's own last step (CodeDeploy), else, rolled back in place (ECS), the completion."""
    ends = [span.end for span in rollback if span.end is not None]
    if ends:
        return max(ends)
    if evidence.facts.rolled_back and evidence.facts.rollback_deployment_id is None:
        return completed
    return None


def _end(clock: _Clock, evidence: Evidence, spans: Sequence[Span], marks: Sequence[Mark]) -> float:
    """The last second any lane knows of (at least 1 s, so an axis always has a width)."""
    known = [s.end for s in spans if s.end is not None] + [m.at for m in marks]
    known += [t for t in (clock.at(p.at) for p in evidence.inspection.traffic) if t is not None]
    known += [t for t in (clock.at(c.at) for c in evidence.alarms) if t is not None]
    return max([1.0, *known])


def _joined(*parts: str | None) -> str | None:
    text = ": ".join(part for part in parts if part)
    return text or None
