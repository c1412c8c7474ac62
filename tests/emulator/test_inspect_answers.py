"""What the emulator answers about a deployment after the fact, as AWS does (botocore's CodeDeploy
model), and CodeDeployEngine.inspect/history reading it: a failed hook's lifecycle event with its times
and diagnostics, the rollback linked both ways, ListDeployments' createTimeRange and paging."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import botocore.session
import pytest

from orchestrator.engines.codedeploy import CodeDeployEngine
from orchestrator.errors import BadInputError
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind
from sandbox.codedeploy import CodeDeployEmulator
from tests.support.emulator import (
    EcsServiceSpec,
    EmulatorFactory,
    ScriptedHooks,
    client,
    deploy_ecs,
    hook_functions,
    provision_ecs_service,
    raw_call,
    validate_output,
)

pytestmark = pytest.mark.integration

FAILING = "AfterAllowTestTraffic"


@cache
def codedeploy_enum(shape: str) -> set[str]:
    return set(botocore.session.get_session().get_service_model("codedeploy").shape_for(shape).enum)


def _until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


class _Clients:
    """AwsClients' surface over the emulator (codedeploy) and moto (the rest)."""

    def __init__(self, emulator_url: str, moto_url: str) -> None:
        self._urls = {"codedeploy": emulator_url}
        self._moto = moto_url
        self.made: dict[str, Any] = {}

    def client(self, name: str, **_: Any) -> Any:
        if name not in self.made:
            self.made[name] = client(name, self._urls.get(name, self._moto))
        return self.made[name]


@pytest.fixture
def failed_hook(start_emulator: EmulatorFactory, moto_url: str) -> tuple[CodeDeployEmulator, Any, str]:
    """A deployment whose AfterAllowTestTraffic hook reported Failed, rolled back."""
    hooks = ScriptedHooks({f"hook-{FAILING}": "fail"})
    emulator = start_emulator(time_scale=600.0, hook_invoker=hooks)
    hooks.url = emulator.url
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(alarms=("5xx",)))
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks=hook_functions())
    codedeploy = client("codedeploy", emulator.url)
    _until(
        lambda: codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Failed"
    )
    return emulator, env, deployment_id


def test_a_failed_hook_event_has_its_times_and_diagnostics(
    failed_hook: tuple[CodeDeployEmulator, Any, str],
) -> None:
    emulator, env, deployment_id = failed_hook
    target_id = f"{env.cluster}:{env.service}"
    status, body = raw_call(
        emulator.url, "BatchGetDeploymentTargets", {"deploymentId": deployment_id, "targetIds": [target_id]}
    )
    assert status == 200 and validate_output("BatchGetDeploymentTargets", body) == []
    events = {
        e["lifecycleEventName"]: e for e in body["deploymentTargets"][0]["ecsTarget"]["lifecycleEvents"]
    }
    failed = events[FAILING]
    assert failed["status"] == "Failed" and failed["startTime"] <= failed["endTime"]
    diagnostics = failed["diagnostics"]
    assert set(diagnostics) == {"errorCode", "scriptName", "message", "logTail"}
    assert diagnostics["errorCode"] in codedeploy_enum("LifecycleErrorCode")
    assert diagnostics["scriptName"] == f"hook-{FAILING}" and diagnostics["message"]
    assert events["BeforeInstall"]["status"] == "Succeeded" and "diagnostics" not in events["BeforeInstall"]
    # events after the failure never ran: Skipped, without times
    assert events["AllowTraffic"]["status"] == "Skipped"
    assert "startTime" not in events["AllowTraffic"] and "endTime" not in events["AllowTraffic"]
    status, info = raw_call(emulator.url, "GetDeployment", {"deploymentId": deployment_id})
    error = info["deploymentInfo"]["errorInformation"]
    assert error["code"] in codedeploy_enum("ErrorCode") and error["code"] == "HOOK_EXECUTION_FAILURE"
    rollback_id = info["deploymentInfo"]["rollbackInfo"]["rollbackDeploymentId"]
    _, rollback = raw_call(emulator.url, "GetDeployment", {"deploymentId": rollback_id})
    assert rollback["deploymentInfo"]["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id
    assert rollback["deploymentInfo"]["creator"] in codedeploy_enum("DeploymentCreator")


def test_inspect_reads_the_failed_hook_and_the_rollback(
    failed_hook: tuple[CodeDeployEmulator, Any, str], moto_url: str
) -> None:
    emulator, env, deployment_id = failed_hook
    engine = CodeDeployEngine(_Clients(emulator.url, moto_url))
    rollback_id = client("codedeploy", emulator.url).get_deployment(deploymentId=deployment_id)[
        "deploymentInfo"
    ]["rollbackInfo"]["rollbackDeploymentId"]
    _until(
        lambda: (
            client("codedeploy", emulator.url).get_deployment(deploymentId=rollback_id)["deploymentInfo"][
                "status"
            ]
            == "Succeeded"
        )
    )
    inspection = engine.inspect(deployment_id)
    facts = inspection.facts
    assert (facts.outcome, facts.error_code, facts.rollback_deployment_id) == (
        Outcome.ROLLED_BACK,
        "HOOK_EXECUTION_FAILURE",
        rollback_id,
    )
    assert facts.image == "app:v2" and facts.task_definition and facts.strategy == "all-at-once"
    failed = next(s for s in inspection.steps if s.name == FAILING)
    assert failed.status == "Failed" and failed.started is not None and failed.ended is not None
    assert failed.started <= failed.ended and failed.error_code == "ScriptFailed"
    assert failed.hook_function == f"hook-{FAILING}" and failed.message
    assert inspection.rollback_steps and all(s.status == "Succeeded" for s in inspection.rollback_steps)
    assert all(s.started is not None and s.ended is not None for s in inspection.rollback_steps)
    assert facts.rollback_started is not None and facts.rollback_started >= failed.ended
    assert inspection.traffic == ()  # production never moved: the hook failed on test traffic
    assert inspection.alarm_names == env.alarm_names
    assert inspection.green_target_groups == (env.target_group_arns[env.target_groups[1]],)
    assert inspection.unreadable == ()


def test_inspect_an_unknown_id_is_bad_input(emulator: CodeDeployEmulator, moto_url: str) -> None:
    engine = CodeDeployEngine(_Clients(emulator.url, moto_url))
    for bad in ("d-ZZZZZZZZZ", "not-an-id"):
        with pytest.raises(BadInputError, match=f"^no deployment {bad} in this account and region$"):
            engine.inspect(bad)


def test_list_deployments_by_create_time_pages_and_history(
    start_emulator: EmulatorFactory, moto_url: str
) -> None:
    emulator = start_emulator(time_scale=600.0)
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    codedeploy = client("codedeploy", emulator.url)
    created: list[tuple[str, datetime]] = []
    for _ in range(3):
        deployment_id = deploy_ecs(emulator.url, moto_url, env)
        info = _until(
            lambda deployment_id=deployment_id: (
                (i := codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"])["status"]
                == "Succeeded"
                and i
            )
        )
        created.append((deployment_id, info["createTime"]))
    group = {"applicationName": env.application, "deploymentGroupName": env.deployment_group}
    second = created[1][1]
    listed = codedeploy.list_deployments(**group, createTimeRange={"start": second})["deployments"]
    assert set(listed) == {created[1][0], created[2][0]}  # the start is inclusive
    # botocore sends this protocol's timestamps in whole seconds (serialize.py, legacy precision):
    # an end at the second's own createTime would fall before it
    end = second + timedelta(seconds=1)
    listed = codedeploy.list_deployments(**group, createTimeRange={"end": end})["deployments"]
    assert set(listed) == {created[0][0], created[1][0]}
    later = second + timedelta(days=1)
    assert codedeploy.list_deployments(**group, createTimeRange={"start": later})["deployments"] == []

    class _Service:
        name, environment = "product", "dev"

        class settings:
            application, deployment_group = env.application, env.deployment_group

    engine = CodeDeployEngine(_Clients(emulator.url, moto_url))
    records = engine.history(_Service(), second)  # type: ignore[arg-type]
    assert [r.deployment_id for r in records] == [created[2][0], created[1][0]]
    assert {(r.outcome, r.kind) for r in records} == {(Outcome.SUCCEEDED, DeploymentKind.DEPLOY)}
    assert all(r.created is not None and r.created.tzinfo is not None for r in records)
    assert records[0].created >= records[1].created >= second.astimezone(UTC)  # type: ignore[operator]
