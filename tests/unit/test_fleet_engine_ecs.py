"""The ECS engine's fleet reads and tag, pinned with botocore's Stubber: ``snapshots`` reads 20
service deployments a DescribeServiceDeployments; ``fleet_deployments`` finds a run's deployments by
their task definition's ``bluegreen:fleet-run`` tag, read once per task definition; the deploy
registers its revision with that tag (engines/ecs.py, engines/ecs_plan.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.catalog import load_catalog
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.codedeploy_plan import TaskDefinitionStep
from orchestrator.engines.ecs import EcsEngine
from orchestrator.engines.ecs_plan import FLEET_RUN_TAG, with_fleet_run
from orchestrator.errors import AwsError, BadInputError
from orchestrator.strategies import parse_strategy
from tests.support.cli import StubbedClients

RUN = "fr-20261130t0730z-3f9a"
T0 = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)
PREFIX = "arn:aws:ecs:ap-northeast-2:123456789012"
SD = f"{PREFIX}:service-deployment/doa-market-cluster/inventory-service/"
REVISION = f"{PREFIX}:service-revision/doa-market-cluster/inventory-service/"
TASK = f"{PREFIX}:task-definition/inventory-service:"


@pytest.fixture(scope="module")
def shared_clients() -> StubbedClients:
    return StubbedClients()


@pytest.fixture
def clients(shared_clients: StubbedClients) -> Any:
    clients = shared_clients.fresh()
    yield clients
    clients.assert_no_pending()


def sd(arn: str, status: str = "IN_PROGRESS") -> dict[str, Any]:
    return {"serviceDeploymentArn": arn, "status": status, "lifecycleStage": "BAKE_TIME"}


@pytest.mark.parametrize(("count", "calls"), [(1, 1), (20, 1), (21, 2), (45, 3)])
def test_snapshots_ask_20_service_deployments_a_call(clients: Any, count: int, calls: int) -> None:
    arns = [f"{SD}{i:03d}" for i in range(count)]
    for start in range(0, count, 20):
        batch = arns[start : start + 20]
        clients.stubbers["ecs"].add_response(
            "describe_service_deployments",
            {"serviceDeployments": [sd(arn) for arn in batch]},
            {"serviceDeploymentArns": batch},
        )

    looked = EcsEngine(clients).snapshots(arns)

    assert list(looked) == arns
    assert sum(p.calls for p in looked.values()) == clients.counter.total == calls
    assert [i for i, arn in enumerate(arns) if looked[arn].calls] == list(range(0, count, 20))


def test_snapshots_name_a_service_deployment_ecs_does_not_know(clients: Any) -> None:
    clients.stubbers["ecs"].add_response(
        "describe_service_deployments",
        {"serviceDeployments": [sd(f"{SD}1")], "failures": [{"arn": f"{SD}2", "reason": "MISSING"}]},
        {"serviceDeploymentArns": [f"{SD}1", f"{SD}2"]},
    )
    with pytest.raises(BadInputError, match=f"no service deployment {SD}2"):
        EcsEngine(clients).snapshots([f"{SD}1", f"{SD}2"])


def test_snapshots_name_a_service_deployment_ecs_may_not_tell(clients: Any) -> None:
    clients.stubbers["ecs"].add_response(
        "describe_service_deployments",
        {"failures": [{"arn": f"{SD}1", "reason": "AccessDenied", "detail": "not yours"}]},
        {"serviceDeploymentArns": [f"{SD}1"]},
    )
    with pytest.raises(AwsError, match=f"DescribeServiceDeployments {SD}1: AccessDenied \\(not yours\\)"):
        EcsEngine(clients).snapshots([f"{SD}1"])


def test_looking_at_no_service_deployment_costs_nothing(clients: Any) -> None:
    assert EcsEngine(clients).snapshots([]) == {}
    assert clients.counter.total == 0


def _brief(n: int, revision: int, minutes: int) -> dict[str, Any]:
    return {
        "serviceDeploymentArn": f"{SD}{n}",
        "createdAt": T0 + timedelta(minutes=minutes),
        "targetServiceRevisionArn": f"{REVISION}{revision}",
        "status": "SUCCESSFUL",
    }


def test_fleet_deployments_read_each_task_definitions_tags_once(clients: Any) -> None:
    service = load_catalog().resolve("inventory-service", "dev")
    settings = service.settings
    stub = clients.stubbers["ecs"]
    listing = {"cluster": settings.cluster, "service": settings.ecs_service, "maxResults": 100}
    listing["createdAt"] = {"after": T0}
    briefs = [_brief(1, 1, 1), _brief(2, 2, 2), _brief(3, 3, 3), _brief(4, 1, 4)]
    revisions = {
        "serviceRevisions": [
            {"serviceRevisionArn": f"{REVISION}1", "taskDefinition": f"{TASK}1"},
            {"serviceRevisionArn": f"{REVISION}2", "taskDefinition": f"{TASK}2"},
            {"serviceRevisionArn": f"{REVISION}3", "taskDefinition": f"{TASK}3"},
        ]
    }
    tags = {
        1: [{"key": FLEET_RUN_TAG, "value": RUN}, {"key": "team", "value": "market"}],
        2: [{"key": FLEET_RUN_TAG, "value": "fr-20261130t0730z-0000"}],
        3: [],
    }
    for _look in range(2):
        stub.add_response("list_service_deployments", {"serviceDeployments": briefs}, listing)
        stub.add_response(
            "describe_service_revisions",
            revisions,
            {"serviceRevisionArns": [f"{REVISION}1", f"{REVISION}2", f"{REVISION}3"]},
        )
        if _look == 0:  # the second look reads no task definition: their tags are cached
            for n in (1, 2, 3):
                stub.add_response(
                    "describe_task_definition",
                    {"taskDefinition": {"taskDefinitionArn": f"{TASK}{n}"}, "tags": tags[n]},
                    {"taskDefinition": f"{TASK}{n}", "include": ["TAGS"]},
                )
    engine = EcsEngine(clients)

    assert engine.fleet_deployments(service, RUN, T0) == [f"{SD}4", f"{SD}1"]
    assert engine.fleet_deployments(service, RUN, T0) == [f"{SD}4", f"{SD}1"]


def _step(register: dict[str, Any] | None, arn: str | None = None) -> TaskDefinitionStep:
    return TaskDefinitionStep(source="test", register=register, arn=arn, image=None)


def test_the_registered_revision_carries_the_fleet_run_as_a_tag() -> None:
    register = {
        "family": "inventory-service",
        "tags": [{"key": FLEET_RUN_TAG, "value": "old"}, {"key": "a", "value": "b"}],
    }
    tagged = with_fleet_run(_step(register), RUN)
    assert tagged.register is not None
    assert tagged.register["tags"] == [{"key": "a", "value": "b"}, {"key": FLEET_RUN_TAG, "value": RUN}]
    assert register["tags"][0]["value"] == "old"  # the step's own request is not changed


def test_a_fleet_deploy_of_an_existing_arn_is_refused_on_ecs() -> None:
    with pytest.raises(BadInputError, match="cannot deploy an existing ARN"):
        with_fleet_run(_step(None, f"{TASK}7"), RUN)


def test_the_ecs_plan_registers_with_the_tag_and_a_bad_run_id_is_refused_before_any_read() -> None:
    service = load_catalog().resolve("inventory-service", "dev")
    inputs = DeployInputs(
        service=service,
        strategy=parse_strategy("canary10"),
        image="123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/inventory-service:v2",
        fleet_run=RUN,
    )
    engine = EcsEngine(clients=None)
    plan = engine.plan(inputs, offline=True)
    register = plan.task_definition.register  # the catalog's file (services.yaml): registered, tagged
    assert register is not None and register["tags"] == [{"key": FLEET_RUN_TAG, "value": RUN}]
    assert engine.plan(dataclasses.replace(inputs, fleet_run=None), offline=True).task_definition.register
    assert "tags" not in (
        engine.plan(dataclasses.replace(inputs, fleet_run=None), offline=True).task_definition.register or {}
    )
    with pytest.raises(BadInputError, match="fleet run id"):
        engine.plan(dataclasses.replace(inputs, fleet_run="fr 1; drop"), offline=True)
