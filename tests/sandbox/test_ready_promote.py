"""The README's `deploy --until ready` then `promote`, with the SHIPPED services.yaml, end to end:
moto + the CodeDeploy emulator + the fleet + the real hooks, bluegreen's own commands in-process.

The shipped catalog's groups wait at Ready (STOP_DEPLOYMENT), so `--until ready` returns there
with production still on blue, `promote` shifts it, and a plain `deploy` (until done) continues
at Ready by itself.

Both run in one world (a world costs ~10 CPU-seconds to start and stop), one deployment after the
other: each checks its own deployment (by id) and that production moved from the target group it
found serving to the other one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from sandbox.world import World, WorldOptions
from tests.support.sandbox import clients, deployment, endpoints_again, production_weights

pytestmark = pytest.mark.integration

SCALE = 100.0
SHIPPED = Path(__file__).resolve().parents[2] / "services.yaml"


def bluegreen(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main([*args, "--output", "json"])
    captured = capsys.readouterr()
    out = captured.out.strip()
    return code, (json.loads(out) if out.startswith("{") else {}), captured.err


@pytest.fixture(scope="module")
def shared_world() -> Iterator[World]:
    with World(SHIPPED, "dev", ["product-service"], None, WorldOptions(time_scale=SCALE)) as world:
        yield world


@pytest.fixture
def world(shared_world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The shared world, its environment back in this test (tests/conftest.py's ``_no_real_aws``
    removes the endpoints before each test)."""
    endpoints_again(shared_world.env, monkeypatch)
    return shared_world


def serving(world: World) -> tuple[str, str]:
    """(the target group production forwards to now, the other one)."""
    weights = production_weights(world, "product-service")
    (live,) = [name for name, weight in weights.items() if weight]
    (other,) = {"product-service-blue", "product-service-green"} - {live}
    return live, other


def test_until_ready_then_promote_with_the_shipped_catalog(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    live, other = serving(world)
    group = clients(world)["codedeploy"].get_deployment_group(
        applicationName="doa-market-dev", deploymentGroupName="product-service"
    )["deploymentGroupInfo"]
    ready = group["blueGreenDeploymentConfiguration"]["deploymentReadyOption"]
    assert ready == {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}

    code, report, err = bluegreen(
        capsys, "deploy", "product-service", "--strategy", "canary10", "--until", "ready"
    )
    assert code == 0, (report, err)
    deployment_id = report["deploymentId"]
    assert report["status"] == "Ready" and report["reached"] is True
    time.sleep(1.0)  # 100 virtual seconds later: still waiting, production still all on the original
    assert deployment(world, deployment_id)["status"] == "Ready"
    assert not production_weights(world, "product-service").get(other)

    code, promoted, err = bluegreen(capsys, "promote", deployment_id)
    assert code == 0 and promoted["promoted"] is True, (promoted, err)
    code, watched, err = bluegreen(capsys, "watch", deployment_id)
    assert code == 0 and watched["status"] == "Succeeded", (watched, err)
    weights = production_weights(world, "product-service")
    assert weights.get(other) and not weights.get(live)


def test_deploy_until_done_continues_at_ready_itself(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    live, other = serving(world)
    code, report, err = bluegreen(capsys, "deploy", "product-service", "--strategy", "all-at-once")
    assert code == 0 and report["status"] == "Succeeded", (report, err)
    statuses = [e["to"] for e in report["events"] if e["kind"] == "status"]
    assert "Ready" in statuses  # it did wait at Ready, and deploy continued it
    # The dry run's expected duration does not count the 60-minute ready window.
    assert report["expectedSeconds"] < 30 * 60
    weights = production_weights(world, "product-service")
    assert weights.get(other) and not weights.get(live)
