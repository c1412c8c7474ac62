"""The emulators' EventBridge events have AWS's shapes: each is compared with the example event of
AWS's documentation (tests/fixtures/eventbridge/, README there) member by member, its values with the
forms AWS gives them; which status change sends which event is a table; the names are pinned to the
client's copy (orchestrator.vocabulary), which the ledger's rule and Lambda use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator import vocabulary
from sandbox.codedeploy import events as codedeploy_events
from sandbox.codedeploy.model import Deployment
from sandbox.codedeploy.vocabulary import DeploymentStatus
from sandbox.ecs_native import events as ecs_events
from sandbox.ecs_native.model import Revision, ServiceDeployment
from sandbox.ecs_native.vocabulary import Status

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eventbridge"
AT = 1_700_000_000.4  # virtual epoch seconds
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REGION = "ap-northeast-2"
ALARM_REASON = "Service deployment rolled back because alarm(s) inventory-service-5xx-errors went into ALARM."
SERVICE_ARN = f"arn:aws:ecs:{REGION}:123456789012:service/doa-market-cluster/inventory-service"


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def shape(value: Any) -> Any:
    """Member names and JSON types, recursively (a list's shape is its first element's)."""
    if isinstance(value, dict):
        return {key: shape(member) for key, member in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def deployment(status: DeploymentStatus = DeploymentStatus.SUCCEEDED) -> Deployment:
    return Deployment(
        id="d-ABCDEFGH1",
        application_name="doa-market-dev",
        group_name="product-service",
        config_name="CodeDeployDefault.ECSCanary10Percent5Minutes",
        compute_platform="ECS",
        revision={},
        creator="user",
        create_time=AT - 300,
        group_snapshot={},
        status=status,
    )


def service_deployment(status: Status) -> ServiceDeployment:
    def revision(number: str) -> Revision:
        return Revision(
            arn=f"{SERVICE_ARN.replace(':service/', ':service-revision/')}/{number}",
            id=f"ecs-svc/{number}",
            task_definition="arn:aws:ecs:ap-northeast-2:123456789012:task-definition/inventory-service:2",
            target_group_arn="tg",
            desired_count=1,
            created_at=AT,
            task_set_arn="ts",
        )

    return ServiceDeployment(
        arn=f"{SERVICE_ARN.replace(':service/', ':service-deployment/')}/abc",
        cluster_arn="arn:aws:ecs:ap-northeast-2:123456789012:cluster/doa-market-cluster",
        service_arn=SERVICE_ARN,
        created_at=AT - 300,
        config={},
        target=revision("9876543210123456789"),
        sources=[revision("1234567890123456789")],
        status=status,
        status_reason=ALARM_REASON,
    )


# --- CodeDeploy ---------------------------------------------------------------------------------------


def test_a_codedeploy_event_has_the_shape_of_aws_example() -> None:
    aws = example("codedeploy-deployment-state-change.json")
    ours = codedeploy_events.state_change_event(
        deployment(), codedeploy_events.EventState.SUCCESS, "9fd2fbef-2157-40d8-91e7-6845af69e2d2", REGION, AT
    )
    assert shape(ours) == shape(aws)
    assert (ours["source"], ours["detail-type"], ours["version"]) == (
        aws["source"],
        aws["detail-type"],
        aws["version"],
    )
    assert UUID.match(ours["id"]) and ISO.match(ours["time"]) and ISO.match(aws["time"])
    assert (ours["region"], ours["account"]) == (REGION, "123456789012")
    assert ours["resources"] == [
        "arn:aws:codedeploy:ap-northeast-2:123456789012:application:doa-market-dev",
        "arn:aws:codedeploy:ap-northeast-2:123456789012:deploymentgroup:doa-market-dev/product-service",
    ]
    assert ours["detail"] == {
        "instanceGroupId": "9fd2fbef-2157-40d8-91e7-6845af69e2d2",
        "region": REGION,
        "application": "doa-market-dev",
        "deploymentId": "d-ABCDEFGH1",
        "state": "SUCCESS",
        "deploymentGroup": "product-service",
    }


S = DeploymentStatus


@pytest.mark.parametrize(
    ("previous", "status", "state"),
    [
        (S.CREATED, S.IN_PROGRESS, "START"),
        (S.QUEUED, S.IN_PROGRESS, "START"),
        (S.IN_PROGRESS, S.READY, "READY"),
        (S.READY, S.IN_PROGRESS, None),  # continued after Ready: no second start
        (S.IN_PROGRESS, S.SUCCEEDED, "SUCCESS"),
        (S.IN_PROGRESS, S.FAILED, "FAILURE"),
        (S.READY, S.STOPPED, "STOP"),  # the Ready wait ran out
        (S.IN_PROGRESS, S.STOPPED, "STOP"),
        (S.SUCCEEDED, S.SUCCEEDED, None),
        (S.IN_PROGRESS, S.BAKING, None),
    ],
)
def test_which_codedeploy_status_change_sends_an_event(
    previous: DeploymentStatus, status: DeploymentStatus, state: str | None
) -> None:
    found = codedeploy_events.state_for(previous, status)
    assert (found.value if found else None) == state


def test_announce_publishes_only_events_and_only_with_a_bus() -> None:
    published: list[dict[str, Any]] = []
    ended = deployment(DeploymentStatus.FAILED)
    codedeploy_events.announce(published.append, ended, DeploymentStatus.IN_PROGRESS, "g", REGION, AT)
    codedeploy_events.announce(published.append, ended, DeploymentStatus.FAILED, "g", REGION, AT)
    codedeploy_events.announce(None, ended, DeploymentStatus.IN_PROGRESS, "g", REGION, AT)
    assert [e["detail"]["state"] for e in published] == ["FAILURE"]


# --- Amazon ECS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name", "kind", "fixture"),
    [
        (Status.SUCCESSFUL, "SERVICE_DEPLOYMENT_COMPLETED", "INFO", "ecs-deployment-in-progress.json"),
        (Status.ROLLBACK_SUCCESSFUL, "SERVICE_DEPLOYMENT_FAILED", "ERROR", "ecs-deployment-failed.json"),
        (Status.ROLLBACK_FAILED, "SERVICE_DEPLOYMENT_FAILED", "ERROR", "ecs-deployment-failed.json"),
        (Status.STOPPED, "SERVICE_DEPLOYMENT_FAILED", "ERROR", "ecs-deployment-failed.json"),
    ],
)
def test_an_ecs_ending_has_the_shape_of_aws_example(
    status: Status, name: str, kind: str, fixture: str
) -> None:
    aws = example(fixture)
    ours = ecs_events.ended(service_deployment(status), AT)
    assert shape(ours) == shape(aws)
    assert (ours["source"], ours["detail-type"], ours["version"]) == (
        aws["source"],
        aws["detail-type"],
        aws["version"],
    )
    assert (
        ours["resources"] == [SERVICE_ARN] and ours["region"] == REGION and ours["account"] == "123456789012"
    )
    detail = ours["detail"]
    assert (detail["eventName"], detail["eventType"]) == (name, kind)
    # deploymentId is ECS's ecs-svc/<digits> id (the example's form), not the service deployment ARN
    assert re.match(r"^ecs-svc/\d+$", detail["deploymentId"]) and re.match(
        r"^ecs-svc/\S+$", aws["detail"]["deploymentId"]
    )
    assert detail["deploymentId"] == "ecs-svc/9876543210123456789"
    assert ISO.match(detail["updatedAt"]) and ISO.match(aws["detail"]["updatedAt"])
    if status is not Status.SUCCESSFUL:  # the reason says why it did not succeed
        assert detail["reason"] == service_deployment(status).status_reason


def test_an_ecs_start_and_its_rollback_are_both_in_progress_told_apart_by_the_reason() -> None:
    aws = example("ecs-deployment-in-progress.json")
    rolled = service_deployment(Status.ROLLBACK_IN_PROGRESS)
    start = ecs_events.started(rolled, AT)
    rollback = ecs_events.rolling_back(
        rolled, "Service deployment rolled back because of a stop request.", AT
    )
    assert shape(start) == shape(aws) == shape(rollback)
    assert start["detail"]["eventName"] == rollback["detail"]["eventName"] == "SERVICE_DEPLOYMENT_IN_PROGRESS"
    assert start["detail"]["eventType"] == rollback["detail"]["eventType"] == "INFO"
    assert start["detail"]["reason"] == "ECS deployment ecs-svc/9876543210123456789 in progress."
    # AWS's rollback example names the deployment it rolls back to
    assert rollback["detail"]["reason"].endswith("Rolling back to deploymentId ecs-svc/1234567890123456789.")


# --- one vocabulary -------------------------------------------------------------------------------


def test_the_emulators_names_are_the_clients() -> None:
    assert codedeploy_events.SOURCE == vocabulary.CODEDEPLOY_EVENT_SOURCE
    assert codedeploy_events.DEPLOYMENT_STATE_CHANGE == vocabulary.CODEDEPLOY_DEPLOYMENT_STATE_CHANGE
    assert {s.value for s in codedeploy_events.EventState} == {
        s.value for s in vocabulary.CodeDeployEventState
    }
    assert ecs_events.SOURCE == vocabulary.ECS_EVENT_SOURCE
    assert ecs_events.DEPLOYMENT_STATE_CHANGE == vocabulary.ECS_DEPLOYMENT_STATE_CHANGE
    assert {n.value for n in ecs_events.EventName} == {n.value for n in vocabulary.EcsDeploymentEventName}
    # and AWS's examples agree with both
    assert (
        example("codedeploy-deployment-state-change.json")["detail-type"]
        == codedeploy_events.DEPLOYMENT_STATE_CHANGE
    )
    assert example("ecs-deployment-failed.json")["detail-type"] == ecs_events.DEPLOYMENT_STATE_CHANGE
