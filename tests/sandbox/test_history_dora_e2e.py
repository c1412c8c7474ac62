"""Issue 12's "done when" for `history` and `dora`: one sandbox world (the shipped services.yaml
cut to four services, dev: product-service and order-service on CodeDeploy, inventory-service and
notification-service on Amazon ECS's own deployments), 20 deployments, five per service in a row
(the four services' rows side by side: each service's next deploy starts as soon as its last one
ended, none waits for the others) with mixed outcomes, then one `bluegreen rollback`; then `history`
and `dora` from both sources: the engines' APIs (``--source api``) and the ledger (the emulators' state-change
events -> template.yaml's rule -> the ledger Lambda -> DynamoDB in moto; `deploy`'s own
``record_start`` adds who deployed which commit).

Every deploy says who and which commit through BLUEGREEN_DEPLOYER / BLUEGREEN_COMMIT /
BLUEGREEN_COMMIT_TIME, the commit made H hours (virtual) before the deploy started, H = 10 x the
service's index + the round (the deploy's place in its service's row). The expected DORA figures
are worked out by hand below.
"""

from __future__ import annotations

import json
import threading
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
from tests.support.catalogs import only_services
from tests.support.sandbox import endpoints_again

# One world for 21 deployments: its setup counts against the first test (pytest-timeout 120 s by
# default). A world costs CPU per virtual second it lives, so nobody waits: each service's rows run
# on their own (five rounds in lock step, every round as slow as its slowest deploy, cost 92 CPU-s),
# and the test reacts to each state change the engines publish instead of polling every 200 virtual s.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 400.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
SERVICES = ["product-service", "order-service", "inventory-service", "notification-service"]
# Round -> each service's outcome (in SERVICES' order): S succeeds, F fails (every request to green
# answers 500: the smoke hook fails on the test listener), X is stopped (with rollback) at Ready.
ROUNDS = ["SSSS", "FSFS", "SXSF", "SSSS", "SFXS"]
ROLLED_BACK_BY_HAND = "product-service"  # after its round 5: `bluegreen rollback` of its live deploy
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
    started: datetime  # virtual, after the world's provisioning, before the first deploy
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


class Rows:
    """Each service's deploys in a row (its round 1, 2, ...), the four rows at once: a service's next
    deploy starts as soon as its last one ended; one at Ready is promoted, or stopped with rollback
    when its outcome is X; after product-service's last round, the `bluegreen rollback`."""

    def __init__(self, world: World, made: Run, patch: pytest.MonkeyPatch) -> None:
        catalog = load_catalog(world.catalog.path)
        clients = AwsClients(region=world.region)
        self.world, self.made, self.patch = world, made, patch
        self.engines = {svc: engine_for(catalog.resolve(svc, "dev"), clients) for svc in SERVICES}
        self.round = dict.fromkeys(SERVICES, 0)  # the round each service runs (0: none yet)
        self.live: dict[str, str] = {}  # service -> the deployment running
        self.acted: set[str] = set()
        self.ended: dict[tuple[str, int], str] = {}  # (service, round) -> final status
        self.rolled_back_by_hand = ""  # the rollback's final status
        # Every state change the engines publish wakes the loop (a look every 0.25 s otherwise: ECS
        # publishes nothing when it starts waiting at Ready).
        self.changed = threading.Event()
        world.events.put_rule("history-wake", {"source": ["aws.codedeploy", "aws.ecs"]}, self._wake)

    def _wake(self, _event: Any) -> None:
        self.changed.set()

    def outcome(self, svc: str, number: int) -> str:
        return ROUNDS[number - 1][SERVICES.index(svc)]

    def start_next(self, svc: str) -> None:
        assert self.world.fleet is not None
        number = self.round[svc] = self.round[svc] + 1
        if number > len(ROUNDS):  # product-service's rollback of its last deploy
            self.world.fleet.faults[svc] = HEALTHY
            self.patch.delenv("BLUEGREEN_COMMIT")  # a rollback redeploys an earlier revision: no new commit
            self.patch.delenv("BLUEGREEN_COMMIT_TIME")
            code, created = bluegreen("rollback", svc, "--strategy", "all-at-once", "--no-wait")
            assert code == 0, created
            self.live[svc] = self.made.rollback_id = created["deploymentId"]
            return
        failing = self.outcome(svc, number) == "F"
        self.world.fleet.faults[svc] = parse_fault("error_rate=1.0") if failing else HEALTHY
        commit_time = virtual_now(self.world) - timedelta(hours=commit_age_hours(svc, number))
        self.patch.setenv("BLUEGREEN_COMMIT", sha(svc, number))
        self.patch.setenv("BLUEGREEN_COMMIT_TIME", commit_time.isoformat())
        code, created = bluegreen("deploy", svc, "--strategy", "all-at-once", "--no-wait")
        assert code == 0, created
        self.live[svc] = self.made.ids[(svc, number)] = created["deploymentId"]

    def look(self, svc: str) -> None:
        """One look at the service's running deployment: act at Ready, note its end."""
        deployment_id, number = self.live[svc], self.round[svc]
        status = self.engines[svc].snapshot(deployment_id).snapshot.status
        if status.is_terminal:
            del self.live[svc]
            self.acted.discard(svc)
            if number > len(ROUNDS):
                self.rolled_back_by_hand = status.value
            else:
                self.ended[(svc, number)] = status.value
        elif status is DeploymentStatus.READY and svc not in self.acted:
            self.acted.add(svc)
            if number <= len(ROUNDS) and self.outcome(svc, number) == "X":
                self.engines[svc].stop(deployment_id, rollback=True)
            else:
                self.engines[svc].promote(deployment_id)

    def last_round(self, svc: str) -> int:
        return len(ROUNDS) + (1 if svc == ROLLED_BACK_BY_HAND else 0)

    def run(self, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while self.live or any(self.round[svc] < self.last_round(svc) for svc in SERVICES):
            assert time.monotonic() < deadline, f"still running after {timeout} s: {self.live}"
            self.changed.clear()
            for svc in SERVICES:
                if svc in self.live:
                    self.look(svc)
                if svc not in self.live and self.round[svc] < self.last_round(svc):
                    self.start_next(svc)
            self.changed.wait(0.25)


def why(deployment_id: str) -> str:
    """`bluegreen why` of a deployment, for a failure message."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["why", deployment_id])
    return out.getvalue()


def virtual_now(world: World) -> datetime:
    return datetime.fromtimestamp(world.clock.now(), UTC)


def four_service_catalog(directory: Path) -> Path:
    """The shipped catalog with only these four services (history and dora over the environment
    ask every service the catalog names; the world provisions these four), beside the shipped
    task definitions and alarm definitions."""
    import yaml

    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    only_services(document, SERVICES)
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
        # `--since` must leave out the world's own deployments (provisioning starts each ECS service
        # with one) and take in the first deploy, whatever the clocks' skew between the emulators and
        # this process: two virtual minutes after provisioning, a minute before the first deploy. It
        # was only "a minute ago": at 400x that is 0.15 real s, and on a quick machine the world was up
        # sooner, so notification-service's initial deployment counted as a sixth deploy; "the next
        # second" then lost product-service's first deploy once (4 of 5) under three workers.
        world.clock.sleep(2 * 60.0)
        made = Run(world, dict(world.env), virtual_now(world) - timedelta(minutes=1))
        assert world.event_rules, "template.yaml's ledger rule routes the engines' events"
        patch.setenv("BLUEGREEN_DEPLOYER", DEPLOYER)
        rows = Rows(world, made, patch)
        rows.run()
        for svc in SERVICES:
            succeeded = [n for n in range(1, len(ROUNDS) + 1) if rows.ended[(svc, n)] == "Succeeded"]
            assert succeeded == [n for n in range(1, len(ROUNDS) + 1) if rows.outcome(svc, n) == "S"], (
                svc,
                rows.ended,
            )
        assert rows.rolled_back_by_hand == DeploymentStatus.SUCCEEDED.value, why(made.rollback_id)
        assert world.settle_events(60.0)
        yield made


@pytest.fixture
def in_world(run: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The world's endpoint variables again (each test starts with a clean environment)."""
    endpoints_again(run.env, monkeypatch)
    return run


def since(run: Run) -> str:
    return run.started.strftime("%Y-%m-%dT%H:%M:%SZ")


def by_service(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["service"]: row for row in document["services"]}


# Hand-worked figures (both sources). Outcomes per service over the rounds:
#   product       S F S S S, then a bluegreen rollback of its round-5 deploy (a change failure)
#   order         S S X S F
#   inventory     S F S S X
#   notification  S S F S S
# deploys 5 each (20); successes 4, 3, 3, 4 (14); change failures 2 (F + the rolled-back
# round 5), 2, 2, 1 (7) -> rates 0.4, 0.4, 0.4, 0.2, overall 7/20 = 0.35. Restores (a failure
# to the next success): product F->round 3 and round 5->the rollback (2); order X->round 4 (1);
# inventory F->round 3 (1); notification F->round 4 (1): 5 in all.
COUNTS = {
    "product-service": (5, 4, 2, 2),
    "order-service": (5, 3, 2, 1),
    "inventory-service": (5, 3, 2, 1),
    "notification-service": (5, 4, 1, 1),
}
# Rollbacks seen per source: CodeDeploy makes a rollback deployment of its own for each failure
# or stop (product round 2; order rounds 3 and 5), plus the bluegreen rollback; ECS rolls back
# inside the failed deployment (no record).
ROLLBACKS = {"product-service": 2, "order-service": 2, "inventory-service": 0, "notification-service": 0}
# Lead times (H hours + the deploy's duration) of the successes: product H = 1, 3, 4, 5 -> median
# 3.5 h; order 11, 12, 14 -> 12 h; inventory 21, 23, 24 -> 23 h; notification 31, 32, 34, 35 -> 33 h.
LEAD_HOURS = {
    "product-service": 3.5,
    "order-service": 12.0,
    "inventory-service": 23.0,
    "notification-service": 33.0,
}
LEAD_SAMPLES = {"product-service": 4, "order-service": 3, "inventory-service": 3, "notification-service": 4}
# Overall, ledger: 1 3 4 5 11 12 14 | 21 23 24 31 32 34 35 -> (14 + 21) / 2 = 17.5 h.
# Overall, API: ECS deployments carry no description, so only CodeDeploy's 7 are known:
# 1 3 4 5 11 12 14 -> 5 h.
OVERALL_LEAD_HOURS = {"ledger": 17.5, "api": 5.0}


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
    assert (overall["deploys"], overall["succeeded"], overall["failed"]) == (20, 14, 7)
    assert overall["changeFailureRate"] == pytest.approx(7 / 20)
    assert overall["timeToRestoreSamples"] == 5
    window = datetime.fromisoformat(document["until"]) - datetime.fromisoformat(document["since"])
    assert overall["deploymentsPerDay"] * window.total_seconds() / 86400 == pytest.approx(14)
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
    # 20 deploys, the bluegreen rollback, CodeDeploy's 3 rollback deployments (product round 2,
    # order rounds 3 and 5)
    assert len(rows) == 24
    # The restore of inventory's failure: its round-2 deploy's end to its round-3 deploy's end.
    failed, fixed = mine[in_world.ids[("inventory-service", 2)]], mine[in_world.ids[("inventory-service", 3)]]
    assert failed["outcome"] != "succeeded" and fixed["outcome"] == "succeeded"


def test_history_of_one_service_as_text(in_world: Run, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["history", "notification-service", "--since", since(in_world)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("5 deployments of notification-service since ")
    assert lines[0].endswith("from the ledger (doa-market-dev-deployments)")
    assert lines[1].split()[:3] == ["id", "engine", "strategy"]
    newest = lines[2].split()
    assert newest[0] == in_world.ids[("notification-service", 5)] and newest[1] == "ecs"
    assert DEPLOYER in newest and sha("notification-service", 5)[:12] in newest
