"""Nothing sleeps longer than it must: at time scale 1 (real time) a hook report, a stop or a continue
moves the deployment on at once, although the waits around them last minutes or an hour."""

from __future__ import annotations

import time

import pytest

from tests.support.emulator import (
    EcsServiceSpec,
    EmulatorFactory,
    ScriptedHooks,
    client,
    deploy_ecs,
    hook_functions,
    provision_ecs_service,
)


def _wait_for(url: str, deployment_id: str, statuses: tuple[str, ...], timeout: float) -> float:
    """Real seconds until the deployment reaches one of ``statuses``."""
    codedeploy = client("codedeploy", url)
    started = time.monotonic()
    while codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] not in statuses:
        assert time.monotonic() - started < timeout, f"not {statuses} after {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.integration
def test_hook_reports_wake_the_deployment_at_once(start_emulator: EmulatorFactory, moto_url: str) -> None:
    hooks = ScriptedHooks()
    emulator = start_emulator(time_scale=1.0, hook_invoker=hooks)
    hooks.url = emulator.url
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(alarms=("5xx",)))
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks=hook_functions())
    # five hooks (one hour of timeout each) and alarm polls every virtual (= real) minute
    assert _wait_for(emulator.url, deployment_id, ("Succeeded",), timeout=15) < 10
    assert len(hooks.calls) == 5


@pytest.mark.integration
@pytest.mark.parametrize("action", ["stop", "continue"])
def test_stop_and_continue_wake_the_deployment_at_once(
    start_emulator: EmulatorFactory, moto_url: str, action: str
) -> None:
    emulator = start_emulator(time_scale=1.0)
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(ready_wait_minutes=60))
    deployment_id = deploy_ecs(emulator.url, moto_url, env)
    _wait_for(emulator.url, deployment_id, ("Ready",), timeout=15)
    codedeploy = client("codedeploy", emulator.url)
    if action == "stop":
        codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
        assert _wait_for(emulator.url, deployment_id, ("Stopped",), timeout=10) < 5
    else:
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
        assert _wait_for(emulator.url, deployment_id, ("Succeeded",), timeout=10) < 5
