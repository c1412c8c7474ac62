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
    appspec_revision,
    client,
    deploy_ecs,
    ecs_appspec,
    production_weights,
    provision_ecs_service,
    register_task_definition,
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


@pytest.mark.integration
def test_a_hook_may_report_by_execution_id_alone(emulator: CodeDeployEmulator, moto_url: str) -> None:
    # deploymentId is optional in CodeDeploy's model: the execution id names the deployment.
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks={"AfterInstall": "after-install"})
    (execution,) = _until(lambda: emulator.pending_hook_executions(deployment_id))
    codedeploy = client("codedeploy", emulator.url)
    with pytest.raises(codedeploy.exceptions.InvalidLifecycleEventHookExecutionIdException):
        codedeploy.put_lifecycle_event_hook_execution_status(
            lifecycleEventHookExecutionId="not-an-execution", status="Succeeded"
        )
    answer = codedeploy.put_lifecycle_event_hook_execution_status(
        lifecycleEventHookExecutionId=execution.id, status="Succeeded"
    )
    assert answer["lifecycleEventHookExecutionId"] == execution.id
    _until(lambda: _status(emulator.url, deployment_id) == "Succeeded", timeout=10)
    report = emulator.hook_status_reports[-1]
    assert (report.deployment_id, report.lifecycle_event, report.accepted) == (
        deployment_id,
        "AfterInstall",
        True,
    )


@pytest.mark.integration
def test_a_task_definition_without_container_memory_deploys_on_plain_moto(
    emulator: CodeDeployEmulator, moto_url: str
) -> None:
    # The catalog's Fargate shape (memory on the task only) makes moto 5.2.5 crash on any CreateTaskSet
    # with a scale; the emulator creates the replacement without one (ECS's default, 100 %).
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    new = register_task_definition(moto_url, env.family, image="app:v2", container_memory=False)
    deployment_id = client("codedeploy", emulator.url).create_deployment(
        applicationName=env.application,
        deploymentGroupName=env.deployment_group,
        revision=appspec_revision(ecs_appspec(new, env.container_name, env.container_port)),
    )["deploymentId"]
    _until(lambda: _status(emulator.url, deployment_id) in ("Succeeded", "Failed", "Stopped"))
    info = client("codedeploy", emulator.url).get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Succeeded", info.get("errorInformation")
    (only,) = task_sets(moto_url, env)
    assert only["taskDefinition"] == new and only["status"] == "PRIMARY"
