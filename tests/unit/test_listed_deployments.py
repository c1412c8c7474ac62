"""The arithmetic of a fleet run's waves over its deployments' own times (sandbox.listed_deployments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.listed_deployments import Listed, wave_timing

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def d(start: float, end: float | None) -> Listed:
    done = None if end is None else T0 + timedelta(seconds=end)
    return Listed("d", T0 + timedelta(seconds=start), done, "Succeeded")


@pytest.mark.parametrize(
    ("waves", "longest", "gaps", "span", "ordered"),
    [
        ({1: [d(0, 100)]}, (100.0,), (), 100.0, True),
        # wave 2 starts 5 s after wave 1's last completes; each wave's longest counts
        ({1: [d(0, 100), d(1, 60)], 2: [d(105, 205), d(106, 150)]}, (100.0, 100.0), (5.0,), 205.0, True),
        # created at wave 1's very end (the same instant): in order
        ({1: [d(0, 100)], 2: [d(100, 150)]}, (100.0, 50.0), (0.0,), 150.0, True),
        # CodeDeploy's millisecond: a create 0.5 ms before an ECS completion is the same instant
        ({1: [d(0, 100.0005)], 2: [d(100, 150)]}, (100.0005, 50.0), (-0.0005,), 150.0, True),
        # a wave-2 deployment created before wave 1 ended: out of order
        ({1: [d(0, 100)], 2: [d(90, 150), d(101, 120)]}, (100.0, 60.0), (-10.0,), 150.0, False),
        # waves numbered with a hole (an empty wave is skipped)
        ({1: [d(0, 10)], 2: [], 3: [d(12, 20)]}, (10.0, 8.0), (2.0,), 20.0, True),
    ],
)
def test_wave_timing(
    waves: dict[int, list[Listed]],
    longest: tuple[float, ...],
    gaps: tuple[float, ...],
    span: float,
    ordered: bool,
) -> None:
    timing = wave_timing(waves)
    assert timing.longest == pytest.approx(longest)
    assert timing.gaps == pytest.approx(gaps)
    assert timing.span == pytest.approx(span)
    assert timing.ordered is ordered
    assert timing.sum_of_longest == pytest.approx(sum(longest))


def test_a_running_deployment_has_no_timing_yet() -> None:
    with pytest.raises(ValueError, match="not completed"):
        wave_timing({1: [d(0, 10), d(1, None)]})
