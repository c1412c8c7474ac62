"""The Lambda compute platform: alias traffic shifting on moto with BeforeAllowTraffic/AfterAllowTraffic."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.emulator import (
    EmulatorFactory,
    ScriptedHooks,
    appspec_revision,
    client,
    lambda_appspec,
    provision_lambda_function,
    raw_call,
    rollback_event_problems,
    validate_output,
)

HOOKS = {"BeforeAllowTraffic": "hook-BeforeAllowTraffic", "AfterAllowTraffic": "hook-AfterAllowTraffic"}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("config", "script", "status", "final_version", "partial_weights"),
    [
        ("CodeDeployDefault.LambdaAllAtOnce", {}, "Succeeded", "2", False),
        ("CodeDeployDefault.LambdaCanary10Percent5Minutes", {}, "Succeeded", "2", True),
        ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", {}, "Succeeded", "2", True),
        ("CodeDeployDefault.LambdaAllAtOnce", {"hook-AfterAllowTraffic": "fail"}, "Failed", "1", False),
        ("CodeDeployDefault.LambdaAllAtOnce", {"hook-BeforeAllowTraffic": "raise"}, "Failed", "1", False),
    ],
)
def test_lambda_alias_shift(
    start_emulator: EmulatorFactory,
    moto_url: str,
    config: str,
    script: dict[str, Any],
    status: str,
    final_version: str,
    partial_weights: bool,
) -> None:
    hooks = ScriptedHooks(script)
    emulator = start_emulator(hook_invoker=hooks)
    hooks.url = emulator.url
    env = provision_lambda_function(moto_url, emulator.url, config=config)
    codedeploy, lam = client("codedeploy", emulator.url), client("lambda", moto_url)
    deployment_id = codedeploy.create_deployment(
        applicationName=env.application,
        deploymentGroupName=env.deployment_group,
        revision=appspec_revision(lambda_appspec(env, HOOKS)),
    )["deploymentId"]
    weights: list[float] = []
    deadline = time.monotonic() + 30
    while (info := codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"])["status"] not in (
        "Succeeded",
        "Failed",
        "Stopped",
    ):
        routing = lam.get_alias(FunctionName=env.function_name, Name=env.alias).get("RoutingConfig") or {}
        weights += list((routing.get("AdditionalVersionWeights") or {}).values())
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert info["status"] == status
    alias = lam.get_alias(FunctionName=env.function_name, Name=env.alias)
    assert alias["FunctionVersion"] == final_version
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    if partial_weights:
        assert 0.1 in weights
    target_id = f"{env.function_name}:{env.alias}"
    target = codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_id)[
        "deploymentTarget"
    ]
    assert target["deploymentTargetType"] == "LambdaTarget"
    info_fn = target["lambdaTarget"]["lambdaFunctionInfo"]
    assert (info_fn["currentVersion"], info_fn["targetVersion"]) == ("1", env.target_version)
    _, body = raw_call(
        emulator.url, "GetDeploymentTarget", {"deploymentId": deployment_id, "targetId": target_id}
    )
    assert validate_output("GetDeploymentTarget", body) == []
    if status == "Failed":
        assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
        rolled_back = "rollbackDeploymentId" in (info.get("rollbackInfo") or {})
        # AfterAllowTraffic fails after traffic moved: rolled back; BeforeAllowTraffic: nothing to roll back
        assert rolled_back == ("hook-AfterAllowTraffic" in script)
        if rolled_back:
            rollback = codedeploy.get_deployment(deploymentId=info["rollbackInfo"]["rollbackDeploymentId"])[
                "deploymentInfo"
            ]
            rollback_target = codedeploy.get_deployment_target(
                deploymentId=rollback["deploymentId"], targetId=target_id
            )["deploymentTarget"]["lambdaTarget"]
            assert (
                rollback_event_problems(
                    rollback_target["lifecycleEvents"], rollback["createTime"], rollback["completeTime"]
                )
                == []
            )
            assert rollback_target["lambdaFunctionInfo"]["targetVersionWeight"] == 0.0
