"""CodeDeployEngine.inspect and .history on a sandbox run: bluegreen deploys product-service twice in
one world (all at once, healthy; then a canary whose users hit a bug on /browse, stopped by the 5xx
alarm and rolled back by CodeDeploy), and the engine reads back what happened from the emulator,
moto and the fleet, as it would from AWS."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.cli import main
from orchestrator.engines.codedeploy import CodeDeployEngine
from orchestrator.insight.evidence import Inspection, Outcome
from orchestrator.insight.records import DeploymentKind
from sandbox.faults import parse_fault
from sandbox.world import World, WorldOptions
from tests.support.sandbox import production_weights

pytestmark = pytest.mark.integration

SCALE = 40.0
REPO = Path(__file__).resolve().parents[2]
SERVICE = "product-service"
ALARM = "product-service-5xx-errors"


@dataclass
class Run:
    world: World
    started: datetime
    healthy: str
    canary: str
    clients: AwsClients

    @property
    def engine(self) -> CodeDeployEngine:
        return CodeDeployEngine(self.clients)


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    capsys = _Capture()
    options = WorldOptions(time_scale=SCALE)
    with World(REPO / "services.yaml", "dev", [SERVICE], None, options) as world, _provenance():
        started = datetime.fromtimestamp(world.clock.now(), UTC)
        code, healthy = capsys.deploy("all-at-once")
        assert code == 0, healthy
        # The next replacement carries a bug on the path users browse (the smoke checks pass).
        assert world.fleet is not None
        world.fleet.faults[SERVICE] = parse_fault("error_rate=0.5,path=/browse")
        code, canary = capsys.deploy("canary10")
        assert code == 1 and canary["rolledBack"] is True, canary
        clients = AwsClients(region=world.region)
        try:
            yield Run(world, started, healthy["deploymentId"], canary["deploymentId"], clients)
        finally:
            for made in clients._clients.values():
                made.close()


# Who deploys which commit, set for the fixture's deploys (git's HEAD would move under a test run
# whenever someone commits while it runs; the git path is tests/unit/test_insight_provenance.py's).
COMMIT = "0f3c9a1b2d4e5f60718293a4b5c6d7e8f9012345"


@contextlib.contextmanager
def _provenance() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ("BLUEGREEN_DEPLOYER", "BLUEGREEN_COMMIT")}
    os.environ.update(BLUEGREEN_DEPLOYER="inspect-e2e", BLUEGREEN_COMMIT=COMMIT)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Capture:
    """capsys is function-scoped: a module fixture reads the CLI's JSON through its own redirect."""

    def deploy(self, strategy: str) -> tuple[int, dict[str, Any]]:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            # The engine's own alarm stop is what inspect reads here (ALARM_ACTIVE): the watcher
            # leaves it to CodeDeploy (issue 14's stop at the first sign would be a MANUAL_STOP).
            args = ["deploy", SERVICE, "--strategy", strategy, "--time-scale", f"{SCALE:g}"]
            code = main([*args, "--output", "json", "--no-stop-on-alarm"])
        text = out.getvalue().strip()
        return code, (json.loads(text) if text.startswith("{") else {})


@pytest.fixture(scope="module")
def canary(run: Run) -> Inspection:
    return run.engine.inspect(run.canary)


def test_the_rolled_back_canary_facts(run: Run, canary: Inspection) -> None:
    facts = canary.facts
    assert (facts.status, facts.outcome) == ("Stopped", Outcome.ROLLED_BACK)
    assert facts.error_code == "ALARM_ACTIVE" and ALARM in (facts.error_message or "")
    assert facts.strategy == "canary10" and facts.rolled_back and facts.rollback_deployment_id
    assert (
        facts.image and facts.task_definition and ":task-definition/product-service:" in facts.task_definition
    )
    assert facts.created is not None and facts.completed is not None and facts.created < facts.completed
    assert canary.alarm_names and ALARM in canary.alarm_names
    assert canary.unreadable == ()


def test_the_failed_step_with_its_times_and_the_rollbacks_steps(canary: Inspection) -> None:
    by_name = {step.name: step for step in canary.steps}
    allow = by_name["AllowTraffic"]
    # the alarm stopped it during the canary's bake: AllowTraffic failed, the later events never ran
    assert allow.status == "Failed" and allow.started is not None and allow.ended is not None
    assert allow.started < allow.ended
    assert by_name["AfterAllowTraffic"].status == "Skipped" and by_name["AfterAllowTraffic"].started is None
    before = by_name["AfterAllowTestTraffic"]
    assert before.status == "Succeeded" and before.hook_function and before.ended <= allow.started  # type: ignore[operator]
    rollback = canary.rollback_steps
    assert rollback and all(step.status == "Succeeded" for step in rollback)
    assert all(step.started is not None and step.ended is not None for step in rollback)
    assert canary.facts.rollback_started is not None and canary.facts.rollback_started >= allow.started


def test_traffic_went_to_ten_percent_then_back_to_blue(run: Run, canary: Inspection) -> None:
    points = canary.traffic
    assert [p.green_percent for p in points] == [10.0, 0.0], points
    allow = next(step for step in canary.steps if step.name == "AllowTraffic")
    assert points[0].at == allow.started and points[1].at > points[0].at
    # the green target group is the one production does not forward to any more
    weights = production_weights(run.world, SERVICE)
    infra = next(item for item in run.world.infra if item.name == SERVICE)
    green = [name for name, arn in infra.target_groups.items() if arn in canary.green_target_groups]
    assert len(green) == 1 and not weights.get(green[0])


def test_history_of_the_three_deployments(run: Run) -> None:
    service = run.world.catalog.resolve(SERVICE, "dev")
    before = run.clients.counter.total
    records = run.engine.history(service, run.started - timedelta(minutes=1))
    calls = run.clients.counter.total - before
    rollback, canary, healthy = records
    assert [canary.deployment_id, healthy.deployment_id] == [run.canary, run.healthy]
    assert (healthy.outcome, healthy.kind, healthy.strategy) == (
        Outcome.SUCCEEDED,
        DeploymentKind.DEPLOY,
        "all-at-once",
    )
    assert (canary.outcome, canary.kind, canary.strategy) == (
        Outcome.ROLLED_BACK,
        DeploymentKind.DEPLOY,
        "canary10",
    )
    assert canary.rolled_back_by == f"alarm {ALARM}"
    assert canary.rollback_deployment_id == rollback.deployment_id
    assert (rollback.kind, rollback.rollback_of, rollback.outcome) == (
        DeploymentKind.AUTO_ROLLBACK,
        run.canary,
        Outcome.SUCCEEDED,
    )
    assert all(r.duration_seconds and r.duration_seconds > 0 for r in records)
    # deploy wrote who ran it from which commit into the description, read as deploy reads it
    assert healthy.provenance.commit == COMMIT[:12] and healthy.provenance.deployer == "inspect-e2e"
    assert canary.provenance.commit == healthy.provenance.commit and rollback.provenance.commit is None
    assert calls == 2  # one ListDeployments page + one BatchGetDeployments
    # nothing before ``since``
    assert run.engine.history(service, datetime.now(UTC) + timedelta(days=365)) == []
