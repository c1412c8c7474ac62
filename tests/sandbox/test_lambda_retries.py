"""The Lambda runner retries a function error as Lambda's asynchronous invocation does.

AWS: "If the function returns an error, by default Lambda attempts to run it two more times, with a
one-minute wait between the first two attempts, and two minutes between the second and third
attempts" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html);
MaximumRetryAttempts (0-2) lowers it, template.yaml sets it per function.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

from sandbox.clock import VirtualClock
from sandbox.codedeploy import CodeDeployEmulator
from sandbox.lambda_runner import (
    HANDLER_NAMES,
    LambdaRunner,
    retry_wait_seconds,
    template_retry_attempts,
)
from tests.support.emulator import EcsServiceSpec, client, deploy_ecs, provision_ecs_service
from tests.support.sandbox import wait_for

REPO = Path(__file__).resolve().parents[2]
SCALE = 600.0  # a virtual minute lasts 0.1 real seconds


@pytest.mark.parametrize(
    ("attempt", "max_retries", "wait"),
    [
        (1, 2, 60.0),  # one minute before the second attempt
        (2, 2, 120.0),  # two minutes before the third
        (3, 2, None),  # 1 + MaximumRetryAttempts attempts in all
        (1, 1, 60.0),
        (2, 1, None),
        (1, 0, None),  # MaximumRetryAttempts 0: no retry
    ],
)
def test_retry_wait_seconds(attempt: int, max_retries: int, wait: float | None) -> None:
    assert retry_wait_seconds(attempt, max_retries) == wait


def test_the_template_sets_every_hook_function_s_retries() -> None:
    """What the sandbox reads from template.yaml (EventInvokeConfig.MaximumRetryAttempts)."""
    assert template_retry_attempts(REPO / "template.yaml") == {name: 2 for name in HANDLER_NAMES.values()}
    assert template_retry_attempts(REPO / "no-such-template.yaml") == {}


def _runner(handler: Any, retries: int | None, clock: VirtualClock) -> LambdaRunner:
    return LambdaRunner(
        {"hook": handler},
        "ap-northeast-2",
        "123456789012",
        clock=clock,
        retry_attempts=None if retries is None else {"hook": retries},
    )


@pytest.mark.parametrize(("retries", "attempts"), [(None, 3), (2, 3), (1, 2), (0, 1)])
def test_a_function_that_always_raises_runs_one_plus_its_retries(retries: int | None, attempts: int) -> None:
    clock = VirtualClock(SCALE)
    started: list[tuple[float, str]] = []

    def broken(event: dict[str, Any], context: Any) -> None:
        started.append((clock.now(), context.aws_request_id))
        raise RuntimeError("boom")

    runner = _runner(broken, retries, clock)
    runner("hook", {"LifecycleEventHookExecutionId": "e-1"})
    wait_for(lambda: len(runner.invocations) == attempts, timeout=10)
    runner.join(timeout=2 * 180 / SCALE + 1)  # the waits after the last attempt: none
    assert [i.attempt for i in runner.invocations] == list(range(1, attempts + 1))
    assert all(i.error == "RuntimeError: boom" for i in runner.invocations)
    assert all(0 <= i.seconds < 5 for i in runner.invocations)  # each attempt's own run, waits excluded
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(started)]
    assert [round(gap / 60) for gap in gaps] == [1, 2][: attempts - 1]  # virtual minutes, as in AWS
    assert len({request_id for _, request_id in started}) == 1  # a retry is the same request


@pytest.mark.integration
def test_a_hook_that_raises_once_is_retried_and_the_deployment_proceeds(moto_url: str) -> None:
    clock = VirtualClock(SCALE)
    calls: list[str] = []
    emulator_url: dict[str, str] = {}

    def flaky(event: dict[str, Any], context: Any) -> None:
        calls.append(event["LifecycleEventHookExecutionId"])
        if len(calls) == 1:
            raise RuntimeError("could not report (Lambda retries)")
        client("codedeploy", emulator_url["url"]).put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"],
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status="Succeeded",
        )

    runner = _runner(flaky, None, clock)
    with CodeDeployEmulator(aws_endpoint=moto_url, clock=clock, hook_invoker=runner) as url:
        emulator_url["url"] = url
        env = provision_ecs_service(moto_url, url, EcsServiceSpec(service="retried-hook-service"))
        deployment_id = deploy_ecs(url, moto_url, env, hooks={"BeforeInstall": "hook"})
        codedeploy = client("codedeploy", url)

        def status() -> str:
            return str(codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"])

        final = wait_for(lambda: (s := status()) in ("Succeeded", "Failed", "Stopped") and s, timeout=60)
        runner.close()
        runner.join()
    assert final == "Succeeded"
    assert len(calls) == 2 and calls[0] == calls[1]  # the same hook execution, invoked again
    assert [(i.attempt, i.error is None) for i in runner.invocations] == [(1, False), (2, True)]


def test_closing_the_runner_drops_a_pending_retry() -> None:
    clock = VirtualClock(1.0)  # a real minute: the retry would come long after the test
    ran = threading.Event()

    def broken(event: dict[str, Any], context: Any) -> None:
        ran.set()
        raise RuntimeError("boom")

    runner = _runner(broken, 2, clock)
    runner("hook", {})
    assert ran.wait(5)
    runner.close()
    runner.join(timeout=5)
    assert len(runner.invocations) == 1 and not any(t.is_alive() for t in runner._threads)


def test_a_stopping_runner_invokes_nothing_new() -> None:
    """The world waits for running hooks, then stops the emulator: a hook invoked in between would
    outlive the world (its moto gone, its metrics on the process's stdout), so the runner refuses it
    and the emulator fails that event instead."""
    ran: list[str] = []
    runner = _runner(lambda event, context: ran.append("ran"), 0, VirtualClock(SCALE))
    runner.join(1.0)
    with pytest.raises(LookupError, match="stopping"):
        runner("hook", {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"})
    assert ran == []
