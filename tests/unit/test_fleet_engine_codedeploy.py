"""The CodeDeploy engine's fleet reads, pinned with botocore's Stubber: ``snapshots`` reads 25
deployments a BatchGetDeployments and a target only where it is worth a call; ``fleet_deployments``
finds a run's deployments by their description (engines/codedeploy.py, engines/fleet_reads.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.catalog import load_catalog
from orchestrator.engines.codedeploy import CodeDeployEngine
from orchestrator.errors import BadInputError
from orchestrator.vocabulary import ALLOW_TEST_TRAFFIC, ALLOW_TRAFFIC, INSTALL
from tests.support.cli import StubbedClients

RUN = "fr-20261130t0730z-3f9a"
T0 = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)
TARGET = "doa-market-cluster:auth-service"


@pytest.fixture(scope="module")
def shared_clients() -> StubbedClients:
    return StubbedClients()


@pytest.fixture
def clients(shared_clients: StubbedClients) -> Any:
    clients = shared_clients.fresh()
    yield clients
    clients.assert_no_pending()


def info(
    deployment_id: str, status: str, description: str = "", minutes: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "deploymentId": deployment_id,
        "status": status,
        "description": description,
        "createTime": T0 + timedelta(minutes=minutes),
        **extra,
    }


def target(deployment_id: str, *events: tuple[str, str]) -> dict[str, Any]:
    return {
        "deploymentTarget": {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": deployment_id,
                "targetId": TARGET,
                "lifecycleEvents": [
                    {"lifecycleEventName": name, "status": status} for name, status in events
                ],
            },
        }
    }


def expect_batches(clients: Any, infos: list[dict[str, Any]]) -> None:
    stub = clients.stubbers["codedeploy"]
    for start in range(0, len(infos), 25):
        batch = infos[start : start + 25]
        stub.add_response(
            "batch_get_deployments",
            {"deploymentsInfo": batch},
            {"deploymentIds": [i["deploymentId"] for i in batch]},
        )


def expect_target(clients: Any, deployment_id: str, *events: tuple[str, str], listed: bool = False) -> None:
    stub = clients.stubbers["codedeploy"]
    if listed:
        stub.add_response("list_deployment_targets", {"targetIds": [TARGET]}, {"deploymentId": deployment_id})
    stub.add_response(
        "get_deployment_target",
        target(deployment_id, *events),
        {"deploymentId": deployment_id, "targetId": TARGET},
    )


SHIFTING = ((INSTALL, "Succeeded"), (ALLOW_TEST_TRAFFIC, "Succeeded"), (ALLOW_TRAFFIC, "InProgress"))
INSTALLING = ((INSTALL, "InProgress"), (ALLOW_TEST_TRAFFIC, "Pending"), (ALLOW_TRAFFIC, "Pending"))


def test_thirty_deployments_cost_two_batch_calls_and_the_targets_worth_reading(clients: Any) -> None:
    ids = [f"d-{i:09d}" for i in range(30)]
    # 27 queued (no target yet), one shifting traffic, one installing, one finished
    statuses = ["Queued"] * 27 + ["InProgress", "InProgress", "Succeeded"]
    infos = [info(i, s) for i, s in zip(ids, statuses, strict=True)]
    engine = CodeDeployEngine(clients)

    # first look: two batch calls (25 + 5); every started deployment's target listed and read
    expect_batches(clients, infos)
    expect_target(clients, ids[27], *SHIFTING, listed=True)
    expect_target(clients, ids[28], *INSTALLING, listed=True)
    expect_target(clients, ids[29], (ALLOW_TRAFFIC, "Succeeded"), listed=True)
    first = engine.snapshots(ids)
    assert list(first) == ids
    assert first[ids[27]].snapshot.lifecycle_status(ALLOW_TRAFFIC).value == "InProgress"
    assert [first[i].calls for i in (ids[0], ids[25], ids[27], ids[29])] == [1, 1, 2, 2]
    assert sum(p.calls for p in first.values()) == clients.counter.total == 2 + 6

    # the next three looks: the batch calls, and only the shifting deployment's target
    for _ in range(3):
        clients.counter.calls.clear()
        expect_batches(clients, infos)
        expect_target(clients, ids[27], *SHIFTING)
        looked = engine.snapshots(ids)
        assert sum(p.calls for p in looked.values()) == clients.counter.total == 3

    # the fourth look after the read: the installing one's target is read again (refresh)
    clients.counter.calls.clear()
    expect_batches(clients, infos)
    expect_target(clients, ids[27], *SHIFTING)
    expect_target(clients, ids[28], (INSTALL, "Succeeded"), (ALLOW_TEST_TRAFFIC, "InProgress"))
    looked = engine.snapshots(ids)
    assert sum(p.calls for p in looked.values()) == clients.counter.total == 4
    assert looked[ids[28]].snapshot.lifecycle_status(ALLOW_TEST_TRAFFIC).value == "InProgress"


def test_a_status_change_is_read_at_once(clients: Any) -> None:
    engine = CodeDeployEngine(clients)
    expect_batches(clients, [info("d-1", "Queued")])
    assert engine.snapshots(["d-1"])["d-1"].calls == 1
    expect_batches(clients, [info("d-1", "InProgress")])
    expect_target(clients, "d-1", *INSTALLING, listed=True)
    assert engine.snapshots(["d-1"])["d-1"].calls == 3
    expect_batches(
        clients, [info("d-1", "Failed", errorInformation={"code": "ALARM_ACTIVE", "message": "m"})]
    )
    expect_target(clients, "d-1", (INSTALL, "Failed"))
    polled = engine.snapshots(["d-1"])["d-1"]
    assert polled.calls == 2 and polled.snapshot.status.value == "Failed"
    expect_batches(clients, [info("d-1", "Failed")])
    assert engine.snapshots(["d-1"])["d-1"].calls == 1  # finished and unchanged: no target read


def test_a_deployment_codedeploy_does_not_know_is_bad_input(clients: Any) -> None:
    clients.stubbers["codedeploy"].add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [info("d-1", "Queued")]},
        {"deploymentIds": ["d-1", "d-2"]},
    )
    with pytest.raises(BadInputError, match="no deployment d-2"):
        CodeDeployEngine(clients).snapshots(["d-1", "d-2"])


def test_fleet_deployments_reads_every_page_since_and_keeps_the_runs_newest_first(clients: Any) -> None:
    service = load_catalog().resolve("auth-service", "dev")
    settings = service.settings
    request = {
        "applicationName": settings.application,
        "deploymentGroupName": settings.deployment_group,
        "createTimeRange": {"start": T0},
    }
    stub = clients.stubbers["codedeploy"]
    stub.add_response("list_deployments", {"deployments": ["d-1", "d-2"], "nextToken": "n"}, request)
    stub.add_response(
        "list_deployments", {"deployments": ["d-3", "d-4", "d-5"]}, {**request, "nextToken": "n"}
    )
    stub.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                info(
                    "d-1",
                    "Failed",
                    f"bg:0123456789ab; fleet {RUN}; bluegreen deploy auth-service canary10",
                    1,
                ),
                info("d-2", "Succeeded", "bg:0123456789ab; fleet fr-20261130t0730z-0000", 2),
                info("d-3", "Succeeded", f"bg:0123456789ab; fleet {RUN}", 3),
                info("d-4", "Succeeded", "bg:0123456789ab; bluegreen deploy auth-service canary10", 4),
                # CodeDeploy's own rollback of d-1: the run did not start it
                info(
                    "d-5",
                    "Succeeded",
                    f"bg:0123456789ab; fleet {RUN}",
                    5,
                    rollbackInfo={"rollbackTriggeringDeploymentId": "d-1"},
                ),
            ]
        },
        {"deploymentIds": ["d-1", "d-2", "d-3", "d-4", "d-5"]},
    )

    assert CodeDeployEngine(clients).fleet_deployments(service, RUN, T0) == ["d-3", "d-1"]


def test_looking_at_no_deployment_costs_nothing(clients: Any) -> None:
    assert CodeDeployEngine(clients).snapshots([]) == {}
    assert clients.counter.total == 0
