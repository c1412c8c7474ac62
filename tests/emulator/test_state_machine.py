"""The ECS blue/green state machine end to end over moto, as a table: each strategy, a hook failing at
each hook event, alarms during test traffic / the canary step / the bake / the termination wait, stop
with and without rollback, continue from Ready, the Ready timeout, skipping the termination wait.

Each row provisions its own service (tests/support/emulator.py), deploys a new task definition with a
hook function on every ECS hook event, polls GetDeployment/GetDeploymentTarget like a client, fires
the row's trigger once, and checks how the deployment ended and what moto holds afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.emulator import (
    EcsServiceSpec,
    EmulatorFactory,
    ScriptedHooks,
    client,
    deploy_ecs,
    hook_functions,
    listener_weights,
    production_weights,
    provision_ecs_service,
    rollback_event_problems,
    set_alarm,
    task_sets,
)

CANARY15 = "CodeDeployDefault.ECSCanary10Percent15Minutes"
LINEAR1 = "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
TERMINAL = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class Row:
    name: str
    spec: EcsServiceSpec = field(default_factory=EcsServiceSpec)
    hooks: dict[str, Any] = field(default_factory=dict)  # event -> ScriptedHooks behaviour ("alarm" resolved)
    trigger: str | None = None  # "canary" (green at 10 %), "ready", "termination"
    action: str | None = None  # "alarm", "stop", "stop-no-rollback", "continue", "skip-termination"
    time_scale: float = 600.0
    status: str = "Succeeded"
    error_code: str | None = None
    rolled_back: bool = False
    failed_event: str | None = None
    green_weight: int = 100  # the replacement target group's final production weight
    task_set_count: int = 1
    alarm_at_start: bool = False
    create_args: dict[str, Any] = field(default_factory=dict)


def _spec(**kwargs: Any) -> EcsServiceSpec:
    kwargs.setdefault("alarms", ("5xx",))
    return EcsServiceSpec(**kwargs)


def _hook_failure(event: str) -> Row:
    # Before Install there is nothing to roll back (CodeDeploy: "a rollback is not possible").
    before_install = event == "BeforeInstall"
    return Row(
        f"hook fails at {event}",
        hooks={event: "fail"},
        status="Failed",
        error_code="HOOK_EXECUTION_FAILURE",
        rolled_back=not before_install,
        failed_event=event,
        green_weight=0,
    )


ROWS = [
    Row("all at once"),
    Row("canary 10 % then the rest", spec=_spec(deployment_config=CANARY15)),
    Row("linear 10 % every minute", spec=_spec(deployment_config=LINEAR1)),
    *[
        _hook_failure(e)
        for e in (
            "BeforeInstall",
            "AfterInstall",
            "AfterAllowTestTraffic",
            "BeforeAllowTraffic",
            "AfterAllowTraffic",
        )
    ],
    Row(
        "hook cannot be invoked",
        hooks={"AfterAllowTestTraffic": "raise"},
        status="Failed",
        error_code="HOOK_EXECUTION_FAILURE",
        rolled_back=True,
        failed_event="AfterAllowTestTraffic",
        green_weight=0,
    ),
    Row(
        "hook never reports (1 h timeout)",
        hooks={"BeforeAllowTraffic": "silent"},
        time_scale=20000.0,
        status="Failed",
        error_code="HOOK_EXECUTION_FAILURE",
        rolled_back=True,
        failed_event="BeforeAllowTraffic",
        green_weight=0,
    ),
    Row(
        "alarm during test traffic",
        spec=_spec(),
        hooks={"AfterAllowTestTraffic": "alarm"},
        status="Stopped",
        error_code="ALARM_ACTIVE",
        rolled_back=True,
        failed_event="AfterAllowTestTraffic",
        green_weight=0,
    ),
    Row(
        "alarm during the canary step",
        spec=_spec(deployment_config=CANARY15),
        trigger="canary",
        action="alarm",
        status="Stopped",
        error_code="ALARM_ACTIVE",
        rolled_back=True,
        failed_event="AllowTraffic",
        green_weight=0,
    ),
    Row(
        "alarm during the bake",
        spec=_spec(),
        hooks={"AfterAllowTraffic": "alarm"},
        status="Stopped",
        error_code="ALARM_ACTIVE",
        rolled_back=True,
        failed_event="AfterAllowTraffic",
        green_weight=0,
    ),
    Row(
        "alarm during the termination wait",
        spec=_spec(termination_wait_minutes=60),
        trigger="termination",
        action="alarm",
        status="Stopped",
        error_code="ALARM_ACTIVE",
        rolled_back=True,
        failed_event="BlockTraffic",
        green_weight=0,
    ),
    Row(
        "alarm ignored when monitoring is off",
        spec=_spec(deployment_config=CANARY15, alarm_monitoring=False),
        trigger="canary",
        action="alarm",
    ),
    Row(
        "stop with rollback",
        spec=_spec(deployment_config=CANARY15),
        trigger="canary",
        action="stop",
        status="Stopped",
        error_code="MANUAL_STOP",
        rolled_back=True,
        failed_event="AllowTraffic",
        green_weight=0,
    ),
    Row(
        "stop without rollback",
        spec=_spec(deployment_config=CANARY15),
        trigger="canary",
        action="stop-no-rollback",
        status="Stopped",
        error_code="MANUAL_STOP",
        failed_event="AllowTraffic",
        green_weight=10,
        task_set_count=2,
    ),
    Row(
        "alarm already in ALARM when the deployment starts",
        spec=_spec(),
        alarm_at_start=True,
        status="Stopped",
        error_code="ALARM_ACTIVE",
        green_weight=0,
    ),
    Row(
        "deployment overrides the group's alarms",
        spec=_spec(),
        alarm_at_start=True,
        create_args={"overrideAlarmConfiguration": {"enabled": False, "alarms": []}},
    ),
    Row("continue from Ready", spec=_spec(ready_wait_minutes=60), trigger="ready", action="continue"),
    Row(
        "Ready wait times out",
        spec=_spec(ready_wait_minutes=5),
        status="Stopped",
        error_code="TIMEOUT",
        rolled_back=True,
        failed_event=None,
        green_weight=0,
    ),
    Row(
        "skip the termination wait",
        spec=_spec(termination_wait_minutes=600),
        trigger="termination",
        action="skip-termination",
    ),
    Row(
        "hook fails without auto rollback",
        spec=_spec(auto_rollback_events=()),
        hooks={"AfterAllowTraffic": "fail"},
        status="Failed",
        error_code="HOOK_EXECUTION_FAILURE",
        failed_event="AfterAllowTraffic",
        green_weight=100,
        task_set_count=2,
    ),
]


def _triggered(trigger: str | None, info: dict[str, Any], target: dict[str, Any] | None) -> bool:
    if trigger == "ready":
        return bool(info["status"] == "Ready")
    if trigger == "termination":
        return bool(info.get("instanceTerminationWaitTimeStarted"))
    if trigger == "canary" and target is not None:
        return any(
            t["taskSetLabel"] == "Green" and t["trafficWeight"] == 10.0 for t in target["taskSetsInfo"]
        )
    return False


def _act(action: str, codedeploy: Any, deployment_id: str, moto_url: str, alarm: str) -> None:
    if action == "alarm":
        set_alarm(moto_url, alarm)
    elif action == "stop":
        codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    elif action == "stop-no-rollback":
        codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=False)
    elif action == "continue":
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    elif action == "skip-termination":
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")


@pytest.mark.integration
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_ecs_state_machine(row: Row, start_emulator: EmulatorFactory, moto_url: str) -> None:
    hooks = ScriptedHooks()
    emulator = start_emulator(time_scale=row.time_scale, hook_invoker=hooks)
    hooks.url = emulator.url
    env = provision_ecs_service(moto_url, emulator.url, row.spec)
    alarm = env.alarm_names[0] if env.alarm_names else ""
    functions = hook_functions()
    for event, behaviour in row.hooks.items():
        hooks.script[functions[event]] = ("alarm", moto_url, alarm) if behaviour == "alarm" else behaviour
    codedeploy = client("codedeploy", emulator.url)
    if row.alarm_at_start:
        set_alarm(moto_url, alarm)
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks=functions, **row.create_args)
    target_id = f"{env.cluster}:{env.service}"

    fired, statuses, green_seen = False, [], []
    deadline = time.monotonic() + 30
    while True:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        statuses.append(info["status"])
        target = None
        if info["status"] != "Created":
            target = codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_id)[
                "deploymentTarget"
            ]["ecsTarget"]
            green_seen += [t["trafficWeight"] for t in target["taskSetsInfo"] if t["taskSetLabel"] == "Green"]
        if info["status"] in TERMINAL:
            break
        if row.action and not fired and _triggered(row.trigger, info, target):
            _act(row.action, codedeploy, deployment_id, moto_url, alarm)
            fired = True
        assert time.monotonic() < deadline, f"still {info['status']} after 30 s"
        time.sleep(0.02)

    assert fired or row.action is None, "the row's trigger never happened"
    assert info["status"] == row.status, info.get("errorInformation")
    assert (info.get("errorInformation") or {}).get("code") == row.error_code
    final_target = codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_id)[
        "deploymentTarget"
    ]["ecsTarget"]
    failed = [e["lifecycleEventName"] for e in final_target["lifecycleEvents"] if e["status"] == "Failed"]
    assert failed == ([row.failed_event] if row.failed_event else [])
    if row.status == "Succeeded":
        assert all(e["status"] == "Succeeded" for e in final_target["lifecycleEvents"])

    blue, green = env.target_groups
    weights = production_weights(moto_url, env)
    assert (weights.get(blue, 0), weights.get(green, 0)) == (100 - row.green_weight, row.green_weight)
    sets = task_sets(moto_url, env)
    assert len(sets) == row.task_set_count
    primary = [s for s in sets if s["status"] == "PRIMARY"]
    assert len(primary) == 1
    if row.status == "Succeeded":
        assert primary[0]["taskDefinition"] != env.task_definition_arn
        assert primary[0]["loadBalancers"][0]["targetGroupArn"] == env.target_group_arns[green]
    else:
        assert primary[0]["taskDefinition"] == env.task_definition_arn

    rollback_info = info.get("rollbackInfo") or {}
    if row.rolled_back:
        rollback = codedeploy.get_deployment(deploymentId=rollback_info["rollbackDeploymentId"])[
            "deploymentInfo"
        ]
        assert rollback["status"] == "Succeeded"
        assert rollback["creator"] == "codeDeployRollback"
        assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id
        # Its AppSpec can be read back, as any deployment's: by sha256 (rollback's `bluegreen rollback`
        # reads the live revision's task definition from it).
        restored = codedeploy.get_application_revision(
            applicationName=env.application, revision=rollback["revision"]
        )["revision"]["appSpecContent"]["content"]
        assert env.task_definition_arn in restored
        rollback_target = codedeploy.get_deployment_target(
            deploymentId=rollback["deploymentId"], targetId=target_id
        )["deploymentTarget"]["ecsTarget"]
        assert (
            rollback_event_problems(
                rollback_target["lifecycleEvents"], rollback["createTime"], rollback["completeTime"]
            )
            == []
        )
        assert [(t["taskSetLabel"], t["trafficWeight"]) for t in rollback_target["taskSetsInfo"]] == [
            ("Blue", 100.0)
        ]
        if env.test_listener_arn:
            assert listener_weights(moto_url, env.test_listener_arn)[blue] == 100
    else:
        assert "rollbackDeploymentId" not in rollback_info

    if row.spec.deployment_config == CANARY15 and row.status == "Succeeded":
        assert 10.0 in green_seen and green_seen[-1] == 100.0
    if row.spec.deployment_config == LINEAR1:
        intermediate = sorted(set(green_seen) - {0.0, 100.0})
        assert len(intermediate) >= 3 and green_seen == sorted(green_seen)
    if row.trigger == "ready":
        assert "Ready" in statuses
