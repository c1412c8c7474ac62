"""`bluegreen fleet`: flags refused before any AWS call, the run's report and exit codes (fake
engines on a fake clock), the plain view's lines, and the clock on the services' dates."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.commands import fleet
from orchestrator.commands.options import GlobalOptions
from orchestrator.commands.session import Session
from orchestrator.errors import (
    BadInputError,
    DeploymentFailedError,
    DeploymentTimeoutError,
    InterruptedByUser,
)
from orchestrator.fleet.plan import FleetPlan, FleetService, Wave
from orchestrator.fleet.runner import Member, Policy, RunOptions
from orchestrator.fleet.view import PlainFleetView
from orchestrator.vocabulary import DeploymentStatus
from orchestrator.watching.snapshots import Snapshot
from tests.support.fleet import FakeClock, FakeFleetEngine, FakePlan


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (fleet.FleetDeployOptions(resume="fr-20261130t0730z-3f9a", all=True), "drop --all"),
        (
            fleet.FleetDeployOptions(resume="fr-20261130t0730z-3f9a", services=("a",), strategy="canary10"),
            "drop SERVICE, --strategy",
        ),
        (fleet.FleetDeployOptions(resume="not-a-run"), "'not-a-run' is not a fleet run id"),
        (fleet.FleetDeployOptions(resume="fr-20261130t0730z-3f9a", max_parallel=0), "--max-parallel must be"),
        (fleet.FleetDeployOptions(all=True, timeout_minutes=0), "--timeout must be a positive number"),
    ],
)
def test_bad_flags_are_refused_before_any_call(options: fleet.FleetDeployOptions, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        fleet._validate(options)


def _plan(*services: tuple[int, str, float]) -> FleetPlan:
    waves = {}
    for number, name, seconds in services:
        waves.setdefault(number, []).append(FleetService(name, "codedeploy", None, seconds))
    built = tuple(Wave(n, tuple(items), max(s.expected_seconds for s in items)) for n, items in waves.items())
    return FleetPlan("dev", None, 4, built, sum(w.expected_seconds for w in built))


def _go(
    members: list[Member],
    plan: FleetPlan,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    timeout: float | None,
) -> Any:
    """_Run.go with the fake engines (the runner's clock and sleep: the fake clock's)."""
    from orchestrator.fleet import runner as runner_module

    engines = {id(m.engine): m.engine for m in members}
    session = Session(GlobalOptions(output="json"), stdout=io.StringIO())
    monkeypatch.setattr(Session, "engines", property(lambda self: list(engines.values())))
    real_runner = runner_module.FleetRunner

    def on_fake_clock(members: Any, options: RunOptions, **kw: Any) -> Any:
        kw.update(clock=clock, sleep=clock.sleep, real=clock)
        return real_runner(members, options, **kw)

    monkeypatch.setattr(runner_module, "FleetRunner", on_fake_clock)
    monkeypatch.setattr(fleet._Run, "_started", lambda self, member, started: None)  # no ledger here
    run = fleet._Run(session, "fr-20261130t0730z-3f9a", "dev", plan, None, resumed=False)
    options = fleet.FleetDeployOptions(timeout_minutes=timeout, time_scale=1.0)
    return run.go(members, Policy(), options)


def test_the_report_names_the_service_that_broke_the_fleet_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = [
        Member("a", 1, engine, FakePlan("a", 60), expected_seconds=60),
        Member("b", 2, engine, FakePlan("b", 30, fails=True), expected_seconds=30),
        Member("c", 2, engine, FakePlan("c", 300), expected_seconds=300),
        Member("d", 3, engine, FakePlan("d", 60), expected_seconds=60),
    ]
    result = _go(
        members, _plan((1, "a", 60), (2, "b", 30), (2, "c", 300), (3, "d", 60)), clock, monkeypatch, 60
    )
    document = result.document
    assert isinstance(result.error, DeploymentFailedError) and result.exit_code == 1
    assert str(result.error) == "fleet run fr-20261130t0730z-3f9a failed: b rolled back: ALARM_ACTIVE: 5xx"
    assert (document.outcome, document.broken_by, document.exit_code) == ("failed", "b", 1)
    rows = {row.service: row for row in document.services}
    assert [(rows[n].outcome, rows[n].why) for n in "abcd"] == [
        ("succeeded", None),
        ("rolled back", "ALARM_ACTIVE: 5xx"),
        ("rolled back", "stopped: b failed"),
        ("skipped", "not started: the fleet stopped after b failed"),
    ]
    assert rows["a"].deployment_id and rows["d"].deployment_id is None
    totals = document.totals
    assert (totals.services, totals.succeeded, totals.failed, totals.skipped, totals.running) == (
        4,
        1,
        2,
        1,
        0,
    )
    assert document.watch_calls == document.polls + 1  # one batched call a poll (one engine) + c's stop


def test_a_fleet_past_its_timeout_exits_3_and_says_how_to_reattach(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)
    members = [Member("a", 1, engine, FakePlan("a", 6000), expected_seconds=60)]
    result = _go(members, _plan((1, "a", 60)), clock, monkeypatch, 2)
    assert isinstance(result.error, DeploymentTimeoutError) and result.exit_code == 3
    assert result.document.exit_code == 3  # the JSON document says what the process exits with
    assert "`bluegreen fleet watch fr-20261130t0730z-3f9a --env dev`" in str(result.error)
    assert "`bluegreen fleet deploy --resume fr-20261130t0730z-3f9a --env dev`" in str(result.error)
    assert result.document.totals.running == 1


def test_an_interrupt_exits_130_naming_watch_and_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    clock.sleep = interrupted  # type: ignore[method-assign]
    members = [Member("a", 1, engine, FakePlan("a", 60), expected_seconds=60)]
    with pytest.raises(InterruptedByUser) as caught:
        _go(members, _plan((1, "a", 60)), clock, monkeypatch, None)
    assert caught.value.exit_code == 130
    assert "fleet watch fr-20261130t0730z-3f9a --env dev" in str(caught.value)
    assert "fleet deploy --resume fr-20261130t0730z-3f9a --env dev" in str(caught.value)


def test_all_succeeded_is_exit_0(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    engine = FakeFleetEngine(clock, "ecs")
    members = [Member("a", 1, engine, FakePlan("a", 60), expected_seconds=60)]
    result = _go(members, _plan((1, "a", 60)), clock, monkeypatch, None)
    assert result.error is None and result.document.outcome == "succeeded"
    assert result.document.services[0].engine == "ecs"


def test_the_plain_view_prints_a_wave_header_and_one_line_per_change() -> None:
    out = io.StringIO()
    view = PlainFleetView(out)
    engine = FakeFleetEngine(FakeClock())
    a = Member("a", 1, engine, deployment_id="d-A")
    b = Member("b", 2, engine)
    running = Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=100.0, replacement_weight=0.0)
    a.snapshot, a.started_at = running, 0.0
    view.update([a, b], 5.0)
    view.update([a, b], 10.0)  # nothing changed: nothing printed
    a.snapshot = Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=0.0, replacement_weight=100.0)
    view.update([a, b], 15.0)
    assert out.getvalue().splitlines() == [
        "  00:05  wave 1: a",
        "  00:05  a                       InProgress  d-A  blue 100% / green 0%",
        "  00:15  a                       InProgress  d-A  blue 0% / green 100%",
    ]


class _Heard:
    def __init__(self) -> None:
        self.server_now: float | None = None


def test_the_clock_follows_the_services_dates_and_runs_at_most_reach_past_the_newest() -> None:
    real = [100.0]
    heard = _Heard()
    clock = fleet._EnginesClock([heard], time_scale=10.0, real=lambda: real[0], reach=60.0)
    assert clock() == 100.0  # no answer yet: real time
    heard.server_now = 5000.0
    assert clock() == 100.0  # anchored
    real[0] = 103.0  # 3 real s = 30 deployment s at 10x, within reach
    assert clock() == pytest.approx(103.0)
    real[0] = 200.0  # no answer for long: at most 60 deployment s (6 real s) past the newest date
    assert clock() == pytest.approx(106.0)
    heard.server_now = 5020.0  # a slow sandbox: its date moved 20 s only; the clock never goes back
    assert clock() == pytest.approx(106.0)
    heard.server_now = 5100.0
    assert clock() == pytest.approx(110.0)  # the newest date, seen just now


def test_the_live_view_shows_wave_headers_and_a_row_per_service() -> None:
    from rich.console import Console

    from orchestrator.fleet.view import LiveFleetView

    out = io.StringIO()
    view = LiveFleetView(Console(file=out, width=160, force_terminal=False), "fleet fr-x (dev)")
    engine = FakeFleetEngine(FakeClock())
    a = Member("a-service", 1, engine, deployment_id="d-A")
    a.snapshot = Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=60.0, replacement_weight=40.0)
    a.started_at = 0.0
    b = Member("b-service", 2, engine)
    view.update([a, b], 65.0)
    view.close()
    text = out.getvalue()
    for shown in (
        "fleet fr-x (dev)  01:05",
        "wave 1",
        "a-service",
        "InProgress",
        "blue 60% / green 40%",
        "wave 2",
    ):
        assert shown in text, text
    assert "b-service" in text and "waiting" in text


def test_resume_plans_only_the_services_the_run_had_not_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """--resume finds each service's deployment of the run; only those without one are planned
    (deploy's plan path, guardrails) and handed to the runner without a deployment id; the run's
    failure policy is the recorded one."""
    plan = FleetPlan(
        "dev",
        None,
        4,
        (
            Wave(1, (FleetService("auth-service", "codedeploy", None, 60.0),), 60.0),
            Wave(2, (FleetService("user-service", "codedeploy", None, 60.0),), 60.0),
        ),
        120.0,
    )
    recorded = fleet._Recorded("fr-20261130t0730z-3f9a", datetime.now(UTC), plan, True, False)
    planned: list[str] = []
    ran: list[Any] = []
    told: list[Any] = []
    monkeypatch.setattr(fleet, "_read_record", lambda session, run_id, environment: recorded)
    monkeypatch.setattr(Session, "engine", lambda self, service: "engine")
    found = {"auth-service": "d-STARTED", "user-service": None}
    monkeypatch.setattr(fleet, "_found", lambda session, recorded, service: found[service.name])

    def prepared(session: Any, inputs: Any) -> Any:
        planned.append(inputs.service.name)
        return SimpleNamespace(plan=f"plan of {inputs.service.name}")

    monkeypatch.setattr(fleet, "_prepared", prepared)
    monkeypatch.setattr(
        fleet._Run,
        "go",
        lambda self, members, policy, options: ran.extend(members) or told.extend([options, policy]),
    )
    session = Session(GlobalOptions(output="json"), stdout=io.StringIO())
    fleet._resume(session, fleet.FleetDeployOptions(resume=recorded.run_id), "dev")
    assert planned == ["user-service"]
    assert [(m.name, m.deployment_id, m.plan) for m in ran] == [
        ("auth-service", "d-STARTED", None),
        ("user-service", None, "plan of user-service"),
    ]
    # the run's recorded failure policy holds on resume (--continue-on-failure, --no-stop-on-failure)
    assert (told[0].continue_on_failure, told[0].stop_on_failure) == (True, False)
    assert (told[1].continue_on_failure, told[1].stop_on_failure) == (True, False)  # the runner's Policy
