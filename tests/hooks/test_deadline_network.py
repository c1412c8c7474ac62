"""Every network wait of a hook ends before the Lambda deadline, however slowly AWS answers.

CodeDeploy (the fake on loopback) answers late or never, or ELBv2 / CloudWatch point at a port that
accepts and never answers; the handler gets a short Lambda deadline and must return (or raise for
Lambda's retry) before it, with at most one status reported.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from hooks import clients, handlers
from hooks.runtime import HookReportError
from tests.hooks.conftest import HookWorld
from tests.support.hooks import SilentEndpoint

# Real seconds against a 2 s deadline: `make test` runs these alone (pyproject's markers).
pytestmark = pytest.mark.realtime

PUT = "PutLifecycleEventHookExecutionStatus"
NEVER = 60.0  # longer than any test: the endpoint never answers
TIMEOUT_S = 2.0  # the Lambda deadline of every case; its safety margin is 0.5 s


def hang(service_variable: str) -> Callable[[HookWorld, pytest.MonkeyPatch, ExitStack], None]:
    def setup(world: HookWorld, monkeypatch: pytest.MonkeyPatch, stack: ExitStack) -> None:
        monkeypatch.setenv(service_variable, stack.enter_context(SilentEndpoint()))
        clients.forget_clients()  # the cached client still points at moto

    return setup


def late(operation: str, seconds: float) -> Callable[[HookWorld, pytest.MonkeyPatch, ExitStack], None]:
    def setup(world: HookWorld, monkeypatch: pytest.MonkeyPatch, stack: ExitStack) -> None:
        world.codedeploy.delay(operation, seconds)

    return setup


CASES = [
    ("report never answers", handlers.before_install, "BeforeInstall", [late(PUT, NEVER)]),
    ("report answers after 2.6 s", handlers.before_install, "BeforeInstall", [late(PUT, 2.6)]),
    ("report answers after 1.9 s", handlers.after_install, "AfterInstall", [late(PUT, 1.9)]),
    ("GetDeployment never answers", handlers.before_install, "BeforeInstall", [late("GetDeployment", NEVER)]),
    ("GetDeployment after 1.7 s", handlers.before_install, "BeforeInstall", [late("GetDeployment", 1.7)]),
    (
        "GetDeployment slow, report hangs",
        handlers.before_install,
        "BeforeInstall",
        [late("GetDeployment", 1.0), late(PUT, NEVER)],
    ),
    (
        "ELBv2 never answers",
        handlers.after_install,
        "AfterInstall",
        [hang("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2")],
    ),
    (
        "CloudWatch never answers",
        handlers.before_allow_traffic,
        "BeforeAllowTraffic",
        [hang("AWS_ENDPOINT_URL_CLOUDWATCH")],
    ),
    (
        "GetDeploymentGroup never answers, smoke",
        handlers.after_allow_test_traffic,
        "AfterAllowTestTraffic",
        [late("GetDeploymentGroup", NEVER)],
    ),
]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as exits:
        yield exits
    clients.forget_clients()


@pytest.mark.parametrize(("name", "handler", "lifecycle_event", "setups"), CASES, ids=[c[0] for c in CASES])
def test_the_handler_returns_before_its_deadline(
    hook_world: HookWorld,
    monkeypatch: pytest.MonkeyPatch,
    stack: ExitStack,
    name: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    lifecycle_event: str,
    setups: list[Callable[[HookWorld, pytest.MonkeyPatch, ExitStack], None]],
) -> None:
    for setup in setups:
        setup(hook_world, monkeypatch, stack)
    _warm_container()
    deployment_id = hook_world.deploy()
    execution_id = hook_world.codedeploy.start_hook(deployment_id, lifecycle_event)

    # HookReportError: the report did not get through in time; Lambda retries the invocation.
    with contextlib.suppress(HookReportError):
        hook_world.invoke(handler, lifecycle_event, deployment_id, execution_id, timeout_s=TIMEOUT_S)
    returned = time.monotonic()

    overrun = returned - _invocation_end(hook_world)
    assert overrun <= 0.0, f"{name}: returned {overrun:.2f} s after the Lambda deadline"
    assert len(hook_world.codedeploy.reports_for(execution_id)) <= 1


def _warm_container() -> None:
    """What a warm Lambda container has made already (clients, the catalog): the deadline then
    measures the network waits, not this machine's CPU load during a cold start."""
    from hooks import settings

    for name in ("codedeploy", "elbv2", "cloudwatch"):
        clients.client(name)
    clients.reporting_client()
    settings.services()  # what a hook reads its service from (the snapshot or services.yaml), cached


def _invocation_end(world: HookWorld) -> float:
    assert world.last_context is not None
    return world.last_context.end


def test_a_late_report_that_lands_after_the_hook_gave_up_is_not_reported_twice(
    hook_world: HookWorld,
) -> None:
    # The first invocation stops waiting for a report CodeDeploy applies later; Lambda's retry meets
    # LifecycleEventAlreadyCompletedException and counts it as reported: one status, no overrun.
    hook_world.codedeploy.delay(PUT, 2.6)
    _warm_container()
    deployment_id = hook_world.deploy()
    execution_id = hook_world.codedeploy.start_hook(deployment_id, "BeforeInstall")

    with pytest.raises(HookReportError):
        hook_world.invoke(handlers.before_install, "BeforeInstall", deployment_id, execution_id, TIMEOUT_S)
    assert time.monotonic() <= _invocation_end(hook_world)
    _wait_for(lambda: len(hook_world.codedeploy.reports_for(execution_id)) == 1, 5.0)

    hook_world.codedeploy.delay(PUT, 0.0)
    result, _, _ = hook_world.invoke(handlers.before_install, "BeforeInstall", deployment_id, execution_id)
    assert result["reported"] is True and result["report"] == "already-completed"
    assert [r["status"] for r in hook_world.codedeploy.reports_for(execution_id)] == ["Succeeded"]


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("service", "variable"),
    [
        ("elbv2", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"),
        ("cloudwatch", "AWS_ENDPOINT_URL_CLOUDWATCH"),
        ("codedeploy", "AWS_ENDPOINT_URL_CODEDEPLOY"),
    ],
)
def test_a_new_service_endpoint_gets_a_new_client(
    monkeypatch: pytest.MonkeyPatch, stack: ExitStack, service: str, variable: str
) -> None:
    # The cache is keyed by the variable boto3 honours, so a hook pointed at another endpoint (the
    # in-process sandbox, these tests) never keeps a client for the old one.
    monkeypatch.setenv("AWS_REGION", "ap-northeast-2")
    monkeypatch.setenv(variable, "http://127.0.0.1:1")
    first = clients.client(service)
    monkeypatch.setenv(variable, "http://127.0.0.1:2")
    second = clients.client(service)

    assert first is not second and second.meta.endpoint_url == "http://127.0.0.1:2"


def test_checks_abandoned_at_the_deadline_do_not_leave_their_read_hanging(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch, stack: ExitStack
) -> None:
    # The checks' AWS reads are capped to the checks' deadline (clients.calls_end_by in
    # runtime._run_before): when the hook gives up on the checks, their read gives up too, instead
    # of a warm container keeping a thread on a hung socket for 4 attempts x 10 s.
    import threading

    late("GetDeployment", NEVER)(hook_world, monkeypatch, stack)
    _warm_container()
    result, execution_id, _ = hook_world.invoke(handlers.before_install, "BeforeInstall", timeout_s=TIMEOUT_S)
    assert result["status"] == "Failed" and hook_world.codedeploy.reports_for(execution_id)

    def checks_alive() -> bool:
        return any(thread.name == f"hook-{execution_id}" for thread in threading.enumerate())

    ends = time.monotonic() + 2.0
    while checks_alive() and time.monotonic() < ends:
        time.sleep(0.05)
    assert not checks_alive(), "the checks' thread still waits on GetDeployment after the hook returned"
