"""`bluegreen why` end to end in the sandbox, on both engines in one world: product-service
(CodeDeploy) and inventory-service (Amazon ECS's native deployments, services.yaml's dev) each get a
canary whose new version fails half of its requests. The 5xx alarm (or the alarm gate before a
production step) stops each and traffic goes back to blue; `deploy` prints a root-cause line, and
`why` (in-process, as the console script) says the same first, with the alarm's state change read
back from DescribeAlarmHistory (the sandbox's moto answers it) with the datapoint that tripped it,
and the hooks' verdict lines from CloudWatch Logs, on the engine's clock."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from sandbox.world import World, WorldOptions

pytestmark = pytest.mark.integration

SCALE = 40.0
REPO = Path(__file__).resolve().parents[2]
SERVICES = {"codedeploy": "product-service", "ecs": "inventory-service"}


def bluegreen(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@dataclass(frozen=True)
class Failed:
    """A deploy that did not succeed: its report, and `why`'s text and document afterwards."""

    deploy: dict[str, Any]
    why_text: str
    why: dict[str, Any]


# `why` on ids the sandbox has no deployment for: (exit code, stdout, stderr)
asked_about: dict[str, tuple[int, str, str]] = {}


@pytest.fixture(scope="module")
def failed() -> Iterator[dict[str, Failed]]:
    options = WorldOptions(time_scale=SCALE)
    with World(REPO / "services.yaml", "dev", list(SERVICES.values()), "error_rate=0.5", options):
        found = {}
        for engine, service in SERVICES.items():
            code, out, err = bluegreen(
                "deploy", service, "--strategy", "canary10", "--time-scale", f"{SCALE:g}", "--output", "json"
            )
            assert code == 1, (out, err)
            report = json.loads(out)
            deployment_id = report["deploymentId"]
            code, text, err = bluegreen("why", deployment_id)
            assert code == 0 and err == "", (text, err)
            code, document, err = bluegreen("why", deployment_id, "--output", "json")
            assert code == 0, (document, err)
            found[engine] = Failed(report, text, json.loads(document))
        # (the environment the world set is the tests' only while this fixture runs: conftest.py)
        asked_about.update({unknown: bluegreen("why", unknown) for unknown in UNKNOWN})
        yield found


@pytest.mark.parametrize("engine", list(SERVICES))
def test_why_names_the_cause_deploy_printed(failed: dict[str, Failed], engine: str) -> None:
    run = failed[engine]
    assert run.deploy["engine"] == engine and run.deploy["rolledBack"] is True
    cause = run.deploy["rootCause"]
    assert run.why_text.splitlines()[0] == cause == run.why["rootCause"]
    assert run.why["ok"] is False and run.why["facts"]["service"] == SERVICES[engine]
    # what stopped it, as the sandbox made it happen: the 5xx alarm itself, or the alarm gate's
    # Failed verdict naming it (ECS runs the gate before each production step)
    alarm = f"{SERVICES[engine]}-5xx-errors"
    assert alarm in cause, cause


@pytest.mark.parametrize("engine", list(SERVICES))
def test_the_alarm_history_is_read_back_with_its_datapoint(failed: dict[str, Failed], engine: str) -> None:
    run = failed[engine]
    alarm = f"{SERVICES[engine]}-5xx-errors"
    fired = [a for a in run.why["alarms"] if a["alarm"] == alarm and a["newState"] == "ALARM"]
    assert fired, run.why["alarms"]
    assert fired[0]["datapoint"] is not None and fired[0]["datapoint"] > 0
    assert fired[0]["reason"].startswith("Threshold Crossed")
    # on the engine's clock: within the deployment's window, though moto stamps real time
    facts = run.why["facts"]
    assert facts["created"] <= fired[0]["at"] <= facts["completed"], (facts, fired[0])
    assert f"{alarm} OK -> ALARM, datapoint " in run.why_text


@pytest.mark.parametrize("engine", list(SERVICES))
def test_the_hooks_verdicts_are_there_and_nothing_was_unreadable(
    failed: dict[str, Failed], engine: str
) -> None:
    run = failed[engine]
    steps = {hook["step"] for hook in run.why["hooks"]}
    assert steps, run.why["hooks"]  # the hooks that ran logged their verdicts, found by deployment id
    facts = run.why["facts"]
    # On the engine's clock. A hook logs its verdict line just AFTER its report, and the report of a
    # failed hook is what ends the deployment, so that line may come a moment after completeTime (as
    # in AWS); on a loaded machine that moment is up to a few real seconds, x SCALE on this clock.
    # A clock mix-up (real against virtual time) is off by far more than this slack.
    created, completed = datetime.fromisoformat(facts["created"]), datetime.fromisoformat(facts["completed"])
    late = timedelta(seconds=5 * SCALE)
    assert all(
        created <= datetime.fromisoformat(hook["at"]) <= completed + late for hook in run.why["hooks"]
    ), (facts, run.why["hooks"])
    assert run.why["unreadable"] == [], run.why["unreadable"]
    assert run.why["apiCalls"] > 0


UNKNOWN = (
    "d-NOSUCH123",
    "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/doa-market-cluster/inventory-service/nosuch",
)


@pytest.mark.parametrize("unknown", UNKNOWN)
def test_a_deployment_that_does_not_exist_is_one_line_exit_2(failed: dict[str, Failed], unknown: str) -> None:
    code, out, err = asked_about[unknown]
    assert code == 2 and out == "", (out, err)
    assert len(err.strip().splitlines()) == 1 and unknown in err and "Traceback" not in err, err
