"""The fleet's batched look, as a specification: which deployments' targets a look reads, and how
the batch calls are shared out (engines/fleet_reads.py)."""

from __future__ import annotations

import pytest

from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.aws import ecs as ecs_api
from orchestrator.engines.fleet_reads import (
    CODEDEPLOY_BATCH,
    ECS_BATCH,
    TARGET_REFRESH_LOOKS,
    batch_shares,
    in_traffic_phase,
    wants_target,
)
from orchestrator.vocabulary import (
    AFTER_ALLOW_TRAFFIC,
    ALLOW_TEST_TRAFFIC,
    ALLOW_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    INSTALL,
    DeploymentStatus,
    LifecycleStatus,
)
from orchestrator.watching.snapshots import Snapshot

S = DeploymentStatus
L = LifecycleStatus


def _at(*events: tuple[str, LifecycleStatus]) -> Snapshot:
    return Snapshot(status=S.IN_PROGRESS, lifecycle=tuple(events))


INSTALLING = _at((INSTALL, L.IN_PROGRESS), (ALLOW_TEST_TRAFFIC, L.PENDING), (ALLOW_TRAFFIC, L.PENDING))
TEST_TRAFFIC = _at((INSTALL, L.SUCCEEDED), (ALLOW_TEST_TRAFFIC, L.IN_PROGRESS), (ALLOW_TRAFFIC, L.PENDING))
BEFORE_SHIFT = _at(
    (ALLOW_TEST_TRAFFIC, L.SUCCEEDED), (BEFORE_ALLOW_TRAFFIC, L.IN_PROGRESS), (ALLOW_TRAFFIC, L.PENDING)
)
SHIFTING = _at((ALLOW_TEST_TRAFFIC, L.SUCCEEDED), (ALLOW_TRAFFIC, L.IN_PROGRESS))
SHIFTED = _at(
    (ALLOW_TEST_TRAFFIC, L.SUCCEEDED), (ALLOW_TRAFFIC, L.SUCCEEDED), (AFTER_ALLOW_TRAFFIC, L.IN_PROGRESS)
)


@pytest.mark.parametrize(
    ("snapshot", "moving"),
    [
        pytest.param(None, False, id="never-read"),
        pytest.param(INSTALLING, False, id="installing"),
        pytest.param(TEST_TRAFFIC, True, id="test-traffic-moving"),
        pytest.param(BEFORE_SHIFT, True, id="between-test-and-production-traffic"),
        pytest.param(SHIFTING, True, id="production-traffic-shifting"),
        pytest.param(SHIFTED, False, id="after-the-shift"),
    ],
)
def test_the_traffic_phase_runs_from_test_traffic_until_production_traffic_is_done(
    snapshot: Snapshot | None, moving: bool
) -> None:
    assert in_traffic_phase(snapshot) is moving


@pytest.mark.parametrize(
    ("status", "seen", "last", "since_read", "read"),
    [
        pytest.param(S.CREATED, None, None, None, False, id="created-has-no-target-yet"),
        pytest.param(S.QUEUED, S.CREATED, None, None, False, id="queued-has-no-target-yet"),
        pytest.param(S.IN_PROGRESS, None, None, None, True, id="first-look"),
        pytest.param(S.SUCCEEDED, None, None, None, True, id="first-look-at-a-finished-one"),
        pytest.param(S.IN_PROGRESS, S.QUEUED, None, None, True, id="status-changed-to-running"),
        pytest.param(S.SUCCEEDED, S.IN_PROGRESS, SHIFTED, 1, True, id="status-changed-to-finished"),
        pytest.param(S.READY, S.IN_PROGRESS, TEST_TRAFFIC, 1, True, id="status-changed-to-ready"),
        pytest.param(S.READY, S.READY, TEST_TRAFFIC, 9, False, id="ready-waits-unchanged"),
        pytest.param(S.BAKING, S.BAKING, SHIFTED, 9, False, id="baking-unchanged"),
        pytest.param(S.SUCCEEDED, S.SUCCEEDED, SHIFTED, 9, False, id="finished-unchanged"),
        pytest.param(S.IN_PROGRESS, S.IN_PROGRESS, SHIFTING, 1, True, id="traffic-shifting-every-look"),
        pytest.param(S.IN_PROGRESS, S.IN_PROGRESS, TEST_TRAFFIC, 1, True, id="test-traffic-every-look"),
        pytest.param(S.IN_PROGRESS, S.IN_PROGRESS, INSTALLING, 1, False, id="installing-not-every-look"),
        pytest.param(
            S.IN_PROGRESS, S.IN_PROGRESS, INSTALLING, TARGET_REFRESH_LOOKS - 1, False, id="installing-3-looks"
        ),
        pytest.param(
            S.IN_PROGRESS,
            S.IN_PROGRESS,
            INSTALLING,
            TARGET_REFRESH_LOOKS,
            True,
            id="installing-every-4th-look",
        ),
        pytest.param(S.IN_PROGRESS, S.IN_PROGRESS, None, None, True, id="running-never-read"),
    ],
)
def test_which_looks_read_the_target(
    status: DeploymentStatus,
    seen: DeploymentStatus | None,
    last: Snapshot | None,
    since_read: int | None,
    read: bool,
) -> None:
    assert wants_target(status, seen, last, since_read) is read


@pytest.mark.parametrize(
    ("count", "batch", "calls", "charged"),
    [
        (1, 25, 1, [0]),
        (25, 25, 1, [0]),
        (26, 25, 2, [0, 25]),
        (51, 25, 3, [0, 25, 50]),
        (20, 20, 1, [0]),
        (41, 20, 3, [0, 20, 40]),
    ],
)
def test_batch_calls_are_charged_to_the_first_of_each_batch(
    count: int, batch: int, calls: int, charged: list[int]
) -> None:
    ids = [f"d-{i:09d}" for i in range(count)]
    shares = batch_shares(ids, batch)
    assert sum(shares.values()) == calls
    assert [i for i, deployment_id in enumerate(ids) if shares[deployment_id]] == charged


def test_an_id_asked_twice_is_read_and_charged_once() -> None:
    assert batch_shares(["d-1", "d-2", "d-1"], 25) == {"d-1": 1, "d-2": 0}


def test_the_batch_sizes_are_the_adapters() -> None:
    # the shares must describe the calls the adapters make
    assert CODEDEPLOY_BATCH == codedeploy_api._BATCH_SIZE == 25
    assert ECS_BATCH == ecs_api.DESCRIBE_ARNS_LIMIT == 20
