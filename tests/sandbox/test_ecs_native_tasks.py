"""The ECS endpoint's tasks of native services (sandbox/ecs_native/tasks.py) over the wire: what the
fleet reports becomes ListTasks / DescribeTasks answers in botocore's shapes (boto3 parses them),
paged with the endpoint's tokens, and the service's events in ECS's wording."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.ecs_native import service_events
from tests.support.ecs_native import NativeEnv, NativeWorld, ScriptedNativeHooks

BLUE_GREEN = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}


@pytest.fixture
def world(moto_url: str) -> Iterator[NativeWorld]:
    with NativeWorld(moto_url, ScriptedNativeHooks()) as started:
        yield started


def _task_set(world: NativeWorld, env: NativeEnv) -> dict[str, Any]:
    (found,) = world.native.task_sets(env.cluster, env.service)
    return found


def test_tasks_the_fleet_reports_are_listed_described_and_said(world: NativeWorld) -> None:
    env = world.provision(BLUE_GREEN)
    book = world.native.tasks
    task_set = _task_set(world, env)
    arns = book.tasks_started(
        env.cluster, env.service, task_set, env.tg_arns[env.blue], ["10.0.1.1", "10.0.1.2"]
    )
    assert len(arns) == 2
    listed = world.ecs.list_tasks(cluster=env.cluster, serviceName=env.service)["taskArns"]
    assert sorted(listed) == sorted(arns)
    described = world.ecs.describe_tasks(cluster=env.cluster, tasks=arns)["tasks"]
    assert {t["lastStatus"] for t in described} == {"RUNNING"}
    assert {t["startedBy"] for t in described} == {task_set["id"]}
    assert {t["taskDefinitionArn"] for t in described} == {env.task_definition_arn}
    assert described[0]["containers"][0]["image"] == "app:v1"
    # the health check's verdict: stopped, another started in its place
    new = book.failed_health_check(arns[0], env.tg_arns[env.blue], 3003, "Health checks failed")
    assert new is not None and new not in arns
    stopped = world.ecs.list_tasks(cluster=env.cluster, serviceName=env.service, desiredStatus="STOPPED")
    assert stopped["taskArns"] == [arns[0]]
    (task,) = world.ecs.describe_tasks(cluster=env.cluster, tasks=[arns[0]])["tasks"]
    assert task["stoppedReason"] == f"Task failed ELB health checks in (target-group {env.tg_arns[env.blue]})"
    assert task["stopCode"] == "ServiceSchedulerInitiated" and task["desiredStatus"] == "STOPPED"
    assert task["stoppedAt"] >= task["startedAt"]
    # the revision scaled down: the rest stop with the scaling activity of its deployment
    book.tasks_stopped([arns[1], new], env.tg_arns[env.blue])
    running = world.ecs.list_tasks(cluster=env.cluster, serviceName=env.service)["taskArns"]
    assert running == []
    reasons = {
        t["stoppedReason"]
        for t in world.ecs.describe_tasks(cluster=env.cluster, tasks=[arns[1], new])["tasks"]
    }
    assert reasons == {f"Scaling activity initiated by (deployment {task_set['id']})"}
    events = world.ecs.describe_services(cluster=env.cluster, services=[env.service])["services"][0]["events"]
    messages = [e["message"] for e in reversed(events)]  # oldest first
    ids = [service_events.task_id(arn) for arn in arns]
    assert messages == [
        f"(service {env.service}) has started 2 tasks: (task {ids[0]}) (task {ids[1]}).",
        f"(service {env.service}) registered 2 targets in (target-group {env.tg_arns[env.blue]})",
        f"(service {env.service}) (task {ids[0]}) (port 3003) is unhealthy in (target-group "
        f"{env.tg_arns[env.blue]}) due to (reason Health checks failed).",
        f"(service {env.service}) has stopped 1 running tasks: (task {ids[0]}).",
        f"(service {env.service}) has started 1 tasks: (task {service_events.task_id(new)}).",
        f"(service {env.service}) deregistered 2 targets in (target-group {env.tg_arns[env.blue]})",
        f"(service {env.service}) has stopped 2 running tasks: "
        f"(task {ids[1]}) (task {service_events.task_id(new)}).",
    ]


def test_list_tasks_pages_with_the_endpoints_tokens_and_describe_asks_moto_for_the_rest(
    world: NativeWorld,
) -> None:
    env = world.provision(BLUE_GREEN)
    addresses = [f"10.0.2.{n}" for n in range(1, 6)]
    arns = world.native.tasks.tasks_started(env.cluster, env.service, _task_set(world, env), None, addresses)
    request: dict[str, Any] = {"cluster": env.cluster, "serviceName": env.service, "maxResults": 2}
    pages: list[list[str]] = []
    while True:
        page = world.ecs.list_tasks(**request)
        pages.append(page["taskArns"])
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    assert [len(p) for p in pages] == [2, 2, 1] and sorted(a for p in pages for a in p) == sorted(arns)
    # botocore's paginator and a bad token
    paginator = world.ecs.get_paginator("list_tasks")
    walked = [
        a
        for p in paginator.paginate(
            cluster=env.cluster, serviceName=env.service, PaginationConfig={"PageSize": 2}
        )
        for a in p["taskArns"]
    ]
    assert sorted(walked) == sorted(arns)
    with pytest.raises(world.ecs.exceptions.InvalidParameterException):
        world.ecs.list_tasks(cluster=env.cluster, serviceName=env.service, nextToken="forged")
    # a task the book does not know goes to moto, whose answer is merged
    unknown = re.sub(r"[0-9a-f]{32}$", "0" * 32, arns[0])
    answer = world.ecs.describe_tasks(cluster=env.cluster, tasks=[arns[0], unknown])
    assert [t["taskArn"] for t in answer["tasks"]] == [arns[0]]
    assert answer["failures"] == [{"arn": unknown, "reason": "MISSING"}]
    # a service that is not native is moto's: nothing here
    assert world.ecs.list_tasks(cluster=env.cluster, serviceName="someone-else")["taskArns"] == []


def test_an_alarm_rollback_is_said_in_the_events_and_read_by_inspect(world: NativeWorld) -> None:
    from orchestrator.engines import ecs_inspect
    from tests.support.ecs_native import lambda_hook

    env_box: list[Any] = []
    hooks = ScriptedNativeHooks()

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        # the canary is live: the new revision's errors fire the alarm
        world.cloudwatch.set_alarm_state(
            AlarmName=env_box[0].alarm_names[0], StateValue="ALARM", StateReason="5xx"
        )
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    env_box.append(world.provision(create=False, alarms=("5xx",)))
    env = env_box[0]
    config = {
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [lambda_hook("shift", "PRODUCTION_TRAFFIC_SHIFT")],
        "alarms": {"alarmNames": list(env.alarm_names), "enable": True, "rollback": True},
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
    source = _task_set(world, env)["id"]
    arn = world.deploy(env)
    world.wait(arn, {"ROLLBACK_SUCCESSFUL"})
    found = ecs_inspect.inspect(world.ecs, arn)
    assert found.facts.outcome.value == "rolled back"
    messages = [event.message for event in found.service_events]
    failed = rf"\(service {env.service}\) \(deployment ecs-svc/\d+\) deployment failed: alarm detected\."
    assert re.fullmatch(failed, messages[-3]), messages
    assert messages[-2:] == [
        f"(service {env.service}) rolling back to deployment {source}.",
        f"(service {env.service}) has reached a steady state.",
    ]
    assert found.alarm_names == env.alarm_names
    assert found.steps[-1].name == "PRODUCTION_TRAFFIC_SHIFT" and found.steps[-1].status == "Failed"
    # a native world without a fleet: no task was reported, so none stopped; the source is readable
    assert found.stopped_tasks == () and found.unreadable == ()
