"""`bluegreen drill`'s bad input: refused before any AWS call, one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main

CATALOG = str(Path(__file__).resolve().parents[2] / "services.yaml")


class _CountingCloudWatch:
    """SetAlarmState calls, counted (the injector's thread tests)."""

    def __init__(self) -> None:
        self.set = 0

    def set_alarm_state(self, **request: str) -> None:
        self.set += 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--env", "prod"], "prod is a production environment"),
        (["--env", "dev", "--fault", "latency"], "valid faults are alarm, hook"),
        (["--env", "dev", "--alarm", "nope"], "--alarm 'nope' is not one of product-service's alarms"),
        (["--env", "dev", "--strategy", "all-at-once"], "a drill breaks the release while traffic shifts"),
        (["--env", "dev", "--fault", "hook", "--alarm", "x"], "--fault hook forces no alarm"),
    ],
)
def test_refused_with_one_line_exit_2(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail (exit 4)
    code = main(["drill", "product-service", "--catalog", CATALOG, *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err and len(err.strip().splitlines()) == 1, err


def test_the_injector_waits_for_green_traffic_then_keeps_the_alarm_in_alarm() -> None:
    from orchestrator.commands.drill import _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    class CloudWatch:
        def __init__(self) -> None:
            self.set: list[dict[str, str]] = []

        def set_alarm_state(self, **request: str) -> None:
            self.set.append(request)

    cloudwatch = CloudWatch()
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    running = DeploymentStatus.IN_PROGRESS
    inject(Snapshot(running, original_weight=100.0, replacement_weight=0.0), [], 10.0)
    assert not cloudwatch.set and inject.injected_at is None  # no production traffic on green yet
    for at in (20.0, 25.0, 40.0):
        inject(Snapshot(running, original_weight=90.0, replacement_weight=10.0), [], at)
    inject(
        Snapshot(running, original_weight=100.0, replacement_weight=0.0, rollback_deployment_id="d-X"), [], 50
    )
    inject(Snapshot(DeploymentStatus.STOPPED), [], 60.0)
    assert [r["StateValue"] for r in cloudwatch.set] == ["ALARM"] * 3  # re-asserted, then left alone
    assert {r["AlarmName"] for r in cloudwatch.set} == {"svc-5xx"}
    assert inject.injected_at == 20.0 and inject.longest_gap == 15.0


def test_the_injector_re_asserts_between_polls_until_the_deployment_rolls_back() -> None:
    """An engine polling alarms at their period meets each evaluation's reset at the same phase: the
    forced state is re-asserted between the drill's polls (a thread, every REASSERT_SECONDS), never
    after the deployment rolled back, and a failed re-assertion does not end it."""
    import time
    from itertools import pairwise

    from botocore.exceptions import ClientError

    from orchestrator.commands.drill import REASSERT_REAL_FLOOR, _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    class CloudWatch:
        def __init__(self) -> None:
            self.set: list[float] = []

        def set_alarm_state(self, **request: str) -> None:
            self.set.append(time.monotonic())
            if len(self.set) == 3:  # throttled once: the next re-assertion still comes
                raise ClientError(
                    {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "SetAlarmState"
                )

    cloudwatch = CloudWatch()
    scale = 100.0  # 1 deployment second is 10 ms: the real floor (20 ms) spaces them
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    inject.keep_with(time.monotonic, scale)
    running = DeploymentStatus.IN_PROGRESS
    inject(Snapshot(running, original_weight=100.0, replacement_weight=0.0), [], 10.0)
    time.sleep(0.1)
    assert not cloudwatch.set  # nothing before green has production traffic
    inject(Snapshot(running, original_weight=90.0, replacement_weight=10.0), [], 20.0)
    deadline = time.monotonic() + 10.0
    while len(cloudwatch.set) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    inject(Snapshot(running, original_weight=90.0, replacement_weight=10.0), [], 520.0)
    inject(
        Snapshot(running, original_weight=100.0, replacement_weight=0.0, rollback_deployment_id="d-X"),
        [],
        530,
    )
    # the poll that saw the rollback does not wait for a re-assertion in flight (the watch goes on);
    # none starts after it
    time.sleep(2 * REASSERT_REAL_FLOOR)
    after = len(cloudwatch.set)
    time.sleep(5 * REASSERT_REAL_FLOOR)
    assert len(cloudwatch.set) == after >= 8  # none once it rolls back
    assert "SetAlarmState svc-5xx: throttled" in (inject.reassert_error or "")
    # between two polls 500 deployment seconds apart: re-asserted every 2 s or so (the real floor
    # at this scale; 50 s allows a busy machine's stalls)
    assert inject.longest_gap == 500.0
    between = [at for at in inject.asserted if 20.0 <= at < 520.0]
    assert len(between) >= 6 and between[0] == 20.0
    assert all(0 < b - a < 50.0 for a, b in pairwise(between)), between


def test_a_re_assertions_moment_counts_from_the_latest_poll_on_the_drills_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A re-assertion between polls is at the latest poll's moment plus the drill's clock since it
    (real seconds, the deployment's clock, not time.monotonic) x the time scale; one whose call
    returned only after a later poll still counts at its own moment: the longest re-assertion gap is
    between the moments in time order (20, 30, 50: 20 s), not in the order the calls returned."""
    import threading

    from orchestrator.commands import drill
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    monkeypatch.setattr(drill, "REASSERT_SECONDS", 0.5)  # at scale 10: every 50 ms real
    entered, gate = threading.Event(), threading.Event()

    class CloudWatch:
        def set_alarm_state(self, **request: str) -> None:
            if threading.current_thread().name == "drill-reassert":
                entered.set()
                gate.wait(5.0)  # the first re-assertion's call is slow: a poll is answered meanwhile

    # The drill's clock, real seconds, read in this order: at the first poll, by the thread's first
    # re-assertion, at the second poll; then it stands still.
    readings, now = iter([0.0, 1.0, 3.0]), [0.0]

    def clock() -> float:
        now[0] = next(readings, now[0])
        return now[0]

    inject = drill._Injector(CloudWatch(), "svc-5xx", "d-ABCDEFGHI")
    inject.keep_with(clock, 10.0)
    green = Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=90.0, replacement_weight=10.0)
    try:
        inject(green, [], 20.0)
        assert entered.wait(5.0)  # re-asserting at 20 + 1.0 x 10 = 30, its call not yet answered
        inject(green, [], 50.0)
    finally:
        gate.set()
        inject.stop()
    assert inject.asserted[:3] == [20.0, 50.0, 30.0], inject.asserted
    assert set(inject.asserted[3:]) <= {50.0}  # any later one: the second poll's moment, the clock still
    assert inject.longest_reassert_gap == 20.0 and inject.longest_gap == 30.0


def test_the_re_assertions_are_spaced_by_the_real_floor_at_a_high_time_scale() -> None:
    """At a time scale where a deployment second is a microsecond, the thread still waits
    REASSERT_REAL_FLOOR between two SetAlarmState calls (each is an API call the engines need the
    machine for): one per 20 ms at most, never thousands a second."""
    import time

    from orchestrator.commands.drill import REASSERT_REAL_FLOOR, _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    cloudwatch = _CountingCloudWatch()
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    inject.keep_with(time.monotonic, 1e6)
    began = time.monotonic()
    try:
        inject(
            Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=90.0, replacement_weight=10.0), [], 20.0
        )
        time.sleep(10 * REASSERT_REAL_FLOOR)
    finally:
        inject.stop()
    took = time.monotonic() - began  # (more than 0.2 s on a busy machine)
    assert 1 <= cloudwatch.set <= 2 + took / REASSERT_REAL_FLOOR, (cloudwatch.set, took)


def test_release_ends_the_re_assertions_before_it_sets_the_alarm_back_to_ok() -> None:
    """release() after a watch that ended without a last poll (timed out, or the watch failed): no
    re-assertion may force ALARM again after the alarm went back to OK (the next deployment would be
    stopped on it)."""
    import time

    from orchestrator.commands.drill import REASSERT_REAL_FLOOR, _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    class CloudWatch:
        def __init__(self) -> None:
            self.reason = ""  # the alarm's StateReason: the drill's own, below
            self.set: list[str] = []

        def describe_alarms(self, **request: object) -> dict[str, object]:
            return {
                "MetricAlarms": [{"AlarmName": "svc-5xx", "StateValue": "ALARM", "StateReason": self.reason}]
            }

        def set_alarm_state(self, **request: str) -> None:
            self.set.append(request["StateValue"])

    cloudwatch = CloudWatch()
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    cloudwatch.reason = inject.reason
    inject.keep_with(time.monotonic, 100.0)
    try:
        inject(
            Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=90.0, replacement_weight=10.0), [], 20.0
        )
        deadline = time.monotonic() + 5.0
        while len(cloudwatch.set) < 3 and time.monotonic() < deadline:
            time.sleep(REASSERT_REAL_FLOOR / 2)
        line = inject.release()
        after = len(cloudwatch.set)
        time.sleep(5 * REASSERT_REAL_FLOOR)
    finally:
        inject.stop()
    assert line is not None and "back to OK" in line, line
    assert cloudwatch.set[:3] == ["ALARM"] * 3 and cloudwatch.set[-1] == "OK", cloudwatch.set
    assert len(cloudwatch.set) == after, cloudwatch.set  # nothing after the release


def test_stop_does_not_wait_out_the_threads_pause() -> None:
    """At time scale 1 (AWS) the thread pauses a real second between re-assertions; stop() (the
    rollback's poll, the watch's end) ends it at once rather than at the pause's end."""
    import time

    from orchestrator.commands.drill import _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    class CloudWatch:
        def set_alarm_state(self, **request: str) -> None:
            pass

    inject = _Injector(CloudWatch(), "svc-5xx", "d-ABCDEFGHI")
    inject.keep_with(time.monotonic, 0.2)  # a pause of 5 s real
    inject(Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=90.0, replacement_weight=10.0), [], 20.0)
    began = time.monotonic()
    inject.stop()
    assert time.monotonic() - began < 2.5


@pytest.mark.parametrize("ends", ["rolled-back", "watch-failed"])
def test_the_drills_watch_re_asserts_between_its_polls_and_stops_when_it_ends(ends: str) -> None:
    """`_watch` hands the injector its clock (the thread re-asserts between the polls) and stops the
    thread however the watch ends: at the rollback's poll, or when the watch itself fails (no forced
    ALARM after the drill gave up)."""
    import time

    from orchestrator.commands.drill import REASSERT_REAL_FLOOR, _Injector, _watch
    from orchestrator.engines.base import Polled
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    cloudwatch = _CountingCloudWatch()
    running = DeploymentStatus.IN_PROGRESS

    class Engine:  # polls: before green, green (the fault goes in), green, then the end
        def __init__(self) -> None:
            self.polls = 0

        def server_clock(self, scale: float) -> object:
            return time.monotonic

        def poll_calls(self, deployment_id: str) -> int:
            return 1

        def promote(self, deployment_id: str) -> None:
            raise AssertionError("never asked")

        def snapshot(self, deployment_id: str, previous: Snapshot | None = None) -> Polled:
            self.polls += 1
            if self.polls == 1:
                return Polled(Snapshot(running, original_weight=100.0, replacement_weight=0.0), 1)
            if self.polls == 3:  # answered once the thread re-asserted twice since the last poll
                deadline = time.monotonic() + 5.0
                while cloudwatch.set < 3 and time.monotonic() < deadline:
                    time.sleep(REASSERT_REAL_FLOOR / 2)
            if self.polls <= 3:
                return Polled(Snapshot(running, original_weight=90.0, replacement_weight=10.0), 1)
            if ends == "watch-failed":
                raise RuntimeError("the watch failed")
            stopped = DeploymentStatus.STOPPED  # rolled back within the deployment (Amazon ECS's way)
            back = Snapshot(
                stopped, original_weight=100.0, replacement_weight=0.0, rollback_deployment_id=deployment_id
            )
            return Polled(back, 1)

    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    try:
        if ends == "watch-failed":
            with pytest.raises(RuntimeError, match="the watch failed"):
                _watch(Engine(), "d-ABCDEFGHI", 3600.0, 100.0, inject, None)
        else:
            observed = _watch(Engine(), "d-ABCDEFGHI", 3600.0, 100.0, inject, None)
            assert observed.rolled_back and observed.back_on_blue_at is not None
        after = cloudwatch.set
        time.sleep(5 * REASSERT_REAL_FLOOR)
        assert cloudwatch.set == after  # stopped with the watch
    finally:
        inject.stop()
    assert len(inject.polled) == 2 and len(inject.asserted) == cloudwatch.set >= 3, inject.asserted


@pytest.mark.parametrize(
    ("polls", "between", "seconds", "said"),
    [
        # polls 10 s apart, as long as the alarm's period; re-asserted every second between them: the
        # misses count from the re-assertions' 1 s (one miss), the drill's poll adds its 10 s
        ((20.0, 30.0, 40.0), 1.0, 60 * 2 + 10 + 60, "every 1 s"),
        # no re-assertion between the polls (no thread): the polls' 10 s gaps count (two misses)
        ((20.0, 30.0, 40.0), None, 60 * 3 + 10 + 60, "every 10 s"),
        # one poll kept the state before the rollback: no gap measured, the policy's 5 s stands for it
        ((20.0,), None, 60 * 2 + 5 + 60, "every 5 s"),
    ],
    ids=["re-asserted-between-polls", "polls-only", "one-poll"],
)
def test_the_drills_bound_counts_misses_from_the_re_assertion_gap(
    polls: tuple[float, ...],
    between: float | None,
    seconds: float,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_drill` hands alarm_bound the injector's measured re-assertion gap (its polls' gap when it
    measured none) besides its longest poll gap: a 10 s alarm polled every 10 s but re-asserted every
    second meets the bound of one miss, not two."""
    from types import SimpleNamespace

    from orchestrator import engines
    from orchestrator.commands import drill, drill_rules
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    class CloudWatch:
        def set_alarm_state(self, **request: str) -> None:
            pass

        def describe_alarms(self, **request: object) -> dict[str, object]:
            return {"MetricAlarms": []}  # evaluated since: nothing to release

    class Session:
        def clients(self, region: str | None = None) -> object:
            return SimpleNamespace(client=lambda name: CloudWatch(), counter=SimpleNamespace(total=0))

        def print(self, text: str) -> None:
            pass

        def style(self, text: str, color: str) -> str:
            return text

    class Engine:
        name = "codedeploy"

        def plan(self, inputs: object) -> object:
            return SimpleNamespace(timeout_seconds=3600.0)

        def start(self, plan: object, on_step: object = None) -> object:
            return SimpleNamespace(deployment_id="d-ABCDEFGHI")

    def watch(
        engine: object, deployment_id: str, timeout: float, scale: float, listener: object, wiring: None
    ) -> drill_rules.Observed:
        assert isinstance(listener, drill._Injector)
        running = DeploymentStatus.IN_PROGRESS
        for at in polls:
            listener(Snapshot(running, original_weight=90.0, replacement_weight=10.0), [], at)
            if between is not None:  # the thread's re-assertions before the next poll
                for k in range(1, round(10.0 / between)):
                    listener._assert(at + k * between)
        back = polls[-1] + 60.0
        listener(Snapshot(DeploymentStatus.STOPPED, rollback_deployment_id="d-R"), [], back)
        return drill_rules.Observed(deployment_id, "Stopped", True, listener.injected_at, back)

    monkeypatch.setattr(engines, "engine_for", lambda service, clients: Engine())
    monkeypatch.setattr(drill, "_alarm_timing", lambda cloudwatch, alarm: (10.0, 1))
    monkeypatch.setattr(drill, "_wiring_problem", lambda engine, clients, service, alarm: None)
    monkeypatch.setattr(drill, "_live_revision", lambda engine, clients, service: "arn:td/svc:7")
    monkeypatch.setattr(drill, "_live_image", lambda clients, service, revision: "repo/svc:7")
    monkeypatch.setattr(drill, "_watch", watch)
    monkeypatch.delenv("BLUEGREEN_TIME_SCALE", raising=False)
    service = SimpleNamespace(
        name="svc", environment="dev", region="us-east-1", settings=SimpleNamespace(strategy="canary10")
    )
    options = drill.DrillOptions(service="svc")
    result = drill._drill(Session(), options, service, drill_rules.Fault.ALARM, "svc-5xx")  # type: ignore[arg-type]
    document = result.document
    assert document.bound_seconds == pytest.approx(seconds), document.bound
    assert f"ALARM re-asserted {said} at most" in document.bound, document.bound


@pytest.mark.parametrize(
    ("injected", "reason_now", "sets", "said"),
    [
        # still the drill's forced state: back to OK, said so
        (True, "bluegreen drill of deployment d-ABCDEFGHI: forced to ALARM on purpose", ["OK"], "back to OK"),
        # evaluated since (or someone else set it): left as it is
        (True, "Threshold Crossed: 1 out of the last 1 datapoints ...", [], None),
        # never forced (the deployment ended before green had traffic): nothing read, nothing set
        (False, "bluegreen drill of deployment d-ABCDEFGHI: forced to ALARM on purpose", [], None),
    ],
    ids=["forced-released", "evaluated-since-kept", "never-forced"],
)
def test_the_injector_releases_only_its_own_forced_alarm(
    injected: bool, reason_now: str, sets: list[str], said: str | None
) -> None:
    from orchestrator.commands.drill import _Injector

    class CloudWatch:
        def __init__(self) -> None:
            self.set: list[dict[str, str]] = []
            self.described = 0

        def describe_alarms(self, **request: object) -> dict[str, object]:
            self.described += 1
            return {
                "MetricAlarms": [{"AlarmName": "svc-5xx", "StateValue": "ALARM", "StateReason": reason_now}]
            }

        def set_alarm_state(self, **request: str) -> None:
            self.set.append(request)

    cloudwatch = CloudWatch()
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    inject.injected_at = 20.0 if injected else None
    line = inject.release()
    assert [r["StateValue"] for r in cloudwatch.set] == sets
    assert (line is None) if said is None else (line is not None and said in line), line
    assert cloudwatch.described == (1 if injected else 0)


def test_a_hook_first_seen_after_the_rollback_began_went_in_at_the_previous_poll() -> None:
    from orchestrator.commands.drill import _HookWatch
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    running = DeploymentStatus.IN_PROGRESS
    shifting = Snapshot(
        running, lifecycle=(("AllowTraffic", _status("InProgress")),), replacement_weight=10.0
    )
    on_time = _HookWatch()
    on_time(shifting, [], 10.0)
    on_time(Snapshot(running, original_weight=0.0, replacement_weight=100.0), [], 20.0)
    assert on_time.injected_at == 20.0  # seen while production is all on green: then
    late = _HookWatch()
    late(shifting, [], 10.0)
    late(Snapshot(DeploymentStatus.STOPPED, rollback_deployment_id="d-X", replacement_weight=100.0), [], 40.0)
    assert late.injected_at == 10.0  # seen only once rolled back: it went in after the poll at 10 s
    # Amazon ECS: rolled back, the step not shown and users back on blue: the poll that saw the canary
    unseen = _HookWatch()
    unseen(shifting, [], 10.0)
    unseen(Snapshot(running, replacement_weight=10.0), [], 15.0)
    back = Snapshot(DeploymentStatus.FAILED, rollback_deployment_id="arn:r", replacement_weight=0.0)
    unseen(back, [], 40.0)
    assert unseen.injected_at == 15.0
    # ended before users ever reached green: nothing went in (the drill fails, saying so)
    early = _HookWatch()
    early(Snapshot(running), [], 5.0)
    early(Snapshot(DeploymentStatus.FAILED, rollback_deployment_id="arn:r"), [], 9.0)
    assert early.injected_at is None


# Each case: the polls a hook drill's watch saw, as (status, rollback id, AfterAllowTraffic's step or
# None, green %, deployment second), and when the hook went in (None: never, the drill fails).
_RUNNING, _FAILED = "InProgress", "Failed"
_HOOK_CASES = {
    # Amazon ECS still rolling back (active): the previous poll, not this one, nor never
    "rolling-back-after-the-canary": (
        [(_RUNNING, None, None, 10.0, 10.0), (_RUNNING, "arn:r", None, 10.0, 15.0)],
        10.0,
    ),
    # ended without a rollback (the hook failed, no auto-rollback): over, so the previous poll
    "failed-without-rollback": (
        [(_RUNNING, None, None, 10.0, 10.0), (_FAILED, None, "Failed", 100.0, 30.0)],
        10.0,
    ),
    # users first seen on green by the rolled-back poll itself: no earlier poll saw them, nothing went in
    "first-seen-on-green-rolled-back": (
        [(_RUNNING, None, None, 0.0, 5.0), (_FAILED, "arn:r", None, 10.0, 9.0)],
        None,
    ),
    # the first poll that shows it counts; later ones do not move it
    "first-sighting-wins": (
        [
            (_RUNNING, None, None, 10.0, 10.0),
            (_RUNNING, None, None, 100.0, 20.0),
            (_RUNNING, None, "InProgress", 100.0, 25.0),
        ],
        20.0,
    ),
    # users on green at a running canary's polls are not the hook: all on green is, at its poll
    "canary-polls-then-all-on-green": (
        [
            (_RUNNING, None, None, 10.0, 10.0),
            (_RUNNING, None, None, 10.0, 15.0),
            (_RUNNING, None, None, 100.0, 20.0),
        ],
        20.0,
    ),
    # the step first seen over (failed), users already back on blue: it ran, after the previous poll
    "step-first-seen-failed": (
        [(_RUNNING, None, None, 0.0, 5.0), (_FAILED, "arn:r", "Failed", 0.0, 30.0)],
        5.0,
    ),
}


@pytest.mark.parametrize(("polls", "injected"), list(_HOOK_CASES.values()), ids=list(_HOOK_CASES))
def test_when_the_hook_drill_says_the_hook_went_in(
    polls: list[tuple[str, str | None, str | None, float, float]], injected: float | None
) -> None:
    from orchestrator.commands.drill import _HookWatch
    from orchestrator.vocabulary import DeploymentStatus, LifecycleStatus
    from orchestrator.watching.snapshots import Snapshot

    watch = _HookWatch()
    for status, rollback, step, green, at in polls:
        lifecycle = (
            (("AllowTraffic", LifecycleStatus.SUCCEEDED), ("AfterAllowTraffic", LifecycleStatus(step)))
            if step
            else ()
        )
        snapshot = Snapshot(
            DeploymentStatus(status),
            lifecycle=lifecycle,
            original_weight=100.0 - green,
            replacement_weight=green,
            rollback_deployment_id=rollback,
        )
        watch(snapshot, [], at)
    assert watch.injected_at == injected


def test_the_hook_drills_longest_gap_is_between_polls_of_the_running_deployment() -> None:
    # The bound allows a poll's gap for the hook's start; the poll that sees the deployment over
    # (here 25 s after the last, a busy machine) is no gap the hook could have gone into.
    from orchestrator.commands.drill import _HookWatch
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    watch = _HookWatch()
    running = DeploymentStatus.IN_PROGRESS
    for at, snapshot in [
        (10.0, Snapshot(running, replacement_weight=10.0)),
        (15.0, Snapshot(running, replacement_weight=100.0)),
        (40.0, Snapshot(DeploymentStatus.STOPPED, rollback_deployment_id="d-X", replacement_weight=0.0)),
    ]:
        watch(snapshot, [], at)
    assert watch.polled == [10.0, 15.0] and watch.longest_gap == 5.0


def _status(value: str) -> object:
    from orchestrator.vocabulary import LifecycleStatus

    return LifecycleStatus(value)


def test_the_poll_that_sees_the_rollback_does_not_wait_for_a_re_assertion_in_flight() -> None:
    """A slow SetAlarmState on the thread must not hold up the watch while traffic moves back (its
    time counts in the drill's time to rollback); release() waits for it (its OK comes last)."""
    import threading
    import time

    from orchestrator.commands.drill import _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    in_flight, finish = threading.Event(), threading.Event()

    class CloudWatch:
        def __init__(self) -> None:
            self.set: list[str] = []

        def set_alarm_state(self, **request: str) -> None:
            if len(self.set) == 1:  # the thread's first re-assertion hangs until released
                in_flight.set()
                finish.wait(5.0)
            self.set.append(request["StateValue"])

        def describe_alarms(self, **request: object) -> dict[str, object]:
            return {
                "MetricAlarms": [
                    {"AlarmName": "svc-5xx", "StateValue": "ALARM", "StateReason": inject.reason}
                ]
            }

    cloudwatch = CloudWatch()
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    inject.keep_with(time.monotonic, 100.0)
    running = DeploymentStatus.IN_PROGRESS
    inject(Snapshot(running, original_weight=90.0, replacement_weight=10.0), [], 20.0)
    assert in_flight.wait(5.0)
    began = time.monotonic()
    inject(
        Snapshot(running, original_weight=100.0, replacement_weight=0.0, rollback_deployment_id="d-X"), [], 30
    )
    assert time.monotonic() - began < 1.0  # did not wait for the hanging call
    finish.set()
    line = inject.release()
    assert line is not None and "back to OK" in line
    assert cloudwatch.set == ["ALARM", "ALARM", "OK"]  # the late re-assertion landed before the release


def test_any_error_of_a_re_assertion_is_kept_and_the_next_one_still_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not only botocore's: an uncaught error would end the thread and print a traceback."""
    import threading
    import time

    from orchestrator.commands.drill import _Injector
    from orchestrator.vocabulary import DeploymentStatus
    from orchestrator.watching.snapshots import Snapshot

    uncaught: list[object] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)

    class CloudWatch:
        def __init__(self) -> None:
            self.calls = 0

        def set_alarm_state(self, **request: str) -> None:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("connection pool is closed")

    cloudwatch = CloudWatch()
    inject = _Injector(cloudwatch, "svc-5xx", "d-ABCDEFGHI")
    inject.keep_with(time.monotonic, 100.0)
    inject(Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=90.0, replacement_weight=10.0), [], 20.0)
    deadline = time.monotonic() + 5.0
    while cloudwatch.calls < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    inject.stop()
    assert cloudwatch.calls >= 4 and uncaught == []
    assert inject.reassert_error == "connection pool is closed"
