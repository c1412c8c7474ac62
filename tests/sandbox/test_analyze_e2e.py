"""`bluegreen analyze` end to end in the sandbox, on both engines in one world: product-service
(CodeDeploy, analysis enabled in services.yaml) and inventory-service (Amazon ECS's native canary in
dev; the default analysis settings) each get a canary whose new version answers the users 50 ms
slower (p99 about +80 %): a regression far under the latency alarm's 1 s threshold, so the canary runs
to its end and succeeds. `analyze` reads the green and blue target groups' ALB metrics back from
CloudWatch (moto, with the sandbox's percentile fix) over the window in which both served, and fails
the latency metrics;
`why` carries the same table for the service whose catalog enables analysis. An id that names no
deployment is bad input (exit 2)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from sandbox.world import World, WorldOptions

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SCALE = 200.0
REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "services.yaml"
SERVICES = {"codedeploy": "product-service", "ecs": "inventory-service"}
FAULT = "latency_ms=50,path=/browse"  # the users' path only: the smoke checks pass
# Half the traffic on green for 10 minutes: 5 or more one-minute samples a side (ECS pins no shift
# times: the scheduled window is only approximately where the shift ran).
STRATEGY = "canary:50:10"
UNKNOWN = "d-NOSUCH123"


def bluegreen(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--catalog", str(CATALOG), *args])
    return code, out.getvalue(), err.getvalue()


def _json(args: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    code, out, err = bluegreen(*args, "--output", "json")
    return code, (json.loads(out) if out.startswith("{") else {"stderr": err})


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Any]]:
    # 0.6 virtual requests a second (120 real at 200x): 18 a minute on green, 100 within 6 minutes
    options = WorldOptions(time_scale=SCALE, traffic_rate=0.6)
    faults = dict.fromkeys(SERVICES.values(), FAULT)
    with World(CATALOG, "dev", list(SERVICES.values()), faults, options):
        # The two canaries overlap (each service's users reach only its own listener): the ECS one
        # is deployed until Ready and promoted (the catalog's groups wait there; `deploy` would
        # continue by itself), then the CodeDeploy one is deployed and followed to its end, and
        # the ECS one, by then ended or nearly, watched to its end.
        scale = ("--time-scale", f"{SCALE:g}")
        code, ready = _json(("deploy", SERVICES["ecs"], "--strategy", STRATEGY, "--until", "ready", *scale))
        assert code == 0 and ready["outcome"] == "ready", ready
        assert bluegreen("promote", ready["deploymentId"])[0] == 0
        deployed = {
            "codedeploy": _json(("deploy", SERVICES["codedeploy"], "--strategy", STRATEGY, *scale)),
            "ecs": _json(("watch", ready["deploymentId"], *scale)),
        }
        found: dict[str, Any] = {"deploy": deployed, "analyze": {}, "text": {}, "why": {}}
        for engine, (_, report) in deployed.items():
            deployment_id = report["deploymentId"]
            found["analyze"][engine] = _json(("analyze", deployment_id))
            found["text"][engine] = bluegreen("analyze", deployment_id)
            found["why"][engine] = _json(("why", deployment_id))
        found["unknown"] = bluegreen("analyze", UNKNOWN)
        yield found


@pytest.mark.parametrize("engine", list(SERVICES))
def test_the_slower_canary_ran_to_its_end_and_the_judge_fails_it(runs: dict[str, Any], engine: str) -> None:
    code, report = runs["deploy"][engine]
    assert code == 0 and report["outcome"] == "succeeded", report  # the static alarm did not fire
    code, document = runs["analyze"][engine]
    assert code == 0, document
    assert document["deploymentId"] == report["deploymentId"] and document["engine"] == engine
    assert document["verdict"] == "FAIL", document
    assert document["reason"].startswith("score 50 < 75: p99_latency"), document["reason"]
    rows = {row["name"]: row for row in document["metrics"]}
    latency, errors = rows["p99_latency"], rows["5xx_rate"]
    assert latency["verdict"] == "FAIL" and latency["p"] < 0.05 and latency["effect"] > 0.2, latency
    assert latency["green"]["count"] >= 5 and latency["blue"]["count"] >= 5
    assert errors["verdict"] == "PASS" and errors["blue"]["mean"] == errors["green"]["mean"] == 0, errors
    assert document["greenRequests"] >= 100
    assert document["greenTargetGroup"].startswith(f"targetgroup/{SERVICES[engine]}-")
    assert document["greenTargetGroup"] != document["blueTargetGroup"]


@pytest.mark.parametrize("engine", list(SERVICES))
def test_the_text_report_leads_with_the_verdict_and_shows_the_table(
    runs: dict[str, Any], engine: str
) -> None:
    code, text, err = runs["text"][engine]
    assert code == 0 and err == ""
    lines = text.splitlines()
    assert lines[0].startswith("FAIL, score "), text
    header = next(line for line in lines if line.strip().startswith("metric"))
    assert header.split()[:8] == ["metric", "weight", "blue", "green", "U", "p", "effect", "verdict"]
    assert any(line.strip().startswith("p99_latency") and " FAIL " in line for line in lines), text


def test_why_includes_the_judges_table_where_the_catalog_enables_analysis(runs: dict[str, Any]) -> None:
    code, why = runs["why"]["codedeploy"]
    assert code == 0, why
    assert why["analysis"]["verdict"] == "FAIL"
    code, why = runs["why"]["ecs"]
    assert code == 0, why
    assert "analysis" not in why  # inventory-service does not enable it


def test_an_unknown_deployment_is_bad_input(runs: dict[str, Any]) -> None:
    code, out, err = runs["unknown"]
    assert code == 2 and out == "", (out, err)
    assert len(err.strip().splitlines()) == 1 and UNKNOWN in err
