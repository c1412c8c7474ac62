"""`bluegreen analyze` on an in-memory engine (tests/support/insight.py): a deployment that never
shifted traffic is a verdict (INCONCLUSIVE, exit 0, read nothing), not an error; a deployment of no
catalog service and an unknown id are bad input (one line, exit 2). The judged table itself runs
end to end in tests/sandbox/test_analyze_e2e.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.insight.evidence import Inspection, Outcome
from tests.support.cli import run_cli
from tests.support.fakes import FakeClients
from tests.support.insight import CD_ID, FakeInspectEngine, facts, failed_at_test_traffic

REPO = Path(__file__).resolve().parents[2]
ORPHAN = "d-FAKE00007"  # a deployment of a group no catalog service names


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeInspectEngine, FakeClients]]:
    inspections = {
        CD_ID: failed_at_test_traffic(),
        ORPHAN: Inspection(facts(Outcome.SUCCEEDED, deployment_id=ORPHAN, service=None, environment=None)),
    }
    engine = FakeInspectEngine(inspections, service=("product-service", "dev"))
    clients = FakeClients()
    monkeypatch.setattr(
        "orchestrator.commands.lookup.deployment_engine", lambda session, deployment_id: (engine, clients)
    )
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(REPO / "services.yaml"))
    yield engine, clients


def test_a_deployment_that_never_shifted_traffic_is_inconclusive_not_an_error(world: Any) -> None:
    result = run_cli("analyze", CD_ID)
    assert result.code == 0 and result.stderr == "", result
    assert result.stdout.splitlines() == [
        "INCONCLUSIVE: no green traffic yet",
        f"  {CD_ID}  product-service (dev)",
    ]
    document = run_cli("analyze", CD_ID, "-o", "json").json()  # validated against `bluegreen schema`
    assert (document["verdict"], document["reason"], document["score"]) == (
        "INCONCLUSIVE",
        "no green traffic yet",
        None,
    )
    assert document["windowStart"] is None and document["greenTargetGroup"] is None
    assert [row["verdict"] for row in document["metrics"]] == ["INCONCLUSIVE"] * 3
    assert document["analysisEnabled"] is True
    _, clients = world
    assert not any(name.startswith(("cloudwatch", "elastic")) for name in clients.counter.calls), (
        clients.counter.calls
    )


def test_a_deployment_of_no_catalog_service_is_bad_input(world: Any) -> None:
    engine, _ = world
    engine.service = None
    result = run_cli("analyze", ORPHAN)
    assert result.code == 2 and result.stdout == "", result
    assert result.stderr.startswith(
        f"error: {ORPHAN}: cannot analyze it (the deployment belongs to no service"
    )
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("deployment_id", "message"),
    [
        ("d-UNKNOWN99", "error: deployment d-UNKNOWN99 does not exist in this account and region"),
        ("product-service", "error: 'product-service' is not a CodeDeploy deployment id"),
    ],
)
def test_bad_ids_are_one_line_exit_2(world: Any, deployment_id: str, message: str) -> None:
    result = run_cli("analyze", deployment_id)
    assert result.code == 2 and result.stdout == "", result
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message), result.stderr


@pytest.mark.parametrize(
    ("deployment_id", "message"),
    [
        pytest.param(
            "arn:aws:ecs:us-east-1:123456789012:service-deployment/doa-market-cluster/product-service/1",
            "error: service deployment arn:aws:ecs:us-east-1:123456789012:service-deployment/"
            "doa-market-cluster/product-service/1 is in region us-east-1, not ap-northeast-2; "
            "run with --region us-east-1",
            id="another-regions-arn",
        ),
        pytest.param(
            "arn:aws:ecs:ap-northeast-2:123456789012:service/doa-market-cluster/product-service",
            "error: 'arn:aws:ecs:ap-northeast-2:123456789012:service/doa-market-cluster/product-service'",
            id="a-service-arn",
        ),
    ],
)
def test_ecs_ids_it_cannot_analyze_are_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, deployment_id: str, message: str
) -> None:
    from tests.unit.test_engine_ecs import CLUSTER, SERVICE, TASK, world

    fake = world()  # the ECS engine on the fakes, ap-northeast-2: it knows one service deployment
    fake.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="SUCCESSFUL")
    # the region a boto3 client carries (meta.region_name): the fake's own has none
    fake.ecs.meta = boto3.client("ecs", region_name="ap-northeast-2", aws_access_key_id="x",
                                 aws_secret_access_key="x").meta  # fmt: skip
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: fake)
    result = run_cli("analyze", deployment_id)
    assert result.code == 2 and result.stdout == "", result
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message), result.stderr
