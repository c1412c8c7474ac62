"""deploy/watch/rollback's report (``follow``) of a deployment that did not succeed carries `bluegreen
why`'s first line: printed under the summary line and as the report's ``rootCause``; a deployment
that succeeded has neither. Over a replayed native ECS deployment whose engine can also inspect it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator import documents
from orchestrator.commands import why
from orchestrator.commands.follow import Subject, follow
from orchestrator.commands.options import GlobalOptions, WatchFlags
from orchestrator.commands.session import Session
from orchestrator.insight.evidence import DeploymentFacts, Inspection, Outcome, Step
from orchestrator.strategies import parse_strategy
from orchestrator.watching.lifecycles import NATIVE_LIFECYCLE
from orchestrator.watching.timing import GroupTiming, default_timeout, expected_phases
from tests.support.cli import FakeClock
from tests.support.fakes import FakeClients
from tests.support.native_timeline import ARN, NativeTimelineEngine, service_deployment

REPO = Path(__file__).resolve().parents[2]
SMOKE = "bluegreen-dev-after-allow-test-traffic"
REASON = "health: GET /health via the test listener: status 500, expected 200 (3 attempts)"
sd = service_deployment
FAILED_AT_TEST_TRAFFIC = [
    (0.0, sd("IN_PROGRESS", "PRE_SCALE_UP")),
    (200.0, sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT")),
    (
        240.0,
        sd(
            "ROLLBACK_SUCCESSFUL",
            "POST_TEST_TRAFFIC_SHIFT",
            lifecycleHookDetails=[{"hookId": "smoke-1", "targetType": "AWS_LAMBDA", "status": "FAILED"}],
            statusReason="lifecycle hook failed",
        ),
    ),
]
SUCCEEDED = [(0.0, sd("IN_PROGRESS", "PRE_SCALE_UP")), (100.0, sd("SUCCESSFUL", "CLEAN_UP", 100.0))]
NOW = datetime.now(UTC)


class InspectingEngine(NativeTimelineEngine):
    """The replayed deployment, and what ``inspect`` says of it once it ended."""

    def __init__(self, clock: FakeClock, timeline: Any, inspection: Inspection) -> None:
        super().__init__(clock, timeline)
        self.inspection = inspection

    def inspect(self, deployment_id: str) -> Inspection:
        return self.inspection


def _inspection(outcome: Outcome) -> Inspection:
    facts = DeploymentFacts(
        ARN, "ecs", "ROLLBACK_SUCCESSFUL", outcome, "product-service", "dev", created=NOW, completed=NOW
    )
    return Inspection(facts, (Step("POST_TEST_TRAFFIC_SHIFT", "Failed", NOW, NOW),))


def _subject() -> Subject:
    timing = GroupTiming("CONTINUE_DEPLOYMENT", 60, 15, lifecycle=NATIVE_LIFECYCLE)
    strategy = parse_strategy("canary10")
    return Subject(
        deployment_id=ARN,
        service="product-service",
        environment="dev",
        strategy="canary10",
        deployment_config_name="CANARY",
        phases=expected_phases(strategy, timing),
        timeout_seconds=default_timeout(strategy, timing),
        engine="ecs",
    )


@pytest.fixture
def clients() -> Iterator[FakeClients]:
    fakes = FakeClients()
    line = {
        "verdict": "Failed",
        "deployment_id": ARN,
        "lifecycle_event": "AfterAllowTestTraffic",
        "lifecycle_stage": "POST_TEST_TRAFFIC_SHIFT",
        "reason": REASON,
        "evidence": [{"name": "health", "passed": False, "detail": REASON.split(": ", 1)[1]}],
    }
    fakes.logs.events[f"/aws/lambda/{SMOKE}"] = [
        {"message": json.dumps(line), "timestamp": int(NOW.timestamp() * 1000)}
    ]
    yield fakes


def _follow(timeline: Any, outcome: Outcome, clients: FakeClients) -> tuple[Any, InspectingEngine, Session]:
    clock = FakeClock()
    engine = InspectingEngine(clock, timeline, _inspection(outcome))
    session = Session(GlobalOptions(catalog=str(REPO / "services.yaml")), stdout=io.StringIO())
    result = follow(
        session, engine, clients, _subject(), WatchFlags(time_scale=1.0), clock=clock, sleep=clock.sleep
    )
    return result, engine, session


def test_a_rolled_back_deployment_reports_whys_first_line(
    clients: FakeClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, engine, session = _follow(FAILED_AT_TEST_TRAFFIC, Outcome.ROLLED_BACK, clients)
    assert result.exit_code == 1
    document = documents.to_json(result.document)
    # the diagnosis's reads come after the watch and count in apiCalls (this fake engine's polls
    # are not AWS calls: the logs and alarm history reads are all there is)
    assert document["apiCalls"] == clients.counter.total
    assert clients.counter.calls["cloudwatch:DescribeAlarmHistory"] == 5  # the catalog's five alarms
    # `why` on the same deployment says the same first line
    monkeypatch.setattr("orchestrator.commands.lookup.deployment_engine", lambda *_: (engine, clients))
    first = str(why.run(session, ARN).text).splitlines()[0]
    assert document["rootCause"] == first and REASON in first
    lines = str(result.text).splitlines()
    assert lines[1] == f"  {first}"
    assert "POST_TEST_TRAFFIC_SHIFT hook (bluegreen-dev-after-allow-test-traffic) failed" in lines[2]


def test_a_succeeded_deployment_has_no_root_cause(clients: FakeClients) -> None:
    result, _, _ = _follow(SUCCEEDED, Outcome.SUCCEEDED, clients)
    assert result.exit_code == 0
    assert "rootCause" not in documents.to_json(result.document)
    assert clients.counter.calls["cloudwatch:DescribeAlarmHistory"] == 0


def test_a_diagnosis_that_cannot_be_had_leaves_the_report_as_it_was(clients: FakeClients) -> None:
    clock = FakeClock()
    engine = NativeTimelineEngine(clock, FAILED_AT_TEST_TRAFFIC)  # no inspect: AttributeError inside
    session = Session(GlobalOptions(catalog=str(REPO / "services.yaml")), stdout=io.StringIO())
    result = follow(
        session, engine, clients, _subject(), WatchFlags(time_scale=1.0), clock=clock, sleep=clock.sleep
    )
    document = documents.to_json(result.document)
    assert (
        result.exit_code == 1 and "rootCause" not in document and document["hookFailure"]["reason"] == REASON
    )
