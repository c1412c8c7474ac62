"""The watch loop: polls an engine, feeds snapshots to a listener, stops at a milestone or timeout.

Time is injected (``clock`` returns real seconds, ``sleep`` waits real seconds); ``time_scale``
divides every wait and the timeout so the same loop watches a sandbox on a virtual clock. Durations
it reports are deployment seconds (real seconds x time_scale).
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.aws.clients import backoff_seconds, is_transient
from orchestrator.errors import AwsError, BluegreenError
from orchestrator.watching.snapshots import (
    Event,
    PollPolicy,
    Snapshot,
    diff,
    milestone_reached,
    poll_interval,
    should_continue_at_ready,
)

if TYPE_CHECKING:
    from orchestrator.engines.base import Polled

Listener = Callable[[Snapshot, list[Event], float], None]


class AlarmSource(Protocol):
    """The alarms a deployment watches, read in one call (DescribeAlarms by names, at most 100)."""

    def firing(self) -> tuple[str, ...]:
        """The names of the watched alarms in ALARM now."""
        ...


class Probe(Protocol):
    """A look at the replacement itself (``orchestrator.analysis.probe.GreenProbe``): no AWS call."""

    seconds: float  # deployment seconds between two rounds

    @property
    def answers(self) -> tuple[int, int]:
        """(answers, wrong) so far, for the report."""
        ...

    def round(self) -> str | None:
        """One round; the sign that the replacement is broken, said for a person, or None. Raises
        when the probe cannot work here at all (the watch goes on without it)."""
        ...


# Stops the deployment with rollback, naming the alarms that fired (the engine's stop, one call).
Stopper = Callable[[tuple[str, ...]], None]


@dataclass(frozen=True)
class AlarmStop:
    """The watcher stopped the deployment itself: which alarms it saw in ALARM (or what its green
    probe saw), and when."""

    alarms: tuple[str, ...]
    at_seconds: float  # deployment seconds since the watch started
    error: str | None = None  # the stop request failed (the deployment goes on; the report says why)
    probe: str | None = None  # the green probe's sign, when it was the probe that stopped it


@dataclass(frozen=True)
class StopOnAlarm:
    """Stop at the first sign (issue 14 item 3): every poll while the deployment runs also reads the
    watched alarms (one DescribeAlarms, counted in the call budget), and while production users reach
    the replacement so do the waits between polls, as the budget allows; the first read that sees one
    in ALARM stops the deployment with rollback at once instead of waiting for the engine's own alarm
    poll (CodeDeploy's and ECS's: about a minute). ``probe`` (opt-in, ``--probe-green``): while
    production users reach the replacement, the watcher also probes it every ``probe.seconds``
    between its polls, and its sign stops the deployment the same way."""

    alarms: AlarmSource | None
    stop: Stopper
    calls_per_check: int = 1
    probe: Probe | None = None


@dataclass(frozen=True)
class WatchOptions:
    """What to wait for and for how long (deployment seconds)."""

    until: str = "done"
    timeout_seconds: float = 3600.0
    time_scale: float = 1.0
    ready_waits: bool = False  # ready action STOP_DEPLOYMENT: "ready" means status Ready
    # deploy/rollback: continue a deployment waiting at Ready (unless until == "ready")
    continue_at_ready: bool = False
    policy: PollPolicy = field(default_factory=PollPolicy)
    # Polls in a row whose reads failed transiently (throttled, timed out, 5xx) before the watch
    # gives up: each of them already had botocore's 6 attempts.
    max_failed_polls: int = 8


def keep_watching_after(err: BaseException, failed_in_a_row: int, limit: int) -> bool:
    """A failed poll is data, not the end of the watch: go on while the failure is transient
    (throttling, timeout, 5xx) and fewer than ``limit`` polls in a row have failed (pure)."""
    return is_transient(err) and failed_in_a_row < limit


@dataclass
class WatchResult:
    """How a watch ended."""

    deployment_id: str
    snapshot: Snapshot
    events: list[Event]
    reached: bool  # the --until milestone was reached (for "done": the deployment finished)
    timed_out: bool
    elapsed_seconds: float
    polls: int
    calls: int
    max_calls_per_minute: int
    stopped_on_alarm: AlarmStop | None = None  # the watcher stopped it (StopOnAlarm)
    probe_rounds: int = 0  # rounds of the green probe (StopOnAlarm.probe)
    probe_off: str | None = None  # why the green probe was switched off (it could not work here)
    probe_answers: tuple[int, int] = (0, 0)  # (answers, wrong) the green probe got


class CallBudget:
    """A sliding one-minute window (scaled) that bounds API calls per minute."""

    def __init__(self, per_minute: int, window_seconds: float, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.window = window_seconds
        self.clock = clock
        self._calls: deque[float] = deque()
        self.total = 0
        self.peak = 0

    def _trim(self, now: float) -> None:
        while self._calls and now - self._calls[0] >= self.window:
            self._calls.popleft()

    def wait_needed(self, cost: int) -> float:
        """Real seconds to wait before ``cost`` more calls fit in the window."""
        now = self.clock()
        self._trim(now)
        excess = len(self._calls) + cost - self.per_minute
        if excess <= 0:
            return 0.0
        return max(0.0, self._calls[excess - 1] + self.window - now)

    def spend(self, cost: int) -> None:
        now = self.clock()
        self._trim(now)
        self._calls.extend([now] * cost)
        self.total += cost
        self.peak = max(self.peak, len(self._calls))


class SnapshotSource(Protocol):
    """What the loop polls: the part of ``engines.base.Engine`` a watch needs."""

    def snapshot(self, deployment_id: str, previous: Snapshot | None = None) -> Polled: ...

    def poll_calls(self, deployment_id: str) -> int: ...

    def promote(self, deployment_id: str) -> None: ...


class Watcher:
    """Polls one deployment; ``run`` returns a WatchResult (never raises for a failed deployment)."""

    def __init__(
        self,
        source: SnapshotSource,
        deployment_id: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        listener: Listener | None = None,
        stop_on_alarm: StopOnAlarm | None = None,
    ) -> None:
        self.source = source
        self.deployment_id = deployment_id
        self.clock = clock
        self.sleep = sleep
        self.listener = listener
        self.stop_on_alarm = stop_on_alarm
        self._continued = False
        self._stopped: AlarmStop | None = None
        self.unread_alarms: str | None = None  # why the alarms could not be read (StopOnAlarm dropped)
        self.unprobed: str | None = None  # why the green probe was switched off
        self.probe_rounds = 0
        self._probe_answers: tuple[int, int] = (0, 0)

    def _checks_alarms(self, snapshot: Snapshot) -> bool:
        """Whether this poll also reads the alarms: asked to, not stopped yet, the deployment running."""
        checking = self.stop_on_alarm is not None and self._stopped is None
        # A rollback already under way (ECS rolling back by itself) needs no second stop.
        return checking and snapshot.status.is_active and not snapshot.rolled_back

    def _reads_alarms(self) -> bool:
        return (
            self.stop_on_alarm is not None and self.stop_on_alarm.alarms is not None and self._stopped is None
        )

    def _probe_given(self) -> bool:
        given = self.stop_on_alarm is not None and self.stop_on_alarm.probe is not None
        return given and self._stopped is None

    def _poll_cost(self) -> int:
        """Calls one poll makes: the engine's look, plus the alarm read while alarms are checked."""
        extra = self.stop_on_alarm.calls_per_check if self.stop_on_alarm and self._reads_alarms() else 0
        return self.source.poll_calls(self.deployment_id) + extra

    def _check_alarms(self, budget: CallBudget, elapsed: float) -> bool:
        """Reads the watched alarms; the first time one is in ALARM, stops the deployment with
        rollback. True when it asked to stop (the next poll comes soon: traffic moves back)."""
        assert self.stop_on_alarm is not None
        if self.stop_on_alarm.alarms is None:
            return False
        try:
            firing = self.stop_on_alarm.alarms.firing()
        except Exception as err:  # the alarm read is extra: never a reason for the watch to end
            # No cloudwatch:DescribeAlarms permission, throttled, no client: the engine still watches
            # the alarms; this watcher stops reading them and says so in the report.
            self.unread_alarms = str(err) or type(err).__name__
            self.stop_on_alarm = dataclasses.replace(self.stop_on_alarm, alarms=None)
            return False
        budget.spend(self.stop_on_alarm.calls_per_check)
        if not firing:
            return False
        return self._stop_now(firing, elapsed, budget)

    def _stop_now(
        self, firing: tuple[str, ...], elapsed: float, budget: CallBudget, probe: str | None = None
    ) -> bool:
        """Stops the deployment with rollback (once); True when the request was accepted."""
        assert self.stop_on_alarm is not None
        budget.spend(1)
        error: str | None = None
        try:
            self.stop_on_alarm.stop(firing)
        except BluegreenError as err:  # ended meanwhile, or not allowed: the engine's alarms still apply
            error = str(err)
        self._stopped = AlarmStop(firing, round(elapsed, 1), error, probe)
        return error is None

    def _probe(self, budget: CallBudget, elapsed: float) -> None:
        """One round of the green probe; its sign stops the deployment."""
        assert self.stop_on_alarm is not None and self.stop_on_alarm.probe is not None
        probe = self.stop_on_alarm.probe
        try:
            sign = probe.round()
        except Exception as err:  # the probe is extra: never a reason for the watch to end
            self.unprobed = str(err) or type(err).__name__
            self.stop_on_alarm = dataclasses.replace(self.stop_on_alarm, probe=None)
            return
        self.probe_rounds += 1
        self._probe_answers = probe.answers
        if sign is not None:
            self._stop_now((), elapsed, budget, probe=sign)

    def _between_polls(self, snapshot: Snapshot) -> bool:
        """Whether to look between polls: production users on the replacement, and a probe given or
        alarms read (what ends their exposure is seen at its own pace, not the engine poll's)."""
        looking = self._probe_given() or self._reads_alarms()
        return looking and self._checks_alarms(snapshot) and snapshot.users_on_replacement

    def _wait(
        self, seconds: float, snapshot: Snapshot, start: float, options: WatchOptions, budget: CallBudget
    ) -> None:
        """Sleeps ``seconds`` (real) until the next poll. While users reach green, meanwhile probes
        green every ``probe.seconds`` (a probe given) and reads the alarms as often as the call
        budget's share of the wait allows (``_read_spacing``); once a sign stopped the deployment,
        polls again within the quick interval (traffic moves back)."""
        scale = options.time_scale
        now = self.clock()
        end = now + seconds
        next_probe = now
        spacing = self._read_spacing(seconds * scale, options.policy) if self._reads_alarms() else None
        # the poll has just read them: the first read comes a spacing later (none without room)
        next_read = now + spacing / scale if spacing is not None else math.inf
        while self._between_polls(snapshot) and now < end:
            # (at the wait's end the poll comes now: it reads the alarms itself and the next wait
            # probes at once; a read here was a second DescribeAlarms at the poll's moment)
            if self._probe_given() and now >= next_probe:
                assert self.stop_on_alarm is not None and self.stop_on_alarm.probe is not None
                next_probe = now + self.stop_on_alarm.probe.seconds / scale
                self._probe(budget, (now - start) * scale)
            if self._reads_alarms() and now >= next_read:  # (none once stopped)
                assert self.stop_on_alarm is not None and spacing is not None
                next_read = now + spacing / scale
                room = self.stop_on_alarm.calls_per_check + self._poll_cost()
                if budget.wait_needed(room) <= 0:
                    self._check_alarms(budget, (self.clock() - start) * scale)
            if self._stopped is not None:
                end = min(end, self.clock() + options.policy.moving_seconds / scale)
                break
            now = self.clock()
            left = end - now
            if left <= 0:
                return
            due = [
                at for at, on in ((next_probe, self._probe_given()), (next_read, self._reads_alarms())) if on
            ]
            self.sleep(min(left, max(0.0, min(due, default=end) - now)))
            now = self.clock()
        left = end - self.clock()
        if left > 0:
            self.sleep(left)

    def _read_spacing(self, wait: float, policy: PollPolicy) -> float | None:
        """Deployment seconds between the alarm reads of a wait of ``wait`` deployment seconds, or
        None: the budget's share of the wait, less the next poll (its calls and its own read), holds
        ``n`` reads, at most one per ``policy.alarm_seconds``, spread evenly (an ECS poll every 5 s at
        36 calls a minute: one read, 2.5 s after the poll). Reads taken whenever the sliding minute
        had room came in bursts that filled it, and then the polls themselves waited (10 s apart)."""
        assert self.stop_on_alarm is not None
        per_read = max(1, self.stop_on_alarm.calls_per_check)
        spare = policy.max_calls_per_minute * wait / 60.0 - self._poll_cost()
        reads = min(int(spare // per_read), math.ceil(wait / policy.alarm_seconds) - 1)
        return max(policy.alarm_seconds, wait / (reads + 1)) if reads > 0 else None

    def _poll(self, previous: Snapshot | None, budget: CallBudget) -> Snapshot:
        polled = self.source.snapshot(self.deployment_id, previous)
        budget.spend(polled.calls)
        return polled.snapshot

    def _continue(self, budget: CallBudget) -> None:
        """The engine's promote, as `bluegreen promote` does (CodeDeploy: ContinueDeployment
        READY_WAIT; Amazon ECS: ContinueServiceDeployment CONTINUE on the waiting PAUSE hook)."""
        from orchestrator.errors import BadInputError

        budget.spend(1)
        try:
            self.source.promote(self.deployment_id)
        except BadInputError:
            # Not in the Ready wait: promoted by someone else, stopped, the wait ended (the next poll
            # says so), or not yet (Ready shown a moment before the wait began): a later poll that
            # still sees Ready asks again.
            return
        self._continued = True  # accepted: once per watch (Ready may still show for a poll or two)

    def run(self, options: WatchOptions) -> WatchResult:
        scale = options.time_scale
        start = self.clock()
        deadline = start + options.timeout_seconds / scale
        budget = CallBudget(options.policy.max_calls_per_minute, 60.0 / scale, self.clock)
        events: list[Event] = []
        previous: Snapshot | None = None
        polls = 0
        failed = 0
        while True:
            try:
                snapshot = self._poll(previous, budget)
            except AwsError as err:
                failed += 1
                if not keep_watching_after(err, failed, options.max_failed_polls):
                    raise
                now = self.clock()
                if previous is not None and now >= deadline:
                    return self._result(previous, events, False, True, (now - start) * scale, polls, budget)
                self.sleep(min(backoff_seconds(failed, cap=30.0 / scale), max(0.0, deadline - now)))
                continue
            failed = 0
            polls += 1
            elapsed = (self.clock() - start) * scale
            new_events = diff(previous, snapshot, elapsed)
            events.extend(new_events)
            if self.listener is not None:
                self.listener(snapshot, new_events, elapsed)
            reached = milestone_reached(snapshot, options.until, options.ready_waits)
            if reached or snapshot.status.is_terminal:
                return self._result(snapshot, events, reached, False, elapsed, polls, budget)
            watching_alarms = self._checks_alarms(snapshot) and self._reads_alarms()
            stopping = watching_alarms and self._check_alarms(budget, elapsed)
            now = self.clock()
            if now >= deadline:
                return self._result(snapshot, events, False, True, elapsed, polls, budget)
            wait = poll_interval(previous, snapshot, options.policy, watching_alarms=watching_alarms) / scale
            if stopping:
                wait = options.policy.moving_seconds / scale  # traffic is about to move back
            elif self._probe_given() and snapshot.shift_is_next:
                # The probe starts with the shift: notice it at the quick interval (the budget paces).
                wait = min(wait, options.policy.moving_seconds / scale)
            if not self._continued and should_continue_at_ready(
                snapshot, options.until, options.continue_at_ready
            ):
                self._continue(budget)
                wait = options.policy.moving_seconds / scale  # traffic is about to move
            wait = max(wait, budget.wait_needed(self._poll_cost()))
            self._wait(min(wait, max(0.0, deadline - now)), snapshot, start, options, budget)
            previous = snapshot

    def _result(
        self,
        snapshot: Snapshot,
        events: list[Event],
        reached: bool,
        timed_out: bool,
        elapsed: float,
        polls: int,
        budget: CallBudget,
    ) -> WatchResult:
        return WatchResult(
            deployment_id=self.deployment_id,
            snapshot=snapshot,
            events=events,
            reached=reached,
            timed_out=timed_out,
            elapsed_seconds=elapsed,
            polls=polls,
            calls=budget.total,
            max_calls_per_minute=budget.peak,
            stopped_on_alarm=self._stopped,
            probe_rounds=self.probe_rounds,
            probe_off=self.unprobed,
            probe_answers=self._probe_answers,
        )


class DeploymentClock:
    """Real seconds as the service's own clock counts them, for ``Watcher(clock=...)``.

    Every AWS answer carries the standard HTTP ``Date`` header (RFC 7231: the server's clock when it
    answered, 1 s resolution). AWS's clock runs with real time (time_scale 1). The sandbox's
    CodeDeploy emulator sends its virtual time there, which runs ``time_scale`` times faster and slows
    down when the machine is busy (sandbox/clock.py): counting ``real seconds x time_scale``, a watch
    would time out while the deployment is on schedule on its own clock. Once an answer was seen this
    clock advances with the server's (server seconds / time_scale, extrapolated at the nominal rate
    between answers, and never backwards), so timeouts and durations are in the deployment's seconds.
    Only differences count: a server clock hours ahead of ours (a sandbox's, or skew) is no jump.
    The 1 s resolution costs at most 1 / time_scale real s (25 ms at 40x, 1 s against AWS)."""

    HEADER = "Date"

    def __init__(
        self,
        client: Any,
        time_scale: float,
        real: Callable[[], float] = time.monotonic,
        service: str = "codedeploy",  # botocore's event name of the client's service ("ecs": the ECS engine)
    ) -> None:
        self.time_scale = time_scale
        self.real = real
        self._anchor: tuple[float, float] | None = None  # (our value, server time) at the first answer
        self._last: tuple[float, float] | None = None  # (real, server time) at the latest answer
        self._returned = float("-inf")
        client.meta.events.register(f"after-call.{service}", self._stamped)

    def _stamped(self, http_response: Any = None, **_: Any) -> None:
        try:
            server = server_time(http_response.headers[self.HEADER])
        except (AttributeError, KeyError, TypeError, ValueError):
            return  # no answer, or no date in it: real time it is
        real = self.real()
        if self._anchor is None:
            self._anchor = (max(real, self._returned), server)
        self._last = (real, server)

    @property
    def server_now(self) -> float | None:
        """The server's epoch seconds at its latest answer (its ``Date``); None before one."""
        return self._last[1] if self._last is not None else None

    def __call__(self) -> float:
        real = self.real()
        if self._anchor is None or self._last is None:
            value = real
        else:
            server = self._last[1] + (real - self._last[0]) * self.time_scale
            value = self._anchor[0] + (server - self._anchor[1]) / self.time_scale
        self._returned = max(self._returned, value)
        return self._returned


def server_time(date: str) -> float:
    """Epoch seconds of an HTTP ``Date`` value ('Sun, 29 Nov 2026 20:34:40 GMT'); ValueError if none."""
    when = email.utils.parsedate_to_datetime(date)
    if when.tzinfo is None:  # '-0000': RFC 5322's "UTC, source zone unknown"; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
