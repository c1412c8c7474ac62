"""The fleet's scheduler: which service starts, waits, stops or is skipped, and the loop that does it.

``decide(state)`` is pure: given where every service of the fleet stands (wave, dependencies, its
deployment's standing) and the run's policy, it answers the actions to take now:

- waves run one after another: a service of wave N+1 starts only once every service of wave N has
  ended (succeeded, failed, or was skipped);
- at most ``max_parallel`` services of the wave are in flight (running, stopping, or queued: a queued
  service holds its slot, it is the next to run);
- a service whose deployment group (or ECS service) already runs a deployment is *queued*, not
  failed: the start is retried every ``recheck_seconds`` and the service fails once it has waited
  ``queue_wait_seconds``;
- on the first failure nothing new starts (queued and waiting services are skipped) and, by default
  (``stop_on_failure``), the in-flight deployments are stopped with rollback; ``continue_on_failure``
  keeps going instead, starting only services whose every dependency succeeded (the others are
  skipped, naming the dependency).

``FleetRunner`` is the loop around it (clock and sleep injected, every wait bounded by the deadline):
it applies the actions through each service's own ``Engine`` (``start`` the plan made by the same
plan -> guardrails path as ``bluegreen deploy``; ``stop`` with rollback; ``promote`` a deployment
waiting at Ready, as deploy's watcher does), looks at every running deployment with ONE
``Engine.snapshots`` call per engine per poll (batched by the engine), and counts the API calls of
its polls in a sliding one-minute ``CallBudget`` that bounds them (``max_calls_per_minute``) and
reports the peak. Times are deployment seconds (real seconds x ``time_scale``), as in watching/loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from orchestrator.errors import ActiveDeploymentError, BluegreenError
from orchestrator.vocabulary import DeploymentStatus
from orchestrator.watching.loop import CallBudget
from orchestrator.watching.snapshots import PollPolicy, Snapshot, poll_interval, should_continue_at_ready


class Standing(StrEnum):
    """Where one service of the fleet stands."""

    WAITING = "waiting"  # not started yet: its wave has not come, or no slot is free
    QUEUED = "queued"  # its deployment group / ECS service runs another deployment: re-checked
    RUNNING = "running"
    STOPPING = "stopping"  # the fleet asked its engine to stop it with rollback
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # failed, stopped or rolled back; its start refused; the queue wait ran out
    SKIPPED = "skipped"  # never started: the fleet stopped, or a dependency did not succeed

    @property
    def ended(self) -> bool:
        return self in (Standing.SUCCEEDED, Standing.FAILED, Standing.SKIPPED)

    @property
    def in_flight(self) -> bool:
        """Holds one of the wave's ``max_parallel`` slots."""
        return self in (Standing.QUEUED, Standing.RUNNING, Standing.STOPPING)


@dataclass(frozen=True)
class ServiceState:
    """One service of the fleet, as ``decide`` sees it."""

    name: str
    wave: int
    depends_on: tuple[str, ...] = ()  # chosen services it waits for (others are not ordered)
    standing: Standing = Standing.WAITING
    queued_since: float | None = None  # deployment seconds
    next_check: float | None = None  # when a queued service's start is tried again


@dataclass(frozen=True)
class Policy:
    """How the run treats a failure and a busy service (flags over the environment's fleet settings)."""

    max_parallel: int = 4
    queue_wait_seconds: float = 1800.0
    recheck_seconds: float = 30.0
    continue_on_failure: bool = False  # --continue-on-failure
    stop_on_failure: bool = True  # --no-stop-on-failure: let the in-flight deployments finish


@dataclass(frozen=True)
class FleetState:
    """Everything ``decide`` reads: the services in plan order, the time, the policy."""

    services: tuple[ServiceState, ...]
    now: float
    policy: Policy = field(default_factory=Policy)
    broken_by: str | None = None  # the first service that failed (the fleet's failure)
    starts: bool = True  # False: only look (`fleet watch`), never start nor stop


class Act(StrEnum):
    START = "start"
    STOP = "stop"  # with rollback
    FAIL = "fail"  # a queued service waited too long
    SKIP = "skip"
    FINISH = "finish"


@dataclass(frozen=True)
class Action:
    act: Act
    service: str | None = None
    reason: str | None = None


FINISH = Action(Act.FINISH)


def decide(state: FleetState) -> list[Action]:
    """The actions to take now (pure); ``[FINISH]`` once no service can change any more."""
    policy = state.policy
    standing = {service.name: service.standing for service in state.services}
    actions: list[Action] = []
    halted = state.broken_by is not None and not policy.continue_on_failure
    if not state.starts:
        pass
    elif halted:
        actions += _halt(state, standing)
    else:
        actions += _skip_orphans(state, standing)
        timed_out = _queue_timeouts(state, standing)
        actions += timed_out
        if not timed_out or policy.continue_on_failure:  # a failure now: the next decision halts
            actions += _starts(state, standing)
    if all(value.ended for value in standing.values()) or (
        not state.starts and not any(value.in_flight for value in standing.values())
    ):
        actions.append(FINISH)
    return actions


def _halt(state: FleetState, standing: dict[str, Standing]) -> list[Action]:
    """After the first failure: stop the running ones (by default), skip what never started."""
    actions = []
    why = f"not started: the fleet stopped after {state.broken_by} failed"
    for service in state.services:
        if service.standing is Standing.RUNNING and state.policy.stop_on_failure:
            actions.append(Action(Act.STOP, service.name, f"stopped: {state.broken_by} failed"))
        elif service.standing in (Standing.WAITING, Standing.QUEUED):
            actions.append(Action(Act.SKIP, service.name, why))
            standing[service.name] = Standing.SKIPPED
    return actions


def _skip_orphans(state: FleetState, standing: dict[str, Standing]) -> list[Action]:
    """Services with a dependency that failed or was skipped (in plan order, so it cascades)."""
    actions = []
    for service in state.services:
        if standing[service.name] is not Standing.WAITING:
            continue
        broken = [
            dep for dep in service.depends_on if standing.get(dep) in (Standing.FAILED, Standing.SKIPPED)
        ]
        if broken:
            actions.append(
                Action(Act.SKIP, service.name, f"not started: dependency {broken[0]} did not succeed")
            )
            standing[service.name] = Standing.SKIPPED
    return actions


def _queue_timeouts(state: FleetState, standing: dict[str, Standing]) -> list[Action]:
    actions = []
    limit = state.policy.queue_wait_seconds
    for service in state.services:
        since = service.queued_since if service.queued_since is not None else state.now
        if service.standing is Standing.QUEUED and state.now - since >= limit:
            minutes = f"{limit / 60:g}"
            reason = f"its deployment group was still busy after the {minutes}-minute queue wait"
            actions.append(Action(Act.FAIL, service.name, reason))
            standing[service.name] = Standing.FAILED
    return actions


def _starts(state: FleetState, standing: dict[str, Standing]) -> list[Action]:
    """Starts (and re-checks of queued services) in the current wave, within the free slots."""
    wave = current_wave(state.services, standing)
    if wave is None:
        return []
    members = [service for service in state.services if service.wave == wave]
    in_flight = sum(1 for service in members if standing[service.name].in_flight)
    actions = []
    for service in members:
        if standing[service.name] is Standing.QUEUED and state.now >= (service.next_check or 0.0):
            actions.append(Action(Act.START, service.name, "re-check"))
    for service in members:
        if standing[service.name] is Standing.WAITING and in_flight < state.policy.max_parallel:
            actions.append(Action(Act.START, service.name))
            in_flight += 1
    return actions


def current_wave(services: Iterable[ServiceState], standing: dict[str, Standing]) -> int | None:
    """The first wave with a service that has not ended (None: every service has)."""
    open_waves = [service.wave for service in services if not standing[service.name].ended]
    return min(open_waves) if open_waves else None


# --- the loop ------------------------------------------------------------------------------------------


def _stopped(member: Member) -> bool:
    """Its deployment was stopped (CodeDeploy's Stopped), rather than failed on its own."""
    return member.snapshot is not None and member.snapshot.status is DeploymentStatus.STOPPED


class FleetEngine(Protocol):
    """The part of ``engines.base.Engine`` the fleet uses."""

    name: str

    def start(self, plan: Any, *, on_step: Any = None) -> Any: ...

    def snapshots(self, deployment_ids: Sequence[str]) -> dict[str, Any]: ...

    def stop(self, deployment_id: str, *, rollback: bool, wait: Any = None) -> Any: ...

    def promote(self, deployment_id: str) -> None: ...


@dataclass
class Member:
    """One service of the run: its engine, the plan it starts with, and what happened to it."""

    name: str
    wave: int
    engine: FleetEngine
    plan: Any = None  # the engine's Plan (None: only watched)
    depends_on: tuple[str, ...] = ()
    expected_seconds: float = 0.0
    state: ServiceState | None = None
    deployment_id: str | None = None
    snapshot: Snapshot | None = None
    started_at: float | None = None  # deployment seconds since the run began
    ended_at: float | None = None
    seen_at: float | None = None  # the last look
    reason: str | None = None  # why it failed or was skipped (one line)
    outcome: str | None = None  # succeeded, failed, stopped, rolled back, skipped, not started, running
    promoted: bool = False

    def __post_init__(self) -> None:
        if self.state is None:
            standing = Standing.RUNNING if self.deployment_id else Standing.WAITING
            self.state = ServiceState(self.name, self.wave, self.depends_on, standing)

    @property
    def standing(self) -> Standing:
        assert self.state is not None
        return self.state.standing

    def set(self, standing: Standing, **changes: Any) -> None:
        assert self.state is not None
        self.state = replace(self.state, standing=standing, **changes)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        until = next(t for t in (self.ended_at, self.seen_at, self.started_at) if t is not None)
        return until - self.started_at


@dataclass
class RunResult:
    """How the run ended."""

    members: list[Member]
    broken_by: str | None
    timed_out: bool
    elapsed_seconds: float
    polls: int
    poll_calls: int  # the API calls of the fleet's looks, stops and promotes (not the starts)
    max_calls_per_minute: int  # the peak of poll_calls in any sliding minute
    calls_per_minute_limit: int
    # The run's length on the call budget's clock (real seconds x time_scale), which the peak is
    # counted on: the average over the services' clock ran above the peak in a loaded sandbox,
    # whose clock stands still while real calls go on ("21.5/min, peak 18/min").
    budget_seconds: float | None = None

    @property
    def calls_per_minute(self) -> float:
        seconds = self.elapsed_seconds if self.budget_seconds is None else self.budget_seconds
        minutes = seconds / 60.0
        return round(self.poll_calls / minutes, 1) if minutes > 0 else float(self.poll_calls)

    @property
    def succeeded(self) -> bool:
        return not self.timed_out and all(member.standing is Standing.SUCCEEDED for member in self.members)


Listener = Callable[[list[Member], float], None]
Started = Callable[[Member, Any], None]  # after a start: (member, what Engine.start answered)


@dataclass(frozen=True)
class RunOptions:
    policy: Policy = field(default_factory=Policy)
    timeout_seconds: float = 3600.0
    time_scale: float = 1.0
    poll: PollPolicy = field(default_factory=lambda: PollPolicy(max_calls_per_minute=60))
    starts: bool = True  # False: `fleet watch` (never start, stop or promote)
    # `fleet watch`: how long to keep looking for deployments not seen yet once the seen ones ended
    lookup_grace_seconds: float = 60.0


class FleetRunner:
    """Runs ``decide`` against the members until it finishes or the deadline passes."""

    def __init__(
        self,
        members: Sequence[Member],
        options: RunOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        listener: Listener | None = None,
        on_started: Started | None = None,
        lookup: Callable[[Member], str | None] | None = None,
        real: Callable[[], float] | None = None,
    ) -> None:
        self.members = list(members)
        self.by_name = {member.name: member for member in self.members}
        self.options = options
        self.clock = clock
        self.sleep = sleep
        self.listener = listener
        self.on_started = on_started
        self.lookup = lookup  # `fleet watch`: the deployment a service's run started, if any by now
        self.broken_by: str | None = None
        scale = options.time_scale
        self._start = clock()
        # The call budget counts in real seconds (what ``sleep`` waits; scaled: a minute lasts 60 /
        # time_scale s), not in the services' clocks: a sandbox's slows down and stands still under
        # load, and a budget on it would let a burst of real calls through in one "minute".
        self.budget = CallBudget(options.poll.max_calls_per_minute, 60.0 / scale, real or clock)
        self._real = real or clock
        self._real_start = self._real()
        self._polls = 0
        self._last_cost = 0
        self._previous: dict[str, Snapshot] = {}
        self._quiet_since: float | None = None

    def now(self) -> float:
        """Deployment seconds since the run began."""
        return (self.clock() - self._start) * self.options.time_scale

    def run(self) -> RunResult:
        deadline = self.options.timeout_seconds
        self._poll()  # resumed or watched deployments: their standing before deciding anything
        while True:
            actions = decide(self._state())
            for action in actions:
                self._apply(action)
            self._notify()
            if FINISH in actions and not self._look_again():
                return self._result(timed_out=False)
            if self.now() >= deadline:
                return self._result(timed_out=True)
            self._wait(deadline)
            self._poll()

    # --- applying actions ---

    def _state(self) -> FleetState:
        services = tuple(member.state for member in self.members if member.state is not None)
        return FleetState(services, self.now(), self.options.policy, self.broken_by, self.options.starts)

    def _apply(self, action: Action) -> None:
        if action.act is Act.FINISH or action.service is None:
            return
        member = self.by_name[action.service]
        if action.act is Act.START:
            self._start_member(member)
        elif action.act is Act.STOP:
            self._stop(member, action.reason)
        elif action.act is Act.FAIL:
            self._failed(member, "failed", action.reason)
        elif action.act is Act.SKIP:
            member.set(Standing.SKIPPED)
            member.outcome, member.reason = "skipped", action.reason

    def _start_member(self, member: Member) -> None:
        now = self.now()
        try:
            started = member.engine.start(member.plan)
        except ActiveDeploymentError as err:
            since = (
                member.state.queued_since if member.state and member.state.queued_since is not None else now
            )
            member.set(
                Standing.QUEUED, queued_since=since, next_check=now + self.options.policy.recheck_seconds
            )
            member.outcome, member.reason = "queued", str(err)
            return
        except BluegreenError as err:  # refused or an AWS error: this service fails, the policy decides
            member.started_at = now
            self._failed(member, "failed", f"could not start: {err}")
            return
        member.deployment_id = str(started.deployment_id)
        member.started_at = now
        member.set(Standing.RUNNING, queued_since=None, next_check=None)
        member.outcome, member.reason = "running", None
        if self.on_started is not None:
            self.on_started(member, started)

    def _stop(self, member: Member, reason: str | None) -> None:
        assert member.deployment_id is not None
        self.budget.spend(1)
        try:
            member.engine.stop(member.deployment_id, rollback=True)
        except BluegreenError as err:  # it may have ended meanwhile: the next poll says how
            member.reason = f"{reason}; the stop request failed: {err}"
        else:
            member.reason = reason
        member.set(Standing.STOPPING)

    def _failed(self, member: Member, outcome: str, reason: str | None) -> None:
        member.set(Standing.FAILED)
        member.outcome, member.ended_at, member.reason = outcome, self.now(), reason
        if self.broken_by is None or self._rather(member):
            self.broken_by = member.name

    def _rather(self, member: Member) -> bool:
        """`fleet watch` sees every end at once, in no order: the deployment that failed broke the
        fleet, not one stopped (by the fleet that watched it then) it saw first."""
        first = self.by_name[self.broken_by] if self.broken_by else None
        return not self.options.starts and first is not None and _stopped(first) and not _stopped(member)

    # --- looking ---

    def _poll(self) -> None:
        """One ``snapshots`` call per engine for every deployment running under it."""
        groups: dict[int, list[Member]] = {}
        for member in self.members:
            if member.deployment_id and member.standing in (Standing.RUNNING, Standing.STOPPING):
                groups.setdefault(id(member.engine), []).append(member)
        if not groups:
            return
        self._polls += 1
        cost = 0
        for group in groups.values():
            polled = group[0].engine.snapshots(
                [member.deployment_id for member in group if member.deployment_id]
            )
            for member in group:
                seen = polled.get(member.deployment_id or "")
                if seen is not None:
                    cost += seen.calls
                    self._seen(member, seen.snapshot)
        self.budget.spend(cost)
        self._last_cost = max(self._last_cost, cost)  # the next poll's cost is not known: the dearest yet

    def _seen(self, member: Member, snapshot: Snapshot) -> None:
        assert member.deployment_id is not None
        self._previous[member.name], member.snapshot = snapshot, snapshot
        member.seen_at = self.now()
        if member.started_at is None:  # resumed or watched: it started before this run
            member.started_at = member.seen_at
        if snapshot.status.is_terminal:
            self._ended(member, snapshot)
        elif (
            self.options.starts
            and not member.promoted
            and should_continue_at_ready(snapshot, "done", continue_at_ready=True)
        ):
            self._promote(member)

    def _ended(self, member: Member, snapshot: Snapshot) -> None:
        member.ended_at = self.now()
        if snapshot.status.succeeded:
            member.set(Standing.SUCCEEDED)
            member.outcome = "succeeded"
            return
        outcome = "rolled back" if snapshot.rolled_back else snapshot.status.value.lower()
        if member.standing is Standing.STOPPING:  # the fleet stopped it: say why, not the engine's words
            self._failed(member, outcome, member.reason)
        else:
            self._failed(member, outcome, snapshot.error or f"deployment {outcome}")

    def _promote(self, member: Member) -> None:
        from orchestrator.errors import BadInputError

        assert member.deployment_id is not None
        self.budget.spend(1)
        try:
            member.engine.promote(member.deployment_id)
        except BadInputError:  # not in the Ready wait (yet, or any more): a later poll asks again
            return
        member.promoted = True

    def _look_again(self) -> bool:
        """`fleet watch`: services not seen started may still start (the deploying process moves
        on to the next wave): look them up again for ``lookup_grace_seconds``. True: keep going."""
        missing = [m for m in self.members if m.deployment_id is None and not m.standing.ended]
        if self.lookup is None or not missing:
            return False
        now = self.now()
        if self._quiet_since is None:
            self._quiet_since = now
        found = False
        for member in missing:  # its calls answer with the services' dates: the clock moves on
            deployment_id = self.lookup(member)
            if deployment_id:
                member.deployment_id = deployment_id
                member.set(Standing.RUNNING)
                found = True
        if found:
            self._quiet_since = None
            return True
        if now - self._quiet_since < self.options.lookup_grace_seconds:
            return True
        for member in missing:
            member.set(Standing.SKIPPED)
            member.outcome, member.reason = "not started", "no deployment of this fleet run was found"
        return False

    def _wait(self, deadline: float) -> None:
        scale = self.options.time_scale
        waits = [
            poll_interval(self._previous.get(member.name), member.snapshot, self.options.poll)
            for member in self.members
            if member.standing in (Standing.RUNNING, Standing.STOPPING) and member.snapshot is not None
        ]
        now = self.now()
        waits += [
            max(0.0, member.state.next_check - now)
            for member in self.members
            if member.state is not None and member.standing is Standing.QUEUED and member.state.next_check
        ]
        wait = min(waits) if waits else self.options.poll.moving_seconds
        self.sleep(max(0.0, min(wait / scale, (deadline - now) / scale)))
        # The call budget is a bound, not advice: wait until the next poll fits the sliding minute.
        needed = self.budget.wait_needed(self._last_cost)
        if needed > 0:
            self.sleep(needed)

    def _notify(self) -> None:
        if self.listener is not None:
            self.listener(self.members, self.now())

    def _result(self, timed_out: bool) -> RunResult:
        for member in self.members:
            if not member.standing.ended and member.outcome is None:
                member.outcome = "not started"
        return RunResult(
            members=self.members,
            broken_by=self.broken_by,
            timed_out=timed_out,
            elapsed_seconds=self.now(),
            polls=self._polls,
            poll_calls=self.budget.total,
            max_calls_per_minute=self.budget.peak,
            calls_per_minute_limit=self.options.poll.max_calls_per_minute,
            budget_seconds=(self._real() - self._real_start) * self.options.time_scale,
        )
