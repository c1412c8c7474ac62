"""The verbs on the ECS engine, through the CLI on the fakes: `deploy --engine`, the documents'
`engine`, deployment ids of either form, stop, promote and rollback on a service deployment."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.vocabulary import EngineName
from tests.support.cli import run_cli, shown
from tests.support.fakes import FakeClients
from tests.support.schema import document_kind
from tests.unit.test_engine_ecs import CLUSTER, SERVICE, TASK, world

ARN_FORM = "arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID"


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> FakeClients:
    """The AWS every command of the test talks to; product-service runs on the ECS engine."""
    fake = world()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: fake)
    return fake


@pytest.fixture
def on_ecs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog says product-service runs on the ECS engine (as `engine: ecs` would)."""
    from orchestrator.commands.deploy import with_engine
    from orchestrator.commands.session import Session

    resolve = Session.resolve
    monkeypatch.setattr(
        Session, "resolve", lambda self, name: with_engine(resolve(self, name), EngineName.ECS)
    )


@pytest.mark.parametrize("name", ["nope", "CodeDeploy2", ""])
def test_an_unknown_engine_is_one_line_naming_the_valid_ones(clients: FakeClients, name: str) -> None:
    result = run_cli("deploy", SERVICE, "--engine", name)

    assert result.code == 2, shown(result)
    assert f"--engine {name!r}: valid values are codedeploy, ecs" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert sum(clients.counter.calls.values()) == 0


@pytest.mark.parametrize(
    ("flags", "kind", "engine"),
    [([], "DeployPlan", "codedeploy"), (["--engine", "ecs"], "NativeDeployPlan", "ecs")],
)
def test_the_dry_run_document_says_which_engine(
    clients: FakeClients, flags: list[str], kind: str, engine: str
) -> None:
    result = run_cli("deploy", SERVICE, "--dry-run", "-o", "json", *flags)

    assert result.code == 0, shown(result)
    document = result.json()
    assert (document_kind(document), document["engine"]) == (kind, engine)
    assert sum(clients.counter.calls.values()) == 0


def test_deploy_engine_ecs_starts_a_service_deployment(clients: FakeClients) -> None:
    result = run_cli("deploy", SERVICE, "--engine", "ecs", "--no-wait", "-o", "json")

    assert result.code == 0, shown(result)
    document = result.json()
    assert document_kind(document) == "DeployCreated"
    assert document["engine"] == "ecs"
    assert document["deploymentId"] in clients.ecs.service_deployments
    assert [name for name, _ in clients.ecs.requests] == ["UpdateService"]


def test_deploy_refuses_while_a_service_deployment_is_in_flight(clients: FakeClients) -> None:
    running = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}1", status="IN_PROGRESS")

    result = run_cli("deploy", SERVICE, "--engine", "ecs", "--no-wait")

    assert result.code == 2, shown(result)
    assert f"already runs service deployment {running} (IN_PROGRESS)" in result.stderr
    assert clients.ecs.requests == []
    document = run_cli("deploy", SERVICE, "--engine", "ecs", "--no-wait", "-o", "json").json()
    assert (document["errorKind"], document["activeDeploymentId"], document["exitCode"]) == (
        "active-deployment",
        running,
        2,
    )


def test_status_of_a_service_deployment_by_its_arn(clients: FakeClients) -> None:
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="ROLLBACK_SUCCESSFUL", alarms={"status": "TRIGGERED"}
    )

    result = run_cli("status", arn, "-o", "json")

    assert result.code == 0, shown(result)
    document = result.json()
    assert document_kind(document) == "StatusDocument"
    assert (document["engine"], document["status"], document["rolledBack"]) == ("ecs", "Failed", True)
    assert (document["rollbackDeploymentId"], document["service"]) == (arn, SERVICE)


@pytest.mark.parametrize("verb", ["watch", "stop", "promote", "status"])
def test_a_malformed_id_names_both_forms(clients: FakeClients, verb: str) -> None:
    result = run_cli(verb, "arn:aws:ecs:ap-northeast-2:123456789012:service/c/svc")

    assert result.code == 2, shown(result)
    assert ARN_FORM in result.stderr or verb == "status"


def test_stop_and_promote_on_a_service_deployment(clients: FakeClients) -> None:
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS", lifecycleStage="TEST_TRAFFIC_SHIFT"
    )

    promoted = run_cli("promote", arn)
    assert promoted.code == 2, shown(promoted)
    assert (
        f"no lifecycle hook is waiting for promote on {arn} (status IN_PROGRESS, stage TEST_TRAFFIC_SHIFT)"
        in (promoted.stderr)
    )
    refused = run_cli("stop", arn, "--no-rollback")
    assert refused.code == 2 and "only by rolling it back" in refused.stderr, shown(refused)
    stopped = run_cli("stop", arn, "-o", "json")
    assert stopped.code == 0, shown(stopped)
    assert stopped.json()["rollbackDeploymentId"] == arn
    assert [name for name, _ in clients.ecs.requests] == ["StopServiceDeployment"]
    said = run_cli("stop", arn)
    assert f"rolling back within the deployment; follow it with `bluegreen watch {arn}`" in said.stdout


def test_promote_releases_the_pause_and_says_who_shifts_traffic(clients: FakeClients) -> None:
    hook = {"hookId": "pause-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS", lifecycleHookDetails=[hook]
    )

    result = run_cli("promote", arn)

    assert result.code == 0, shown(result)
    assert f"promoted {arn}: Amazon ECS now shifts production traffic" in result.stdout


def test_rollback_on_ecs_redeploys_the_previous_task_definition(clients: FakeClients, on_ecs: Any) -> None:
    old = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}1")
    clients.ecs.task_definitions[f"{TASK}1"] = {"family": SERVICE, "taskDefinitionArn": f"{TASK}1"}
    live = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2")

    result = run_cli("rollback", SERVICE, "--no-wait", "-o", "json")

    assert result.code == 0, shown(result)
    document = result.json()
    assert document_kind(document) == "RollbackCreated"
    assert (document["rollbackTo"], document["rollbackFrom"], document["engine"]) == (old, live, "ecs")
    assert document["taskDefinitionArn"] == f"{TASK}1"
    assert [(name, request["taskDefinition"]) for name, request in clients.ecs.requests] == [
        ("UpdateService", f"{TASK}1")
    ]
    assert clients.counter.calls["ecs:RegisterTaskDefinition"] == 0


def test_a_strategy_beyond_ecss_limits_is_refused_before_any_call(clients: FakeClients) -> None:
    result = run_cli("deploy", SERVICE, "--engine", "ecs", "--strategy", "linear:2:1")

    assert result.code == 2, shown(result)
    assert "below ECS's 3.0% minimum" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert sum(clients.counter.calls.values()) == 0


def test_status_text_aligns_the_native_stages_and_says_the_rollback_was_within(clients: FakeClients) -> None:
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="ROLLBACK_SUCCESSFUL", lifecycleStage="SCALE_UP"
    )

    result = run_cli("status", arn)

    assert result.code == 0, shown(result)
    assert "  POST_PRODUCTION_TRAFFIC_SHIFT Pending\n" in result.stdout
    assert "  SCALE_UP                      Skipped\n" in result.stdout
    assert "within the deployment" in result.stdout and "rolled back by" not in result.stdout
