"""Issue 13's "done when" for `bluegreen fleet deploy`, in ONE sandbox world of the shipped catalog's
16 services (dev: 14 on CodeDeploy, inventory-service and notification-service on Amazon ECS's own
deployments), waves from its depends_on. Staged on a copy of it (tests/support/fleet_catalog.py)
that bakes 5 virtual seconds instead of 30 and runs one task per service in dev: the world's cost is
per virtual second and per target, and nothing here reads the bake or the task count:

1. `fleet deploy --all --env dev` deploys all 16 in their waves and exits 0: in AWS, every service
   has one deployment of the run, and none of wave N+1 was created before the last of wave N ended.
2. A fault in one service of wave 2 (every request to its green answers 500: the smoke hook fails on
   the test listener): that wave stops and rolls back, no service of a later wave starts, exit 1, and
   the report, JSON and text (`fleet watch RUN_ID` re-attached from the run's record), names the
   service and why. Staged on a part of the catalog that keeps three waves (`fleet deploy SERVICE...`
   orders the named ones by their depends_on): auth and notification, then payment (the faulty one)
   beside inventory, then order; each wave has a service of each engine but the last.

The third, a fleet run killed mid-wave and finished by `--resume` with nothing deployed twice, runs
on four services: tests/sandbox/test_fleet_run_e2e.py (a world of four, not sixteen).

Everything is read back from AWS (the emulators), not from the command's own document alone.
tests/sandbox/test_fleet_run_e2e.py proves the run's loop in detail on four services.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.catalog import Catalog
from orchestrator.cli import main
from sandbox.faults import HEALTHY, parse_fault
from sandbox.listed_deployments import Listed, listed_deployments, wave_timing
from sandbox.world import World, WorldOptions
from tests.support.fleet_catalog import fleet_catalog

# One world of 16 services for the module: its start counts against the first test.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

SCALE = 400.0
FAULTY = "payment-service"  # wave 2 (depends on auth-service and notification-service), CodeDeploy
# The fault's part of the catalog, waves by the shipped depends_on among them: 1 auth (CodeDeploy) +
# notification (ECS); 2 payment (the faulty one) + inventory (ECS, depends on auth); 3 order
# (depends on payment and inventory). A wave before, the faulty wave with a service of the other
# engine in it, and a wave after: what the whole catalog's run proved, at a third of its deployments.
FAULT_PART = ["auth-service", "notification-service", "payment-service", "inventory-service", "order-service"]
# A generous bound in virtual minutes (the runner's own is the plan's expected time + a margin):
# on a loaded machine a hook's real seconds are hundreds of virtual ones at this scale.
TIMEOUT_MINUTES = "600"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Alarms held still and few users: every verdict here is the smoke hook's or the fleet's stop,
    # and nothing reads the users' answers (they cost the machine the most).
    catalog = fleet_catalog(tmp_path_factory.mktemp("catalog"), one_task=True)
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.02)
    with World(catalog, "dev", [], None, options, all_services=True) as made:
        yield made


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world's endpoint variables and catalog again (each test starts with a clean environment)."""
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(world.catalog.path))
    return world


def fleet(*args: str) -> tuple[int, dict[str, Any]]:
    """`bluegreen fleet ...` in this process: exit code and its JSON document."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["fleet", *args, "--output", "json"])
    text = out.getvalue()
    return code, (json.loads(text) if text.startswith("{") else {"stdout": text})


def fleet_text(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fleet", *args])
    return code, out.getvalue() + err.getvalue()


def virtual_now(world: World) -> datetime:
    return datetime.fromtimestamp(world.clock.now(), UTC)


def deployments(world: World, service: str, since: datetime) -> list[Listed]:
    """The service's deployments since ``since`` in its engine's own list, rollbacks included."""
    clients = world.clients()
    resolved = world.catalog.resolve(service, "dev")
    return listed_deployments(clients.codedeploy, clients.native_ecs, resolved, since)


def waves_of(document: dict[str, Any]) -> dict[int, list[str]]:
    waves: dict[int, list[str]] = {}
    for row in document["services"]:
        waves.setdefault(row["wave"], []).append(row["service"])
    return dict(sorted(waves.items()))


def rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["service"]: row for row in document["services"]}


def check_waves_follow_depends_on(catalog: Catalog, document: dict[str, Any]) -> None:
    wave = {row["service"]: row["wave"] for row in document["services"]}
    for service, number in wave.items():
        for dependency in catalog.resolve(service, "dev").settings.depends_on:
            assert wave[dependency] < number, (service, dependency, wave)


def test_fleet_deploys_all_16_in_their_waves(in_world: World) -> None:
    since = virtual_now(in_world) - timedelta(seconds=1)
    code, document = fleet("deploy", "--all", "--env", "dev", "--timeout", TIMEOUT_MINUTES)

    assert code == 0, document
    assert document["outcome"] == "succeeded" and document["totals"]["succeeded"] == 16, document
    waves = waves_of(document)
    assert len(waves) >= 3 and sum(len(names) for names in waves.values()) == 16, waves
    check_waves_follow_depends_on(in_world.catalog, document)
    seen = {service: deployments(in_world, service, since) for service in in_world.catalog.services}
    for service, found in seen.items():  # one deployment each, the run's, succeeded
        assert [d.deployment_id for d in found] == [rows(document)[service]["deploymentId"]], (service, found)
        assert found[0].status in ("Succeeded", "SUCCESSFUL"), (service, found)
    timing = wave_timing({number: [seen[s][0] for s in names] for number, names in waves.items()})
    assert timing.ordered, timing  # nothing of wave N+1 was created before wave N ended


def test_a_fault_in_wave_2_stops_the_fleet_there(in_world: World) -> None:
    assert in_world.fleet is not None
    since = virtual_now(in_world) - timedelta(seconds=1)
    in_world.fleet.faults[FAULTY] = parse_fault("error_rate=1.0")
    try:
        code, document = fleet("deploy", *FAULT_PART, "--env", "dev", "--timeout", TIMEOUT_MINUTES)
    finally:
        in_world.fleet.faults[FAULTY] = HEALTHY

    assert code == 1, document
    assert document["outcome"] == "failed" and document["brokenBy"] == FAULTY, document
    waves, by_service = waves_of(document), rows(document)
    assert {number: set(names) for number, names in waves.items()} == {
        1: {"auth-service", "notification-service"},
        2: {FAULTY, "inventory-service"},
        3: {"order-service"},
    }, waves
    broken = by_service[FAULTY]
    assert broken["outcome"] == "rolled back" and broken["why"], broken
    assert "AfterAllowTestTraffic" in broken["why"] or "smoke" in broken["why"].lower(), broken
    for service in waves[2]:  # the wave stopped: nothing in it is left running, none succeeded after
        found = deployments(in_world, service, since)
        assert found and all(d.completed is not None for d in found), (service, found)
        assert by_service[service]["outcome"] in ("succeeded", "rolled back", "stopped", "failed"), by_service
    later = [service for number, names in waves.items() if number > 2 for service in names]
    for service in later:  # no later wave started: nothing in AWS, nothing in the report
        assert deployments(in_world, service, since) == [], service
        assert by_service[service]["deploymentId"] is None, by_service[service]

    # The same report for people: re-attached from the run's record, from "another machine".
    code, text = fleet_text("watch", document["fleetRunId"], "--env", "dev", "--timeout", TIMEOUT_MINUTES)
    assert code == 1, text
    last = [line for line in text.splitlines() if FAULTY in line]
    assert last and broken["why"].split(";")[0][:40] in text, text
