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
from tests.support.cli import FakeClock, run_cli, shown
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


def test_promote_of_a_finished_deployment_says_it_finished(fake: FakeCodeDeploy) -> None:
    finished = _succeeded(fake, LIVE_ARN)
    result = run_cli("promote", finished)
    assert result.code == 2, shown(result)
    assert "has already finished; nothing to promote" in result.stderr


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
    fake.set_state(theirs, "InProgress")  # started: it has a target to read
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


# --- what the engine reads, and when (found by breaking the engine on purpose) -----------------------


@pytest.mark.parametrize(
    ("previous", "status", "reads_target"),
    [
        (None, "Created", False),
        ("Created", "InProgress", True),
        ("InProgress", "Ready", True),  # lifecycle events move on while the replacement waits
        ("InProgress", "Baking", False),
        ("Baking", "Succeeded", True),  # once more when it ends: the final lifecycle events are exact
        (None, "Failed", True),  # a first look at a finished deployment reads its events too
        ("Failed", "Failed", False),  # and never again after that
    ],
)
def test_snapshot_reads_the_target_only_while_it_can_change(
    fake: FakeCodeDeploy, previous: str | None, status: str, reads_target: bool
) -> None:
    from orchestrator.watching.snapshots import snapshot_from

    running = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(running, status, {"BeforeInstall": "Succeeded"}, green=0.0)
    before = snapshot_from({"deploymentId": running, "status": previous}) if previous else None
    polled = engine_on(fake).snapshot(running, before)
    assert ("GetDeploymentTarget" in fake.calls) is reads_target
    assert polled.calls == len(fake.calls)
    assert (dict(polled.snapshot.lifecycle).get("BeforeInstall") is not None) is reads_target


def test_describe_names_the_deployment_a_rollback_rolls_back(fake: FakeCodeDeploy) -> None:
    failed = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    rollback = fake.add_deployment(APP, GROUP, _appspec(OLD_ARN))
    fake.set_state(failed, "Failed", rollbackInfo={"rollbackDeploymentId": rollback})
    fake.set_state(rollback, "Succeeded", rollbackInfo={"rollbackTriggeringDeploymentId": failed})
    assert engine_on(fake).describe(rollback).rollback_of == failed
    assert engine_on(fake).describe(failed).rollback_of is None
    result = run_cli("status", rollback, "-o", "json")
    assert result.code == 0, shown(result)
    assert result.json()["rollbackOf"] == failed


def test_stop_waits_for_a_rollback_codedeploy_names_late(fake: FakeCodeDeploy) -> None:
    # CodeDeploy may show the old status for a moment, then Stopped without the rollback's id.
    running = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(running, "InProgress")
    fake.stop_lag, fake.rollback_lag = 1, 2
    clock = FakeClock()
    wait = RollbackWait(timeout_seconds=60.0, interval_seconds=2.0, clock=clock, sleep=clock.sleep)
    stopped = engine_on(fake).stop(running, rollback=True, wait=wait)
    assert stopped.rollback_deployment_id == fake.deployments[running]["rollbackInfo"]["rollbackDeploymentId"]
    assert fake.calls.count("GetDeployment") == 4


def test_stop_gives_up_on_the_rollback_at_the_deadline(fake: FakeCodeDeploy) -> None:
    running = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(running, "InProgress")
    fake.stop_lag = 1_000  # the stop never shows
    clock = FakeClock()
    wait = RollbackWait(timeout_seconds=10.0, interval_seconds=2.0, clock=clock, sleep=clock.sleep)
    stopped = engine_on(fake).stop(running, rollback=True, wait=wait)
    assert stopped.rollback_deployment_id is None
    assert stopped.snapshot is not None and stopped.snapshot.status.value == "InProgress"
    assert clock.now == pytest.approx(10.0)


def test_latest_looks_at_the_last_week_first(fake: FakeCodeDeploy) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    _succeeded(fake, OLD_ARN, createTime=now - timedelta(days=30))
    recent = _succeeded(fake, LIVE_ARN, createTime=now - timedelta(hours=1))
    fake.calls.clear()
    assert engine_on(fake).latest(_service()) == recent
    assert fake.calls.count("ListDeployments") == 1  # the week had one: no walk through the history


def test_latest_falls_back_to_the_whole_history_and_goes_by_create_time(fake: FakeCodeDeploy) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    newest = _succeeded(fake, LIVE_ARN, createTime=now - timedelta(days=20))
    _succeeded(fake, OLD_ARN, createTime=now - timedelta(days=40))  # listed last, created first
    assert engine_on(fake).latest(_service()) == newest
    assert fake.calls.count("ListDeployments") == 2


def test_succeeded_deployments_keep_a_revision_that_is_not_appspec_content(fake: FakeCodeDeploy) -> None:
    # An ECS AppSpec may also come from S3: rollback must still see that deployment (it may be the live one).
    s3 = {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "appspec.yaml", "bundleType": "YAML"}}
    _succeeded(fake, OLD_ARN)
    from_s3 = _succeeded(fake, LIVE_ARN, revision=s3)
    infos = {info["deploymentId"]: info for info in engine_on(fake).succeeded_deployments(_service())}
    assert infos[from_s3]["revision"] == s3
    assert fake.calls.count("GetApplicationRevision") == 1  # the S3 one is not read by sha256


def test_status_json_says_when_the_deployment_started_and_ended(fake: FakeCodeDeploy) -> None:
    from datetime import timedelta

    deployment_id = _succeeded(fake, LIVE_ARN)
    created = fake.deployments[deployment_id]["createTime"]
    fake.deployments[deployment_id]["completeTime"] = created + timedelta(seconds=95)
    result = run_cli("status", deployment_id, "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    assert (document["createTime"], document["completeTime"]) == (
        str(created),
        str(created + timedelta(seconds=95)),
    )
    assert document["durationSeconds"] == 95.0


def test_status_of_a_deployment_that_has_not_started(fake: FakeCodeDeploy) -> None:
    """Between CreateDeployment and its start CodeDeploy refuses ListDeploymentTargets
    (DeploymentNotStartedException): status says Created, not an AWS error (exit 4)."""
    created = fake.add_deployment(APP, GROUP, _appspec(LIVE_ARN))
    fake.set_state(created, "Created")
    result = run_cli("status", created, "-o", "json")
    assert result.code == 0, shown(result)
    assert result.json()["status"] == "Created"
