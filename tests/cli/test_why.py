"""`bluegreen why` on an in-memory engine (tests/support/insight.py) and fake AWS clients: the
report's first line, its sections and JSON document, and bad input (one line, no traceback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import AwsError
from orchestrator.insight.evidence import Inspection, Outcome
from tests.support.cli import run_cli
from tests.support.fakes import FakeClients
from tests.support.insight import (
    CD_ID,
    T0,
    FakeInspectEngine,
    facts,
    failed_at_test_traffic,
)

REPO = Path(__file__).resolve().parents[2]
SMOKE = "bluegreen-dev-after-allow-test-traffic"
REASON = "health: GET /health via the test listener: status 500, expected 200 (3 attempts)"


def _line() -> str:
    return json.dumps(
        {
            "verdict": "Failed",
            "deployment_id": CD_ID,
            "lifecycle_event": "AfterAllowTestTraffic",
            "reason": REASON,
            "evidence": [{"name": "health", "passed": False, "detail": REASON.split(": ", 1)[1]}],
        }
    )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeInspectEngine, FakeClients]]:
    """`why` on a fake engine with one failed and one succeeded deployment, with the shipped catalog."""
    engine = FakeInspectEngine(
        {
            CD_ID: failed_at_test_traffic(),
            "d-FAKE00009": Inspection(facts(Outcome.SUCCEEDED, deployment_id="d-FAKE00009")),
        },
        service=("product-service", "dev"),
    )
    clients = FakeClients()
    clients.logs.events[f"/aws/lambda/{SMOKE}"] = [
        {"timestamp": int(T0.replace(minute=2, second=40).timestamp() * 1000), "message": _line()}
    ]
    monkeypatch.setattr(
        "orchestrator.commands.lookup.deployment_engine", lambda session, deployment_id: (engine, clients)
    )
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(REPO / "services.yaml"))
    yield engine, clients


def test_a_failed_deployment_reports_its_root_cause_first(world: Any) -> None:
    result = run_cli("why", CD_ID)
    assert result.code == 0 and result.stderr == "", result
    out = result.stdout.splitlines()
    assert out[0].startswith("AfterAllowTestTraffic failed: health: GET /health")
    assert out[1] == f"  {CD_ID}  product-service (dev)  rolled back (Failed)"
    assert "rolled back by d-FAKE00002" in result.stdout
    for section in ("lifecycle", "hooks", "findings"):
        assert section in out, result.stdout
    assert f"AfterAllowTestTraffic Failed ({SMOKE}): {REASON}" in result.stdout
    assert "            - health: GET /health via the test listener" in result.stdout


def test_the_json_document_carries_the_whole_report(world: Any) -> None:
    result = run_cli("why", CD_ID, "--output", "json")  # validated against `bluegreen schema`
    assert result.code == 0, result
    document = result.json()
    assert document["rootCause"].startswith("AfterAllowTestTraffic failed: ")
    assert document["ok"] is False and document["outcome"] == "rolled back"
    assert document["facts"]["service"] == "product-service"
    assert document["facts"]["created"] == "2026-11-30T10:00:00+00:00"
    assert [s["name"] for s in document["steps"]] == ["BeforeInstall", "Install", "AfterAllowTestTraffic"]
    assert document["hooks"][0]["evidence"] == [REASON]
    assert document["apiCalls"] == world[1].counter.total > 0
    # hooks never invoked have no log group yet (Lambda makes it then): nothing unread
    assert document["unreadable"] == []


def test_a_succeeded_deployment_has_nothing_to_diagnose(world: Any) -> None:
    result = run_cli("why", "d-FAKE00009")
    assert (result.code, result.stdout) == (0, "d-FAKE00009 succeeded; nothing to diagnose\n")
    document = run_cli("why", "d-FAKE00009", "-o", "json").json()
    assert document["ok"] is True and document["rootCause"] == "d-FAKE00009 succeeded; nothing to diagnose"


@pytest.mark.parametrize(
    ("deployment_id", "code", "message"),
    [
        ("d-UNKNOWN99", 2, "error: deployment d-UNKNOWN99 does not exist in this account and region"),
        ("product-service", 2, "error: 'product-service' is not a CodeDeploy deployment id"),
    ],
)
def test_bad_input_is_one_line(world: Any, deployment_id: str, code: int, message: str) -> None:
    result = run_cli("why", deployment_id)
    assert result.code == code and result.stdout == "", result
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_access_denied_to_the_engine_is_exit_4(world: Any) -> None:
    engine, _ = world
    engine.inspect_error = AwsError("codedeploy GetDeployment: access denied (not authorized)")
    result = run_cli("why", CD_ID, "-o", "json")
    assert result.code == 4 and result.json()["errorKind"] == "aws", result
