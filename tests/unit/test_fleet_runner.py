"""The fleet's scheduler: decide() as a table, and the loop against fake engines on a fake clock."""

from __future__ import annotations

import pytest

from orchestrator.fleet.runner import (
    FINISH,
    Act,
    Action,
    FleetRunner,
    FleetState,
    Member,
    Policy,
    RunOptions,
    ServiceState,
    Standing,
    decide,
)
from orchestrator.watching.snapshots import PollPolicy
from tests.support.fleet import FakeClock, FakeFleetEngine, FakePlan

W, Q, R, S, OK, F, SK = (
    Standing.WAITING,
    Standing.QUEUED,
    Standing.RUNNING,
    Standing.STOPPING,
    Standing.SUCCEEDED,
    Standing.FAILED,
    Standing.SKIPPED,
)


def svc(
    name: str, wave: int, standing: Standing = W, deps: tuple[str, ...] = (), **kw: float
) -> ServiceState:
    return ServiceState(name, wave, deps, standing, kw.get("since"), kw.get("check"))


def start(name: str, reason: str | None = None) -> Action:
    return Action(Act.START, name, reason)


CASES = [
    # (id, services, policy, broken_by, now, expected)
    (
        "first wave starts, later waves wait",
        [svc("a", 1), svc("b", 1), svc("c", 2)],
        Policy(),
        None,
        0,
        [start("a"), start("b")],
    ),
    (
        "at most max_parallel in flight",
        [svc("a", 1), svc("b", 1), svc("c", 1)],
        Policy(max_parallel=2),
        None,
        0,
        [start("a"), start("b")],
    ),
    (
        "a free slot is filled, running ones count",
        [svc("a", 1, R), svc("b", 1, OK), svc("c", 1)],
        Policy(max_parallel=2),
        None,
        0,
        [start("c")],
    ),
    ("full: nothing to do", [svc("a", 1, R), svc("b", 1)], Policy(max_parallel=1), None, 0, []),
    (
        "the next wave starts once the wave has ended",
        [svc("a", 1, OK), svc("b", 1, OK), svc("c", 2), svc("d", 3)],
        Policy(),
        None,
        0,
        [start("c")],
    ),
    (
        "a wave still running holds the next",
        [svc("a", 1, OK), svc("b", 1, R), svc("c", 2)],
        Policy(),
        None,
        0,
        [],
    ),
    (
        "a queued service holds its slot and is re-checked when due",
        [svc("a", 1, Q, since=0, check=30), svc("b", 1)],
        Policy(max_parallel=1, queue_wait_seconds=600),
        None,
        30,
        [start("a", "re-check")],
    ),
    (
        "a queued service is not re-checked before it is due",
        [svc("a", 1, Q, since=0, check=30), svc("b", 1)],
        Policy(max_parallel=2, queue_wait_seconds=600),
        None,
        10,
        [start("b")],
    ),
    (
        "a queued service fails after the queue wait",
        [svc("a", 1, Q, since=0, check=600), svc("b", 1, R)],
        Policy(queue_wait_seconds=600),
        None,
        600,
        [Action(Act.FAIL, "a", "its deployment group was still busy after the 10-minute queue wait")],
    ),
    (
        "first failure: stop the running with rollback, skip the rest",
        [svc("a", 1, F), svc("b", 1, R), svc("c", 1, Q, since=0, check=5), svc("d", 2)],
        Policy(),
        "a",
        0,
        [
            Action(Act.STOP, "b", "stopped: a failed"),
            Action(Act.SKIP, "c", "not started: the fleet stopped after a failed"),
            Action(Act.SKIP, "d", "not started: the fleet stopped after a failed"),
        ],
    ),
    (
        "--no-stop-on-failure: the running finish, nothing new starts",
        [svc("a", 1, F), svc("b", 1, R), svc("d", 2)],
        Policy(stop_on_failure=False),
        "a",
        0,
        [Action(Act.SKIP, "d", "not started: the fleet stopped after a failed")],
    ),
    ("stopping ones are not stopped twice", [svc("a", 1, F), svc("b", 1, S)], Policy(), "a", 0, []),
    (
        "--continue-on-failure: later services whose dependencies succeeded start, the others are skipped",
        [
            svc("a", 1, F),
            svc("b", 1, OK),
            svc("c", 2, deps=("a",)),
            svc("d", 2, deps=("b",)),
            svc("e", 3, deps=("c",)),
        ],
        Policy(continue_on_failure=True),
        "a",
        0,
        [
            Action(Act.SKIP, "c", "not started: dependency a did not succeed"),
            Action(Act.SKIP, "e", "not started: dependency c did not succeed"),
            start("d"),
        ],
    ),
    ("everything ended: finish", [svc("a", 1, OK), svc("b", 2, F)], Policy(), "b", 0, [FINISH]),
    (
        "the last skips end the run in the same decision",
        [svc("a", 1, F), svc("b", 2)],
        Policy(),
        "a",
        0,
        [Action(Act.SKIP, "b", "not started: the fleet stopped after a failed"), FINISH],
    ),
]


@pytest.mark.parametrize(
    ("services", "policy", "broken_by", "now", "expected"),
    [case[1:] for case in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    services: list[ServiceState], policy: Policy, broken_by: str | None, now: float, expected: list[Action]
) -> None:
    assert decide(FleetState(tuple(services), now, policy, broken_by)) == expected


def test_decide_watching_never_starts_and_finishes_when_nothing_is_in_flight() -> None:
    watching = FleetState((svc("a", 1, OK), svc("b", 2)), 0, Policy(), None, starts=False)
    assert decide(watching) == [FINISH]
    running = FleetState((svc("a", 1, R), svc("b", 2)), 0, Policy(), "x", starts=False)
    assert decide(running) == []


# --- the loop ------------------------------------------------------------------------------------------


def _members(
    engines: dict[str, FakeFleetEngine], plans: list[tuple[int, FakePlan, str, tuple[str, ...]]]
) -> list[Member]:
    return [Member(plan.service, wave, engines[engine], plan, deps) for wave, plan, engine, deps in plans]


def _run(
    members: list[Member], clock: FakeClock, policy: Policy | None = None, timeout: float = 3600.0
) -> object:
    options = RunOptions(policy=policy or Policy(), timeout_seconds=timeout)
    return FleetRunner(members, options, clock=clock, sleep=clock.sleep).run()


def test_loop_runs_waves_in_order_with_one_batched_look_per_engine_per_poll() -> None:
    clock = FakeClock()
    engines = {"cd": FakeFleetEngine(clock), "ecs": FakeFleetEngine(clock, "ecs")}
    members = _members(
        engines,
        [
            (1, FakePlan("a", 60), "cd", ()),
            (1, FakePlan("b", 120), "ecs", ()),
            (1, FakePlan("c", 30), "cd", ()),
            (2, FakePlan("d", 60), "ecs", ("a",)),
        ],
    )
    result = _run(members, clock, Policy(max_parallel=2))
    assert result.succeeded and result.broken_by is None  # type: ignore[attr-defined]
    assert engines["cd"].starts == ["a", "c"] and engines["ecs"].starts == ["b", "d"]
    by = {member.name: member for member in members}
    # c waited for a slot; d started only once the whole first wave had ended
    assert by["c"].started_at >= by["a"].ended_at  # type: ignore[operator]
    assert by["d"].started_at >= max(by[n].ended_at for n in "abc")  # type: ignore[operator, type-var]
    # each poll asked each engine at most once
    polls = result.polls  # type: ignore[attr-defined]
    assert len(engines["cd"].batches) + len(engines["ecs"].batches) <= 2 * polls
    # the wall time is about the sum over waves of each wave's longest (+ poll granularity)
    assert 180 <= result.elapsed_seconds <= 180 + 4 * 10  # type: ignore[attr-defined]


def test_loop_batches_every_running_deployment_of_an_engine_into_one_call() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members({"cd": engine}, [(1, FakePlan(name, 60), "cd", ()) for name in "abcd"])
    result = _run(members, clock, Policy(max_parallel=4))
    assert result.succeeded  # type: ignore[attr-defined]
    assert all(len(batch) == 4 for batch in engine.batches[:-1])
    assert len(engine.batches) == result.polls  # type: ignore[attr-defined]


def test_loop_first_failure_stops_in_flight_with_rollback_and_starts_nothing_later() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members(
        {"cd": engine},
        [
            (1, FakePlan("a", 60), "cd", ()),
            (2, FakePlan("b", 30, fails=True), "cd", ()),
            (2, FakePlan("c", 300), "cd", ()),
            (3, FakePlan("d", 60), "cd", ()),
        ],
    )
    result = _run(members, clock)
    by = {member.name: member for member in members}
    assert result.broken_by == "b" and not result.succeeded  # type: ignore[attr-defined]
    assert engine.starts == ["a", "b", "c"]  # d (wave 3) never started
    assert [engine.deployments[d].plan.service for d in engine.stops] == ["c"]
    assert (by["b"].outcome, by["b"].reason) == ("rolled back", "ALARM_ACTIVE: 5xx")
    assert (by["c"].outcome, by["c"].reason) == ("rolled back", "stopped: b failed")
    assert (by["d"].outcome, by["d"].reason) == ("skipped", "not started: the fleet stopped after b failed")


def test_loop_no_stop_on_failure_lets_in_flight_finish() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members(
        {"cd": engine}, [(1, FakePlan("b", 30, fails=True), "cd", ()), (1, FakePlan("c", 300), "cd", ())]
    )
    result = _run(members, clock, Policy(stop_on_failure=False))
    assert engine.stops == [] and members[1].outcome == "succeeded"
    assert result.broken_by == "b"  # type: ignore[attr-defined]


def test_loop_queues_a_busy_service_then_starts_it() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members({"cd": engine}, [(1, FakePlan("a", 60, busy_until=100), "cd", ())])
    result = _run(members, clock, Policy(recheck_seconds=30, queue_wait_seconds=600))
    assert result.succeeded  # type: ignore[attr-defined]
    assert engine.start_attempts == ["a"] * 5 and engine.starts == ["a"]  # 0, 30, 60, 90, 120
    assert members[0].started_at == pytest.approx(120, abs=1)


def test_loop_fails_a_service_busy_past_the_queue_wait() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members(
        {"cd": engine}, [(1, FakePlan("a", 60, busy_until=10_000), "cd", ()), (2, FakePlan("b"), "cd", ())]
    )
    result = _run(members, clock, Policy(recheck_seconds=60, queue_wait_seconds=300))
    assert result.broken_by == "a" and engine.starts == []  # type: ignore[attr-defined]
    assert "busy after the 5-minute queue wait" in (members[0].reason or "")
    assert members[1].outcome == "skipped"


def test_loop_a_refused_start_fails_the_service() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members({"cd": engine}, [(1, FakePlan("a", refused=True), "cd", ())])
    result = _run(members, clock)
    assert result.broken_by == "a"  # type: ignore[attr-defined]
    assert members[0].reason == "could not start: a: refused by the guardrails"


def test_loop_promotes_a_deployment_waiting_at_ready_once() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members({"cd": engine}, [(1, FakePlan("a", 60, waits_at_ready=True), "cd", ())])
    result = _run(members, clock)
    assert result.succeeded and len(engine.promotes) == 1  # type: ignore[attr-defined]
    # the promote is one API call of the fleet's budget, beside one per batched look
    assert result.poll_calls == len(engine.batches) + 1  # type: ignore[attr-defined]


def test_loop_times_out_leaving_deployments_running() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = _members({"cd": engine}, [(1, FakePlan("a", 600), "cd", ())])
    result = _run(members, clock, timeout=120)
    assert result.timed_out and members[0].standing is Standing.RUNNING  # type: ignore[attr-defined]
    assert engine.stops == []
    assert result.elapsed_seconds == pytest.approx(120, abs=0.01)  # type: ignore[attr-defined]


def test_loop_resumes_without_starting_what_already_started() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    first = engine.start(FakePlan("a", 60)).deployment_id  # started by the run that was killed
    clock.now = 100.0
    members = _members({"cd": engine}, [(1, FakePlan("a", 60), "cd", ()), (1, FakePlan("b", 60), "cd", ())])
    members[0].deployment_id = first
    members[0].set(Standing.RUNNING)
    result = _run(members, clock)
    assert result.succeeded  # type: ignore[attr-defined]
    assert engine.starts == ["a", "b"]  # a once (before), b once (now)


def test_loop_counts_calls_and_bounds_them_per_minute() -> None:
    clock = FakeClock()
    engines = [FakeFleetEngine(clock) for _ in range(3)]
    members = [Member(f"s{i}", 1, engines[i % 3], FakePlan(f"s{i}", 600)) for i in range(6)]
    options = RunOptions(policy=Policy(max_parallel=6), poll=PollPolicy(max_calls_per_minute=12))
    result = FleetRunner(members, options, clock=clock, sleep=clock.sleep).run()
    assert result.succeeded
    assert result.poll_calls == sum(len(engine.batches) for engine in engines)
    # unbounded, a poll every 10 s would cost 18 calls a minute; the budget holds the window to 12
    assert 0 < result.max_calls_per_minute <= 12
    assert result.poll_calls <= 12 * (result.elapsed_seconds / 60 + 1)


def _watch(members: list[Member], clock: FakeClock, lookup: object) -> object:
    options = RunOptions(starts=False, lookup_grace_seconds=60)
    return FleetRunner(members, options, clock=clock, sleep=clock.sleep, lookup=lookup).run()  # type: ignore[arg-type]


def test_watch_only_looks_and_ends_when_every_found_deployment_has_ended() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    first = engine.start(FakePlan("a", 60)).deployment_id
    clock.now = 30.0
    members = [Member("a", 1, engine, deployment_id=first)]
    asked: list[str] = []
    result = _watch(members, clock, lambda member: asked.append(member.name))
    assert result.succeeded and asked == []  # type: ignore[attr-defined]
    # a ends 30 s in: nothing is left to find, so no grace wait (a sandbox's clock may stand still)
    assert result.elapsed_seconds < 45  # type: ignore[attr-defined]
    assert engine.starts == ["a"] and engine.promotes == [] and engine.stops == []


def test_watch_picks_up_a_deployment_started_later_and_gives_up_on_one_never_started() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    first = engine.start(FakePlan("a", 30)).deployment_id
    members = [Member("a", 1, engine, deployment_id=first), Member("b", 2, engine), Member("c", 2, engine)]

    def lookup(member: Member) -> str | None:
        if member.name == "b" and clock.now >= 40:  # the deploying process started b's wave meanwhile
            return str(engine.start(FakePlan("b", 30)).deployment_id)
        return None

    result = _watch(members, clock, lookup)
    by = {member.name: member for member in members}
    assert by["b"].outcome == "succeeded"
    assert (by["c"].outcome, by["c"].reason) == ("not started", "no deployment of this fleet run was found")
    assert not result.succeeded and engine.starts == ["a", "b"]  # type: ignore[attr-defined]


def test_watch_names_the_failed_deployment_not_one_the_fleet_stopped() -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    stopped = engine.start(FakePlan("a", 300)).deployment_id
    failed = engine.start(FakePlan("b", 10, fails=True)).deployment_id
    clock.now = 20.0
    engine.stop(stopped, rollback=True)  # the deploying run stopped a when b failed
    members = [Member("a", 1, engine, deployment_id=stopped), Member("b", 1, engine, deployment_id=failed)]
    result = _watch(members, clock, lambda member: None)
    assert result.broken_by == "b"  # type: ignore[attr-defined]


def test_calls_per_minute_averages_on_the_budgets_clock_never_above_the_peak() -> None:
    # A loaded sandbox: the services' clock runs at a third of the real one the budget counts on.
    # The average was over the services' clock ("21.5/min, peak 18/min"); now it is the budget's.
    real = FakeClock()
    engines = [FakeFleetEngine(real) for _ in range(3)]
    members = [Member(f"s{i}", 1, engines[i % 3], FakePlan(f"s{i}", 600)) for i in range(6)]
    options = RunOptions(policy=Policy(max_parallel=6), poll=PollPolicy(max_calls_per_minute=12))
    runner = FleetRunner(members, options, clock=lambda: real() / 3, sleep=real.sleep, real=real)
    result = runner.run()
    assert result.succeeded
    assert result.budget_seconds == pytest.approx(real())
    assert result.max_calls_per_minute <= 12
    # at most 12 in any minute: over T minutes at most 12 x (T + 1) (the last one partial); over the
    # services' clock (a third as long) it read 36.6 a minute
    assert result.calls_per_minute <= 12 * (1 + 60 / result.budget_seconds)
