"""The ECS native emulator's endpoint: ECS's errors for bad input (never a 500), paging, the
pass-through to moto with the virtual Date, DescribeServiceRevisions, and the migration of a
CODE_DEPLOY service (UpdateService deploymentController -> ECS)."""

from __future__ import annotations

import email.utils
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.ecs_native import NativeWorld, ScriptedNativeHooks, lambda_hook

ENDED = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
BLUE_GREEN = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}


@pytest.fixture
def hooks() -> ScriptedNativeHooks:
    return ScriptedNativeHooks()


@pytest.fixture
def world(moto_url: str, hooks: ScriptedNativeHooks) -> Iterator[NativeWorld]:
    with NativeWorld(moto_url, hooks) as started:
        yield started


def _raw(world: NativeWorld, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        world.native.url,
        data=body,
        method="POST",
        headers={
            "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    ("operation", "body", "code"),
    [
        ("ListServiceDeployments", b"{not json", "SerializationException"),
        ("ListServiceDeployments", b"{}", "InvalidParameterException"),  # service is required
        ("ListServiceDeployments", b'{"service": 5}', "InvalidParameterException"),
        ("DescribeServiceDeployments", b'{"serviceDeploymentArns": "x"}', "InvalidParameterException"),
        (
            "StopServiceDeployment",
            b'{"serviceDeploymentArn": "a", "stopType": "NOW"}',
            "InvalidParameterException",
        ),
        ("ContinueServiceDeployment", b'{"serviceDeploymentArn": "arn:x"}', "InvalidParameterException"),
        (
            "ContinueServiceDeployment",
            b'{"serviceDeploymentArn": "arn:x", "hookId": "h"}',
            "ServiceDeploymentNotFoundException",
        ),
        ("StopServiceDeployment", b'{"serviceDeploymentArn": "arn:x"}', "ServiceDeploymentNotFoundException"),
        ("CreateService", b"[]", "SerializationException"),
    ],
)
def test_bad_input_gets_ecs_error_codes(world: NativeWorld, operation: str, body: bytes, code: str) -> None:
    status, answer = _raw(world, operation, body)
    assert (status, answer["__type"]) == (400, code)


def test_unknown_services_and_clusters(world: NativeWorld) -> None:
    env = world.provision()
    with pytest.raises(world.ecs.exceptions.ServiceNotFoundException):
        world.ecs.list_service_deployments(cluster=env.cluster, service="nope")
    with pytest.raises(world.ecs.exceptions.ClusterNotFoundException):
        world.ecs.list_service_deployments(cluster="no-such-cluster", service=env.service)
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="maximum of 20"):
        world.ecs.describe_service_deployments(serviceDeploymentArns=[f"arn:{i}" for i in range(21)])
    found = world.ecs.describe_service_deployments(serviceDeploymentArns=["arn:aws:ecs:x"])
    assert found["failures"] == [{"arn": "arn:aws:ecs:x", "reason": "MISSING"}]


def test_a_native_service_ecs_would_refuse_is_refused_before_moto_creates_it(world: NativeWorld) -> None:
    env = world.provision(create=False)
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="stepPercent"):
        world.ecs.create_service(
            cluster=env.cluster,
            serviceName=env.service,
            taskDefinition=env.task_definition_arn,
            desiredCount=1,
            deploymentConfiguration={"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.0}},
            loadBalancers=world.load_balancers(env),
        )
    assert world.moto("ecs").describe_services(cluster=env.cluster, services=[env.service])["services"] == []


def test_list_pages_by_max_results_newest_first(world: NativeWorld) -> None:
    env = world.provision(BLUE_GREEN)
    arns = []
    for image in ("app:v2", "app:v3"):
        arns.append(world.deploy(env, image=image))
        world.wait(arns[-1], ENDED)
    listed: list[str] = []
    token: dict[str, str] = {}
    for _ in range(5):  # botocore has no paginator for it: follow nextToken by hand
        page = world.ecs.list_service_deployments(
            cluster=env.cluster, service=env.service, maxResults=1, **token
        )
        listed += [d["serviceDeploymentArn"] for d in page["serviceDeployments"]]
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    assert len(listed) == 3 and listed[:2] == arns[::-1]
    assert (
        len(
            world.ecs.list_service_deployments(cluster=env.cluster, service=env.service)["serviceDeployments"]
        )
        == 3
    )
    first = world.ecs.list_service_deployments(cluster=env.cluster, service=env.service, maxResults=1)
    with pytest.raises(world.ecs.exceptions.InvalidParameterException):  # another request's token
        world.ecs.list_service_deployments(
            cluster=env.cluster, service=env.service, status=["STOPPED"], nextToken=first["nextToken"]
        )
    with pytest.raises(world.ecs.exceptions.InvalidParameterException):
        world.ecs.list_service_deployments(cluster=env.cluster, service=env.service, maxResults=101)
    assert (
        world.ecs.list_service_deployments(cluster=env.cluster, service=env.service, status=["STOPPED"])[
            "serviceDeployments"
        ]
        == []
    )


def test_every_other_call_passes_to_moto_with_the_virtual_date(world: NativeWorld) -> None:
    env = world.provision()
    before = world.clock.now()
    listed = world.ecs.list_clusters()
    after = world.clock.now()
    assert any(arn.endswith(f"/{env.cluster}") for arn in listed["clusterArns"])
    with pytest.raises(world.ecs.exceptions.ClusterNotFoundException):  # moto's error, unchanged
        world.ecs.delete_cluster(cluster="no-such-cluster")
    date = listed["ResponseMetadata"]["HTTPHeaders"]["date"]
    served = email.utils.parsedate_to_datetime(date).timestamp()
    assert before - 1 <= served <= after  # the sandbox time (whole seconds), 600x ahead of the wall clock


def test_describe_service_revisions(world: NativeWorld) -> None:
    env = world.provision(BLUE_GREEN)
    done = world.wait(world.deploy(env), ENDED)
    arns = [done["sourceServiceRevisions"][0]["arn"], done["targetServiceRevision"]["arn"]]
    found = world.ecs.describe_service_revisions(serviceRevisionArns=[*arns, "arn:nope"])
    by_arn = {r["serviceRevisionArn"]: r for r in found["serviceRevisions"]}
    assert by_arn[arns[0]]["taskDefinition"] == env.task_definition_arn
    # Where each revision's tasks serve is resolvedConfiguration's (loadBalancers is the service's
    # configuration): blue for the source, green for the target.
    resolved = {
        arn: by_arn[arn]["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"] for arn in arns
    }
    assert resolved == {arns[0]: env.tg_arns[env.blue], arns[1]: env.tg_arns[env.green]}
    assert found["failures"] == [{"arn": "arn:nope", "reason": "MISSING"}]


def test_a_lambda_hook_in_progress_past_its_timeout_takes_the_timeout_action(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    hooks.script["slow"] = [{"hookStatus": "IN_PROGRESS", "callBackDelay": 30}]
    hook = {**lambda_hook("slow", "POST_SCALE_UP"), "timeoutConfiguration": {"timeoutInMinutes": 2}}
    env = world.provision({**BLUE_GREEN, "lifecycleHooks": [hook]})
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["TIMED_OUT"]
    assert 3 <= len(hooks.calls) <= 5  # every 30 virtual s for 2 minutes


def test_an_alarm_without_rollback_stops_where_it_is(world: NativeWorld) -> None:
    env = world.provision(create=False, alarms=("5xx",))
    world.cloudwatch.set_alarm_state(AlarmName=env.alarm_names[0], StateValue="ALARM", StateReason="test")
    config = {
        **BLUE_GREEN,
        "alarms": {"alarmNames": list(env.alarm_names), "enable": True, "rollback": False},
    }
    world.ecs.create_service(
        cluster=env.cluster,
        serviceName=env.service,
        taskDefinition=env.task_definition_arn,
        desiredCount=1,
        deploymentController={"type": "ECS"},
        deploymentConfiguration=config,
        loadBalancers=world.load_balancers(env),
    )
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "STOPPED" and "rollback" not in done
    assert done["alarms"]["triggeredAlarmNames"] == list(env.alarm_names)


def test_migrating_a_code_deploy_service_keeps_its_task_set_running_then_deploys(world: NativeWorld) -> None:
    env = world.provision(create=False)
    moto_ecs = world.moto("ecs")
    ec2 = world.moto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=env.service, Description="migration", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    moto_ecs.create_service(
        cluster=env.cluster,
        serviceName=env.service,
        desiredCount=2,
        deploymentController={"type": "CODE_DEPLOY"},
        launchType="FARGATE",
        networkConfiguration=network,
    )
    task_set = moto_ecs.create_task_set(
        cluster=env.cluster,
        service=env.service,
        taskDefinition=env.task_definition_arn,
        launchType="FARGATE",
        networkConfiguration=network,
        loadBalancers=[
            {"targetGroupArn": env.tg_arns[env.blue], "containerName": "app", "containerPort": 3003}
        ],
    )["taskSet"]
    second = moto_ecs.create_task_set(
        cluster=env.cluster,
        service=env.service,
        taskDefinition=env.task_definition_arn,
        launchType="FARGATE",
        networkConfiguration=network,
        loadBalancers=[
            {"targetGroupArn": env.tg_arns[env.green], "containerName": "app", "containerPort": 3003}
        ],
    )["taskSet"]
    migrate = {
        "cluster": env.cluster,
        "service": env.service,
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": BLUE_GREEN,
        "loadBalancers": world.load_balancers(env),
    }
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="in progress"):
        world.ecs.update_service(**migrate)  # a CodeDeploy deployment in flight: two task sets
    moto_ecs.delete_task_set(
        cluster=env.cluster, service=env.service, taskSet=second["taskSetArn"], force=True
    )

    world.ecs.update_service(**migrate)
    service = world.ecs.describe_services(cluster=env.cluster, services=[env.service])["services"][0]
    assert service["deploymentController"] == {"type": "ECS"}
    assert service["deploymentConfiguration"] == BLUE_GREEN
    assert [t["taskSetArn"] for t in world.native.task_sets(env.cluster, env.service)] == [
        task_set["taskSetArn"]
    ]
    assert moto_ecs.describe_task_sets(cluster=env.cluster, service=env.service)["taskSets"] == []
    world.ecs.update_service(**migrate)  # again: nothing changes, no deployment starts
    assert (
        len(
            world.ecs.list_service_deployments(cluster=env.cluster, service=env.service)["serviceDeployments"]
        )
        == 0
    )

    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    assert world.running(env) == {env.green: "PRIMARY"}


def test_rules_that_do_not_forward_to_both_target_groups_roll_back_before_anything_moves(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    env = world.provision({**BLUE_GREEN, "lifecycleHooks": [lambda_hook("any", "PRE_SCALE_UP")]})
    blue_only = [
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": env.tg_arns[env.blue]}]}}
    ]
    for rule in (env.production_rule, env.test_rule):
        world.elbv2.modify_rule(RuleArn=rule, Actions=blue_only)
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert "invalid networking configuration" in done["rollback"]["reason"]
    assert world.rule_weights(env, env.production_rule) == {env.blue: 1}  # untouched
    assert hooks.calls == [] and world.running(env) == {env.blue: "PRIMARY"}
