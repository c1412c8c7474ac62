"""`deploy --probe-green` in the sandbox, on both engines: while production users reach the
replacement, the watching CLI sends the catalog's smoke checks to it through the test listener and
stops it with rollback at 3 wrong answers of 10 (orchestrator/analysis/probe.py).

One world per engine (product-service, the shipped catalog's dev: smoke checks GET /health and GET
/products?limit=1), alarms never evaluated (evaluator tick 1e6), so whatever stops a deployment here
is the probe, on any machine's speed. The faulty green fails half of its /products answers
(``error_phase=0.5``: the first one on each task is right), so the test-traffic hook, which retries
through its warm-up, passes it and the shift begins, as it did in bench/exposure.py; users only
call /browse, so nothing but the probe meets the fault. Smoke budgets are patient (the probe
ignores latency, and a hook's real-millisecond budget on a busy machine is not what this is about).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.vocabulary import EngineName
from sandbox.world import World, WorldOptions
from tests.sandbox.test_full_loop import SCALE, bluegreen, deploy, leaves_nothing_behind
from tests.support.catalogs import patient_catalog
from tests.support.sandbox import in_shared_world, production_weights, stage

pytestmark = pytest.mark.integration

SERVICE = "product-service"
HALF_OF_PRODUCTS_FAIL = "error_rate=0.5,path=/products,error_phase=0.5"


@pytest.fixture(scope="module", params=[EngineName.CODEDEPLOY, EngineName.ECS], ids=lambda e: e.value)
def shared_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, engine=request.param)
    catalog = patient_catalog(tmp_path_factory.mktemp("catalog"))
    with leaves_nothing_behind(), World(catalog, "dev", [SERVICE], None, options) as world:
        yield world


@pytest.fixture
def world(shared_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with in_shared_world(shared_world, SERVICE, monkeypatch) as made:
        yield made


def serving_groups(world: World) -> set[str]:
    """The target groups production forwards users to."""
    return {group for group, weight in production_weights(world, SERVICE).items() if weight > 0}


def engine_of(world: World) -> str:
    assert world.options.engine is not None
    return world.options.engine.value


def test_the_probe_stops_a_canary_whose_green_answers_wrong(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    stage(world, SERVICE, HALF_OF_PRODUCTS_FAIL)
    serving = serving_groups(world)
    code, result = deploy(capsys, SERVICE, "canary10", "--engine", engine_of(world), "--probe-green")
    assert code == 1 and result["rolledBack"] is True, result
    stopped = result["stoppedOnAlarm"]
    assert stopped["alarms"] == [] and stopped["error"] is None
    assert (
        "answers through the test listener were wrong (GET /products?limit=1: status 500" in stopped["probe"]
    )
    probe = result["greenProbe"]
    assert probe["off"] is None and probe["wrong"] >= 3 and probe["answers"] >= probe["wrong"]
    # Users got the replacement (the shift had begun) and are back on blue.
    shifts = [e["to"] for e in result["events"] if e["kind"] == "traffic"]
    assert any("green 0%" not in to for to in shifts), shifts
    assert serving_groups(world) == serving
    # Neither engine's stop carries a reason: the watch recorded its sign in the ledger, and both its
    # own root cause and a later `why` (which reads the ledger) name the probe, not "a user".
    said = "stopped by bluegreen's green probe"
    assert result["rootCause"].startswith(said) and "answers through the test listener" in result["rootCause"]
    code, why = bluegreen(capsys, "why", result["deploymentId"])
    assert code == 0 and why["rootCause"].startswith(said), why
    assert "then rolled back" in why["rootCause"], why
    assert why["facts"]["stoppedBy"] == f"green probe: {stopped['probe']}", why["facts"]


def test_the_probe_lets_a_healthy_canary_through(capsys: pytest.CaptureFixture[str], world: World) -> None:
    stage(world, SERVICE, None)
    code, result = deploy(capsys, SERVICE, "canary:10:1", "--engine", engine_of(world), "--probe-green")
    assert code == 0 and result["status"] == "Succeeded", result
    assert "stoppedOnAlarm" not in result
    probe = result["greenProbe"]
    assert probe["off"] is None and probe["rounds"] > 0 and probe["answers"] > 0 and probe["wrong"] == 0, (
        probe
    )
