"""In the sandbox, smoke checks reach only the deployment group's load balancer (the routers on
127.0.0.1, moto's DNSName for them): a catalog pointing them at another host fails the hook with
its reason, and the deployment rolls back before any user reaches green."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from sandbox.world import World, WorldOptions
from tests.support.sandbox import clients, lifecycle_events

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCALE = 40.0


def test_a_smoke_host_that_is_not_the_load_balancer_fails_after_allow_test_traffic(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    options = WorldOptions(time_scale=SCALE)
    with World(REPO / "services.yaml", "dev", ["product-service"], None, options) as world:
        elbv2 = clients(world)["elbv2"]
        assert {lb["DNSName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]} == {"127.0.0.1"}
        # The catalog's listener_host now names another loopback address (a server that is not green
        # could answer there); the hooks read it when they run.
        monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", "127.0.0.2")

        capsys.readouterr()
        code = main(["deploy", "product-service", "--time-scale", f"{SCALE:g}", "--output", "json"])
        result = json.loads(capsys.readouterr().out)

        assert code == 1 and result["rolledBack"] is True, result
        events = lifecycle_events(world, result["deploymentId"])
        assert events["AfterAllowTestTraffic"] == "Failed"
        assert result["hookFailure"]["reason"].startswith("smoke host 127.0.0.2 refused: "), result
        log = world.log_path.read_text(encoding="utf-8")
        assert (
            "smoke host 127.0.0.2 refused: it resolves to 127.0.0.2, not an address of the deployment "
            "group's load balancer 127.0.0.1 (127.0.0.1) (test listener" in log
        )
