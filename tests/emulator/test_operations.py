"""Every implemented operation's response checked against botocore's output shape, the errors for
unknown ids, one active deployment per group, and the hook status reports the emulator records."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.codedeploy import CodeDeployEmulator
from sandbox.codedeploy.server import OPERATIONS
from tests.support.emulator import (
    EcsEnvironment,
    EcsServiceSpec,
    EmulatorFactory,
    ScriptedHooks,
    appspec_revision,
    client,
    deploy_ecs,
    ecs_appspec,
    provision_ecs_service,
    raw_call,
    validate_output,
)


def _until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


class Checked:
    """Calls operations over the raw wire and validates each 200 response against its output shape."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.validated: set[str] = set()

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        status, body = raw_call(self.url, operation, params)
        assert status == 200, (operation, body)
        assert validate_output(operation, body) == [], (operation, body)
        self.validated.add(operation)
        return dict(body)


def test_shape_validator_catches_what_it_should() -> None:
    assert validate_output("GetDeployment", {"deploymentInfo": {"status": "Sleeping"}})
    assert validate_output("GetDeployment", {"deploymentInfo": {"nope": 1}})
    assert validate_output("CreateDeployment", {"deploymentId": 7})
    assert validate_output("ListDeployments", {"deployments": ["d-AAAAAAAAA"]}) == []
    assert validate_output("ListDeployments", {"deployments": [], "nextToken": None})
    assert validate_output("GetDeployment", {"deploymentInfo": {"createTime": "2026-01-01T00:00:00Z"}})
    assert validate_output("GetDeployment", {"deploymentInfo": {"createTime": 1767225600.5}}) == []


@pytest.mark.integration
def test_every_operation_returns_its_output_shape(start_emulator: EmulatorFactory, moto_url: str) -> None:
    hooks = ScriptedHooks({"hook-BeforeInstall": "silent"})
    emulator = start_emulator(time_scale=600.0, hook_invoker=hooks)
    hooks.url = emulator.url
    call = Checked(emulator.url)
    env = provision_ecs_service(
        moto_url, emulator.url, EcsServiceSpec(ready_wait_minutes=600, termination_wait_minutes=600)
    )
    region = env.region

    # applications
    call(
        "CreateApplication",
        applicationName="extra",
        computePlatform="ECS",
        tags=[{"Key": "team", "Value": "a"}],
    )
    assert call("GetApplication", applicationName="extra")["application"]["computePlatform"] == "ECS"
    assert (
        len(call("BatchGetApplications", applicationNames=["extra", env.application])["applicationsInfo"])
        == 2
    )
    assert {"extra", env.application} <= set(call("ListApplications")["applications"])
    call("UpdateApplication", applicationName="extra", newApplicationName="extra2")
    app_arn = f"arn:aws:codedeploy:{region}:123456789012:application:extra2"
    call("TagResource", ResourceArn=app_arn, Tags=[{"Key": "owner", "Value": "platform"}])
    call("UntagResource", ResourceArn=app_arn, TagKeys=["team"])
    assert call("ListTagsForResource", ResourceArn=app_arn)["Tags"] == [{"Key": "owner", "Value": "platform"}]

    # deployment configs
    routing = {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 2}}
    call(
        "CreateDeploymentConfig",
        deploymentConfigName="canary-20-2",
        computePlatform="ECS",
        trafficRoutingConfig=routing,
    )
    assert (
        call("GetDeploymentConfig", deploymentConfigName="canary-20-2")["deploymentConfigInfo"][
            "trafficRoutingConfig"
        ]
        == routing
    )
    linear = call(
        "GetDeploymentConfig", deploymentConfigName="CodeDeployDefault.ECSLinear10PercentEvery3Minutes"
    )
    assert linear["deploymentConfigInfo"]["trafficRoutingConfig"]["timeBasedLinear"] == {
        "linearPercentage": 10,
        "linearInterval": 3,
    }
    assert "canary-20-2" in call("ListDeploymentConfigs")["deploymentConfigsList"]

    # deployment groups
    group = call(
        "GetDeploymentGroup", applicationName=env.application, deploymentGroupName=env.deployment_group
    )["deploymentGroupInfo"]
    copied = {k: group[k] for k in ("serviceRoleArn", "deploymentStyle", "ecsServices", "loadBalancerInfo")}
    call("CreateDeploymentGroup", applicationName="extra2", deploymentGroupName="g", **copied)
    assert call("ListDeploymentGroups", applicationName="extra2")["deploymentGroups"] == ["g"]
    batch = call("BatchGetDeploymentGroups", applicationName="extra2", deploymentGroupNames=["g", "missing"])
    assert len(batch["deploymentGroupsInfo"]) == 1 and "missing" in batch["errorMessage"]
    call(
        "UpdateDeploymentGroup",
        applicationName="extra2",
        currentDeploymentGroupName="g",
        deploymentConfigName="canary-20-2",
    )
    status, body = raw_call(emulator.url, "DeleteDeploymentConfig", {"deploymentConfigName": "canary-20-2"})
    assert (status, body["__type"]) == (400, "DeploymentConfigInUseException")
    call("DeleteDeploymentGroup", applicationName="extra2", deploymentGroupName="g")
    call("DeleteDeploymentConfig", deploymentConfigName="canary-20-2")
    call("DeleteApplication", applicationName="extra2")

    # a deployment: hook report, Ready, continue, termination wait, skip
    content = ecs_appspec(
        env.task_definition_arn,
        env.container_name,
        env.container_port,
        {"BeforeInstall": "hook-BeforeInstall"},
    )
    deployment_id = call(
        "CreateDeployment",
        applicationName=env.application,
        deploymentGroupName=env.deployment_group,
        revision=appspec_revision(content),
        description="shapes",
        overrideAlarmConfiguration={"enabled": False, "alarms": []},
    )["deploymentId"]
    _until(lambda: hooks.calls)
    function, payload = hooks.calls[0]
    assert function == "hook-BeforeInstall"
    assert set(payload) == {"DeploymentId", "LifecycleEventHookExecutionId"}
    report = {
        "deploymentId": deployment_id,
        "lifecycleEventHookExecutionId": payload["LifecycleEventHookExecutionId"],
    }
    call("PutLifecycleEventHookExecutionStatus", **report, status="Succeeded")
    status, body = raw_call(
        emulator.url, "PutLifecycleEventHookExecutionStatus", {**report, "status": "Failed"}
    )
    assert (status, body["__type"]) == (400, "LifecycleEventAlreadyCompletedException")
    records = emulator.hook_status_reports
    assert [(r.lifecycle_event, r.status, r.accepted, r.error_code) for r in records] == [
        ("BeforeInstall", "Succeeded", True, None),
        ("BeforeInstall", "Failed", False, "LifecycleEventAlreadyCompletedException"),
    ]
    assert records[0].deployment_id == deployment_id and records[0].virtual_time <= records[1].virtual_time

    _until(lambda: call("GetDeployment", deploymentId=deployment_id)["deploymentInfo"]["status"] == "Ready")
    target_ids = call("ListDeploymentTargets", deploymentId=deployment_id)["targetIds"]
    assert target_ids == [f"{env.cluster}:{env.service}"]
    target = call("GetDeploymentTarget", deploymentId=deployment_id, targetId=target_ids[0])[
        "deploymentTarget"
    ]
    assert target["deploymentTargetType"] == "ECSTarget" and target["ecsTarget"]["status"] == "Ready"
    assert {t["taskSetLabel"] for t in target["ecsTarget"]["taskSetsInfo"]} == {"Blue", "Green"}
    call("ContinueDeployment", deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    _until(
        lambda: call("BatchGetDeployments", deploymentIds=[deployment_id])["deploymentsInfo"][0][
            "instanceTerminationWaitTimeStarted"
        ]
    )
    call("BatchGetDeploymentTargets", deploymentId=deployment_id, targetIds=target_ids)
    call("SkipWaitTimeForInstanceTermination", deploymentId=deployment_id)
    info = _until(
        lambda: (
            (i := call("GetDeployment", deploymentId=deployment_id)["deploymentInfo"])["status"]
            == "Succeeded"
            and i
        )
    )
    assert info["completeTime"] >= info["startTime"] >= info["createTime"]
    digest = info["revision"]["appSpecContent"]["sha256"]
    # AWS: "The content property of the appSpecContent object in the returned revision is always
    # null" (botocore's GetDeployment documentation); BatchGetDeployments shows the same info.
    assert "content" not in info["revision"]["appSpecContent"]
    batch = call("BatchGetDeployments", deploymentIds=[deployment_id])["deploymentsInfo"][0]
    assert "content" not in batch["revision"]["appSpecContent"]
    by_sha = {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}
    stored = call("GetApplicationRevision", applicationName=env.application, revision=by_sha)
    assert hashlib.sha256(stored["revision"]["appSpecContent"]["content"].encode()).hexdigest() == digest
    assert stored["revisionInfo"]["deploymentGroups"] == [env.deployment_group]
    unknown = {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}}
    status, body = raw_call(
        emulator.url, "GetApplicationRevision", {"applicationName": env.application, "revision": unknown}
    )
    assert (status, body["__type"]) == (400, "RevisionDoesNotExistException")
    assert info["overrideAlarmConfiguration"] == {"enabled": False, "alarms": []}

    # a second deployment, stopped; the group's last deployments
    second = deploy_ecs(emulator.url, moto_url, env)
    _until(lambda: call("GetDeployment", deploymentId=second)["deploymentInfo"]["status"] == "Ready")
    assert call("StopDeployment", deploymentId=second, autoRollbackEnabled=True)["status"] == "Pending"
    _until(lambda: call("GetDeployment", deploymentId=second)["deploymentInfo"]["status"] == "Stopped")
    listed = call(
        "ListDeployments", applicationName=env.application, deploymentGroupName=env.deployment_group
    )
    assert listed["deployments"][-1] == deployment_id and second in listed["deployments"]
    group = call(
        "GetDeploymentGroup", applicationName=env.application, deploymentGroupName=env.deployment_group
    )
    rollback_id = call("GetDeployment", deploymentId=second)["deploymentInfo"]["rollbackInfo"][
        "rollbackDeploymentId"
    ]
    # the rollback deployment succeeded after the first one: it is the group's last successful deployment
    assert group["deploymentGroupInfo"]["lastSuccessfulDeployment"]["deploymentId"] == rollback_id
    assert group["deploymentGroupInfo"]["lastAttemptedDeployment"]["deploymentId"] == rollback_id
    stopped = call("ListDeployments", includeOnlyStatuses=["Stopped"])["deployments"]
    assert stopped == [second]

    assert call.validated == set(OPERATIONS)


@pytest.mark.integration
def test_second_deployment_is_refused(emulator: CodeDeployEmulator, moto_url: str) -> None:
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(ready_wait_minutes=600))
    first = deploy_ecs(emulator.url, moto_url, env)
    codedeploy = client("codedeploy", emulator.url)
    with pytest.raises(codedeploy.exceptions.DeploymentLimitExceededException) as caught:
        deploy_ecs(emulator.url, moto_url, env)
    assert first in str(caught.value)
    codedeploy.stop_deployment(deploymentId=first, autoRollbackEnabled=True)
    _until(lambda: codedeploy.get_deployment(deploymentId=first)["deploymentInfo"]["status"] == "Stopped")
    # once the rollback deployment has ended too, the group takes a new deployment
    _until(
        lambda: (
            not codedeploy.list_deployments(includeOnlyStatuses=["Created", "InProgress", "Ready"])[
                "deployments"
            ]
        )
    )
    assert deploy_ecs(emulator.url, moto_url, env).startswith("d-")


UNKNOWN = "d-ZZZZZZZZZ"


@pytest.fixture(scope="module")
def shared(moto_url: str) -> Iterator[tuple[CodeDeployEmulator, EcsEnvironment]]:
    """One emulator and service for the read-only refusal table."""
    emulator = CodeDeployEmulator(aws_endpoint=moto_url, time_scale=600.0)
    emulator.start()
    try:
        yield emulator, provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    finally:
        emulator.stop()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        ("GetDeployment", {"deploymentId": UNKNOWN}, "DeploymentDoesNotExistException"),
        ("StopDeployment", {"deploymentId": UNKNOWN}, "DeploymentDoesNotExistException"),
        ("ContinueDeployment", {"deploymentId": UNKNOWN}, "DeploymentDoesNotExistException"),
        (
            "GetDeploymentTarget",
            {"deploymentId": UNKNOWN, "targetId": "c:s"},
            "DeploymentDoesNotExistException",
        ),
        ("ListDeploymentTargets", {"deploymentId": UNKNOWN}, "DeploymentDoesNotExistException"),
        (
            "PutLifecycleEventHookExecutionStatus",
            {"deploymentId": UNKNOWN, "lifecycleEventHookExecutionId": "x", "status": "Succeeded"},
            "DeploymentDoesNotExistException",
        ),
        ("GetApplication", {"applicationName": "nope"}, "ApplicationDoesNotExistException"),
        ("ListDeploymentGroups", {"applicationName": "nope"}, "ApplicationDoesNotExistException"),
        (
            "GetDeploymentGroup",
            {"applicationName": "APP", "deploymentGroupName": "nope"},
            "DeploymentGroupDoesNotExistException",
        ),
        ("GetDeploymentConfig", {"deploymentConfigName": "nope"}, "DeploymentConfigDoesNotExistException"),
        (
            "CreateDeployment",
            {"applicationName": "APP", "deploymentGroupName": "GROUP", "deploymentConfigName": "nope"},
            "DeploymentConfigDoesNotExistException",
        ),
        (
            "CreateDeployment",
            {"applicationName": "APP", "deploymentGroupName": "GROUP"},
            "RevisionRequiredException",
        ),
        (
            "CreateDeployment",
            {
                "applicationName": "APP",
                "deploymentGroupName": "GROUP",
                "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}},
            },
            "InvalidRevisionException",
        ),
        (
            "CreateApplication",
            {"applicationName": "APP", "computePlatform": "ECS"},
            "ApplicationAlreadyExistsException",
        ),
        (
            "DeleteDeploymentConfig",
            {"deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce"},
            "InvalidOperationException",
        ),
        ("ListTagsForResource", {"ResourceArn": "arn:aws:s3:::bucket"}, "InvalidArnException"),
    ],
)
def test_unknown_ids_and_refusals(
    shared: tuple[CodeDeployEmulator, EcsEnvironment], operation: str, params: dict[str, Any], code: str
) -> None:
    emulator, env = shared
    replaced = {
        k: (env.application if v == "APP" else env.deployment_group if v == "GROUP" else v)
        for k, v in params.items()
    }
    status, body = raw_call(emulator.url, operation, replaced)
    assert (status, body["__type"]) == (400, code), body


@pytest.mark.integration
def test_unknown_hook_execution_and_target(emulator: CodeDeployEmulator, moto_url: str) -> None:
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(ready_wait_minutes=600))
    deployment_id = deploy_ecs(emulator.url, moto_url, env)
    codedeploy = client("codedeploy", emulator.url)
    _until(
        lambda: codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Ready"
    )
    with pytest.raises(codedeploy.exceptions.InvalidLifecycleEventHookExecutionIdException):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId="unknown", status="Succeeded"
        )
    with pytest.raises(codedeploy.exceptions.DeploymentTargetDoesNotExistException):
        codedeploy.get_deployment_target(deploymentId=deployment_id, targetId="other:service")
    with pytest.raises(codedeploy.exceptions.DeploymentIsNotInReadyStateException):
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    assert emulator.hook_status_reports[-1].error_code == "InvalidLifecycleEventHookExecutionIdException"
    codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=False)
    _until(
        lambda: codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Stopped"
    )
    with pytest.raises(codedeploy.exceptions.DeploymentAlreadyCompletedException):
        codedeploy.stop_deployment(deploymentId=deployment_id)


def _group_request(env: EcsEnvironment, name: str, **changes: Any) -> dict[str, Any]:
    pair = {
        "targetGroups": [{"name": env.target_groups[0]}, {"name": env.target_groups[1]}],
        "prodTrafficRoute": {"listenerArns": [env.prod_listener_arn]},
    }
    request: dict[str, Any] = {
        "applicationName": env.application,
        "deploymentGroupName": name,
        "serviceRoleArn": "arn:aws:iam::123456789012:role/codedeploy",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "ecsServices": [{"serviceName": env.service, "clusterName": env.cluster}],
        "loadBalancerInfo": {"targetGroupPairInfoList": [pair]},
    }
    request.update(changes)
    return {k: v for k, v in request.items() if v is not None}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, None),
        ({"ecsServices": None}, "InvalidECSServiceException"),
        (
            {"ecsServices": [{"serviceName": "a", "clusterName": "c"}] * 2},
            "ECSServiceMappingLimitExceededException",
        ),
        ({"deploymentStyle": {"deploymentType": "IN_PLACE"}}, "InvalidDeploymentStyleException"),
        ({"loadBalancerInfo": {"targetGroupPairInfoList": []}}, "InvalidTargetGroupPairException"),
        (
            {
                "loadBalancerInfo": {
                    "targetGroupPairInfoList": [{"targetGroups": [{"name": "a"}, {"name": "b"}]}]
                }
            },
            "InvalidTargetGroupPairException",
        ),
        ({"deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce"}, "InvalidComputePlatformException"),
        ({"deploymentConfigName": "nope"}, "DeploymentConfigDoesNotExistException"),
        ({"alarmConfiguration": {"enabled": True, "alarms": []}}, "InvalidAlarmConfigException"),
        (
            {"alarmConfiguration": {"enabled": True, "alarms": [{"name": f"a{i}"} for i in range(11)]}},
            "AlarmsLimitExceededException",
        ),
        (
            {"autoRollbackConfiguration": {"enabled": True, "events": []}},
            "InvalidAutoRollbackConfigException",
        ),
        ({"deploymentGroupName": "GROUP"}, "DeploymentGroupAlreadyExistsException"),
    ],
)
def test_deployment_group_checks(
    shared: tuple[CodeDeployEmulator, EcsEnvironment], changes: dict[str, Any], code: str | None
) -> None:
    emulator, env = shared
    if changes.get("deploymentGroupName") == "GROUP":
        changes = {**changes, "deploymentGroupName": env.deployment_group}
    name = f"g{abs(hash(str(changes))) % 10**8}"
    status, body = raw_call(emulator.url, "CreateDeploymentGroup", _group_request(env, name, **changes))
    if code is None:
        assert status == 200 and validate_output("CreateDeploymentGroup", body) == []
    else:
        assert (status, body.get("__type")) == (400, code), body
