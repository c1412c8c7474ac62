"""The CodeDeploy engine and the verbs on an in-memory CodeDeploy (tests/support/fake_codedeploy.py):
logic without moto, the emulator or Stubber; and the seam itself (verbs never reach CodeDeploy)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines import engine_for
from orchestrator.engines.base import RollbackWait
from orchestrator.errors import BadInputError
from tests.support.cli import run_cli, shown
from tests.support.fake_codedeploy import FakeClients, FakeCodeDeploy, engine_on

APP, GROUP = "doa-market-dev", "product-service"
OLD_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:5"
LIVE_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7"
GROUP_INFO = {
    "alarmConfiguration": {"enabled": True, "alarms": [{"name": "product-service-5xx-errors"}]},
    "blueGreenDeploymentConfiguration": {
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": 0,
        },
    },
}
DONE = {"BeforeInstall": "Succeeded", "Install": "Succeeded", "AllowTraffic": "Succeeded"}


def _appspec(arn: str) -> str:
    return (
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n"
        f"        TaskDefinition: {arn}\n"
    )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCodeDeploy:
    """A CodeDeploy with product-service's dev group; every command of the test uses it."""
    codedeploy = FakeCodeDeploy()
    codedeploy.add_group(APP, GROUP, **GROUP_INFO)
    clients = FakeClients(codedeploy=codedeploy)
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    return codedeploy


def _succeeded(fake: FakeCodeDeploy, arn: str, **info: Any) -> str:
    deployment_id = fake.add_deployment(APP, GROUP, _appspec(arn), **info)
    fake.set_state(deployment_id, "Succeeded", DONE, green=100.0)
    return deployment_id


# --- rollback reads the AppSpec the way AWS allows -----------------------------------------------------


def test_rollback_reads_the_appspec_that_deployment_info_leaves_out(fake: FakeCodeDeploy) -> None:
    # AWS's GetDeployment/BatchGetDeployments never carry the AppSpec's content (botocore's
    # GetDeployment documentation): rollback must read it by sha256 (GetApplicationRevision).
    old = _succeeded(fake, OLD_ARN)
    live = _succeeded(fake, LIVE_ARN)
    result = run_cli("rollback", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    assert (document["rollbackTo"], document["rollbackFrom"]) == (old, live)
    assert document["taskDefinitionArn"] == OLD_ARN
    sent = fake.deployments[document["deploymentId"]]["revision"]["appSpecContent"]["content"]
    assert sent == _appspec(OLD_ARN)
    # one read per distinct revision
    assert fake.calls.count("GetApplicationRevision") == 2


def test_rollback_reads_each_revision_once(fake: FakeCodeDeploy) -> None:
    _succeeded(fake, OLD_ARN)
    _succeeded(fake, LIVE_ARN)
    _succeeded(fake, LIVE_ARN)  # the same revision deployed again
    assert len(engine_on(fake).succeeded_deployments(_service())) == 3
    assert fake.calls.count("GetApplicationRevision") == 2


def _service() -> Any:
    from orchestrator.catalog import load_catalog

    return load_catalog(None).resolve("product-service", "dev")


# --- the engine ----------------------------------------------------------------------------------------


def test_stop_with_rollback_waits_for_the_rollback_deployment(fake: FakeCodeDeploy) -> None:
    running = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(running, "InProgress", {"BeforeInstall": "InProgress"}, green=0.0)
    stopped = engine_on(fake).stop(running, rollback=True, wait=RollbackWait(timeout_seconds=5.0))
    assert stopped.status == "Pending"
    assert stopped.rollback_deployment_id == fake.deployments[running]["rollbackInfo"]["rollbackDeploymentId"]
    assert stopped.snapshot is not None and stopped.snapshot.status.value == "Stopped"
    assert fake.calls == ["StopDeployment", "GetDeployment"]


def test_stop_without_rollback_does_not_wait(fake: FakeCodeDeploy) -> None:
    running = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(running, "InProgress")
    stopped = engine_on(fake).stop(running, rollback=False, wait=RollbackWait(timeout_seconds=5.0))
    assert (stopped.rollback_deployment_id, stopped.snapshot) == (None, None)
    assert fake.calls == ["StopDeployment"]


def test_promote_outside_ready_is_bad_input(fake: FakeCodeDeploy) -> None:
    running = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(running, "InProgress")
    with pytest.raises(BadInputError, match="is not waiting at Ready"):
        engine_on(fake).promote(running)
    fake.set_state(running, "Ready")
    engine_on(fake).promote(running)
    assert fake.deployments[running]["status"] == "InProgress"


def test_find_active_and_latest(fake: FakeCodeDeploy) -> None:
    engine = engine_on(fake)
    with pytest.raises(BadInputError, match="has no deployments yet"):
        engine.latest(_service())
    first = _succeeded(fake, OLD_ARN)
    second = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(second, "Ready")
    assert engine.find_active(_service()) == [second]
    assert engine.latest(_service()) == second
    assert first != second


def test_describe_reads_a_custom_config_only_when_its_name_does_not_say_it(fake: FakeCodeDeploy) -> None:
    engine = engine_on(fake)
    ours = fake.add_deployment(
        APP, GROUP, _appspec(LIVE_ARN), deploymentConfigName="bluegreen.ECSCanary20Percent3Minutes"
    )
    assert engine.describe(ours).strategy is not None
    assert "GetDeploymentConfig" not in fake.calls
    fake.configs["team.Canary"] = {
        "deploymentConfigName": "team.Canary",
        "trafficRoutingConfig": {
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 3},
        },
    }
    theirs = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN), deploymentConfigName="team.Canary")
    described = engine.describe(theirs, with_lifecycle=True)
    assert described.strategy is not None and described.strategy.name == "canary:20:3"
    assert fake.calls[-4:] == [
        "GetDeployment",
        "ListDeploymentTargets",
        "GetDeploymentTarget",
        "GetDeploymentConfig",
    ]


def test_engine_for_chooses_codedeploy() -> None:
    assert engine_for("d-FAKE00001", FakeClients()).name == "codedeploy"
    assert engine_for(_service(), FakeClients()).name == "codedeploy"


# --- verbs on the fake -----------------------------------------------------------------------------


def test_status_json_of_a_finished_deployment(fake: FakeCodeDeploy) -> None:
    deployment_id = _succeeded(fake, LIVE_ARN, deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    result = run_cli("status", "product-service", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    assert (document["deploymentId"], document["status"], document["strategy"]) == (
        deployment_id,
        "Succeeded",
        "all-at-once",
    )
    assert document["trafficWeights"] == {"original": 0.0, "replacement": 100.0}
    assert document["apiCalls"] == len(fake.calls)


def test_stop_and_promote_verbs(fake: FakeCodeDeploy) -> None:
    waiting = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(waiting, "Ready")
    assert run_cli("promote", waiting).code == 0
    assert fake.deployments[waiting]["status"] == "InProgress"
    result = run_cli("stop", waiting, "-o", "json")
    assert result.code == 0, shown(result)
    rollback = fake.deployments[waiting]["rollbackInfo"]["rollbackDeploymentId"]
    assert result.json()["rollbackDeploymentId"] == rollback
    again = run_cli("stop", waiting)
    assert again.code == 2 and "has already finished" in again.stderr


# --- the seam ----------------------------------------------------------------------------------------

ORCHESTRATOR = Path(__file__).resolve().parents[2] / "orchestrator"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(
    "module",
    [
        *(f"commands/{name}.py" for name in ("deploy", "status", "watch", "stop", "rollback", "promote")),
        "commands/lookup.py",
        "commands/follow.py",
        "watching/loop.py",
    ],
)
def test_verbs_and_the_watch_loop_reach_codedeploy_only_through_the_engine(module: str) -> None:
    imported = _imports(ORCHESTRATOR / module)
    forbidden = {
        "orchestrator.aws.codedeploy",
        "orchestrator.engines.codedeploy",
        "orchestrator.engines.codedeploy_plan",
    }
    assert not imported & forbidden


def test_rollback_to_a_revision_whose_appspec_cannot_be_read_is_refused(fake: FakeCodeDeploy) -> None:
    _succeeded(fake, OLD_ARN)
    _succeeded(fake, LIVE_ARN)
    fake.revisions.clear()  # registered nowhere: GetApplicationRevision says RevisionDoesNotExist
    result = run_cli("rollback", "product-service")
    assert result.code == 2, shown(result)
    assert "cannot be read back" in result.stderr and "--to DEPLOYMENT_ID" in result.stderr
    assert "CreateDeployment" not in fake.calls
