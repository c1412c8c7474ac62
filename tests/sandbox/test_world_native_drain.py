"""A removed task set's tasks finish the requests they are answering before they stop.

With no bake, Amazon ECS removes blue right after moving production off it (CLEAN_UP follows the
production ModifyRule), while users' requests routed a moment before are still being answered. An
ALB's deregistration delay lets them finish; the fleet deregisters first, drains, then stops."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any

from sandbox.app import AppServer, TaskIdentity
from sandbox.clock import VirtualClock
from sandbox.faults import Fault
from sandbox.fleet import DRAIN_SECONDS, Fleet, TaskSetRun
from sandbox.http_server import stop_servers
from sandbox.load_balancer.balancer import LoadBalancer
from sandbox.metrics import MetricStore

BLUE = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/blue/1"


class Elbv2:
    def register_targets(self, **kwargs: Any) -> None:
        pass

    def deregister_targets(self, **kwargs: Any) -> None:
        pass


def _fleet() -> Fleet:
    clock, store = VirtualClock(40), MetricStore()
    balancer = LoadBalancer([], elbv2=Elbv2(), clock=clock, store=store)
    return Fleet([], ecs=None, balancer=balancer, clock=clock, store=store)


def _run(latency_ms: float) -> TaskSetRun:
    task = AppServer(
        TaskIdentity("svc", "svc:1", "ecs-svc/1"), Fault(latency_ms=latency_ms, path="/slow")
    ).start()
    return TaskSetRun("svc", "arn:task-set/ecs-svc/1", BLUE, "svc:1", False, Fault(), tasks=[task])


def _get(port: int, path: str, answers: list[Any]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        answers.append(connection.getresponse().status)
    except (OSError, http.client.HTTPException) as err:
        answers.append(type(err).__name__)
    finally:
        connection.close()


def test_a_request_being_answered_finishes_before_its_task_stops() -> None:
    fleet, run = _fleet(), _run(latency_ms=300.0)
    answers: list[Any] = []
    try:
        request = threading.Thread(target=_get, args=(run.tasks[0].port, "/slow", answers))
        request.start()
        time.sleep(0.1)  # the task is answering it (300 ms)
        fleet._stop_run(run)
        request.join(5)
    finally:
        stop_servers(run.tasks)
    assert answers == [200]


def test_draining_is_bounded() -> None:
    fleet, run = _fleet(), _run(latency_ms=600_000.0)  # a request that would take ten minutes
    answers: list[Any] = []
    try:
        request = threading.Thread(target=_get, args=(run.tasks[0].port, "/slow", answers))
        request.start()
        time.sleep(0.1)
        started = time.monotonic()
        fleet._stop_run(run)
        took = time.monotonic() - started
        request.join(5)
    finally:
        stop_servers(run.tasks)
    assert DRAIN_SECONDS <= took < DRAIN_SECONDS + 1.0
    assert answers and answers != [200]  # cut off at the bound (no answer)
