"""DORA's four keys over a hand-made history whose figures are worked out by hand below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.insight.dora import compute, lead_time_seconds, rolled_back_ids, time_to_restore_seconds
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, Provenance

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=10)
S, F, ST, RB, RUN = (
    Outcome.SUCCEEDED,
    Outcome.FAILED,
    Outcome.STOPPED,
    Outcome.ROLLED_BACK,
    Outcome.IN_PROGRESS,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return SINCE + timedelta(days=day, hours=hour, minutes=minute)


def rec(
    deployment_id: str,
    service: str,
    outcome: Outcome,
    created: datetime,
    completed: datetime | None,
    commit_time: datetime | None = None,
    kind: DeploymentKind = DeploymentKind.DEPLOY,
    rollback_of: str | None = None,
) -> DeploymentRecord:
    return DeploymentRecord(
        deployment_id=deployment_id,
        engine="codedeploy",
        service=service,
        environment="dev",
        status=outcome.value,
        outcome=outcome,
        kind=kind,
        created=created,
        completed=completed,
        rollback_of=rollback_of,
        provenance=Provenance("alice", "0123456789ab", commit_time),
    )


# Service a: A1 ok (commit 70 min before it completed), A2 failed, A3 ok 50 min after A2 failed
# (commit 20 min before), A4 ok (commit 2 h before) then rolled back by R1 (a bluegreen rollback
# naming no deployment: it rolls back a's newest success, A4), R1 done 1 h 55 min after A4 was.
# Service b: B0 ok before the window, B1 stopped (+ CodeDeploy's own rollback B1R: not a restore),
# B2 rolled back, B3 ok 23 h 40 min after B1 ended (no commit time), B4 still running.
RECORDS = [
    rec("A1", "a", S, at(1, 10), at(1, 10, 10), commit_time=at(1, 9)),
    rec("A2", "a", RB, at(2, 10), at(2, 10, 20)),
    rec("A3", "a", S, at(2, 11), at(2, 11, 10), commit_time=at(2, 10, 50)),
    rec("A4", "a", S, at(3, 10), at(3, 10, 10), commit_time=at(3, 8, 10)),
    rec("R1", "a", S, at(3, 12), at(3, 12, 5), kind=DeploymentKind.ROLLBACK),
    rec("B0", "b", S, at(-1, 10), at(-1, 10, 5)),
    rec("B1", "b", ST, at(4, 10), at(4, 10, 30)),
    rec("B1R", "b", S, at(4, 10, 30), at(4, 10, 35), kind=DeploymentKind.AUTO_ROLLBACK, rollback_of="B1"),
    rec("B2", "b", F, at(4, 12), at(4, 12, 30)),
    rec("B3", "b", S, at(5, 10), at(5, 10, 10)),
    rec("B4", "b", RUN, at(6, 10), None),
]


def test_dora_per_service_and_overall_match_the_hand_computed_figures() -> None:
    report = compute(RECORDS, SINCE, UNTIL)
    a, b = dict(report.services)["a"], dict(report.services)["b"]
    # a: finished deploys A1-A4 = 4; successes A1, A3, A4 = 3 over 10 days = 0.3/day;
    # failures A2 + A4 (rolled back by R1) = 2 -> 2/4; lead times 4200, 1200, 7200 s -> median 4200;
    # restores A3 (10:20 -> 11:10 = 3000 s) and R1 (d3 10:10 -> 12:05 = 6900 s) -> median 4950.
    assert (a.deploys, a.succeeded, a.failed, a.rollbacks) == (4, 3, 2, 1)
    assert a.deployments_per_day == pytest.approx(0.3)
    assert a.change_failure_rate == pytest.approx(0.5)
    assert (a.lead_time_median_seconds, a.lead_time_samples) == (4200, 3)
    assert (a.time_to_restore_median_seconds, a.time_to_restore_samples) == (4950, 2)
    # b: B0 is before the window, B4 still runs: deploys B1-B3 = 3, success B3 = 0.1/day;
    # failures B1, B2 -> 2/3; no commit time: no lead time; B3 restores from B1's end
    # (d4 10:30 -> d5 10:10 = 85200 s); B1R (CodeDeploy's own rollback) restores nothing.
    assert (b.deploys, b.succeeded, b.failed, b.rollbacks) == (3, 1, 2, 1)
    assert b.deployments_per_day == pytest.approx(0.1)
    assert b.change_failure_rate == pytest.approx(2 / 3)
    assert (b.lead_time_median_seconds, b.lead_time_samples) == (None, 0)
    assert (b.time_to_restore_median_seconds, b.time_to_restore_samples) == (85200, 1)
    # overall: 7 deploys, 4 successes (0.4/day), 4 failures (4/7), leads median 4200,
    # restores 3000, 6900, 85200 -> median 6900.
    o = report.overall
    assert (o.deploys, o.succeeded, o.failed, o.rollbacks) == (7, 4, 4, 2)
    assert o.deployments_per_day == pytest.approx(0.4)
    assert o.change_failure_rate == pytest.approx(4 / 7)
    assert (o.lead_time_median_seconds, o.time_to_restore_median_seconds) == (4200, 6900)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (rec("x", "a", S, at(1, 10), at(1, 10, 10), commit_time=at(1, 9)), 4200.0),
        (rec("x", "a", S, at(1, 10), at(1, 10, 10)), None),  # commit time unknown
        (rec("x", "a", F, at(1, 10), at(1, 10, 10), commit_time=at(1, 9)), None),  # not a success
        (rec("x", "a", S, at(1, 10), None, commit_time=at(1, 9)), None),  # not finished
        (
            rec("x", "a", S, at(1, 10), at(1, 10, 10), commit_time=at(1, 9), kind=DeploymentKind.ROLLBACK),
            None,  # a rollback ships no change
        ),
    ],
)
def test_lead_time_seconds(record: DeploymentRecord, expected: float | None) -> None:
    assert lead_time_seconds(record) == expected


@pytest.mark.parametrize(
    ("deployment_id", "expected"),
    [
        ("A1", None),
        ("A3", 3000.0),
        ("A4", None),
        ("R1", 6900.0),
        ("B1R", None),
        ("B3", 85200.0),
        ("B2", None),
    ],
)
def test_time_to_restore_seconds(deployment_id: str, expected: float | None) -> None:
    record = next(r for r in RECORDS if r.deployment_id == deployment_id)
    earlier = [r for r in RECORDS if r.created is not None and record.created and r.created < record.created]
    assert time_to_restore_seconds(record, earlier) == expected


def test_an_empty_window_has_no_rates() -> None:
    report = compute([], SINCE, UNTIL)
    assert report.overall.change_failure_rate is None and report.overall.deployments_per_day == 0
    assert report.services == ()


# Mutation-testing rows (breaker): each pins one rule the hand-made history above cannot tell apart.


def test_lead_time_is_the_median_not_the_mean() -> None:
    # leads 600, 1200, 9000 s: median 1200, mean 3600
    records = [
        rec("L1", "a", S, at(1, 10), at(1, 10, 10), commit_time=at(1, 10)),
        rec("L2", "a", S, at(2, 10), at(2, 10, 20), commit_time=at(2, 10)),
        rec("L3", "a", S, at(3, 10), at(3, 12, 30), commit_time=at(3, 10)),
    ]
    assert compute(records, SINCE, UNTIL).overall.lead_time_median_seconds == 1200


def test_the_window_includes_both_of_its_ends() -> None:
    records = [rec("E1", "a", S, SINCE, SINCE + timedelta(minutes=5)), rec("E2", "a", F, UNTIL, UNTIL)]
    o = compute(records, SINCE, UNTIL).overall
    assert (o.deploys, o.succeeded, o.failed) == (2, 1, 1)


def test_a_success_rolled_back_after_the_window_still_counts_as_a_change_failure() -> None:
    records = [
        rec("W1", "a", S, at(9, 10), at(9, 10, 10)),
        rec(
            "WR", "a", S, UNTIL + timedelta(hours=2), UNTIL + timedelta(hours=3), kind=DeploymentKind.ROLLBACK
        ),
    ]
    o = compute(records, SINCE, UNTIL).overall
    assert (o.deploys, o.failed, o.rollbacks) == (1, 1, 0)  # the rollback itself is outside the window


def test_a_rollback_naming_nothing_rolls_back_its_own_services_newest_success() -> None:
    records = [
        rec("A1", "a", S, at(1, 10), at(1, 10, 10)),
        rec("B1", "b", S, at(2, 10), at(2, 10, 10)),
        rec("AR", "a", S, at(3, 10), at(3, 10, 5), kind=DeploymentKind.ROLLBACK),
    ]
    assert rolled_back_ids(records) == {"A1"}
    report = compute(records, SINCE, UNTIL)
    assert dict(report.services)["a"].failed == 1 and dict(report.services)["b"].failed == 0
    assert report.overall.failed == 1


def test_frequency_over_a_window_shorter_than_a_day() -> None:
    until = SINCE + timedelta(hours=12)
    records = [rec("D1", "a", S, SINCE + timedelta(hours=1), SINCE + timedelta(hours=2))]
    assert compute(records, SINCE, until).overall.deployments_per_day == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        # another service's failure is not this service's outage
        ([rec("X1", "b", F, at(1, 9), at(1, 9, 30))], None),
        # a failure known at the very moment this success completed did not precede it
        ([rec("X1", "a", F, at(1, 9), at(1, 10, 10))], None),
        ([rec("X1", "a", F, at(1, 9), at(1, 9, 30))], 2400.0),
    ],
)
def test_time_to_restore_counts_only_earlier_failures_of_the_same_service(
    earlier: list[DeploymentRecord], expected: float | None
) -> None:
    record = rec("Y1", "a", S, at(1, 10), at(1, 10, 10))
    assert time_to_restore_seconds(record, earlier) == expected
