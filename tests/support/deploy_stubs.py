"""Botocore Stubber answers for a whole `bluegreen deploy` against product-service in dev."""

from __future__ import annotations

from typing import Any

from botocore.stub import ANY

from tests.support.cli import StubbedClients

APP, GROUP = "doa-market-dev", "product-service"
GROUP_INFO = {
    "deploymentGroupInfo": {
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": "product-service-5xx-errors"}]},
        "blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            },
        },
    }
}
TASKDEF_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7"


def target_response(events: dict[str, str], weights: tuple[float, float]) -> dict[str, Any]:
    """GetDeploymentTarget's answer: these lifecycle events, (blue, green) traffic weights."""
    return {
        "deploymentTarget": {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "lifecycleEvents": [{"lifecycleEventName": k, "status": v} for k, v in events.items()],
                "taskSetsInfo": [
                    {"trafficWeight": weights[0], "taskSetLabel": "Blue"},
                    {"trafficWeight": weights[1], "taskSetLabel": "Green"},
                ],
            },
        }
    }


ALL_DONE = {
    name: "Succeeded"
    for name in (
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "AllowTestTraffic",
        "AfterAllowTestTraffic",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
    )
}


def stub_deploy_writes(
    stubbed: StubbedClients, deployment_id: str, group: dict[str, Any] = GROUP_INFO
) -> None:
    """The reads and writes of deploy up to CreateDeployment answering ``deployment_id``."""
    cd, ecs = stubbed.stubbers["codedeploy"], stubbed.stubbers["ecs"]
    cd.add_response("get_deployment_group", group, {"applicationName": APP, "deploymentGroupName": GROUP})
    cd.add_response("list_deployments", {"deployments": []})
    ecs.add_response("register_task_definition", {"taskDefinition": {"taskDefinitionArn": TASKDEF_ARN}})
    cd.add_response(
        "create_deployment",
        {"deploymentId": deployment_id},
        {
            "applicationName": APP,
            "deploymentGroupName": GROUP,
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "description": ANY,
            "revision": ANY,
            "autoRollbackConfiguration": {
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
            },
        },
    )
