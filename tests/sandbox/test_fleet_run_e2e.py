"""`bluegreen fleet deploy`, `fleet watch` and `fleet deploy --resume` end to end, in one sandbox world.

Four services of the shipped catalog in two waves, two per engine: product-service (CodeDeploy) and
inventory-service (Amazon ECS's own deployments) in wave 1; order-service (CodeDeploy, depends on
product-service) and notification-service (ECS, depends on inventory-service) in wave 2. One
world for the module (tests/sandbox/test_fleet_e2e.py runs the 16-service proof and the failure in a
wave; this module proves the run's own loop: waves in order, the record, watch, resume).

1. A `fleet deploy --all` interrupted while wave 1 runs (Ctrl-C; SIGTERM becomes the same) exits
   130 naming `fleet watch` and `--resume`; `fleet deploy --resume RUN_ID` finishes it: wave 1's
   deployments are watched, not started again, every wave-2 deployment is created after every
   wave-1 one ended, and every service has exactly one deployment carrying the run id.
2. `fleet watch RUN_ID` re-attaches from the record and the deployments carrying the run id.
3. `--resume` with an unknown run id: exit 2, one line.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.catalog import load_catalog
from orchestrator.cli import main
from orchestrator.engines import engine_for
from sandbox.world import World, WorldOptions
from tests.support.schema import document_kind

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 400.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
SERVICES = ["product-service", "order-service", "inventory-service", "notification-service"]
DEPENDS_ON = {"order-service": ["product-service"], "notification-service": ["inventory-service"]}
# At 400x a deployment minute lasts 0.15 s: starting a wave (plans, registrations, creates) on a
# loaded machine takes several virtual minutes by itself. The default timeout is not under test.
TIMEOUT = ("--timeout", "600")
WAVES = {"product-service": 1, "inventory-service": 1, "order-service": 2, "notification-service": 2}


def catalog_file(directory: Path) -> Path:
    """The shipped catalog cut to the four services, in two waves by depends_on, a short bake."""
    import yaml

    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    services = {name: dict(document["services"][name]) for name in SERVICES}
    for name, settings in services.items():
        settings["depends_on"] = DEPENDS_ON.get(name, [])
        settings.pop("wave", None)
    document["services"] = services
    document["environments"]["dev"]["defaults"]["deployment"]["bake_seconds"] = 5
    (directory / "task-definitions").symlink_to(REPO / "task-definitions")
    (directory / "alarms").mkdir()
    for source in (REPO / "alarms").glob("*.yaml"):  # overrides may only name services the catalog has
        alarms = yaml.safe_load(source.read_text(encoding="utf-8"))
        if isinstance(alarms, dict) and isinstance(alarms.get("services"), dict):
            alarms["services"] = {k: v for k, v in alarms["services"].items() if k in SERVICES}
        (directory / "alarms" / source.name).write_text(
            yaml.safe_dump(alarms, sort_keys=False), encoding="utf-8"
        )
    path = directory / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    catalog = catalog_file(tmp_path_factory.mktemp("catalog"))
    # Alarms held still and few users: nothing here reads the users' answers.
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.05)
    with World(catalog, "dev", SERVICES, None, options) as made:
        yield made


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(world.catalog.path))
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", str(SCALE))
    return world


def bluegreen(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--output", "json"])
    text = out.getvalue()
    return code, (json.loads(text) if text.startswith("{") else {})


def engines(world: World) -> dict[str, Any]:
    catalog = load_catalog(world.catalog.path)
    clients = AwsClients(region=world.region)
    return {
        name: (engine_for(catalog.resolve(name, "dev"), clients), catalog.resolve(name, "dev"))
        for name in SERVICES
    }


def _ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


@pytest.fixture(scope="module")
def interrupted() -> dict[str, Any]:
    """Filled by the first test: the interrupted run's id and what it had started."""
    return {}


def test_an_interrupted_fleet_run_is_resumed_in_wave_order_with_nothing_deployed_twice(
    in_world: World, interrupted: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.fleet.runner import FleetRunner, Standing

    wait = FleetRunner._wait

    def ctrl_c_once_wave_1_runs(runner: FleetRunner, deadline: float) -> None:
        if any(member.standing is Standing.RUNNING for member in runner.members):
            interrupted["started"] = {m.name: m.deployment_id for m in runner.members if m.deployment_id}
            raise KeyboardInterrupt  # what SIGTERM (a cancelled CI job) becomes: session.sigterm_as_interrupt
        wait(runner, deadline)

    monkeypatch.setattr(FleetRunner, "_wait", ctrl_c_once_wave_1_runs)
    code, document = bluegreen(
        "fleet", "deploy", "--all", "--env", "dev", "--strategy", "all-at-once", *TIMEOUT
    )
    assert code == 130, document
    message = document["error"]
    run_id = message.split("fleet run ")[1].split("'")[0]
    assert f"`bluegreen fleet watch {run_id} --env dev`" in message
    assert f"`bluegreen fleet deploy --resume {run_id} --env dev`" in message
    assert set(interrupted["started"]) == {name for name, wave in WAVES.items() if wave == 1}
    monkeypatch.setattr(FleetRunner, "_wait", wait)

    code, document = bluegreen("fleet", "deploy", "--resume", run_id, "--env", "dev", *TIMEOUT)
    assert code == 0, json.dumps(document, indent=1)
    assert document["resumed"] is True and document["fleetRunId"] == run_id
    assert document_kind(document) == "FleetDocument"
    rows = {row["service"]: row for row in document["services"]}
    assert {name: row["wave"] for name, row in rows.items()} == WAVES
    assert all(row["outcome"] == "succeeded" for row in rows.values()), rows
    assert {row["engine"] for row in rows.values()} == {"codedeploy", "ecs"}
    assert document["totals"] == {"services": 4, "succeeded": 4, "failed": 0, "skipped": 0, "running": 0}
    assert 0 < document["maxCallsPerMinute"] <= document["callsPerMinuteLimit"]
    # wave 1's deployments are the interrupted run's (watched, not started again)
    assert {name: rows[name]["deploymentId"] for name in interrupted["started"]} == interrupted["started"]
    found = engines(in_world)
    since = datetime.now(UTC) - timedelta(days=2)  # the sandbox's virtual clock runs ahead of ours
    for name, (engine, service) in found.items():
        assert engine.fleet_deployments(service, run_id, since) == [rows[name]["deploymentId"]], name
    # every wave-2 deployment was created after every wave-1 deployment had ended
    described = {name: found[name][0].describe(rows[name]["deploymentId"]) for name in SERVICES}
    # (to the millisecond: CodeDeploy's times have milliseconds, ECS's microseconds, and a loaded
    # sandbox's virtual clock can stand still between the end of one and the start of the next)
    wave_1_end = max(_ms(described[name].complete_time) for name in SERVICES if WAVES[name] == 1)
    wave_2_start = min(_ms(described[name].create_time) for name in SERVICES if WAVES[name] == 2)
    assert wave_2_start >= wave_1_end, (wave_1_end, wave_2_start)
    interrupted.update(run_id=run_id, ids={name: row["deploymentId"] for name, row in rows.items()})


def test_fleet_watch_reattaches_from_the_record(in_world: World, interrupted: dict[str, Any]) -> None:
    assert interrupted.get("run_id"), "needs the first test's run"
    code, watched = bluegreen("fleet", "watch", interrupted["run_id"], "--env", "dev", *TIMEOUT)
    assert code == 0, watched
    assert {row["service"]: row["deploymentId"] for row in watched["services"]} == interrupted["ids"]
    assert all(row["outcome"] == "succeeded" for row in watched["services"])


def test_resume_of_an_unknown_run_is_bad_input(in_world: World) -> None:
    code, document = bluegreen("fleet", "deploy", "--resume", "fr-20261130t0000z-dead", "--env", "dev")
    assert code == 2 and "no fleet run fr-20261130t0000z-dead in dev" in document["error"]
