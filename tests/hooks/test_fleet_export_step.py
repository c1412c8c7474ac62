"""hooks/fleet_step.py, the Lambda the exported fleet state machine invokes: each action on a fake
engine (what it asks the engine, what it answers the state machine), and the package rule (it
imports without typer, rich or moto). End to end on both real engines:
tests/sandbox/test_fleet_run_e2e.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hooks import fleet_step
from orchestrator.errors import ActiveDeploymentError, BadInputError, GuardrailError
from orchestrator.vocabulary import DeploymentStatus
from orchestrator.watching.snapshots import Snapshot

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
RUN = "fr-20261130t0800z-3f9a"


@dataclass
class Polled:
    snapshot: Snapshot
    calls: int = 1


@dataclass
class Started:
    deployment_id: str


@dataclass
class FakeEngine:
    """What the fleet step asks of an engine, recorded; answers set per test."""

    name: str = "codedeploy"
    status: DeploymentStatus = DeploymentStatus.IN_PROGRESS
    error: str | None = None
    refuse: Exception | None = None
    active: list[str] = field(default_factory=list)
    of_run: list[str] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)
    asked: list[tuple[str, Any]] = field(default_factory=list)

    def plan(self, inputs: Any, *, offline: bool = False) -> Any:
        self.inputs.append(inputs)
        return ("plan", inputs.service.name)

    def start(self, plan: Any, *, on_step: Any = None) -> Started:
        self.asked.append(("start", plan))
        if self.refuse is not None:
            raise self.refuse
        return Started("d-ABCDEFGH1")

    def snapshot(self, deployment_id: str, previous: Any = None) -> Polled:
        self.asked.append(("snapshot", deployment_id))
        return Polled(Snapshot(status=self.status, error=self.error))

    def promote(self, deployment_id: str) -> None:
        self.asked.append(("promote", deployment_id))

    def fleet_deployments(self, service: Any, fleet_run: str, since: datetime) -> list[str]:
        self.asked.append(("fleet_deployments", (fleet_run, since)))
        return list(self.of_run)

    def find_active(self, service: Any) -> list[str]:
        return list(self.active)

    def stop(self, deployment_id: str, *, rollback: bool, wait: Any = None) -> Any:
        self.asked.append(("stop", (deployment_id, rollback)))


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(fleet_step, "_engine", lambda service: fake)
    return fake


def event(action: str, **extra: Any) -> dict[str, Any]:
    return {"action": action, "service": "product-service", "environment": "dev", "fleet_run": RUN, **extra}


def test_start_deploys_through_the_engine_carrying_the_fleet_run(engine: FakeEngine) -> None:
    answer = fleet_step.step(event("start", image="example.com/product:v2", strategy="canary10"), NOW)

    assert answer == {
        "action": "start",
        "service": "product-service",
        "engine": "codedeploy",
        "deployment_id": "d-ABCDEFGH1",
        "status": "Created",
    }
    (inputs,) = engine.inputs
    assert (inputs.fleet_run, inputs.image, inputs.strategy.name, inputs.force) == (
        RUN,
        "example.com/product:v2",
        "canary10",
        False,
    )
    assert inputs.service.environment == "dev"


def test_start_without_strategy_or_image_uses_the_catalogs(engine: FakeEngine) -> None:
    fleet_step.step(event("start", image=None, strategy=None), NOW)

    (inputs,) = engine.inputs
    assert inputs.strategy.name == inputs.service.settings.strategy
    assert inputs.image is None


@pytest.mark.parametrize(
    ("waited", "bound", "queued"),
    [(0, 600, True), (599, 600, True), (600, 600, False), (10, 0, False)],
)
def test_a_busy_group_is_queued_within_the_bound_then_fails(
    engine: FakeEngine, waited: int, bound: int, queued: bool
) -> None:
    engine.refuse = ActiveDeploymentError("deployment group product-service has d-OTHER0001 in progress")
    started = (NOW - timedelta(seconds=waited)).isoformat().replace("+00:00", "Z")
    ask = event("start", wave_started=started, queue_wait_seconds=bound)

    if queued:
        answer = fleet_step.step(ask, NOW)
        assert (answer["status"], answer["deployment_id"]) == ("Queued", None)
    else:
        with pytest.raises(ActiveDeploymentError):
            fleet_step.step(ask, NOW)


def test_a_guardrail_refusal_is_not_queued(engine: FakeEngine) -> None:
    engine.refuse = GuardrailError("prod allows canary and linear only")

    with pytest.raises(GuardrailError):
        fleet_step.step(event("start", wave_started=NOW.isoformat(), queue_wait_seconds=600), NOW)


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (DeploymentStatus.IN_PROGRESS, None, ""),
        (DeploymentStatus.SUCCEEDED, None, ""),
        (
            DeploymentStatus.FAILED,
            "AfterAllowTestTraffic failed: smoke /health 500",
            "product-service: deployment d-ABCDEFGH1 failed: AfterAllowTestTraffic failed: smoke /health 500",
        ),
        (DeploymentStatus.STOPPED, None, "product-service: deployment d-ABCDEFGH1 stopped"),
    ],
)
def test_poll_answers_the_status_and_a_cause_naming_the_service(
    engine: FakeEngine, status: DeploymentStatus, error: str | None, cause: str
) -> None:
    engine.status, engine.error = status, error

    answer = fleet_step.step(event("poll", deployment_id="d-ABCDEFGH1"), NOW)

    assert (answer["status"], answer["cause"], answer["deployment_id"]) == (
        status.value,
        cause,
        "d-ABCDEFGH1",
    )
    assert ("promote", "d-ABCDEFGH1") not in engine.asked


def test_poll_promotes_at_ready_as_deploy_does(engine: FakeEngine) -> None:
    engine.status = DeploymentStatus.READY

    answer = fleet_step.step(event("poll", deployment_id="d-ABCDEFGH1"), NOW)

    assert answer["status"] == "Ready"
    assert ("promote", "d-ABCDEFGH1") in engine.asked


def test_stop_rolls_back_only_this_runs_deployments_still_in_flight(engine: FakeEngine) -> None:
    engine.active = ["d-THISRUN01", "d-SOMEONE01"]
    engine.of_run = ["d-THISRUN01", "d-ENDEDRUN1"]

    answer = fleet_step.step(event("stop", since="2026-11-30T07:59:00.123Z"), NOW)

    assert answer["stopped"] == ["d-THISRUN01"]
    assert [a for a in engine.asked if a[0] == "stop"] == [("stop", ("d-THISRUN01", True))]
    assert ("fleet_deployments", (RUN, datetime(2026, 11, 30, 7, 59, 0, 123000, tzinfo=UTC))) in engine.asked


class FakeSsm:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_parameter(self, **request: Any) -> dict[str, Any]:
        self.puts.append(request)
        return {"Version": 1}


def test_record_writes_the_runs_record_with_its_id(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.aws.fleet_runs import decode

    ssm = FakeSsm()
    monkeypatch.setattr(
        fleet_step, "_clients_for", lambda region: type("C", (), {"client": lambda _, n: ssm})()
    )
    record = {
        "version": 1,
        "environment": "dev",
        "maxParallel": 2,
        "waves": [[{"service": "product-service"}]],
    }

    answer = fleet_step.step(event("record", record=record), NOW)

    (put,) = ssm.puts
    assert put["Name"] == f"/bluegreen/doa-market/dev/fleet-runs/{RUN}" == answer["parameter"]
    assert decode(put["Value"]) == {**record, "runId": RUN}


def test_an_unknown_action_is_refused(engine: FakeEngine) -> None:
    with pytest.raises(BadInputError, match="action 'deploy' is not one of record, start, poll, stop"):
        fleet_step.step(event("deploy"), NOW)


class Context:
    aws_request_id = "req-1"
    function_name = "bluegreen-dev-fleet-step"


def test_the_handler_names_the_service_and_action_when_a_step_fails(engine: FakeEngine) -> None:
    engine.refuse = GuardrailError("prod allows canary and linear only")

    with pytest.raises(fleet_step.FleetStepError) as raised:
        fleet_step.handler(event("start"), Context())

    assert (
        str(raised.value)
        == "product-service: start failed (GuardrailError): prod allows canary and linear only"
    )


def test_the_handler_answers_json(engine: FakeEngine) -> None:
    answer = fleet_step.handler(event("poll", deployment_id="d-ABCDEFGH1"), Context())

    assert json.loads(json.dumps(answer)) == answer


def test_it_imports_without_typer_rich_or_moto(repo_root: Path) -> None:
    code = (
        "import json, sys, hooks.fleet_step, orchestrator.engines.codedeploy, orchestrator.engines.ecs\n"
        "print(json.dumps(sorted(m for m in ('typer', 'rich', 'moto', 'click') if m in sys.modules)))"
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
