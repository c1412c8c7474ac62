"""Hooks reported by a client (the default invoker), late reports, and consecutive deployments that
alternate between the two target groups as on AWS."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.codedeploy import CodeDeployEmulator
from tests.support.emulator import (
    EcsServiceSpec,
    client,
    deploy_ecs,
    production_weights,
    provision_ecs_service,
    task_sets,
)


def _until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
    return value


def _status(url: str, deployment_id: str) -> str:
    return str(
        client("codedeploy", url).get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"]
    )


@pytest.mark.integration
def test_default_invoker_leaves_hooks_for_a_client_to_report(
    emulator: CodeDeployEmulator, moto_url: str
) -> None:
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    hooks = {
        "BeforeInstall": "before-install",
        "AfterAllowTraffic": "arn:aws:lambda:ap-northeast-2:1:function:bake",
    }
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks=hooks)
    codedeploy = client("codedeploy", emulator.url)
    for expected_event, expected_function in hooks.items():
        (execution,) = _until(lambda: emulator.pending_hook_executions(deployment_id))
        assert (execution.lifecycle_event, execution.function_name) == (expected_event, expected_function)
        assert _status(emulator.url, deployment_id) == "InProgress"
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution.id, status="Succeeded"
        )
        _until(
            lambda e=execution: (
                not emulator.pending_hook_executions(deployment_id)
                or emulator.pending_hook_executions(deployment_id)[0].id != e.id
            )
        )
    _until(lambda: _status(emulator.url, deployment_id) == "Succeeded")
    assert [(r.lifecycle_event, r.status, r.accepted) for r in emulator.hook_status_reports] == [
        ("BeforeInstall", "Succeeded", True),
        ("AfterAllowTraffic", "Succeeded", True),
    ]


@pytest.mark.integration
def test_a_report_after_the_deployment_ended_is_refused(emulator: CodeDeployEmulator, moto_url: str) -> None:
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks={"AfterInstall": "after-install"})
    (execution,) = _until(lambda: emulator.pending_hook_executions(deployment_id))
    codedeploy = client("codedeploy", emulator.url)
    codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    _until(lambda: _status(emulator.url, deployment_id) == "Stopped")
    with pytest.raises(codedeploy.exceptions.LifecycleEventAlreadyCompletedException):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution.id, status="Succeeded"
        )
    assert emulator.hook_status_reports[-1].accepted is False


@pytest.mark.integration
def test_consecutive_deployments_alternate_target_groups(emulator: CodeDeployEmulator, moto_url: str) -> None:
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    blue, green = env.target_groups
    for image, serving in (("app:v2", green), ("app:v3", blue), ("app:v4", green)):
        deployment_id = deploy_ecs(emulator.url, moto_url, env, image=image)
        _until(lambda d=deployment_id: _status(emulator.url, d) == "Succeeded")
        weights = production_weights(moto_url, env)
        assert weights[serving] == 100 and sum(weights.values()) == 100
        (only,) = task_sets(moto_url, env)
        assert only["status"] == "PRIMARY"
        assert only["loadBalancers"][0]["targetGroupArn"] == env.target_group_arns[serving]
