"""The watch loop on a fake clock: pacing, the call budget, timeouts, milestones, time scale."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from orchestrator.watching.loop import Watcher, WatchOptions
from orchestrator.watching.snapshots import PollPolicy
from tests.support.cli import FakeClock
from tests.support.fake_codedeploy import ReadyTimelineCodeDeploy, TimelineCodeDeploy, engine_on

OK, IP = "Succeeded", "InProgress"
DONE_TEST = {
    "BeforeInstall": OK,
    "Install": OK,
    "AfterInstall": OK,
    "AllowTestTraffic": OK,
    "AfterAllowTestTraffic": OK,
}
CANARY = [
    (0.0, "Created", {}, None),
    (20.0, "InProgress", {"BeforeInstall": IP}, 0.0),
    (60.0, "InProgress", {**DONE_TEST, "BeforeAllowTraffic": OK, "AllowTraffic": IP}, 10.0),
    (
        360.0,
        "InProgress",
        {**DONE_TEST, "BeforeAllowTraffic": OK, "AllowTraffic": OK, "AfterAllowTraffic": IP},
        100.0,
    ),
    (
        420.0,
        "Baking",
        {**DONE_TEST, "BeforeAllowTraffic": OK, "AllowTraffic": OK, "AfterAllowTraffic": OK},
        100.0,
    ),
    (
        1320.0,
        "Succeeded",
        {**DONE_TEST, "BeforeAllowTraffic": OK, "AllowTraffic": OK, "AfterAllowTraffic": OK},
        100.0,
    ),
]


def _watch(timeline: list, options: WatchOptions) -> tuple[FakeClock, TimelineCodeDeploy, object]:
    clock = FakeClock()
    api = TimelineCodeDeploy(clock, timeline)
    result = Watcher(engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep).run(options)
    return clock, api, result


def test_canary_is_followed_to_the_end_within_the_call_budget() -> None:
    _clock, api, result = _watch(CANARY, WatchOptions(timeout_seconds=3600))
    assert result.snapshot.status.value == "Succeeded" and result.reached and not result.timed_out
    traffic = [e.after for e in result.events if e.kind.value == "traffic"]
    assert traffic == ["blue 100% / green 0%", "blue 90% / green 10%", "blue 0% / green 100%"]
    # No sliding minute ever holds more calls than the budget.
    times = [t for t, _ in api.calls]
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= PollPolicy().max_calls_per_minute
    assert result.max_calls_per_minute <= PollPolicy().max_calls_per_minute
    # Targets are listed once; GetDeploymentTarget is skipped while Created and Baking.
    assert [name for _, name in api.calls].count("ListDeploymentTargets") == 1
    baking = [name for t, name in api.calls if 420 < t < 1320]
    assert baking and set(baking) == {"GetDeployment"}
    # Baking polls every 30 s, so 15 minutes of baking cost about 30 calls, not 180.
    assert len(baking) <= 31


def test_quick_while_traffic_moves_slow_while_baking() -> None:
    _clock, api, _ = _watch(CANARY, WatchOptions(timeout_seconds=3600))
    gaps = {}
    polls = [t for t, name in api.calls if name == "GetDeployment"]
    for before, after in itertools.pairwise(polls):
        gaps.setdefault(
            "shifting" if 60 <= before < 360 else "baking" if 420 <= before < 1320 else "other", []
        ).append(after - before)
    assert max(gaps["shifting"]) <= 5.0 + 1e-9
    assert min(gaps["baking"]) >= 30.0 - 1e-9


@pytest.mark.parametrize(
    ("until", "stops_at"),
    [("ready", 60.0), ("traffic-shifted", 360.0), ("done", 1320.0)],
)
def test_until_stops_at_the_milestone(until: str, stops_at: float) -> None:
    clock, _, result = _watch(CANARY, WatchOptions(until=until, timeout_seconds=3600))
    assert result.reached and not result.timed_out
    assert stops_at <= clock.now < stops_at + 31


def test_timeout_returns_still_running() -> None:
    clock, _, result = _watch(CANARY, WatchOptions(timeout_seconds=100))
    assert result.timed_out and not result.reached
    assert result.snapshot.status.value == "InProgress"
    assert clock.now == pytest.approx(100.0)


def test_time_scale_divides_waits_and_timeout() -> None:
    scaled = [(t / 60, status, events, green) for t, status, events, green in CANARY]
    clock, _, result = _watch(scaled, WatchOptions(timeout_seconds=3600, time_scale=60))
    assert result.snapshot.status.value == "Succeeded"
    assert clock.now == pytest.approx(1320 / 60, abs=0.6)
    assert max(clock.sleeps) <= 30 / 60 + 1e-9
    assert result.elapsed_seconds == pytest.approx(clock.now * 60)


# A group with ready action STOP_DEPLOYMENT: Ready after the test traffic hook, until continued.
UNTIL_READY = [
    (0.0, "InProgress", {"BeforeInstall": IP}, 0.0),
    (60.0, "Ready", DONE_TEST, 0.0),
]
AFTER_CONTINUE = [
    (0.0, "InProgress", {**DONE_TEST, "BeforeAllowTraffic": OK, "AllowTraffic": IP}, 10.0),
    (
        300.0,
        "Succeeded",
        {**DONE_TEST, "BeforeAllowTraffic": OK, "AllowTraffic": OK, "AfterAllowTraffic": OK},
        100.0,
    ),
]


def _continues(api: TimelineCodeDeploy) -> list[tuple[float, str]]:
    return [call for call in api.calls if call[1].startswith("ContinueDeployment")]


@pytest.mark.parametrize(
    ("until", "continue_at_ready", "status", "continued"),
    [
        # deploy / rollback watching to the end: they continue at Ready themselves, once
        ("done", True, "Succeeded", 1),
        ("traffic-shifted", True, "Succeeded", 1),
        # --until ready: return there; `bluegreen promote` continues it
        ("ready", True, "Ready", 0),
        # `bluegreen watch` only looks: the deployment waits for a promote until the timeout
        ("done", False, "Ready", 0),
    ],
)
def test_a_deployment_waiting_at_ready_is_continued_only_by_deploy_past_ready(
    until: str, continue_at_ready: bool, status: str, continued: int
) -> None:
    clock = FakeClock()
    api = ReadyTimelineCodeDeploy(clock, UNTIL_READY, AFTER_CONTINUE)
    options = WatchOptions(
        until=until, timeout_seconds=1800, ready_waits=True, continue_at_ready=continue_at_ready
    )
    result = Watcher(engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep).run(options)
    assert result.snapshot.status.value == status
    assert result.timed_out == (status == "Ready" and until != "ready")
    assert [name for _, name in _continues(api)] == ["ContinueDeployment READY_WAIT"] * continued
    if continued:
        # continued at the poll that first saw Ready, not a whole Ready poll interval later
        first_ready = min(t for t, name in api.calls if name == "GetDeployment" and t >= 60.0)
        assert _continues(api)[0][0] == first_ready


# --- failed polls are data; ContinueDeployment once -------------------------------------------------


def _throttled(operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


class FlakyCodeDeploy(TimelineCodeDeploy):
    """A TimelineCodeDeploy whose GetDeployment is throttled on the calls ``throttled(n)`` picks (from 1)."""

    def __init__(self, clock: FakeClock, timeline: list, throttled: object) -> None:
        super().__init__(clock, timeline)
        self.throttled = throttled
        self.get_calls = 0

    def get_deployment(self, deploymentId: str) -> dict:
        self.get_calls += 1
        if self.throttled(self.get_calls):  # type: ignore[operator]
            self.calls.append((self.clock.now, "GetDeployment throttled"))
            raise _throttled("GetDeployment")
        return super().get_deployment(deploymentId)


def test_failed_polls_count_in_a_row_so_a_success_resets_them() -> None:
    # Every other GetDeployment is throttled, for the whole 22-minute canary: many failures in all,
    # never two in a row, so a watch allowed 2 failed polls in a row follows it to the end.
    clock = FakeClock()
    api = FlakyCodeDeploy(clock, CANARY, throttled=lambda n: n % 2 == 0)
    result = Watcher(engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep).run(
        WatchOptions(timeout_seconds=3600, max_failed_polls=2)
    )
    assert result.snapshot.status.value == "Succeeded"
    assert sum(1 for _, name in api.calls if name == "GetDeployment throttled") > 2


def test_failed_polls_past_the_deadline_end_in_a_timeout_not_an_error() -> None:
    # One good poll, then every poll throttled: at the deadline the watch says "still running"
    # (exit 3, the last known state) instead of failing polls until the in-a-row limit (exit 4).
    clock = FakeClock()
    api = FlakyCodeDeploy(clock, CANARY, throttled=lambda n: n > 1)
    result = Watcher(engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep).run(
        WatchOptions(timeout_seconds=60, max_failed_polls=1000)
    )
    assert result.timed_out and result.snapshot.status.value == "Created"
    assert clock.now == pytest.approx(60, abs=1e-6)


def test_continue_deployment_is_sent_once_even_while_ready_lasts() -> None:
    # CodeDeploy may still say Ready for a poll or two after ContinueDeployment: no second call.
    after = [(0.0, "Ready", DONE_TEST, 0.0), *((at + 30.0, *rest) for at, *rest in AFTER_CONTINUE)]
    clock = FakeClock()
    api = ReadyTimelineCodeDeploy(clock, UNTIL_READY, after)
    options = WatchOptions(until="done", timeout_seconds=1800, ready_waits=True, continue_at_ready=True)
    result = Watcher(engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep).run(options)
    assert result.snapshot.status.value == "Succeeded"
    ready_polls = [t for t, name in api.calls if name == "GetDeployment" and 60.0 <= t < 90.0 + 60.0]
    assert len(ready_polls) > 1  # the deployment was seen at Ready after the continue
    assert [name for _, name in _continues(api)] == ["ContinueDeployment READY_WAIT"]


def test_a_refused_continue_is_asked_again_while_ready_lasts() -> None:
    """Under load CodeDeploy (the emulator) can show Ready a moment before its Ready wait accepts
    ContinueDeployment (DeploymentIsNotInReadyStateException): a later poll that still sees Ready asks
    again, instead of leaving the deployment at Ready until the watch times out (bench/chaos.py)."""
    from botocore.exceptions import ClientError

    class RefusesFirst(ReadyTimelineCodeDeploy):
        refused = False

        def continue_deployment(self, deploymentId: str, deploymentWaitType: str) -> dict[str, Any]:
            if not self.refused:
                self.refused = True
                self.calls.append((self.clock.now, "ContinueDeployment refused"))
                error = {"Error": {"Code": "DeploymentIsNotInReadyStateException", "Message": "not ready"}}
                raise ClientError(error, "ContinueDeployment")
            return super().continue_deployment(deploymentId, deploymentWaitType)

    clock = FakeClock()
    api = RefusesFirst(clock, UNTIL_READY, AFTER_CONTINUE)
    options = WatchOptions(until="done", timeout_seconds=1800, ready_waits=True, continue_at_ready=True)
    result = Watcher(engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep).run(options)
    assert result.snapshot.status.value == "Succeeded"
    assert [name for _, name in api.calls if name.startswith("ContinueDeployment")] == [
        "ContinueDeployment refused",
        "ContinueDeployment READY_WAIT",
    ]


def test_a_tight_call_budget_slows_the_polls_down() -> None:
    """While traffic moves the loop would poll every 5 s (2 calls each: 24 a minute); a budget of 8
    calls a minute must stretch the gaps instead (no sliding minute ever holds more)."""
    policy = PollPolicy(max_calls_per_minute=8)
    _clock, api, result = _watch(CANARY, WatchOptions(timeout_seconds=3600, policy=policy))
    assert result.snapshot.status.value == "Succeeded"
    times = [t for t, _ in api.calls]
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= 8
    assert result.max_calls_per_minute <= 8


# --- stop at the first sign (issue 14 item 3) ---------------------------------------------------------
class _Alarms:
    """Watched alarms that go to ALARM at ``fires_at`` (fake clock seconds); counts its reads."""

    def __init__(self, clock: FakeClock, fires_at: float | None) -> None:
        self.clock = clock
        self.fires_at = fires_at
        self.reads: list[float] = []

    def firing(self) -> tuple[str, ...]:
        self.reads.append(self.clock.now)
        return ("svc-5xx",) if self.fires_at is not None and self.clock.now >= self.fires_at else ()


def _watch_with_alarms(
    fires_at: float | None,
    stop_raises: Exception | None = None,
    policy: PollPolicy | None = None,
    time_scale: float = 1.0,
) -> tuple[FakeClock, TimelineCodeDeploy, Any, _Alarms, list[tuple[float, tuple[str, ...]]]]:
    from orchestrator.watching.loop import StopOnAlarm

    clock = FakeClock()
    api = TimelineCodeDeploy(clock, CANARY)
    alarms = _Alarms(clock, fires_at)
    stops: list[tuple[float, tuple[str, ...]]] = []

    def stop(firing: tuple[str, ...]) -> None:
        stops.append((clock.now, firing))
        if stop_raises is not None:
            raise stop_raises
        api.timeline = [(clock.now, "Stopped", {}, 0.0)]  # the deployment ends at once, rolled back

    watcher = Watcher(
        engine_on(api), "d-FAKE00001", clock=clock, sleep=clock.sleep, stop_on_alarm=StopOnAlarm(alarms, stop)
    )
    options = WatchOptions(timeout_seconds=3600, policy=policy or PollPolicy(), time_scale=time_scale)
    return clock, api, watcher.run(options), alarms, stops


def test_an_alarm_in_alarm_stops_the_deployment_at_the_next_poll() -> None:
    _clock, _api, result, alarms, stops = _watch_with_alarms(fires_at=100.0)
    assert len(stops) == 1 and stops[0][1] == ("svc-5xx",)
    # Seen within one moving poll (+ the budget's pacing) of firing, not at the engine's next minute.
    assert 100.0 <= stops[0][0] <= 100.0 + 10.0
    assert result.stopped_on_alarm is not None and result.stopped_on_alarm.alarms == ("svc-5xx",)
    assert result.stopped_on_alarm.error is None
    assert result.snapshot.status.value == "Stopped"
    assert max(alarms.reads) <= stops[0][0]  # no alarm read after the stop


def test_an_alarm_during_the_bake_is_seen_at_the_quick_interval_not_the_bakes() -> None:
    # 420..1320: Baking with every user on the replacement; polls there were 30 s apart. Now 5 s,
    # stretched to 10 s now and then by the call budget (2 calls a poll, 24 a minute).
    _clock, _api, _result, alarms, stops = _watch_with_alarms(fires_at=800.0)
    assert len(stops) == 1 and 800.0 <= stops[0][0] <= 800.0 + 10.0 + 1e-9
    baking = [t for t in alarms.reads if 430.0 <= t < 800.0]
    assert max(after - before for before, after in itertools.pairwise(baking)) <= 10.0 + 1e-9


@pytest.mark.parametrize("fires_at", [70.0, 300.5, 800.0, 1319.0])
def test_while_users_reach_green_the_alarms_are_read_between_polls_as_the_budget_allows(
    fires_at: float,
) -> None:
    # 60..1320 users on the replacement (canary step, then all, then the bake; a poll sees it at 65):
    # with room in the budget the alarms are read every alarm_seconds between polls, and one that
    # fires is seen within that, whichever the poll's pace; before users reach green, only the
    # polls read them.
    policy = PollPolicy(max_calls_per_minute=90)  # polls and their reads 36 a minute, then 30 between
    _clock, api, _result, alarms, stops = _watch_with_alarms(fires_at=fires_at, policy=policy)
    assert len(stops) == 1 and fires_at <= stops[0][0] <= fires_at + policy.alarm_seconds + 1e-9
    polls = {t for t, name in api.calls if name == "GetDeployment"}
    assert all(t in polls for t in alarms.reads if t < 60.0)
    between = [t for t in alarms.reads if t >= 65.0]
    assert max(b - a for a, b in itertools.pairwise(between)) <= policy.alarm_seconds + 1e-9
    times = sorted([t for t, _ in api.calls] + alarms.reads)
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= 90


def test_on_a_scaled_clock_the_reads_between_polls_keep_deployment_seconds() -> None:
    # time_scale 10 (a sandbox): the fake clock's seconds are real ones, the timeline's too (users on
    # green from 60 real s). Reads come every alarm_seconds / 10 real s between the polls (0.5 real s
    # apart), and the stop one of them made is reported in deployment seconds, as a poll's would be.
    policy = PollPolicy(max_calls_per_minute=90)
    _clock, api, result, alarms, stops = _watch_with_alarms(fires_at=80.05, policy=policy, time_scale=10.0)
    assert len(stops) == 1 and 80.05 <= stops[0][0] <= 80.05 + policy.alarm_seconds / 10 + 1e-9
    polls = {t for t, name in api.calls if name == "GetDeployment"}
    assert stops[0][0] not in polls  # a read between two polls saw it
    between = [t for t in alarms.reads if t >= 65.0]
    assert max(b - a for a, b in itertools.pairwise(between)) <= policy.alarm_seconds / 10 + 1e-9
    assert result.stopped_on_alarm is not None
    assert result.stopped_on_alarm.at_seconds == round(stops[0][0] * 10, 1)


def test_a_polls_own_alarm_read_is_not_repeated_by_the_wait_after_it() -> None:
    # The poll has just read the alarms: the wait's first read comes alarm_seconds later, the calls
    # a second read at once would cost are left to the budget.
    policy = PollPolicy(max_calls_per_minute=90)
    _clock, api, result, alarms, _stops = _watch_with_alarms(fires_at=None, policy=policy)
    assert result.snapshot.status.value == "Succeeded"
    assert len(set(alarms.reads)) == len(alarms.reads)  # never two reads at one moment
    polls = sorted(t for t, name in api.calls if name == "GetDeployment")
    between = [t for t in alarms.reads if t not in polls]
    assert between  # there was room for them
    assert all(t - max(p for p in polls if p < t) >= policy.alarm_seconds - 1e-9 for t in between)


@pytest.mark.parametrize(
    "policy",
    [
        PollPolicy(),
        PollPolicy(max_calls_per_minute=36),
        PollPolicy(max_calls_per_minute=90, alarm_seconds=2.5),
    ],
    ids=["default-24", "probing-36", "90-every-2.5s"],
)
def test_the_wait_never_reads_the_alarms_at_the_moment_the_poll_reads_them(policy: PollPolicy) -> None:
    # A read whose time comes when the wait ends would be a second DescribeAlarms at the poll's
    # moment: a call the budget then lacks for the polls (at the default 24 a minute they came 6.6 s
    # apart on average instead of 6.0 s in this canary).
    _clock, api, result, alarms, _stops = _watch_with_alarms(fires_at=None, policy=policy)
    assert result.snapshot.status.value == "Succeeded"
    assert len(set(alarms.reads)) == len(alarms.reads)
    polls = [t for t, name in api.calls if name == "GetDeployment"]
    assert len(alarms.reads) > len([t for t in polls if 65.0 <= t < 1320.0])  # and there were some


def test_a_deployment_rolling_back_by_itself_is_neither_read_nor_probed_between_polls() -> None:
    # Amazon ECS rolling back on its own with users still on green (weight 10): it needs no second
    # stop, so from the poll that shows the rollback no alarm read or probe round comes until it ends.
    from orchestrator.engines.base import Polled
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.loop import StopOnAlarm
    from orchestrator.watching.snapshots import Snapshot

    clock = FakeClock()
    running = DeploymentStatus.IN_PROGRESS
    timeline = [
        (0.0, Snapshot(running, original_weight=90.0, replacement_weight=10.0)),
        (
            30.0,
            Snapshot(running, original_weight=90.0, replacement_weight=10.0, rollback_deployment_id="arn:r"),
        ),
        (
            100.0,
            Snapshot(
                DeploymentStatus.FAILED,
                original_weight=100.0,
                replacement_weight=0.0,
                rollback_deployment_id="arn:r",
            ),
        ),
    ]
    polls: list[float] = []

    class Source:
        def snapshot(self, deployment_id: str, previous: Snapshot | None = None) -> Polled:
            polls.append(clock.now)
            return Polled([snap for at, snap in timeline if at <= clock.now][-1], 1)

        def poll_calls(self, deployment_id: str) -> int:
            return 1

        def promote(self, deployment_id: str) -> None:
            raise AssertionError("never promoted")

    class Probe:
        seconds = 1.0
        answers = (0, 0)
        rounds: list[float] = []

        def round(self) -> str | None:
            self.rounds.append(clock.now)
            return None

    alarms, probe = _Alarms(clock, fires_at=40.0), Probe()
    stops: list[float] = []
    watcher = Watcher(
        Source(),
        "d-FAKE00001",
        clock=clock,
        sleep=clock.sleep,
        stop_on_alarm=StopOnAlarm(alarms, lambda firing: stops.append(clock.now), probe=probe),
    )
    result = watcher.run(WatchOptions(timeout_seconds=600, policy=PollPolicy(max_calls_per_minute=90)))
    assert result.snapshot.status is DeploymentStatus.FAILED and not stops and result.stopped_on_alarm is None
    seen = min(t for t in polls if t >= 30.0)  # the poll that shows the rollback
    assert [t for t in alarms.reads if t < 30.0] and [t for t in probe.rounds if t < 30.0]  # looked before
    assert not [t for t in alarms.reads + probe.rounds if t > seen]


def test_alarm_reads_fit_the_call_budget() -> None:
    _clock, api, result, alarms, stops = _watch_with_alarms(fires_at=None)
    assert not stops and result.stopped_on_alarm is None
    assert result.snapshot.status.value == "Succeeded"
    times = sorted([t for t, _ in api.calls] + alarms.reads)
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= PollPolicy().max_calls_per_minute
    assert result.calls == len(api.calls) + len(alarms.reads)
    assert alarms.reads  # alarms were read while the deployment ran


@pytest.mark.parametrize("alarm_seconds", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("per_minute", [12, 24, 27, 29, 31, 36])
def test_reads_between_polls_leave_room_for_the_next_poll_and_its_read(
    per_minute: int, alarm_seconds: float
) -> None:
    # The poll's wait was paced before the reads between: a read may only take room the next poll
    # (its engine calls and its own alarm read) does not need, or that poll goes over the budget.
    policy = PollPolicy(max_calls_per_minute=per_minute, alarm_seconds=alarm_seconds)
    _clock, api, result, alarms, _stops = _watch_with_alarms(fires_at=None, policy=policy)
    assert result.snapshot.status.value == "Succeeded"
    times = sorted([t for t, _ in api.calls] + alarms.reads)
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= per_minute
    assert result.max_calls_per_minute <= per_minute


def test_a_failed_stop_is_reported_and_the_watch_goes_on() -> None:
    from orchestrator.errors import BadInputError

    _clock, _api, result, _alarms, stops = _watch_with_alarms(100.0, BadInputError("already ended"))
    assert len(stops) == 1  # asked once, never again
    assert result.stopped_on_alarm is not None and result.stopped_on_alarm.error == "already ended"
    assert result.snapshot.status.value == "Succeeded"


def test_after_a_failed_stop_the_budget_paces_the_polls_without_the_read_they_no_longer_make() -> None:
    # The stop was refused at 105 s (the watch goes on, reading no alarms): the canary's step
    # (until 360 s) is polled at the quick 5 s, no longer budgeted for a DescribeAlarms a poll.
    from orchestrator.errors import BadInputError

    _clock, api, _result, alarms, stops = _watch_with_alarms(100.0, BadInputError("already ended"))
    assert len(stops) == 1 and max(alarms.reads) <= stops[0][0]
    polls = [t for t, name in api.calls if name == "GetDeployment" and 150.0 <= t < 350.0]
    assert max(b - a for a, b in itertools.pairwise(polls)) <= PollPolicy().moving_seconds + 1e-9


def test_unreadable_alarms_leave_the_decision_to_the_engine() -> None:
    from orchestrator.errors import AwsError
    from orchestrator.watching.loop import StopOnAlarm

    class Denied:
        reads = 0

        def firing(self) -> tuple[str, ...]:
            self.reads += 1
            raise AwsError("reading CloudWatch alarms: AccessDenied")

    clock = FakeClock()
    api = TimelineCodeDeploy(clock, CANARY)
    alarms = Denied()
    watcher = Watcher(
        engine_on(api),
        "d-FAKE00001",
        clock=clock,
        sleep=clock.sleep,
        stop_on_alarm=StopOnAlarm(alarms, lambda firing: None),
    )
    result = watcher.run(WatchOptions(timeout_seconds=3600))
    assert result.snapshot.status.value == "Succeeded"  # the watch goes on to the end
    assert alarms.reads == 1  # tried once, then left to the engine
    assert watcher.unread_alarms == "reading CloudWatch alarms: AccessDenied"
    assert result.calls == len(api.calls)


class _OneCallSource:
    """An engine whose poll is one call (Amazon ECS's DescribeServiceDeployments): users on the
    replacement (10 %) from 60 s on."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.polls: list[float] = []

    def snapshot(self, deployment_id: str, previous: Any = None) -> Any:
        from orchestrator.engines.base import Polled
        from orchestrator.vocabulary import DeploymentStatus
        from orchestrator.watching.snapshots import Snapshot

        self.polls.append(self.clock.now)
        weight = 10.0 if self.clock.now >= 60.0 else 0.0
        return Polled(Snapshot(DeploymentStatus.IN_PROGRESS, replacement_weight=weight), 1)

    def poll_calls(self, deployment_id: str) -> int:
        return 1

    def promote(self, deployment_id: str) -> None:
        raise AssertionError("never asked")


@pytest.mark.parametrize(("per_minute", "between"), [(24, 0), (36, 1), (60, 2)])
def test_reads_between_polls_are_spread_at_the_rate_the_budget_sustains(
    per_minute: int, between: int
) -> None:
    # An ECS poll every 5 s with its read is 24 calls a minute: at 24 no read fits between two polls,
    # at 36 one (2.5 s after the poll), at 60 two (2 s apart, alarm_seconds). Reads taken whenever
    # the sliding minute had room came in bursts, then stalled the polls (110 -> 120 s at 36).
    from orchestrator.watching.loop import StopOnAlarm

    clock = FakeClock()
    source = _OneCallSource(clock)
    alarms = _Alarms(clock, None)
    watcher = Watcher(
        source, "arn:sd", clock=clock, sleep=clock.sleep, stop_on_alarm=StopOnAlarm(alarms, lambda f: None)
    )
    policy = PollPolicy(max_calls_per_minute=per_minute)
    watcher.run(WatchOptions(timeout_seconds=400.0, policy=policy))
    polls = [t for t in source.polls if 65.0 <= t < 395.0]
    assert max(b - a for a, b in itertools.pairwise(polls)) <= policy.moving_seconds + 1e-9
    counts = [sum(1 for r in alarms.reads if a < r < b) for a, b in itertools.pairwise(polls)]
    assert min(counts) >= between - (1 if between else 0) and max(counts) <= between, counts
    assert sum(counts) >= between * len(counts) * 0.8  # steady: at most one in five skipped at the edge
    times = sorted(source.polls + alarms.reads)
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= per_minute
