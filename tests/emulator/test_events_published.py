"""The CodeDeploy emulator publishes a deployment's state changes as EventBridge events (its
``publish``): for one whose hook fails, its FAILURE and its rollback deployment's START and SUCCESS,
the rollback's start first (CodeDeploy creates it before the failed deployment shows its ending).
START, READY, SUCCESS of a deployment that waits at Ready: tests/sandbox/test_ledger_e2e.py."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.support.emulator import (
    EcsServiceSpec,
    EmulatorFactory,
    ScriptedHooks,
    client,
    deploy_ecs,
    hook_functions,
    provision_ecs_service,
)

TERMINAL = {"Succeeded", "Failed", "Stopped"}


class Published:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    def states(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(e["detail"]["deploymentId"], e["detail"]["state"]) for e in self.events]


def wait_terminal(codedeploy: Any, deployment_id: str, on_ready: Any = None) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] == "Ready" and on_ready is not None:
            on_ready()
            on_ready = None
        if info["status"] in TERMINAL:
            return dict(info)
        time.sleep(0.02)
    raise AssertionError(f"{deployment_id} still {info['status']} after 30 s")


def test_a_failed_hook_publishes_the_failure_and_the_rollbacks_start_and_success(
    start_emulator: EmulatorFactory, moto_url: str
) -> None:
    published, hooks = Published(), ScriptedHooks()
    emulator = start_emulator(hook_invoker=hooks, publish=published)
    hooks.url = emulator.url
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(suffix="events-fail"))
    functions = hook_functions()
    hooks.script[functions["AfterAllowTestTraffic"]] = "fail"
    codedeploy = client("codedeploy", emulator.url)
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks=functions)
    info = wait_terminal(codedeploy, deployment_id)
    assert info["status"] == "Failed"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_terminal(codedeploy, rollback_id)["status"] == "Succeeded"
    deadline = time.monotonic() + 5
    while len(published.states()) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert published.states() == [
        (deployment_id, "START"),
        (rollback_id, "START"),
        (deployment_id, "FAILURE"),
        (rollback_id, "SUCCESS"),
    ]
    group = codedeploy.get_deployment_group(
        applicationName=env.application, deploymentGroupName=env.deployment_group
    )
    for event in published.events:  # the group's id, as CodeDeploy's events carry it
        assert event["detail"]["instanceGroupId"] == group["deploymentGroupInfo"]["deploymentGroupId"]
        assert (event["detail"]["application"], event["detail"]["deploymentGroup"]) == (
            env.application,
            env.deployment_group,
        )
