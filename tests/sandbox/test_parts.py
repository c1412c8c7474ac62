"""Small pure parts of the sandbox: the metric store's windows, PutMetricData shaping, the Lambda
runner's name resolution and context, the narrator's traffic line."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from sandbox.lambda_runner import LambdaContext, LambdaRunner, function_name_of
from sandbox.metrics import MetricStore, _datum, metric_key, period_start
from sandbox.narrator import traffic_line
from tests.support.sandbox import wait_for


@pytest.mark.parametrize(
    ("timestamp", "period", "start"),
    [(0.0, 60.0, 0.0), (59.9, 60.0, 0.0), (60.0, 60.0, 60.0), (1_800_000_125.0, 300.0, 1_800_000_000.0)],
)
def test_period_start(timestamp: float, period: float, start: float) -> None:
    assert period_start(timestamp, period) == start


def test_store_window_is_half_open_and_sorted() -> None:
    store = MetricStore()
    dims = {"TargetGroup": "targetgroup/a/1"}
    for at, value in [(61.0, 3.0), (59.0, 1.0), (60.0, 2.0), (120.0, 4.0)]:
        store.add("AWS/ApplicationELB", "RequestCount", dims, at, value)
    key = metric_key("AWS/ApplicationELB", "RequestCount", dims)
    assert store.values(key, 60.0, 120.0) == [2.0, 3.0]
    assert store.values(key, 0.0, 60.0) == [1.0]
    assert store.values(metric_key("AWS/ApplicationELB", "Other", dims), 0.0, 999.0) == []
    assert store.metric_keys() == [key]


def test_datum_counts_values_and_splits_at_150() -> None:
    key = metric_key("AWS/ApplicationELB", "TargetResponseTime", {"TargetGroup": "targetgroup/a/1"})
    values = [0.02] * 40 + [i / 1000.0 for i in range(200)]
    data = _datum(key, 120.0, values)
    assert len(data) == 2 and all(len(d["Values"]) <= 150 for d in data)
    assert sum(sum(d["Counts"]) for d in data) == len(values)
    assert data[0]["Unit"] == "Seconds" and data[0]["Timestamp"].timestamp() == 120.0


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("bluegreen-dev-before-install", "bluegreen-dev-before-install"),
        (
            "arn:aws:lambda:ap-northeast-2:123456789012:function:bluegreen-dev-after-install",
            "bluegreen-dev-after-install",
        ),
        (
            "arn:aws:lambda:ap-northeast-2:123456789012:function:bluegreen-dev-after-install:live",
            "bluegreen-dev-after-install",
        ),
    ],
)
def test_function_name_of(name: str, function: str) -> None:
    assert function_name_of(name) == function


def test_runner_invokes_by_name_or_arn_on_its_own_thread() -> None:
    seen: list[tuple[dict[str, Any], Any, str]] = []
    done = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append((event, context, threading.current_thread().name))
        done.set()

    runner = LambdaRunner({"hook-a": handler}, "ap-northeast-2", "123456789012")
    payload = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"}
    runner("arn:aws:lambda:ap-northeast-2:123456789012:function:hook-a", payload)
    assert done.wait(5)
    runner.join()
    event, context, thread = seen[0]
    assert event == payload and thread != threading.current_thread().name
    assert context.function_name == "hook-a"
    assert context.invoked_function_arn.endswith(":function:hook-a")
    assert 0 < context.get_remaining_time_in_millis() <= 120_000
    assert runner.invocations[0].error is None


def test_runner_unknown_function_raises_lookup_error() -> None:
    runner = LambdaRunner({}, "ap-northeast-2", "123456789012")
    with pytest.raises(LookupError, match="no Lambda function 'missing'"):
        runner("missing", {})


def test_runner_records_a_handler_exception() -> None:
    def broken(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("boom")

    runner = LambdaRunner({"hook-b": broken}, "ap-northeast-2", "123456789012", retry_attempts={"hook-b": 0})
    runner("hook-b", {})
    runner.join()
    assert runner.invocations[0].error == "RuntimeError: boom"


def test_context_deadline() -> None:
    context = LambdaContext(function_name="f", invoked_function_arn="arn", timeout_seconds=0.0)
    assert context.get_remaining_time_in_millis() == 0


@pytest.mark.parametrize(
    ("versions", "errors", "line"),
    [
        ({"svc:1": 9, "svc:2": 1}, {}, "svc users: 90% svc:1, 10% svc:2"),
        ({"svc:1": 9, "svc:2": 1}, {"svc:2": 1}, "svc users: 90% svc:1, 10% svc:2 (1 error)"),
        ({"svc:2": 4}, {"svc:2": 2}, "svc users: 100% svc:2 (2 errors)"),
    ],
)
def test_traffic_line(versions: dict[str, int], errors: dict[str, int], line: str) -> None:
    assert traffic_line("svc", Counter(versions), Counter(errors)) == line


def test_leftover_check_sees_a_running_task_and_not_a_stopped_one() -> None:
    """The cleanup check of the full-loop tests can fail: a live server thread is found."""
    from sandbox.app import AppServer, TaskIdentity
    from tests.support.sandbox import listening_ports, sandbox_threads, wait_for

    before = {t.ident for t in threading.enumerate()}
    task = AppServer(TaskIdentity("svc", "svc:1", "ecs-svc/1")).start()
    assert sandbox_threads(exclude=before) and task.port in listening_ports()
    task.stop()
    wait_for(lambda: not sandbox_threads(exclude=before), timeout=5)
    assert task.port not in listening_ports()


def test_stop_servers_stops_them_together() -> None:
    """Each server's loop notices a stop within its 0.1 s poll; 30 stopped one after another take
    about 1.5 s, stopped together about one poll."""
    from sandbox.app import AppServer, TaskIdentity
    from sandbox.http_server import stop_servers
    from tests.support.sandbox import listening_ports

    before = listening_ports()
    servers = [AppServer(TaskIdentity("s", "s:1", f"ecs-svc/{n}")).start() for n in range(30)]
    assert len(listening_ports() - before) == 30
    started = time.monotonic()
    stop_servers(servers)
    assert time.monotonic() - started < 0.8
    assert listening_ports() - before == set()


@pytest.mark.parametrize(
    ("busy_ms", "seconds", "units", "cpu"),
    [
        (0.0, 10.0, 512, 2.0),  # idle
        (400.0, 10.0, 512, 6.0),  # 1 request/s of 40 ms on half a vCPU: 2 % + 4 %
        (400.0, 10.0, 256, 10.0),  # the same load on a quarter vCPU weighs twice as much
        (15_400.0, 10.0, 512, 100.0),  # 1 request/s with 1500 ms injected latency: saturated
        (5_000.0, 10.0, 1024, 27.0),
        (400.0, 0.0, 512, 2.0),  # no time elapsed: nothing to measure
    ],
)
def test_cpu_utilization(busy_ms: float, seconds: float, units: int, cpu: float) -> None:
    from sandbox.fleet import cpu_utilization

    assert cpu_utilization(busy_ms, seconds, units) == pytest.approx(cpu)


def test_task_counts_its_service_time_for_the_cpu_gauge() -> None:
    """Requests (with injected latency) add to the task's busy time, which a CPU sample takes."""
    import urllib.request

    from sandbox.app import AppServer, TaskIdentity
    from sandbox.faults import Fault
    from sandbox.fleet import cpu_utilization

    healthy = AppServer(TaskIdentity("s", "s:1", "ecs-svc/1")).start()
    slow = AppServer(TaskIdentity("s", "s:2", "ecs-svc/2"), Fault(latency_ms=1500.0)).start()
    try:
        for task in (healthy, slow):
            for _ in range(2):  # 2 requests in 2 virtual seconds (3 s of real latency)
                with urllib.request.urlopen(f"http://127.0.0.1:{task.port}/browse", timeout=5) as answer:
                    answer.read()
        calm, busy = healthy.take_busy_ms(), slow.take_busy_ms()
        assert 40.0 <= calm <= 120.0 and busy == pytest.approx(calm + 3_000.0)
        assert healthy.take_busy_ms() == 0.0  # taken
        assert cpu_utilization(calm, 2.0, 512) < 10.0 < 80.0 < cpu_utilization(busy, 2.0, 512)
    finally:
        healthy.stop()
        slow.stop()


def test_a_hook_waits_for_the_fleet_to_see_moto(repo_root: Any) -> None:
    """Before a hook runs, the world reconciles the fleet, trying again while moto fails, then waits
    for new targets to settle (healthy or unhealthy), so AfterInstall never sees a half-made green."""
    from sandbox.world import World, WorldOptions

    class Fleet:
        stopping = False

        def __init__(self) -> None:
            self.calls = 0
            self.errors = 0
            self.settled_at_call = 0

        def reconcile(self) -> None:
            self.calls += 1
            if self.calls < 3:
                raise ConnectionError("moto busy")

        def settling(self) -> bool:
            self.settled_at_call += 1
            return self.settled_at_call < 4  # initial for three looks

    world = World(repo_root / "services.yaml", "dev", ["product-service"], None, WorldOptions())
    fleet = Fleet()
    world.fleet = fleet  # type: ignore[assignment]
    world._sync_fleet()
    assert (fleet.calls, fleet.errors, fleet.settled_at_call) == (3, 2, 4)


def test_narrator_tells_when_the_replacement_targets_pass_their_health_checks() -> None:
    import io

    from sandbox.clock import VirtualClock
    from sandbox.load_balancer.target_health import TargetState
    from sandbox.narrator import Narrator, Sightings

    clock = VirtualClock(1000.0)
    health_history = [
        (clock.now(), "10.0.100.2", TargetState.UNHEALTHY),  # the original's target
        (clock.now(), "10.0.100.3", TargetState.HEALTHY),
    ]
    sightings = Sightings(
        services=[],
        alarm_transitions=list,
        health_changes=lambda: health_history,
        replacement_targets=lambda: {"10.0.100.3": "svc:2"},
        user_requests=list,
    )
    out = io.StringIO()
    narrator = Narrator(sightings, clock, out).start()
    try:
        wait_for(lambda: "healthy" in out.getvalue(), timeout=5)
    finally:
        narrator.stop()
    assert out.getvalue().count("\n") == 1  # the original's target is not news
    assert "svc:2 target 10.0.100.3 healthy (load balancer health checks)" in out.getvalue()


def test_narrator_tells_which_versions_answer_the_users_and_alarm_changes() -> None:
    """Each window's share of user requests per version (with errors), and transitions to or from
    ALARM, from the narrator's own inputs (``Sightings``), in the order of ``services``."""
    import io

    from sandbox.alarm_eval import Transition
    from sandbox.alarm_state import AlarmState
    from sandbox.clock import VirtualClock
    from sandbox.narrator import WINDOW, Narrator, Sightings
    from sandbox.traffic import RequestRecord

    clock = VirtualClock(100.0)
    start = clock.now()

    def requests() -> list[RequestRecord]:
        at = clock.now() - 5.0  # answered a moment ago: inside the window the narrator sums up
        canary = [RequestRecord("svc", at, at, 500, "svc:2", "ecs-svc/2")]
        return [*(RequestRecord("svc", at, at, 200, "svc:1", "ecs-svc/1") for _ in range(9)), *canary]

    transitions = [
        Transition(start, "svc-cpu", AlarmState.INSUFFICIENT_DATA, AlarmState.OK, "data"),
        Transition(start, "svc-5xx", AlarmState.OK, AlarmState.ALARM, "threshold crossed"),
    ]
    sightings = Sightings(
        services=["other", "svc"],
        alarm_transitions=lambda: transitions,
        health_changes=list,
        replacement_targets=dict,
        user_requests=requests,
    )
    out = io.StringIO()
    narrator = Narrator(sightings, clock, out).start()
    try:
        wait_for(lambda: "users:" in out.getvalue() and clock.now() > start + WINDOW, timeout=5)
    finally:
        narrator.stop()
    lines = out.getvalue().splitlines()
    assert "alarm svc-5xx: OK -> ALARM  (threshold crossed)" in lines[0]
    assert not [line for line in lines if "svc-cpu" in line]
    assert "svc users: 90% svc:1, 10% svc:2 (1 error)" in lines[1]


def test_narrator_says_an_unchanged_single_version_once() -> None:
    """Windows in which every user got the same version, without errors, are not news after the first."""
    import io

    from sandbox.clock import VirtualClock
    from sandbox.narrator import WINDOW, Narrator, Sightings
    from sandbox.traffic import RequestRecord

    clock = VirtualClock(1000.0)
    start = clock.now()

    def requests() -> list[RequestRecord]:
        at = clock.now() - 1.0  # answered a moment ago: inside the window the narrator sums up
        return [RequestRecord("svc", at, at, 200, "svc:1", "ecs-svc/1") for _ in range(3)]

    sightings = Sightings(
        services=["svc"],
        alarm_transitions=list,
        health_changes=list,
        replacement_targets=dict,
        user_requests=requests,
    )
    out = io.StringIO()
    narrator = Narrator(sightings, clock, out).start()
    try:
        wait_for(lambda: clock.now() > start + 4 * WINDOW, timeout=5)
    finally:
        narrator.stop()
    told = [line for line in out.getvalue().splitlines() if "users:" in line]
    assert len(told) == 1 and "svc users: 100% svc:1" in told[0]
