"""`deploy` records who ran it from which commit: in CodeDeploy's description and the ledger; a
ledger that cannot be written is one warning line, and the deployment goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrator.commands import recording
from orchestrator.commands.options import GlobalOptions
from orchestrator.commands.session import Session
from orchestrator.insight.records import DeploymentRecord, Provenance
from tests.support.cli import StubbedClients, run_cli, shown
from tests.support.deploy_stubs import stub_deploy_writes

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> StubbedClients:
    clients = StubbedClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    monkeypatch.setenv("BLUEGREEN_DEPLOYER", "alice")
    monkeypatch.setenv("BLUEGREEN_COMMIT", SHA)
    monkeypatch.setenv("BLUEGREEN_COMMIT_TIME", "2026-11-01T10:00:00Z")
    return clients


def _sent_descriptions(stubbed: StubbedClients) -> list[str]:
    sent: list[str] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        sent.append(params["description"])

    stubbed.client("codedeploy").meta.events.register(
        "provide-client-params.codedeploy.CreateDeployment", keep
    )
    return sent


def test_deploy_writes_provenance_to_the_description_and_the_ledger(stubbed: StubbedClients) -> None:
    stub_deploy_writes(stubbed, "d-PROVENAN1")
    sent = _sent_descriptions(stubbed)
    result = run_cli("deploy", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    assert len(sent) == 1 and sent[0].startswith("bg:")
    assert "; by alice@0123456789ab at 20261101T1000Z" in sent[0] and len(sent[0]) <= 100
    [(operation, body)] = stubbed.ledger_requests
    request = json.loads(body)
    assert operation == "UpdateItem" and request["TableName"] == "doa-market-dev-deployments"
    assert request["Key"] == {"deploymentId": {"S": "d-PROVENAN1"}}
    written = {
        request["ExpressionAttributeNames"][f"#a{i}"]: value["S"]
        for i, value in enumerate(request["ExpressionAttributeValues"].values())
    }
    assert written == {
        "kind": "deploy",
        "strategy": "all-at-once",
        "deployer": "alice",
        "commit": SHA,
        "commitTime": "2026-11-01T10:00:00.000Z",
        "provenanceSource": "environment",
        # what the engine's own answer may lack (the ledger fills them in only where absent)
        "image": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market/product-service:latest",
        "taskDefinition": "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7",
    }
    assert result.stderr == ""


def test_a_ledger_that_fails_is_a_warning_and_the_deploy_goes_on(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ledger table doa-market-dev-deployments does not exist\nmore")

    monkeypatch.setattr("orchestrator.commands.recording._dynamo_ledger", broken)
    stub_deploy_writes(stubbed, "d-PROVENAN2")
    result = run_cli("deploy", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    assert result.json()["deploymentId"] == "d-PROVENAN2"
    assert result.stderr == (
        "warning: d-PROVENAN2 runs, but who started it was not recorded in ledger table "
        "doa-market-dev-deployments: ledger table doa-market-dev-deployments does not exist\n"
    )


class _Ledger:
    def __init__(self) -> None:
        self.started: list[DeploymentRecord] = []

    def record_start(self, record: DeploymentRecord) -> None:
        self.started.append(record)


def test_no_ledger_table_writes_nothing() -> None:
    from orchestrator.catalog import load_catalog

    service = load_catalog().resolve("product-service", "dev")
    service = type(service)(
        **{**service.__dict__, "settings": service.settings.model_copy(update={"ledger_table": None})}
    )
    ledger = _Ledger()
    record = DeploymentRecord(
        "d-X", "codedeploy", "product-service", "dev", "Created", recording.Outcome.IN_PROGRESS
    )
    session = Session(GlobalOptions())
    assert recording.record_start(session, None, service, record, lambda clients, table: ledger) is False
    assert ledger.started == []


def test_the_started_record_names_kind_strategy_and_provenance() -> None:
    class Plan:
        engine, service, environment = "ecs", "inventory-service", "dev"
        strategy = type("S", (), {"name": "canary10"})()
        task_definition = type("T", (), {"image": "repo/inventory:2"})()

    class Created:
        deployment_id = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/s/abc"
        task_definition_arn = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/inventory:7"

    class Inputs:
        reason, rollback_of, image = "rollback", "arn:...:service-deployment/c/s/old", None
        provenance = Provenance("alice", SHA)

    record = recording.started_record(Plan(), Created(), Inputs(), recording.now_utc())
    assert (record.kind.value, record.strategy, record.image, record.rollback_of) == (
        "rollback",
        "canary10",
        "repo/inventory:2",
        "arn:...:service-deployment/c/s/old",
    )
    assert record.provenance == Provenance("alice", SHA) and record.engine == "ecs"


def test_a_watchs_stop_goes_to_the_ledger_and_a_ledger_that_fails_is_one_warning() -> None:
    from orchestrator.commands.recording import record_stop

    warned: list[str] = []
    written: list[tuple[str, str]] = []

    class Session:
        def warn(self, line: str) -> None:
            warned.append(line)

    class Ledger:
        def record_stop(self, deployment_id: str, stopped_by: str) -> None:
            written.append((deployment_id, stopped_by))

    def broken(*_: Any) -> Any:
        raise RuntimeError("ledger table t does not exist\nmore")

    session: Any = Session()
    assert record_stop(session, None, "t", "d-X", "alarm svc-5xx", ledger_for=lambda c, t: Ledger())
    assert written == [("d-X", "alarm svc-5xx")] and warned == []
    assert not record_stop(session, None, None, "d-X", "alarm svc-5xx", ledger_for=lambda c, t: Ledger())
    assert written == [("d-X", "alarm svc-5xx")]  # no ledger table: nothing written, nothing said
    assert not record_stop(session, None, "t", "d-X", "green probe: 3 of 10 wrong", ledger_for=broken)
    assert warned == [
        "warning: d-X was stopped (green probe: 3 of 10 wrong), but that was not recorded in ledger table t: "
        "ledger table t does not exist"
    ]
