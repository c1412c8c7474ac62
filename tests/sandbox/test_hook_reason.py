"""A failed hook says why: `deploy` and `status` print the hook's own verdict, read back from the
CloudWatch Logs group the Lambda runner delivers each invocation's lines to (as Lambda does), and
with --sandbox where the hook log file is. Without the logs, the plain status and one line why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from sandbox.moto_server import sandbox_client_factory
from sandbox.world import World, WorldOptions

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCALE = 40.0
FUNCTION = "bluegreen-dev-after-allow-test-traffic"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def test_deploy_and_status_print_the_failed_hooks_reason(capsys: pytest.CaptureFixture[str]) -> None:
    # Every request to green fails; alarms stay as the history left them, so the smoke checks decide.
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6)
    with World(REPO / "services.yaml", "dev", ["product-service"], "error_rate=1.0", options) as world:
        code, out = run(capsys, "deploy", "product-service", "--time-scale", f"{SCALE:g}", "--output", "json")
        result: dict[str, Any] = json.loads(out)

        assert code == 1 and result["lifecycleEvents"]["AfterAllowTestTraffic"] == "Failed", result
        failure = result["hookFailure"]
        assert failure["lifecycleEvent"] == "AfterAllowTestTraffic" and failure["function"] == FUNCTION
        assert failure["reason"].startswith(
            "health: GET /health via the test listener: status 500, expected 200 ("
        )
        assert failure["logFile"] == str(world.log_path)
        deployment_id = result["deploymentId"]

        code, out = run(capsys, "status", deployment_id)
        assert code == 0
        assert (
            f"AfterAllowTestTraffic hook ({FUNCTION}) failed: health: GET /health via the test listener"
            in out
        )
        assert f"hook log: {world.log_path}" in out

        # No log group (deleted, or never written): the plain status and one line saying why.
        logs = sandbox_client_factory(world.region)("logs", world.moto_url)
        logs.delete_log_group(logGroupName=f"/aws/lambda/{FUNCTION}")
        logs.close()
        code, out = run(capsys, "status", deployment_id, "--output", "json")
        assert code == 0
        failure = json.loads(out)["hookFailure"]
        assert failure["reason"] is None
        assert failure["reasonUnavailable"] == f"log group /aws/lambda/{FUNCTION} does not exist"
        code, out = run(capsys, "status", deployment_id)
        assert (
            code == 0 and f"its reason is unavailable: log group /aws/lambda/{FUNCTION} does not exist" in out
        )
