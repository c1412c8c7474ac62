"""`bluegreen why` end to end in the sandbox, on both engines in one world: product-service
(CodeDeploy) and inventory-service (Amazon ECS's native deployments, services.yaml's dev) each get a
canary whose new version fails half of its requests. The 5xx alarm (or the alarm gate before a
production step) stops each and traffic goes back to blue; `deploy` prints a root-cause line, and
`why` (in-process, as the console script) says the same first, with the alarm's state change read
back from DescribeAlarmHistory (the sandbox's moto answers it) with the datapoint that tripped it,
and the hooks' verdict lines from CloudWatch Logs, on the engine's clock. The same two rolled-back
canaries are drawn by `bluegreen timeline --out` (.svg and .html, through sandbox/timeline_picture.py,
README's picture's own run): one world for both done-whens, since a world costs seconds."""

from __future__ import annotations

import contextlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.vocabulary import EngineName
from sandbox.timeline_picture import FAULT, Picture, rolled_back_canary
from sandbox.world import World, WorldOptions

pytestmark = pytest.mark.integration

SCALE = 40.0
REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "services.yaml"  # FAULT: error_rate=0.5 (sandbox/timeline_picture.py)
SERVICES = {"codedeploy": "product-service", "ecs": "inventory-service"}


def bluegreen(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@dataclass(frozen=True)
class Failed:
    """A deploy that did not succeed: its report, its timeline, and `why`'s text and document afterwards."""

    deploy: dict[str, Any]
    why_text: str
    why: dict[str, Any]
    picture: Picture  # `bluegreen timeline ID --out` .svg and .html, drawn right after the deploy
    svg: Path
    html: Path


# `why` on ids the sandbox has no deployment for: (exit code, stdout, stderr)
asked_about: dict[str, tuple[int, str, str]] = {}


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Failed]]:
    options = WorldOptions(time_scale=SCALE)
    folder = tmp_path_factory.mktemp("timeline")
    with World(CATALOG, "dev", list(SERVICES.values()), FAULT, options):
        found = {}
        for engine, service in SERVICES.items():
            # the README picture's own run: deploy canary10, then `timeline --out` each file
            svg, html = folder / f"{engine}.svg", folder / f"{engine}.html"
            picture = rolled_back_canary(service, [svg, html], SCALE, CATALOG)
            assert picture.deploy_code == 1, picture.deployment
            deployment_id = picture.deployment_id
            code, text, err = bluegreen("why", deployment_id)
            assert code == 0 and err == "", (text, err)
            code, document, err = bluegreen("why", deployment_id, "--output", "json")
            assert code == 0, (document, err)
            found[engine] = Failed(picture.deployment, text, json.loads(document), picture, svg, html)
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


# --- `bluegreen timeline` of the same rolled-back canaries (issue 12's timeline done-when) ----------
# What is pinned is what the engines' own times draw: the failed step, the traffic share, the rollback.
SVG = "{http://www.w3.org/2000/svg}svg"
# Where the 5xx alarm stops each engine's canary: during the 10 % step (CodeDeploy's AllowTraffic,
# ECS's PRODUCTION_TRAFFIC_SHIFT: the engine's alarm monitoring), or, when the test traffic's errors
# tripped it first, at the alarm gate the BeforeAllowTraffic hook runs before production traffic
# moves (ECS reports the stage around that hook: either side of it). `deploy` also stops at the first
# ALARM it reads (stop-on-alarm), and the test traffic's 500s can trip the alarm while the smoke hook
# still runs at AfterAllowTestTraffic: CodeDeploy then fails that event. One run at 80x on a machine
# at load 19 (2 cores) was stopped with no step reported failed: then no row is red, and that is true.
FAILED_STEPS = {
    EngineName.CODEDEPLOY: ("AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic"),
    EngineName.ECS: ("POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"),
}
# The picture's own words (the rest are tick labels and lane labels)
LEGEND = {"traffic %", "green (replacement)", "blue (original)", "succeeded", "failed", "alarm ALARM"}


def comments(svg: str) -> set[str]:
    """The strings of the picture (matplotlib writes each as a comment before its glyph paths)."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(svg, parser=parser)
    assert root.tag == SVG
    return {node.text.strip() for node in root.iter() if node.tag is ET.Comment and node.text}


@pytest.mark.parametrize("engine", [EngineName.CODEDEPLOY, EngineName.ECS], ids=str)
def test_timeline_of_a_rolled_back_canary(failed: dict[str, Failed], engine: EngineName) -> None:
    service = SERVICES[engine.value]
    run = failed[engine.value]
    picture, svg_path, html_path = run.picture, run.svg, run.html
    assert picture.deployment.get("engine") == engine, picture.deployment
    assert picture.deploy_code == 1 and picture.deployment["outcome"] == "rolled back", picture.deployment
    assert picture.timeline_codes == (0, 0)

    document = picture.timeline
    steps: list[dict[str, Any]] = document["lifecycle"]  # type: ignore[assignment]
    failed_steps = [s["label"] for s in steps if s["verdict"] == "failed"]
    assert set(failed_steps) <= set(FAILED_STEPS[engine]), steps

    labels = comments(svg_path.read_text())
    assert LEGEND | {s["label"] for s in steps} <= labels  # a row per lifecycle event or stage
    assert f"alarm {service}-5xx-errors" in labels
    assert all(any(label.endswith(f"  {name} failed") for label in labels) for name in failed_steps)
    assert any("rollback started" in label for label in labels), labels
    # ECS rolls back inside the deployment (one step); CodeDeploy runs a rollback deployment
    rollback_steps = len(picture.timeline["rollback"])  # type: ignore[arg-type]
    assert rollback_steps == 1 if engine is EngineName.ECS else rollback_steps >= 8
    assert f"rollback ({rollback_steps} step{'s' if rollback_steps > 1 else ''})" in labels

    page = html_path.read_text()
    assert re.findall(r"https?://[^\s\"'<>]*", page) == ["http://www.w3.org/2000/svg"]
    element = re.search(r"<svg.*?</svg>", page, re.S)
    assert element is not None
    inline = comments(element.group(0))  # the picture, inline (drawn again: the same lanes)
    short_id = picture.deployment_id.rsplit("/", 1)[-1]  # an ECS ARN's last part; CodeDeploy's id
    title = f"{service} (dev) {short_id} canary10 on {engine}: rolled back"
    assert LEGEND | {f"alarm {service}-5xx-errors", title} <= inline
    assert all(f"<td>{s['label']}</td>" in page for s in steps)  # the events table

    assert document["deploymentId"] == picture.deployment_id and document["outcome"] == "rolled back"
    kinds = [mark["kind"] for mark in document["marks"]]  # type: ignore[union-attr]
    assert "rollback started" in kinds and "rollback completed" in kinds
    if engine is EngineName.CODEDEPLOY:  # CodeDeploy times its traffic shift: 10 %, then back to blue
        shares = [point["greenPercent"] for point in document["traffic"]]  # type: ignore[union-attr]
        assert shares == ([0.0, 10.0, 0.0] if "AllowTraffic" in failed_steps else [0.0])
