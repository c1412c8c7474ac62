"""Responses carry what CodeDeploy fills in when a request leaves a member out: one row per default
(operation, the request without the member, the member expected in the response), every response
checked strictly against botocore's output shape. Sources: sandbox/codedeploy/defaults.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.codedeploy import CodeDeployEmulator
from tests.support.emulator import (
    EcsServiceSpec,
    deploy_ecs,
    provision_ecs_service,
    raw_call,
    validate_output,
)

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"
LISTENER = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/alb/1/2"


def _call(url: str, operation: str, **params: Any) -> dict[str, Any]:
    status, body = raw_call(url, operation, params)
    assert status == 200, (operation, body)
    assert validate_output(operation, body) == [], (operation, body)
    return dict(body)


def _minimal_groups(url: str) -> None:
    """One application and one deployment group per platform, with only the required members."""
    _call(url, "CreateApplication", applicationName="server-app")  # no computePlatform
    _call(url, "CreateApplication", applicationName="ecs-app", computePlatform="ECS")
    _call(url, "CreateApplication", applicationName="lambda-app", computePlatform="Lambda")
    _call(
        url,
        "CreateDeploymentGroup",
        applicationName="server-app",
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
    )
    _call(
        url,
        "CreateDeploymentGroup",
        applicationName="server-app",
        deploymentGroupName="alarms",
        serviceRoleArn=ROLE,
        alarmConfiguration={"enabled": True, "alarms": [{"name": "a"}]},  # no ignorePollAlarmFailure
    )
    _call(
        url,
        "CreateDeploymentGroup",
        applicationName="ecs-app",
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
        ecsServices=[{"serviceName": "svc", "clusterName": "cluster"}],
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "blue"}, {"name": "green"}],
                    "prodTrafficRoute": {"listenerArns": [LISTENER]},
                }
            ]
        },
    )
    _call(
        url,
        "CreateDeploymentGroup",
        applicationName="lambda-app",
        deploymentGroupName="g",
        serviceRoleArn=ROLE,
    )
    _call(
        url,
        "CreateDeploymentConfig",
        deploymentConfigName="Custom",
        minimumHealthyHosts={"type": "HOST_COUNT", "value": 1},
    )  # no computePlatform


@pytest.fixture(scope="module")
def responses(moto_url: str) -> Iterator[dict[str, dict[str, Any]]]:
    """Every response the table reads, from one emulator."""
    with CodeDeployEmulator(aws_endpoint=moto_url, time_scale=600.0) as url:
        _minimal_groups(url)
        plain = provision_ecs_service(moto_url, url, EcsServiceSpec())
        given = provision_ecs_service(moto_url, url, EcsServiceSpec())
        plain_id = deploy_ecs(url, moto_url, plain)
        given_id = deploy_ecs(
            url, moto_url, given, ignoreApplicationStopFailures=True, fileExistsBehavior="OVERWRITE"
        )
        group = {"deploymentGroupName": "g"}
        yield {
            "GetApplication": _call(url, "GetApplication", applicationName="server-app")["application"],
            "Server group": _call(url, "GetDeploymentGroup", applicationName="server-app", **group)[
                "deploymentGroupInfo"
            ],
            "ECS group": _call(url, "GetDeploymentGroup", applicationName="ecs-app", **group)[
                "deploymentGroupInfo"
            ],
            "Lambda group": _call(url, "GetDeploymentGroup", applicationName="lambda-app", **group)[
                "deploymentGroupInfo"
            ],
            "alarm group": _call(
                url, "GetDeploymentGroup", applicationName="server-app", deploymentGroupName="alarms"
            )["deploymentGroupInfo"],
            "BatchGetDeploymentGroups": _call(
                url,
                "BatchGetDeploymentGroups",
                applicationName="server-app",
                deploymentGroupNames=["g", "alarms"],
            ),
            "custom config": _call(url, "GetDeploymentConfig", deploymentConfigName="Custom")[
                "deploymentConfigInfo"
            ],
            "predefined config": _call(
                url,
                "GetDeploymentConfig",
                deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes",
            )["deploymentConfigInfo"],
            "deployment": _call(url, "GetDeployment", deploymentId=plain_id)["deploymentInfo"],
            "deployment (given)": _call(url, "BatchGetDeployments", deploymentIds=[given_id])[
                "deploymentsInfo"
            ][0],
        }


IN_PLACE = {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}
BLUE_GREEN = {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}

# (response, member, expected): the request behind each response left the member out, unless named.
DEFAULTS = [
    ("GetApplication", "computePlatform", "Server"),
    ("GetApplication", "linkedToGitHub", False),
    ("Server group", "computePlatform", "Server"),
    ("Server group", "deploymentStyle", IN_PLACE),
    ("Server group", "deploymentConfigName", "CodeDeployDefault.OneAtATime"),
    ("Server group", "outdatedInstancesStrategy", "UPDATE"),
    ("Server group", "autoRollbackConfiguration", {"enabled": False}),
    ("Server group", "ec2TagFilters", []),
    ("Server group", "onPremisesInstanceTagFilters", []),
    ("Server group", "autoScalingGroups", []),
    ("Server group", "triggerConfigurations", []),
    ("Server group", "onPremisesTagSet", {"onPremisesTagSetList": []}),
    ("Server group", "terminationHookEnabled", False),
    ("ECS group", "computePlatform", "ECS"),
    ("ECS group", "deploymentStyle", BLUE_GREEN),
    ("ECS group", "deploymentConfigName", "CodeDeployDefault.ECSAllAtOnce"),
    ("ECS group", "outdatedInstancesStrategy", "UPDATE"),
    (
        "ECS group",
        "blueGreenDeploymentConfiguration",
        {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            },
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0},
        },
    ),
    ("Lambda group", "deploymentStyle", BLUE_GREEN),
    ("Lambda group", "deploymentConfigName", "CodeDeployDefault.LambdaAllAtOnce"),
    (
        "alarm group",
        "alarmConfiguration",
        {"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "a"}]},
    ),
    ("BatchGetDeploymentGroups", "errorMessage", ""),
    ("custom config", "computePlatform", "Server"),
    (
        "predefined config",
        "trafficRoutingConfig",
        {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}},
    ),
    ("predefined config", "computePlatform", "ECS"),
    ("deployment", "creator", "user"),
    ("deployment", "computePlatform", "ECS"),
    ("deployment", "deploymentStyle", BLUE_GREEN),
    ("deployment", "ignoreApplicationStopFailures", False),
    ("deployment", "updateOutdatedInstancesOnly", False),
    ("deployment", "fileExistsBehavior", "DISALLOW"),
    ("deployment", "deploymentMode", "STANDARD"),
    ("deployment (given)", "ignoreApplicationStopFailures", True),
    ("deployment (given)", "fileExistsBehavior", "OVERWRITE"),
]

# Members that must be present whatever their value (it depends on how far the deployment got).
PRESENT = [
    ("GetApplication", "createTime", float),
    ("predefined config", "createTime", float),
    ("deployment", "deploymentOverview", dict),
    ("deployment", "deploymentStatusMessages", list),
    ("deployment", "instanceTerminationWaitTimeStarted", bool),
    ("deployment", "blueGreenDeploymentConfiguration", dict),
    ("deployment", "loadBalancerInfo", dict),
]


@pytest.mark.parametrize(("response", "member", "expected"), DEFAULTS)
def test_codedeploy_fills_in_the_default(
    responses: dict[str, dict[str, Any]], response: str, member: str, expected: Any
) -> None:
    assert responses[response].get(member, "<absent>") == expected


@pytest.mark.parametrize(("response", "member", "kind"), PRESENT)
def test_member_is_always_present(
    responses: dict[str, dict[str, Any]], response: str, member: str, kind: type
) -> None:
    assert isinstance(responses[response].get(member), kind), responses[response].get(member)
