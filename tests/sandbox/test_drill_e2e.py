"""Issue 14's drill "done when" and item 3 end to end, in one sandbox world (the shipped
services.yaml, dev: product-service on CodeDeploy, inventory-service on Amazon ECS's own
deployments), bluegreen's commands in-process:

1. `bluegreen drill` passes on both engines (correctly wired), the measured time to rollback inside
   the bound the configuration implies;
2. product-service's deployment group then has its alarm rollback switched off
   (autoRollbackConfiguration without DEPLOYMENT_STOP_ON_ALARM): its drill fails (exit 1), naming it;
3. `deploy` of a version that fails half of the users' requests: the watching CLI sees the 5xx alarm
   in ALARM and stops the deployment with rollback itself, says so in one line and in the report.

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
from sandbox.faults import parse_fault
from sandbox.world import World, WorldOptions

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 150.0  # the drill re-asserts its forced ALARM at each poll: fewer polls are lost
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
WIRED = {"codedeploy": "product-service", "ecs": "inventory-service"}
Ran = tuple[int, dict[str, Any], str]


def bluegreen(*args: str) -> Ran:
    """A bluegreen command in this process: exit code, its JSON document, what it said on stderr."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--env", "dev", "--time-scale", f"{SCALE:g}", "--output", "json"])
    text = out.getvalue().strip()
    return code, (json.loads(text) if text.startswith("{") else {}), err.getvalue()


@pytest.fixture(scope="module")
def ran() -> Iterator[dict[str, Ran]]:
    options = WorldOptions(time_scale=SCALE, traffic_rate=2.0, evaluator_tick=60.0)
    with World(SHIPPED, "dev", list(WIRED.values()), None, options) as world:
        found = {engine: bluegreen("drill", service) for engine, service in WIRED.items()}
        settings = next(i for i in world.infra if i.name == WIRED["codedeploy"]).service.settings
        codedeploy = boto3.client("codedeploy", endpoint_url=world.codedeploy_url)
        codedeploy.update_deployment_group(
            applicationName=settings.application,
            currentDeploymentGroupName=settings.deployment_group,
            autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        )
        found["unwired"] = bluegreen("drill", WIRED["codedeploy"])
        assert world.fleet is not None
        world.fleet.faults[WIRED["codedeploy"]] = parse_fault("error_rate=0.5,path=/browse")
        found["faulty"] = bluegreen("deploy", WIRED["codedeploy"], "--strategy", "canary10")
        yield found


@pytest.mark.parametrize("engine", list(WIRED))
def test_a_wired_service_passes(ran: dict[str, Ran], engine: str) -> None:
    code, document, err = ran[engine]
    assert code == 0, (err, document)
    assert document["passed"] and document["rolledBack"] and document["engine"] == engine
    assert document["injectedAtSeconds"] is not None and document["wiringProblem"] is None
    assert 0 < document["secondsToRollback"] <= document["boundSeconds"], document


def test_a_group_without_alarm_rollback_fails_naming_it(ran: dict[str, Ran]) -> None:
    code, document, err = ran["unwired"]
    assert code == 1, (err, document)
    assert not document["passed"] and not document["rolledBack"]
    assert "autoRollbackConfiguration has no DEPLOYMENT_STOP_ON_ALARM" in document["verdict"]
    assert "DEPLOYMENT_STOP_ON_ALARM" in err


def test_the_watching_cli_stops_at_the_first_alarm(ran: dict[str, Ran]) -> None:
    code, document, err = ran["faulty"]
    assert code == 1 and document["rolledBack"], (err, document)
    stopped = document["stoppedOnAlarm"]
    assert stopped["alarms"] == ["product-service-5xx-errors"] and stopped["error"] is None
    # one line says why (the error line, in JSON mode the only one on stderr)
    assert "stopped at once by this watch, alarm product-service-5xx-errors in ALARM" in err
