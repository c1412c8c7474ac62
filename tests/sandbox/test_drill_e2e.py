"""Issue 14's drill "done when", end to end: one sandbox world (the shipped services.yaml, dev:
product-service and order-service on CodeDeploy, inventory-service on Amazon ECS's own deployments),
`bluegreen drill` (in-process) on each. A correctly wired service passes on both engines, with the
measured time to rollback inside the bound; order-service's deployment group has had its alarm
rollback switched off (autoRollbackConfiguration without DEPLOYMENT_STOP_ON_ALARM), and its drill
fails (exit 1), naming that.

The alarm evaluator runs once a virtual minute, as CloudWatch evaluates a 60 s alarm: a forced
ALARM then lasts until the next evaluation, as SetAlarmState's does on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.cli import main
from sandbox.world import World, WorldOptions

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 300.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
WIRED = {"codedeploy": "product-service", "ecs": "inventory-service"}
UNWIRED = "order-service"


def drill(capsys: pytest.CaptureFixture[str], service: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main(["drill", service, "--env", "dev", "--time-scale", f"{SCALE:g}", "--output", "json"])
    captured = capsys.readouterr()
    out = captured.out.strip()
    return code, (json.loads(out) if out.startswith("{") else {}), captured.err


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    options = WorldOptions(time_scale=SCALE, traffic_rate=2.0, evaluator_tick=60.0)
    with World(SHIPPED, "dev", [*WIRED.values(), UNWIRED], None, options) as world:
        codedeploy = boto3.client("codedeploy", endpoint_url=world.codedeploy_url)
        item = next(i for i in world.infra if i.name == UNWIRED)
        settings = item.service.settings
        codedeploy.update_deployment_group(
            applicationName=settings.application,
            currentDeploymentGroupName=settings.deployment_group,
            autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        )
        yield world


@pytest.fixture
def drills(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world's endpoint variables again (each test starts with a clean environment)."""
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    return world


def test_a_wired_service_passes_on_both_engines(drills: World, capsys: pytest.CaptureFixture[str]) -> None:
    for engine, service in WIRED.items():
        code, document, err = drill(capsys, service)
        assert code == 0, (engine, err, document)
        assert document["passed"] and document["rolledBack"] and document["engine"] == engine
        assert document["injectedAtSeconds"] is not None
        assert 0 < document["secondsToRollback"] <= document["boundSeconds"], document
        assert document["wiringProblem"] is None


def test_a_group_without_alarm_rollback_fails_naming_it(
    drills: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = drill(capsys, UNWIRED)
    assert code == 1, (err, document)
    assert not document["passed"] and not document["rolledBack"]
    assert "autoRollbackConfiguration has no DEPLOYMENT_STOP_ON_ALARM" in document["verdict"]
    assert "DEPLOYMENT_STOP_ON_ALARM" in err
