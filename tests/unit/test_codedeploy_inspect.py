"""CodeDeployEngine.inspect and .history over in-memory fakes: what CodeDeploy's answers become, which
calls they cost, and how a bad id or a source that cannot be read is reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.catalog import Catalog
from orchestrator.engines.codedeploy import CodeDeployEngine
from orchestrator.engines.codedeploy_inspect import (
    alarm_names,
    green_target_group_names,
    image_of,
    steps_of,
    traffic_of,
)
from orchestrator.errors import AwsError, BadInputError
from orchestrator.insight.evidence import Outcome, Step
from orchestrator.insight.records import DeploymentKind
from orchestrator.strategies import parse_strategy
from tests.support.fake_codedeploy import FakeClients, FakeCodeDeploy, client_error
from tests.support.fakes import FakeEcs, FakeElbv2

T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
APP, GROUP = "doa-market-dev", "product-service"
TD = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:1"  # FakeEcs registers :1
EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
APPSPEC = f"""version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: {TD}
        LoadBalancerInfo:
          ContainerName: app
          ContainerPort: 8080
Hooks:
  - AfterAllowTestTraffic: bluegreen-dev-after-allow-test-traffic
  - AfterAllowTraffic: bluegreen-dev-after-allow-traffic
"""
ALARM_MESSAGE = "One or more alarms have been activated ... Activated alarms: product-service-5xx"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def event(
    name: str, status: str, start: float | None, end: float | None, **diagnostics: str
) -> dict[str, Any]:
    item: dict[str, Any] = {"lifecycleEventName": name, "status": status}
    if start is not None:
        item["startTime"] = at(start)
    if end is not None:
        item["endTime"] = at(end)
    if diagnostics:
        item["diagnostics"] = diagnostics
    return item


class World:
    """A deployment group with a canary stopped by an alarm during AllowTraffic, and its rollback."""

    def __init__(self) -> None:
        self.codedeploy = FakeCodeDeploy()
        self.elbv2 = FakeElbv2()
        self.ecs = FakeEcs()
        self.blue_arn = self.elbv2.add_target_group("product-service-blue")
        self.green_arn = self.elbv2.add_target_group("product-service-green")
        self.ecs.register_task_definition(
            family="product-service", containerDefinitions=[{"name": "app", "image": "repo/product:1.4.2"}]
        )
        self.codedeploy.add_group(
            APP,
            GROUP,
            alarmConfiguration={"enabled": True, "alarms": [{"name": "product-service-5xx"}]},
            loadBalancerInfo={
                "targetGroupPairInfoList": [
                    {"targetGroups": [{"name": "product-service-blue"}, {"name": "product-service-green"}]}
                ]
            },
        )
        self.failed = self.codedeploy.add_deployment(
            APP,
            GROUP,
            APPSPEC,
            deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes",
            description="bg:0123456789ab; bluegreen deploy product-service canary10",
            creator="user",
        )
        self.rollback = self.codedeploy.add_deployment(
            APP, GROUP, "version: 0.0\n", creator="codeDeployRollback"
        )
        self.codedeploy.deployments[self.failed].update(
            status="Stopped",
            createTime=at(-6),
            completeTime=at(2.6),
            errorInformation={"code": "ALARM_ACTIVE", "message": ALARM_MESSAGE},
            rollbackInfo={"rollbackDeploymentId": self.rollback, "rollbackMessage": "rolled back"},
        )
        self.codedeploy.deployments[self.rollback].update(
            status="Succeeded",
            createTime=at(2),
            completeTime=at(2.6),
            rollbackInfo={"rollbackTriggeringDeploymentId": self.failed},
        )
        done = [
            event(name, "Succeeded", -5 + i * 0.5, -5 + i * 0.5 + 0.4) for i, name in enumerate(EVENTS[:6])
        ]
        self.codedeploy.targets[self.failed] = _target(
            [*done, event("AllowTraffic", "Failed", 0, 2), event("AfterAllowTraffic", "Skipped", None, None)],
            [
                {
                    "taskSetLabel": "Blue",
                    "targetGroup": {"name": "product-service-blue"},
                    "trafficWeight": 100.0,
                }
            ],
        )
        self.codedeploy.targets[self.rollback] = _target(
            [event(name, "Succeeded", 2 + i * 0.05, 2 + i * 0.05 + 0.05) for i, name in enumerate(EVENTS)], []
        )

    def engine(self) -> CodeDeployEngine:
        return CodeDeployEngine(FakeClients(codedeploy=self.codedeploy, elbv2=self.elbv2, ecs=self.ecs))


def _target(events: list[dict[str, Any]], task_sets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {"lifecycleEvents": events, "taskSetsInfo": task_sets},
    }


@pytest.fixture
def world() -> World:
    return World()


def test_inspect_a_canary_stopped_by_an_alarm_and_rolled_back(world: World) -> None:
    inspection = world.engine().inspect(world.failed)
    facts = inspection.facts
    assert (facts.status, facts.outcome, facts.engine) == ("Stopped", Outcome.ROLLED_BACK, "codedeploy")
    assert (facts.error_code, facts.error_message) == ("ALARM_ACTIVE", ALARM_MESSAGE)
    assert facts.rolled_back and facts.rollback_deployment_id == world.rollback
    assert facts.rollback_reason == "rolled back" and facts.rollback_started == at(2)
    assert (facts.strategy, facts.created, facts.completed) == ("canary10", at(-6), at(2.6))
    assert (facts.task_definition, facts.image) == (TD, "repo/product:1.4.2")
    assert not facts.stopped_by_user
    assert [s.name for s in inspection.steps] == list(EVENTS)
    allow = inspection.steps[6]
    assert (allow.status, allow.started, allow.ended) == ("Failed", at(0), at(2))
    assert inspection.steps[4].hook_function == "bluegreen-dev-after-allow-test-traffic"
    assert inspection.steps[6].hook_function is None
    assert [s.status for s in inspection.rollback_steps] == ["Succeeded"] * len(EVENTS)
    # the canary's 10 % from AllowTraffic's start, back to blue when the rollback's AllowTraffic ended
    assert [(p.at, p.green_percent) for p in inspection.traffic] == [(at(0), 10.0), (at(2.35), 0.0)]
    assert inspection.green_target_groups == (world.green_arn,)
    assert inspection.alarm_names == ("product-service-5xx",)
    assert inspection.unreadable == ()


def test_inspect_costs_a_bounded_number_of_calls(world: World) -> None:
    world.engine().inspect(world.failed)
    assert sorted(world.codedeploy.calls) == sorted(
        [
            "GetDeployment",
            "GetApplicationRevision",
            "ListDeploymentTargets",
            "BatchGetDeploymentTargets",
            "ListDeploymentTargets",  # the rollback's
            "BatchGetDeploymentTargets",
            "GetDeploymentGroup",
        ]
    )


def test_a_failed_hook_carries_its_diagnostics(world: World) -> None:
    events = [
        event("BeforeInstall", "Succeeded", 0, 1),
        event(
            "AfterAllowTestTraffic",
            "Failed",
            1,
            3,
            errorCode="ScriptFailed",
            scriptName="bluegreen-dev-after-allow-test-traffic",
            message="smoke GET /api answered 500",
            logTail="",
        ),
    ]
    world.codedeploy.targets[world.failed] = _target(events, [])
    inspection = world.engine().inspect(world.failed)
    failed = inspection.steps[1]
    assert (failed.error_code, failed.message) == ("ScriptFailed", "smoke GET /api answered 500")
    assert (failed.started, failed.ended) == (at(1), at(3))
    assert failed.hook_function == "bluegreen-dev-after-allow-test-traffic"
    assert inspection.traffic == ()  # AllowTraffic never started: green never served production


@pytest.mark.parametrize("code", ["DeploymentDoesNotExistException", "InvalidDeploymentIdException"])
def test_an_unknown_id_is_bad_input_on_one_line(world: World, code: str) -> None:
    def refuse(**_: Any) -> Any:
        raise client_error(code, "GetDeployment")

    world.codedeploy.get_deployment = refuse  # type: ignore[method-assign]
    with pytest.raises(BadInputError) as raised:
        world.engine().inspect("d-NOPE12345")
    assert str(raised.value) == "no deployment d-NOPE12345 in this account and region"


def test_no_access_to_the_deployment_is_an_aws_error(world: World) -> None:
    def refuse(**_: Any) -> Any:
        raise client_error("AccessDeniedException", "GetDeployment", "not authorized")

    world.codedeploy.get_deployment = refuse  # type: ignore[method-assign]
    with pytest.raises(AwsError) as raised:
        world.engine().inspect(world.failed)
    assert "\n" not in str(raised.value) and "access denied" in str(raised.value)


def test_a_source_that_cannot_be_read_is_named_and_the_rest_is_kept(world: World) -> None:
    def refuse(**_: Any) -> Any:
        raise client_error("AccessDenied", "DescribeTargetGroups", "not authorized")

    world.elbv2.describe_target_groups = refuse  # type: ignore[method-assign]
    inspection = world.engine().inspect(world.failed)
    assert inspection.green_target_groups == ()
    assert [u.source for u in inspection.unreadable] == ["ELBv2 DescribeTargetGroups product-service-green"]
    assert "access denied" in inspection.unreadable[0].problem
    assert len(inspection.steps) == len(EVENTS) and inspection.facts.image == "repo/product:1.4.2"


def test_history_newest_first_with_records(world: World, real_catalog: Catalog) -> None:
    records = world.engine().history(real_catalog.resolve("product-service", "dev"), at(-60))
    assert [r.deployment_id for r in records] == [world.rollback, world.failed]
    assert (records[0].kind, records[0].rollback_of) == (DeploymentKind.AUTO_ROLLBACK, world.failed)
    assert (records[1].outcome, records[1].rolled_back_by) == (
        Outcome.ROLLED_BACK,
        "alarm product-service-5xx",
    )
    assert {r.service for r in records} == {"product-service"} and {r.environment for r in records} == {"dev"}


@pytest.mark.parametrize(
    ("count", "page", "lists", "batches"), [(0, 10, 1, 0), (25, 100, 1, 1), (26, 100, 1, 2), (61, 20, 4, 3)]
)
def test_history_calls_one_list_per_page_and_one_batch_per_25(
    real_catalog: Catalog, count: int, page: int, lists: int, batches: int
) -> None:
    codedeploy = FakeCodeDeploy()
    codedeploy.add_group(APP, GROUP)
    codedeploy.list_page_size = page
    for index in range(count):
        deployment_id = codedeploy.add_deployment(APP, GROUP, f"version: 0.0\n# {index}\n")
        codedeploy.deployments[deployment_id].update(status="Succeeded", createTime=at(index))
    engine = CodeDeployEngine(FakeClients(codedeploy=codedeploy))
    records = engine.history(real_catalog.resolve("product-service", "dev"), at(0))
    assert [r.created for r in records] == [at(i) for i in reversed(range(count))]
    assert codedeploy.calls.count("ListDeployments") == lists
    assert codedeploy.calls.count("BatchGetDeployments") == batches
    assert len(codedeploy.calls) == lists + batches


def test_history_asks_from_since(world: World, real_catalog: Catalog) -> None:
    seen: list[dict[str, Any]] = []
    list_deployments = world.codedeploy.list_deployments

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return list_deployments(**kwargs)

    world.codedeploy.list_deployments = spy  # type: ignore[method-assign]
    records = world.engine().history(real_catalog.resolve("product-service", "dev"), at(0))
    assert seen[0]["createTimeRange"] == {"start": at(0)}
    assert [r.deployment_id for r in records] == [world.rollback]


def test_history_of_a_missing_group_is_bad_input(world: World, real_catalog: Catalog) -> None:
    world.codedeploy.groups.clear()
    with pytest.raises(BadInputError, match="does not exist"):
        world.engine().history(real_catalog.resolve("product-service", "dev"), at(0))


# --- the pure parts, as tables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_sets", "info", "expected"),
    [
        ([{"taskSetLabel": "Green", "targetGroup": {"name": "tg-2"}}], {}, ("tg-2",)),
        ([{"taskSetLabel": "Blue", "targetGroup": {"name": "tg-1"}}], {}, ("tg-2",)),
        ([{"taskSetLabel": "Blue", "targetGroup": {"name": "tg-2"}}], {}, ("tg-1",)),
        ([], {}, ()),
        ([{"taskSetLabel": "Blue", "targetGroup": {"name": "other"}}], {}, ()),
    ],
)
def test_green_target_group(
    task_sets: list[dict[str, Any]], info: dict[str, Any], expected: tuple[str, ...]
) -> None:
    group = {
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [{"targetGroups": [{"name": "tg-1"}, {"name": "tg-2"}]}]
        }
    }
    assert green_target_group_names(info, group, {"taskSetsInfo": task_sets}) == expected


@pytest.mark.parametrize(
    ("info", "group", "expected"),
    [
        ({}, {"alarmConfiguration": {"enabled": True, "alarms": [{"name": "a"}, {"name": "b"}]}}, ("a", "b")),
        ({}, {"alarmConfiguration": {"enabled": False, "alarms": [{"name": "a"}]}}, ()),
        (
            {"overrideAlarmConfiguration": {"enabled": True, "alarms": [{"name": "o"}]}},
            {"alarmConfiguration": {"enabled": True, "alarms": [{"name": "a"}]}},
            ("o",),
        ),
        ({}, {}, ()),
    ],
)
def test_alarm_names(info: dict[str, Any], group: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert alarm_names(info, group) == expected


@pytest.mark.parametrize(
    ("container", "expected"),
    [("app", "img-app"), ("sidecar", "img-side"), (None, "img-side"), ("x", "img-side")],
)
def test_image_of(container: str | None, expected: str) -> None:
    definition = {
        "containerDefinitions": [
            {"name": "sidecar", "image": "img-side"},
            {"name": "app", "image": "img-app"},
        ]
    }
    assert image_of(definition, container) == expected
    assert image_of({}, container) is None


def test_steps_fall_back_to_the_log_tail_and_unknown_status() -> None:
    steps = steps_of(
        {
            "lifecycleEvents": [
                {"lifecycleEventName": "Install", "diagnostics": {"logTail": "tail", "errorCode": ""}}
            ]
        },
        {},
    )
    assert steps == (Step("Install", "Unknown", message="tail"),)


@pytest.mark.parametrize(
    ("allow", "rollback", "info", "expected"),
    [
        # succeeded: 10 %, then all of it when AllowTraffic ended
        (Step("AllowTraffic", "Succeeded", at(0), at(5)), (), {"completeTime": at(9)}, [(0, 10), (5, 100)]),
        # failed during the canary without a rollback: green kept 10 % until the end
        (Step("AllowTraffic", "Failed", at(0), at(2)), (), {"completeTime": at(2)}, [(0, 10)]),
        # rolled back, the rollback's own events unreadable: back to blue when the deployment ended
        (
            Step("AllowTraffic", "Failed", at(0), at(2)),
            (),
            {"completeTime": at(3), "rollbackInfo": {"rollbackDeploymentId": "d-R"}},
            [(0, 10), (3, 0)],
        ),
        (
            Step("AllowTraffic", "Failed", at(0), at(2)),
            (Step("AllowTraffic", "InProgress", at(2.2)),),
            {"completeTime": at(3), "rollbackInfo": {"rollbackDeploymentId": "d-R"}},
            [(0, 10), (2.2, 0)],
        ),
        (Step("AllowTraffic", "Skipped"), (), {"completeTime": at(3)}, []),
    ],
)
def test_traffic_of(
    allow: Step, rollback: tuple[Step, ...], info: dict[str, Any], expected: list[tuple[float, float]]
) -> None:
    points = traffic_of(info, parse_strategy("canary10"), (allow,), rollback)
    assert [((p.at - T0).total_seconds() / 60, p.green_percent) for p in points] == expected
    assert traffic_of(info, None, (allow,), rollback) == ()


# --- the exact requests, pinned with botocore's Stubber ---------------------------------------------


def _stubbed() -> tuple[Any, Any]:
    import boto3
    from botocore.stub import Stubber

    made = boto3.client(
        "codedeploy", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return made, Stubber(made)


def test_history_requests(real_catalog: Catalog) -> None:
    made, stub = _stubbed()
    group = {"applicationName": APP, "deploymentGroupName": GROUP}
    stub.add_response(
        "list_deployments",
        {"deployments": ["d-AAAAAAAA1", "d-AAAAAAAA2"], "nextToken": "t1"},
        {**group, "createTimeRange": {"start": at(0)}},
    )
    stub.add_response(
        "list_deployments",
        {"deployments": ["d-AAAAAAAA0"]},
        {**group, "createTimeRange": {"start": at(0)}, "nextToken": "t1"},
    )
    infos = [
        {"deploymentId": "d-AAAAAAAA1", "status": "Succeeded", "createTime": at(1)},
        {"deploymentId": "d-AAAAAAAA2", "status": "Failed", "createTime": at(2)},
        # botocore sends the start in whole seconds: AWS may answer one created just before ``since``
        {"deploymentId": "d-AAAAAAAA0", "status": "Succeeded", "createTime": at(0) - timedelta(seconds=0.4)},
    ]
    stub.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": infos},
        {"deploymentIds": ["d-AAAAAAAA1", "d-AAAAAAAA2", "d-AAAAAAAA0"]},
    )
    with stub:
        records = CodeDeployEngine(FakeClients(codedeploy=made)).history(
            real_catalog.resolve("product-service", "dev"), at(0)
        )
    stub.assert_no_pending_responses()
    assert [r.deployment_id for r in records] == ["d-AAAAAAAA2", "d-AAAAAAAA1"]


def test_deployment_targets_requests() -> None:
    from orchestrator.aws.codedeploy import deployment_targets

    made, stub = _stubbed()
    target = {"deploymentTargetType": "ECSTarget", "ecsTarget": {"targetId": "c:s", "lifecycleEvents": []}}
    stub.add_response("list_deployment_targets", {"targetIds": ["c:s"]}, {"deploymentId": "d-AAAAAAAA1"})
    stub.add_response(
        "batch_get_deployment_targets",
        {"deploymentTargets": [target]},
        {"deploymentId": "d-AAAAAAAA1", "targetIds": ["c:s"]},
    )
    with stub:
        assert deployment_targets(made, "d-AAAAAAAA1") == [target]
    stub.assert_no_pending_responses()
