"""Issue 12's "done when" for `history` and `dora`: one sandbox world (the shipped services.yaml
cut to four services, dev: product-service and order-service on CodeDeploy, inventory-service and
notification-service on Amazon ECS's own deployments), 12 deployments in three rounds of four (one
per service, at once) with mixed outcomes, then one `bluegreen rollback`; then `history` and `dora`
from both sources: the engines' APIs (``--source api``) and the ledger (the emulators' state-change
events -> template.yaml's rule -> the ledger Lambda -> DynamoDB in moto; `deploy`'s own
``record_start`` adds who deployed which commit).

Every deploy says who and which commit through BLUEGREEN_DEPLOYER / BLUEGREEN_COMMIT /
BLUEGREEN_COMMIT_TIME, the commit made H hours (virtual) before the deploy started, H = 10 x the
service's index + the round. The expected DORA figures are worked out by hand below.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.catalog import load_catalog
from orchestrator.cli import main
from orchestrator.engines import engine_for
from orchestrator.vocabulary import DeploymentStatus
from sandbox.faults import HEALTHY, parse_fault
from sandbox.world import World, WorldOptions

# One world for 13 deployments (three rounds give every outcome on both engines; five rounds, 21
# deployments, cost 92 CPU-s of make test's budget): its setup counts against the first test
# (pytest-timeout 120 s by default; 21 deployments took 77 s at load 9 on 2 cores, 164 s at load 21).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 400.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
SERVICES = ["product-service", "order-service", "inventory-service", "notification-service"]
# Round -> each service's outcome (in SERVICES' order): S succeeds, F fails (every request to green
# answers 500: the smoke hook fails on the test listener), X is stopped (with rollback) at Ready.
ROUNDS = ["SSSS", "FXFX", "SSSS"]
ROLLED_BACK_BY_HAND = "product-service"  # after round 3: `bluegreen rollback` of its live deploy
DEPLOYER = "tester"
HOUR = 3600.0
# A deploy's lead time is H hours plus the deploy's own duration (start to completion, virtual):
# at most this much (all-at-once: a few virtual minutes; a round's four share the machine).
DURATION_SLACK = 30 * 60.0


def commit_age_hours(service: str, round_number: int) -> int:
    return 10 * SERVICES.index(service) + round_number


def sha(service: str, round_number: int) -> str:
    return f"{SERVICES.index(service):x}{round_number:x}".ljust(40, "a")


@dataclass
class Run:
    world: World
    env: dict[str, str]
    started: datetime  # virtual, before the first deploy
    ids: dict[tuple[str, int], str] = field(default_factory=dict)  # (service, round) -> deployment id
    rollback_id: str = ""


def bluegreen(*args: str) -> tuple[int, dict[str, Any]]:
    """A bluegreen command in this process; exit code and its JSON document."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--output", "json"])
    text = out.getvalue()
    return code, (json.loads(text) if text.startswith("{") else {})


def drive(world: World, ids: dict[str, str], stop: set[str], timeout: float = 120.0) -> dict[str, str]:
    """Poll each deployment (service -> id) until it ends: promote one waiting at Ready, or stop it
    with rollback when its service is in ``stop``. The final status of each."""
    catalog = load_catalog(world.catalog.path)
    clients = AwsClients(region=world.region)
    engines = {svc: engine_for(catalog.resolve(svc, "dev"), clients) for svc in ids}
    done: dict[str, str] = {}
    acted: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(done) < len(ids):
        assert time.monotonic() < deadline, f"still running after {timeout} s: {set(ids) - set(done)}"
        for svc, deployment_id in ids.items():
            if svc in done:
                continue
            status = engines[svc].snapshot(deployment_id).snapshot.status
            if status.is_terminal:
                done[svc] = status.value
            elif status is DeploymentStatus.READY and svc not in acted:
                acted.add(svc)
                if svc in stop:
                    engines[svc].stop(deployment_id, rollback=True)
                else:
                    engines[svc].promote(deployment_id)
        # Every 0.5 s (200 virtual s, well inside dev's 60-minute Ready wait), not 0.2 s: each look is
        # 2-3 API calls per service, CPU that make test's budget pays for.
        time.sleep(0.5)
    return done


def virtual_now(world: World) -> datetime:
    return datetime.fromtimestamp(world.clock.now(), UTC)


def four_service_catalog(directory: Path) -> Path:
    """The shipped catalog with only these four services (history and dora over the environment
    ask every service the catalog names; the world provisions these four), beside the shipped
    task definitions and alarm definitions."""
    import yaml

    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    document["services"] = {name: document["services"][name] for name in SERVICES}
    # A short bake after the shift (dev's is 30 s): twenty deploys on a shared machine.
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
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    catalog = four_service_catalog(tmp_path_factory.mktemp("catalog"))
    # Alarms held still (as the other sandbox fault tests do): each verdict is the smoke hook's or
    # the stop's, on any machine, and a 5xx alarm of one round cannot stop the next round's deploy.
    # Few users: nothing here reads their requests, and they cost the machine the most.
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.05)
    with pytest.MonkeyPatch.context() as patch, World(catalog, "dev", SERVICES, None, options) as world:
        assert world.fleet is not None
        made = Run(world, dict(world.env), virtual_now(world) - timedelta(minutes=1))
        assert world.event_rules, "template.yaml's ledger rule routes the engines' events"
        patch.setenv("BLUEGREEN_DEPLOYER", DEPLOYER)
        for number, plan in enumerate(ROUNDS, start=1):
            started: dict[str, str] = {}
            for svc, outcome in zip(SERVICES, plan, strict=True):
                world.fleet.faults[svc] = parse_fault("error_rate=1.0") if outcome == "F" else HEALTHY
                commit_time = virtual_now(world) - timedelta(hours=commit_age_hours(svc, number))
                patch.setenv("BLUEGREEN_COMMIT", sha(svc, number))
                patch.setenv("BLUEGREEN_COMMIT_TIME", commit_time.isoformat())
                code, created = bluegreen("deploy", svc, "--strategy", "all-at-once", "--no-wait")
                assert code == 0, created
                started[svc] = made.ids[(svc, number)] = created["deploymentId"]
            stop = {svc for svc, outcome in zip(SERVICES, plan, strict=True) if outcome == "X"}
            ended = drive(world, started, stop)
            succeeded = {svc for svc, status in ended.items() if status == DeploymentStatus.SUCCEEDED.value}
            assert succeeded == {svc for svc, o in zip(SERVICES, plan, strict=True) if o == "S"}, ended
        for svc in SERVICES:
            world.fleet.faults[svc] = HEALTHY
        patch.delenv("BLUEGREEN_COMMIT")  # a rollback redeploys an earlier revision: no new commit
        patch.delenv("BLUEGREEN_COMMIT_TIME")
        code, created = bluegreen("rollback", ROLLED_BACK_BY_HAND, "--strategy", "all-at-once", "--no-wait")
        assert code == 0, created
        made.rollback_id = created["deploymentId"]
        assert drive(world, {ROLLED_BACK_BY_HAND: made.rollback_id}, set()) == {
            ROLLED_BACK_BY_HAND: DeploymentStatus.SUCCEEDED.value
        }
        assert world.settle_events(60.0)
        yield made


@pytest.fixture
def in_world(run: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The world's endpoint variables again (each test starts with a clean environment)."""
    for key, value in run.env.items():
        monkeypatch.setenv(key, value)
    return run


def since(run: Run) -> str:
    return run.started.strftime("%Y-%m-%dT%H:%M:%SZ")


def by_service(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["service"]: row for row in document["services"]}


# Hand-worked figures (both sources). Outcomes per service over the rounds:
#   product       S F S, then a bluegreen rollback of its round-3 deploy (a change failure)
#   order         S X S
#   inventory     S F S
#   notification  S X S
# deploys 3 each (12); successes 2 each (8); change failures 2 (F + the rolled-back round 3),
# 1, 1, 1 (5) -> rates 2/3, 1/3, 1/3, 1/3, overall 5/12. Restores (a failure to the next
# success): product F->round 3 and round 3->the rollback (2); order X->round 3 (1);
# inventory F->round 3 (1); notification X->round 3 (1): 5 in all.
COUNTS = {
    "product-service": (3, 2, 2, 2),
    "order-service": (3, 2, 1, 1),
    "inventory-service": (3, 2, 1, 1),
    "notification-service": (3, 2, 1, 1),
}
# Rollbacks seen per source: CodeDeploy makes a rollback deployment of its own for each failure
# or stop (product's and order's round 2), plus the bluegreen rollback; ECS rolls back inside the
# failed or stopped deployment (no record).
ROLLBACKS = {"product-service": 2, "order-service": 1, "inventory-service": 0, "notification-service": 0}
# Lead times (H hours + the deploy's duration) of the successes: product H = 1, 3 -> median 2 h;
# order 11, 13 -> 12 h; inventory 21, 23 -> 22 h; notification 31, 33 -> 32 h.
LEAD_HOURS = {
    "product-service": 2.0,
    "order-service": 12.0,
    "inventory-service": 22.0,
    "notification-service": 32.0,
}
LEAD_SAMPLES = {"product-service": 2, "order-service": 2, "inventory-service": 2, "notification-service": 2}
# Overall, ledger: 1 3 11 13 | 21 23 31 33 -> (13 + 21) / 2 = 17 h.
# Overall, API: ECS deployments carry no description, so only CodeDeploy's 4 are known:
# 1 3 11 13 -> (3 + 11) / 2 = 7 h.
OVERALL_LEAD_HOURS = {"ledger": 17.0, "api": 7.0}


def check_counts(document: dict[str, Any], source: str) -> None:
    rows = by_service(document)
    for svc, (deploys, succeeded, failed, restores) in COUNTS.items():
        row = rows[svc]
        assert (row["deploys"], row["succeeded"], row["failed"], row["timeToRestoreSamples"]) == (
            deploys,
            succeeded,
            failed,
            restores,
        ), (svc, row)
        assert row["rollbacks"] == ROLLBACKS[svc], (svc, row)
        assert row["changeFailureRate"] == pytest.approx(failed / deploys)
    overall = document["overall"]
    assert (overall["deploys"], overall["succeeded"], overall["failed"]) == (12, 8, 5)
    assert overall["changeFailureRate"] == pytest.approx(5 / 12)
    assert overall["timeToRestoreSamples"] == 5
    window = datetime.fromisoformat(document["until"]) - datetime.fromisoformat(document["since"])
    assert overall["deploymentsPerDay"] * window.total_seconds() / 86400 == pytest.approx(8)
    assert document["source"] == source


def check_lead(value: float | None, hours: float) -> None:
    assert value is not None and 0 <= value - hours * HOUR <= DURATION_SLACK, (
        value / HOUR if value else None,
        hours,
    )


def test_dora_from_the_engines_apis(in_world: Run) -> None:
    code, document = bluegreen("dora", "--since", since(in_world), "--source", "api")
    assert code == 0, document
    check_counts(document, "api")
    rows = by_service(document)
    for svc in ("product-service", "order-service"):  # CodeDeploy: provenance in the description
        assert rows[svc]["leadTimeSamples"] == LEAD_SAMPLES[svc]
        check_lead(rows[svc]["leadTimeMedianSeconds"], LEAD_HOURS[svc])
    for svc in ("inventory-service", "notification-service"):  # ECS: no description, no provenance
        assert rows[svc]["leadTimeSamples"] == 0 and rows[svc]["leadTimeMedianSeconds"] is None
    check_lead(document["overall"]["leadTimeMedianSeconds"], OVERALL_LEAD_HOURS["api"])


def test_dora_from_the_ledger(in_world: Run) -> None:
    code, document = bluegreen("dora", "--since", since(in_world))  # auto: the catalog names a ledger
    assert code == 0, document
    assert document["ledgerTables"] == ["doa-market-dev-deployments"]
    check_counts(document, "ledger")
    rows = by_service(document)
    for svc in SERVICES:  # deploy's record_start put the provenance in every row, ECS ones included
        assert rows[svc]["leadTimeSamples"] == LEAD_SAMPLES[svc]
        check_lead(rows[svc]["leadTimeMedianSeconds"], LEAD_HOURS[svc])
    check_lead(document["overall"]["leadTimeMedianSeconds"], OVERALL_LEAD_HOURS["ledger"])


@pytest.mark.parametrize("source", ["api", "ledger"])
def test_history_newest_first_with_who_and_which_commit(in_world: Run, source: str) -> None:
    code, document = bluegreen("history", "--since", since(in_world), "--source", source)
    assert code == 0, document
    rows = document["deployments"]
    created = [row["created"] for row in rows]
    assert created == sorted(created, reverse=True)
    mine = {row["deploymentId"]: row for row in rows}
    for (svc, number), deployment_id in in_world.ids.items():
        row = mine[deployment_id]
        outcome = ROUNDS[number - 1][SERVICES.index(svc)]
        assert (row["service"], row["kind"]) == (svc, "deploy")
        assert (row["outcome"] == "succeeded") == (outcome == "S"), row
        assert row["strategy"] == "all-at-once" and row["durationSeconds"] > 0
        known = source == "ledger" or row["engine"] == "codedeploy"
        if known:
            assert row["deployer"] == DEPLOYER and row["commit"].startswith(sha(svc, number)[:12]), row
        else:
            assert row["deployer"] is None and row["commit"] is None
    rollback = mine[in_world.rollback_id]
    assert (rollback["kind"], rollback["outcome"], rollback["service"]) == (
        "rollback",
        "succeeded",
        ROLLED_BACK_BY_HAND,
    )
    # 12 deploys, the bluegreen rollback, CodeDeploy's 2 rollback deployments (product's and
    # order's round 2)
    assert len(rows) == 15
    # The restore of inventory's failure: its round-2 deploy's end to its round-3 deploy's end.
    failed, fixed = mine[in_world.ids[("inventory-service", 2)]], mine[in_world.ids[("inventory-service", 3)]]
    assert failed["outcome"] != "succeeded" and fixed["outcome"] == "succeeded"


def test_history_of_one_service_as_text(in_world: Run, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["history", "notification-service", "--since", since(in_world)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 deployments of notification-service since ")
    assert lines[0].endswith("from the ledger (doa-market-dev-deployments)")
    assert lines[1].split()[:3] == ["id", "engine", "strategy"]
    newest = lines[2].split()
    assert newest[0] == in_world.ids[("notification-service", 3)] and newest[1] == "ecs"
    assert DEPLOYER in newest and sha("notification-service", 3)[:12] in newest
