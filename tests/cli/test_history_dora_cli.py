"""`history` and `dora` on fake engines: which source, what they print, and bad input (exit 2, one line)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentRecord, Provenance
from tests.support.cli import run_cli, shown
from tests.support.fakes import FakeClients

NOW = datetime.now(UTC).replace(microsecond=0)


def _record(
    deployment_id: str, service: str, outcome: Outcome, hours_ago: float, **extra: Any
) -> DeploymentRecord:
    created = NOW - timedelta(hours=hours_ago)
    return DeploymentRecord(
        deployment_id=deployment_id,
        engine="codedeploy",
        service=service,
        environment="dev",
        status={"succeeded": "Succeeded", "failed": "Failed"}.get(outcome.value, "Stopped"),
        outcome=outcome,
        strategy="canary10",
        created=created,
        completed=created + timedelta(minutes=10),
        image="123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market/x:1.2.3",
        **extra,
    )


class FakeHistoryEngine:
    """An engine whose ``history`` answers from a list (records it was asked for)."""

    name = "codedeploy"

    def __init__(self, records: list[DeploymentRecord], asked: list[tuple[str, datetime]]) -> None:
        self.records = records
        self.asked = asked

    def history(self, service: Any, since: datetime) -> list[DeploymentRecord]:
        self.asked.append((service.name, since))
        return [r for r in self.records if r.service == service.name and r.created and r.created >= since]


RECORDS = [
    _record(
        "d-AAAAAAAA1",
        "product-service",
        Outcome.SUCCEEDED,
        50,
        provenance=Provenance("alice", "0123456789abcdef", NOW - timedelta(hours=51)),
    ),
    _record("d-AAAAAAAA2", "product-service", Outcome.FAILED, 30, rolled_back_by="alarm product-service-5xx"),
    _record(
        "d-AAAAAAAA3",
        "product-service",
        Outcome.SUCCEEDED,
        29,
        provenance=Provenance("bob", "fedcba9876543210", NOW - timedelta(hours=31)),
    ),
    _record("d-BBBBBBBB1", "order-service", Outcome.SUCCEEDED, 10),
    _record("d-BBBBBBBB0", "order-service", Outcome.SUCCEEDED, 24 * 40),  # before --since 30d
]


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, datetime]]:
    calls: list[tuple[str, datetime]] = []
    clients = FakeClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    monkeypatch.setattr(
        "orchestrator.engines.engine_for", lambda owner, clients: FakeHistoryEngine(RECORDS, calls)
    )
    return calls


def test_history_of_one_service_newest_first_from_the_engine(asked: list[tuple[str, datetime]]) -> None:
    before = datetime.now(UTC)
    result = run_cli("history", "product-service", "--source", "api", "-o", "json")
    after = datetime.now(UTC)
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["source"] == "api" and document["ledgerTables"] == []
    assert [d["deploymentId"] for d in document["deployments"]] == [
        "d-AAAAAAAA3",
        "d-AAAAAAAA2",
        "d-AAAAAAAA1",
    ]
    newest = document["deployments"][0]
    assert (newest["deployer"], newest["commit"], newest["durationSeconds"]) == (
        "bob",
        "fedcba9876543210",
        600.0,
    )
    assert [name for name, _ in asked] == ["product-service"]
    assert before - timedelta(days=30) <= asked[0][1] <= after - timedelta(days=30)  # --since 30d


def test_history_text_names_its_source_and_columns(asked: list[tuple[str, datetime]]) -> None:
    result = run_cli("history", "product-service", "--source", "api", "--since", "2d")
    assert result.code == 0, shown(result)
    lines = result.stdout.splitlines()
    assert (
        lines[0].startswith("2 deployments of product-service since ")
        and "from the engines' APIs" in lines[0]
    )
    assert lines[1].split() == [
        "id",
        "engine",
        "strategy",
        "status",
        "outcome",
        "duration",
        "rolled",
        "back",
        "by",
        "image",
        "who",
        "commit",
    ]
    assert lines[2].split()[:6] == ["d-AAAAAAAA3", "codedeploy", "canary10", "Succeeded", "succeeded", "10m"]
    assert "alarm product-service-5xx" in lines[3] and "x:1.2.3" in lines[3]


def test_history_of_the_environment_asks_every_service(asked: list[tuple[str, datetime]]) -> None:
    result = run_cli("history", "--source", "api", "-o", "json")
    assert result.code == 0, shown(result)
    assert len(asked) == 16  # the example catalog's services in dev
    assert [d["deploymentId"] for d in result.json()["deployments"]] == [
        "d-BBBBBBBB1",
        "d-AAAAAAAA3",
        "d-AAAAAAAA2",
        "d-AAAAAAAA1",
    ]


def test_dora_from_the_engines(asked: list[tuple[str, datetime]]) -> None:
    result = run_cli("dora", "--since", "3d", "--source", "api", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    # product: 3 deploys (2 ok, 1 failed) over 3 days; leads 1 h 10 min (alice: commit 51 h ago,
    # done 50 h - 10 min ago) and 2 h 10 min (bob) -> median 1 h 40 min = 6000 s; restore: d-...2
    # done 30 h - 10 min ago, d-...3 done 29 h - 10 min ago -> 3600 s.
    product = next(s for s in document["services"] if s["service"] == "product-service")
    assert (product["deploys"], product["succeeded"], product["failed"]) == (3, 2, 1)
    assert product["deploymentsPerDay"] == pytest.approx(2 / 3)
    assert product["leadTimeMedianSeconds"] == 6000
    assert product["timeToRestoreMedianSeconds"] == 3600
    assert document["overall"]["deploys"] == 4 and document["overall"]["changeFailureRate"] == 0.25
    text = run_cli("dora", "--since", "3d", "--source", "api").stdout
    assert "product-service" in text and "33% (1/3)" in text and "1h 40m (n=2)" in text and "overall" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "--since", "yesterday"], "--since 'yesterday': not a duration or a date; e.g. 30d"),
        (["dora", "--since", "30x"], "--since '30x': not a duration or a date"),
        (["history", "no-such-service"], "no-such-service"),
        (["dora", "--service", "no-such-service"], "no-such-service"),
        (["history", "--env", "qa"], "qa"),
        (["history", "--source", "s3"], "--source 's3': valid values are auto, ledger, api"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(
    asked: list[tuple[str, datetime]], args: list[str], message: str
) -> None:
    result = run_cli(*args)
    assert result.code == 2, shown(result)
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert asked == []  # refused before any AWS call


def test_a_service_clock_ahead_of_ours_does_not_hide_deployments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window ends at the newest record's time when the service's clock runs ahead (skew; the
    sandbox's virtual clock does by design)."""
    ahead = [_record("d-FUTURE001", "product-service", Outcome.SUCCEEDED, -3)]  # created 3 h from now
    clients = FakeClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    monkeypatch.setattr(
        "orchestrator.engines.engine_for", lambda owner, clients: FakeHistoryEngine(ahead, [])
    )
    document = run_cli(
        "dora", "--service", "product-service", "--since", "1d", "--source", "api", "-o", "json"
    )
    assert document.code == 0, shown(document)
    assert document.json()["overall"]["succeeded"] == 1
    assert document.json()["until"] >= ahead[0].completed.isoformat()  # type: ignore[union-attr]


def test_a_missing_ledger_table_is_exit_2_naming_it(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """services.yaml names doa-market-dev-deployments; this moto has no such table."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for verb in (["history"], ["dora"]):
        result = run_cli(*verb, "--since", "7d")
        assert result.code == 2, shown(result)
        assert result.stderr.startswith("error: ledger table doa-market-dev-deployments does not exist")
        assert result.stderr.count("\n") == 1


def test_source_ledger_without_a_ledger_table_is_exit_2(
    tmp_path: Any, asked: list[tuple[str, datetime]]
) -> None:
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "services.yaml"
    text = shipped.read_text(encoding="utf-8").replace(
        'ledger_table: "{project}-{environment}-deployments"', ""
    )
    catalog = Path(tmp_path) / "services.yaml"
    catalog.write_text(text, encoding="utf-8")
    for name in ("task-definitions", "alarms"):
        (Path(tmp_path) / name).symlink_to(shipped.parent / name)
    result = run_cli("history", "product-service", "--source", "ledger", "--catalog", str(catalog))
    assert result.code == 2, shown(result)
    assert result.stderr == (
        "error: --source ledger: product-service (dev) has no ledger_table in the catalog; "
        "set ledger_table or use --source api\n"
    )
    auto = run_cli("history", "product-service", "--catalog", str(catalog), "-o", "json")
    assert auto.code == 0 and auto.json()["source"] == "api", shown(auto)


@pytest.mark.parametrize(
    ("engine_said", "stopped_by", "shown"),
    [
        ("stop", None, "stop"),  # nobody recorded who: the engine's word
        ("stop", "green probe: 3 of the last 10 answers were wrong", "green probe"),
        ("stop", "alarm product-service-5xx", "alarm product-service-5xx"),
        ("AfterAllowTraffic hook", None, "AfterAllowTraffic hook"),
        (None, None, None),
    ],
)
def test_history_says_which_sign_of_the_watch_stopped_it(
    engine_said: str | None, stopped_by: str | None, shown: str | None
) -> None:
    from orchestrator.commands.history import row

    found = _record("d-AAAAAAAA2", "product-service", Outcome.ROLLED_BACK, 30, rolled_back_by=engine_said)
    assert row(dataclasses.replace(found, stopped_by=stopped_by)).rolled_back_by == shown
