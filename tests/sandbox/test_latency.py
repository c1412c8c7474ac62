"""Latency lives on the real clock: a task takes its service time in real milliseconds, so the smoke
checks' budgets (real ms) and the latency alarm (the reported service time) judge the same latency;
slow answers never hold the traffic schedule or a stop."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from sandbox.app import SERVICE_TIME_HEADER, AppServer, TaskIdentity
from sandbox.clock import VirtualClock
from sandbox.faults import Fault
from sandbox.traffic import TrafficGenerator
from tests.sandbox.test_full_loop import deploy, nothing_left_behind, start_world
from tests.support.sandbox import sandbox_threads, wait_for

__all__ = ["nothing_left_behind"]  # the fixture, shared with the full-loop tests


def _get(port: int, path: str, timeout: float = 10.0) -> tuple[float, float]:
    """(real seconds the answer took, the service time the task reported in ms)."""
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
        answer.read()
        reported = float(answer.headers[SERVICE_TIME_HEADER])
    return time.monotonic() - started, reported


def test_a_task_takes_its_reported_service_time_in_real_time() -> None:
    task = AppServer(TaskIdentity("s", "s:2", "ecs-svc/2"), Fault(latency_ms=400.0, path="/products")).start()
    try:
        took, reported = _get(task.port, "/products?limit=1")
        assert 420.0 <= reported <= 460.0 and took >= reported / 1000.0
        took, reported = _get(task.port, "/health")  # outside the fault's path: 20-60 ms
        assert reported <= 60.0 and took < 1.0
    finally:
        task.stop()


def test_a_latency_factor_multiplies_the_service_time_on_the_faulty_path_only() -> None:
    from sandbox.app import base_latency_ms

    task = AppServer(TaskIdentity("s", "s:2", "ecs-svc/2"), Fault(latency_factor=1.4, path="/browse")).start()
    try:
        took, reported = _get(task.port, "/browse")  # the task's first request: number 0
        assert reported == pytest.approx(1.4 * base_latency_ms(0), abs=0.1) and took >= reported / 1000.0
        _took, reported = _get(task.port, "/health")  # outside the fault's path: as it was
        assert reported == pytest.approx(base_latency_ms(1), abs=0.1)
    finally:
        task.stop()


def test_stop_does_not_wait_for_a_slow_answer() -> None:
    """``latency_ms=600000``: the request in progress ends with the task, its thread too."""
    before = {t.ident for t in threading.enumerate()}
    task = AppServer(TaskIdentity("s", "s:2", "ecs-svc/2"), Fault(latency_ms=600_000.0)).start()
    outcome: list[Any] = []

    def call() -> None:
        try:
            _get(task.port, "/browse", timeout=30.0)
        except (urllib.error.URLError, OSError) as error:
            outcome.append(error)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    wait_for(lambda: task.take_busy_ms() > 0, timeout=5.0, interval=0.02)  # the task is in its wait
    started = time.monotonic()
    task.stop()
    caller.join(5.0)
    assert not caller.is_alive() and outcome, "the caller still waits for the slow answer"
    wait_for(lambda: not sandbox_threads(exclude=before), timeout=2.0)
    assert time.monotonic() - started < 2.0


def test_slow_answers_do_not_hold_the_traffic_schedule() -> None:
    """Requests outstanding stay at the cap; past it, due requests are shed (counted), and a stop
    returns at once although every outstanding request waits for a 10-minute answer."""
    task = AppServer(TaskIdentity("s", "s:2", "ecs-svc/2"), Fault(latency_ms=600_000.0)).start()
    traffic = TrafficGenerator(
        {"s": task.port}, VirtualClock(40.0), rate=1.0, path="/browse", max_in_flight=4
    )
    try:
        traffic.start()
        wait_for(lambda: traffic.shed >= 10, timeout=5.0, interval=0.02)  # 40 requests due per real second
        assert traffic.in_flight() == 4
    finally:
        started = time.monotonic()
        traffic.stop()
        stopped_in = time.monotonic() - started
        task.stop()
    assert stopped_in < 2.0 and traffic.in_flight() == 0


@pytest.mark.integration
@pytest.mark.solo  # CPU burners: `make test` runs it alone
def test_a_healthy_release_passes_its_budgets_while_the_cpu_is_busy(
    capsys: pytest.CaptureFixture[str], nothing_left_behind: None
) -> None:
    """Real latency and real budgets: 2 CPU-bound processes do not push a healthy release's smoke
    checks (20-60 ms against 800-1500 ms budgets) over.

    dev's all-at-once runs every hook and smoke check a canary10 runs; the canary's 5 virtual
    minutes more would add only alarm evaluations, whose latency and CPU come from the tasks'
    reported service time, which no CPU load changes (sandbox/app.py)."""
    from tests.support.sandbox import burn_cpu

    with start_world(["product-service"]):
        burners = burn_cpu(2, 120.0)
        try:
            code, result = deploy(capsys, "product-service", "all-at-once")
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()
        assert code == 0 and result["status"] == "Succeeded", result
