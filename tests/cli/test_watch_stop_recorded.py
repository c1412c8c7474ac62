"""Which sign of the watch stopped a deployment (the ledger's ``stoppedBy``): neither StopDeployment
nor StopServiceDeployment carries a reason, so the watch's stopper writes it, deploy's own root cause
uses its AlarmStop, and `why` (``gather``) reads it back from the ledger only for a stopped
deployment and only when the caller did not say. On in-memory fakes: no AWS, no sockets."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.commands import follow, recording
from orchestrator.commands.options import GlobalOptions, WatchFlags
from orchestrator.commands.session import Session
from orchestrator.errors import BluegreenError
from orchestrator.insight.diagnosis import diagnose
from orchestrator.insight.evidence import Inspection, Outcome, Step
from orchestrator.insight.gather import gather
from orchestrator.watching.loop import AlarmStop, WatchResult
from orchestrator.watching.views import Outcome as Ended
from tests.support.fakes import FakeClients
from tests.support.insight import CD_ID, T0, FakeInspectEngine, facts
from tests.support.native_timeline import service_deployment, snapshot_from_service_deployment

REPO = Path(__file__).resolve().parents[2]
SIGN = "3 of the last 10 answers through the test listener were wrong (GET /products: status 500)"
PROBE_SAID = "stopped by bluegreen's green probe"


class FakeDynamoDb:
    """GetItem over ``stoppedBy`` values by deployment id; which ids were asked."""

    def __init__(self, stopped_by: dict[str, str]) -> None:
        self.stopped_by = stopped_by
        self.asked: list[str] = []

    def get_item(self, **request: Any) -> dict[str, Any]:
        deployment_id = request["Key"]["deploymentId"]["S"]
        self.asked.append(deployment_id)
        found = self.stopped_by.get(deployment_id)
        return {"Item": {"stoppedBy": {"S": found}}} if found else {}


class LedgerClients(FakeClients):
    """FakeClients with a ``dynamodb`` client (the ledger table's reads)."""

    def __init__(self, dynamodb: FakeDynamoDb) -> None:
        super().__init__()
        self.dynamodb = dynamodb

    def client(self, service_name: str, **more: Any) -> Any:
        return self.dynamodb if service_name == "dynamodb" else super().client(service_name, **more)


def session() -> Session:
    return Session(GlobalOptions(catalog=str(REPO / "services.yaml"), env="dev"), stdout=io.StringIO())


def stopped_inspection(**more: Any) -> Inspection:
    """A canary stopped (StopDeployment, as far as CodeDeploy says) during AfterAllowTestTraffic."""
    values: dict[str, Any] = {
        "status": "Stopped",
        "outcome": Outcome.ROLLED_BACK,
        "stopped_by_user": True,
        "rolled_back": True,
        "error_code": "MANUAL_STOP",
    }
    values.update(more)
    steps = (
        Step("BeforeInstall", "Succeeded", T0, T0.replace(second=5)),
        Step("AfterAllowTestTraffic", "Failed", T0.replace(minute=2), T0.replace(minute=3)),
    )
    return Inspection(facts(**values), steps)


def inspecting(inspection: Inspection) -> Any:  # the part of Engine `why` reads
    engine = FakeInspectEngine({CD_ID: inspection}, service=("product-service", "dev"))
    engine.server_now = T0.replace(minute=11).timestamp()
    return engine


# --- gather: the ledger's record, read for a stop only -------------------------------------------------


def test_why_reads_the_watchs_record_of_a_stop_from_the_ledger() -> None:
    dynamodb = FakeDynamoDb({CD_ID: f"green probe: {SIGN}"})
    evidence = gather(inspecting(stopped_inspection()), LedgerClients(dynamodb), session(), CD_ID)
    assert dynamodb.asked == [CD_ID]  # the deployment's own row
    assert evidence.facts.stopped_by == f"green probe: {SIGN}"
    said = str(diagnose(evidence).root_cause)
    assert said.startswith(f"{PROBE_SAID} during AfterAllowTestTraffic: {SIGN}"), said


def test_the_watchs_own_word_is_taken_without_reading_the_ledger() -> None:
    dynamodb = FakeDynamoDb({CD_ID: f"green probe: {SIGN}"})
    evidence = gather(
        inspecting(stopped_inspection()),
        LedgerClients(dynamodb),
        session(),
        CD_ID,
        stopped_by="alarm product-service-5xx-errors",
    )
    assert dynamodb.asked == []
    assert evidence.facts.stopped_by == "alarm product-service-5xx-errors"


def test_a_deployment_nobody_stopped_is_not_looked_up_in_the_ledger() -> None:
    dynamodb = FakeDynamoDb({CD_ID: f"green probe: {SIGN}"})
    failed = stopped_inspection(stopped_by_user=False, status="Failed", error_code="HOOK_FAILED")
    evidence = gather(inspecting(failed), LedgerClients(dynamodb), session(), CD_ID)
    assert dynamodb.asked == [] and evidence.facts.stopped_by is None


def test_a_ledger_client_that_cannot_be_made_is_unreadable_not_an_error() -> None:
    """As for every other source (tests/unit/test_gather.py): a client that cannot be made (no
    region, no credentials) is one Unreadable, and `why` still diagnoses the stop."""
    clients = FakeClients()

    def no_client(name: str, **_: Any) -> Any:
        raise RuntimeError(f"no region for {name}")

    clients.client = no_client  # type: ignore[method-assign]
    evidence = gather(inspecting(stopped_inspection()), clients, session(), CD_ID, sleep=lambda _: None)
    assert evidence.facts.stopped_by is None
    ledger = [u for u in evidence.unreadable if u.source == "ledger table doa-market-dev-deployments"]
    assert [u.problem for u in ledger] == ["RuntimeError: no region for dynamodb"], evidence.unreadable
    assert str(diagnose(evidence).root_cause).startswith("stopped by a user")


# --- deploy's root cause: the watch's own AlarmStop ----------------------------------------------------


def ended(stopped: AlarmStop | None) -> tuple[WatchResult, Ended]:
    snapshot = snapshot_from_service_deployment(service_deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP"))
    result = WatchResult(CD_ID, snapshot, [], True, False, 300.0, 10, 10, 10, stopped_on_alarm=stopped)
    return result, Ended("rolled back", False)


def test_deploys_root_cause_names_the_probe_that_stopped_it_without_a_ledger() -> None:
    clients = FakeClients()  # no dynamodb client: the ledger cannot be read, only the watch can say
    engine = inspecting(stopped_inspection())
    said = follow.root_cause(session(), engine, clients, CD_ID, ended(AlarmStop((), 200.0, None, SIGN)))
    assert said is not None and said.startswith(f"{PROBE_SAID} during AfterAllowTestTraffic: {SIGN}"), said
    by_alarm = AlarmStop(("product-service-5xx-errors",), 200.0)
    said = follow.root_cause(session(), engine, clients, CD_ID, ended(by_alarm))
    assert said is not None and "alarm product-service-5xx-errors" in said, said


def test_a_stop_that_failed_is_not_claimed_by_the_watch() -> None:
    """The watch's stop request was refused (the deployment ended meanwhile): whatever stopped it,
    it was not the probe's request."""
    engine = inspecting(stopped_inspection())
    refused = AlarmStop((), 200.0, "ConflictException: it can no longer be stopped", SIGN)
    nothing_recorded = LedgerClients(FakeDynamoDb({}))
    said = follow.root_cause(session(), engine, nothing_recorded, CD_ID, ended(refused))
    assert said is not None and said.startswith("stopped by a user"), said


# --- the watch's stopper: engine first, then the ledger -------------------------------------------------


class StoppingEngine:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.stopped: list[str] = []

    def stop(self, deployment_id: str, *, rollback: bool, wait: Any = None) -> None:
        if self.refuse:
            raise BluegreenError(f"{deployment_id} can no longer be stopped")
        assert rollback
        self.stopped.append(deployment_id)


class Ledger:
    def __init__(self) -> None:
        self.stops: list[tuple[str, str]] = []

    def record_stop(self, deployment_id: str, stopped_by: str) -> None:
        self.stops.append((deployment_id, stopped_by))


class Rounds:
    """GreenProbe's part the watch's probe calls: one sign, then rounds without one."""

    answers = (10, 3)

    def __init__(self, *signs: str | None) -> None:
        self.signs = list(signs)

    def round(self) -> str | None:
        return self.signs.pop(0)


def subject(ledger_table: str | None = "doa-market-dev-deployments") -> follow.Subject:
    return follow.Subject(
        deployment_id=CD_ID,
        service="product-service",
        environment="dev",
        strategy="canary10",
        deployment_config_name=None,
        phases=[],
        timeout_seconds=3600.0,
        alarm_names=("product-service-5xx-errors", "product-service-latency"),
        probe_service=SimpleNamespace(name="product-service"),
        ledger_table=ledger_table,
    )


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Ledger:
    made = Ledger()

    def ledger_for(clients: Any, table: str) -> Ledger:
        assert table == "doa-market-dev-deployments"
        return made

    monkeypatch.setattr(recording, "_dynamo_ledger", ledger_for)
    return made


def stopper(engine: StoppingEngine, table: str | None = "doa-market-dev-deployments") -> Any:
    flags = WatchFlags(time_scale=1.0, probe_green=True)
    made = follow._stop_on_alarm(session(), engine, FakeClients(), subject(table), flags)  # type: ignore[arg-type]
    assert made is not None and made.alarms is not None and made.probe is not None
    return made


def test_an_alarm_stop_is_recorded_with_the_alarm_that_fired(ledger: Ledger) -> None:
    engine = StoppingEngine()
    stopper(engine).stop(("product-service-5xx-errors",))
    assert engine.stopped == [CD_ID]
    assert ledger.stops == [(CD_ID, "alarm product-service-5xx-errors")]


def test_a_probe_stop_is_recorded_with_the_probes_sign(ledger: Ledger) -> None:
    engine = StoppingEngine()
    made = stopper(engine)
    made.probe._probe = Rounds(SIGN, None)
    assert made.probe.round() == SIGN
    assert made.probe.round() is None  # a later round without a sign keeps the one that stopped it
    made.stop(())
    assert engine.stopped == [CD_ID] and ledger.stops == [(CD_ID, f"green probe: {SIGN}")]


def test_a_refused_stop_is_not_recorded_and_no_ledger_table_means_no_write(ledger: Ledger) -> None:
    with pytest.raises(BluegreenError):
        stopper(StoppingEngine(refuse=True)).stop(("product-service-5xx-errors",))
    assert ledger.stops == []
    engine = StoppingEngine()
    stopper(engine, table=None).stop(("product-service-5xx-errors",))
    assert engine.stopped == [CD_ID] and ledger.stops == []


# --- where the stop is recorded: the catalog's ledger table, for `watch` as for `deploy` ----------------


def test_watch_records_a_stop_in_the_services_ledger_table() -> None:
    from orchestrator.commands.lookup import subject_for
    from orchestrator.engines.base import Deployment
    from orchestrator.strategies import parse_strategy
    from orchestrator.watching.timing import GroupTiming

    deployment = Deployment(
        deployment_id=CD_ID,
        snapshot=snapshot_from_service_deployment(service_deployment("IN_PROGRESS", "PRE_SCALE_UP")),
        application="doa-market-dev",
        deployment_group="product-service",
        config_name="CodeDeployDefault.ECSCanary10Percent5Minutes",
        strategy=parse_strategy("canary10"),
        timing=GroupTiming("CONTINUE_DEPLOYMENT", 60, 15),
    )
    made = subject_for(session(), deployment, WatchFlags())
    assert made.service == "product-service" and made.ledger_table == "doa-market-dev-deployments"
