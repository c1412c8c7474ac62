"""The canary judge (orchestrator/analysis/judge.py): Mann-Whitney U against scipy, per-metric
verdicts, the weighted score, critical metrics and the no-data rule, as tables."""

from __future__ import annotations

import math
import random

import pytest

from orchestrator.analysis.judge import (
    REQUESTS,
    MetricSamples,
    Verdict,
    judge,
    judge_metric,
    mann_whitney_u,
    relative_change,
)
from orchestrator.analysis.settings import AnalysisSettings, MetricSettings

stats = pytest.importorskip("scipy.stats")  # the oracle: scipy is in the dev extra only

BLUE_5XX = (0.004, 0.005, 0.006, 0.005, 0.004, 0.006, 0.005, 0.005)
BLUE_P99 = (0.210, 0.220, 0.205, 0.215, 0.230, 0.212, 0.218, 0.224)


def _settings(**overrides: object) -> AnalysisSettings:
    base: dict[str, object] = {
        "enabled": True,
        "metrics": {
            "5xx_rate": {"weight": 50, "critical": True, "tolerance": 0.5, "min_delta": 0.005},
            "p99_latency": {"weight": 30, "tolerance": 0.2},
            "p50_latency": {"weight": 20, "tolerance": 0.25},
        },
        "min_requests": 100,
        "min_samples": 5,
    }
    return AnalysisSettings.model_validate({**base, **overrides})


def _scaled(values: tuple[float, ...], factor: float) -> tuple[float, ...]:
    return tuple(value * factor for value in values)


def _window(
    errors: float = 1.0, p99: float = 1.0, p50: float = 1.0, green_requests: float = 120.0, n: int = 8
) -> dict[str, MetricSamples]:
    """Samples of one window: green is blue with each metric multiplied by a factor."""
    blue_p50 = _scaled(BLUE_P99, 0.4)
    return {
        REQUESTS: MetricSamples((green_requests / n,) * n, (1080.0,) * n),
        "5xx_rate": MetricSamples(_scaled(BLUE_5XX, errors)[:n], BLUE_5XX[:n]),
        "p99_latency": MetricSamples(_scaled(BLUE_P99, p99)[:n], BLUE_P99[:n]),
        "p50_latency": MetricSamples(_scaled(blue_p50, p50)[:n], blue_p50[:n]),
    }


# --- Mann-Whitney U against scipy ------------------------------------------------------------

_rng = random.Random(14)
ORACLE_CASES = [
    pytest.param((1.0, 2.0, 3.0), (4.0, 5.0, 6.0), id="separated-small-exact"),
    pytest.param((4.0, 5.0, 6.0, 7.0, 8.0), (1.0, 2.0, 3.0), id="separated-other-way"),
    pytest.param((1.0, 3.0, 5.0, 7.0), (2.0, 4.0, 6.0, 8.0), id="interleaved"),
    pytest.param((1.0, 1.0, 2.0, 2.0, 3.0), (2.0, 2.0, 3.0, 3.0, 4.0), id="many-ties"),
    pytest.param((0.0,) * 6 + (1.0,), (0.0,) * 7, id="mostly-zero-rates"),
    pytest.param(
        tuple(_rng.gauss(0.20, 0.02) for _ in range(30)),
        tuple(_rng.gauss(0.21, 0.02) for _ in range(30)),
        id="normal-30",
    ),
    pytest.param(
        tuple(_rng.gauss(0.28, 0.05) for _ in range(12)),
        tuple(_rng.gauss(0.20, 0.05) for _ in range(9)),
        id="shifted-12-9",
    ),
    pytest.param(
        tuple(float(_rng.randint(0, 4)) for _ in range(40)),
        tuple(float(_rng.randint(0, 3)) for _ in range(50)),
        id="integer-counts-ties",
    ),
    pytest.param(
        tuple(_rng.random() for _ in range(5)), tuple(_rng.random() for _ in range(60)), id="exact-5-vs-60"
    ),
    pytest.param((0.5,), (0.1, 0.2), id="one-and-two"),
]


@pytest.mark.parametrize(("green", "blue"), ORACLE_CASES)
def test_mann_whitney_agrees_with_scipy_auto(green: tuple[float, ...], blue: tuple[float, ...]) -> None:
    ours = mann_whitney_u(green, blue)
    theirs = stats.mannwhitneyu(green, blue, alternative="two-sided", method="auto")
    assert ours.u == pytest.approx(theirs.statistic, abs=1e-9)
    assert ours.p == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("green", "blue"), ORACLE_CASES)
def test_mann_whitney_normal_approximation_agrees_with_scipy_asymptotic(
    green: tuple[float, ...], blue: tuple[float, ...]
) -> None:
    from orchestrator.analysis import judge as module

    ranks, ties = module._ranks([*green, *blue])
    u1 = sum(ranks[: len(green)]) - len(green) * (len(green) + 1) / 2
    u = max(u1, len(green) * len(blue) - u1)
    ours = module._asymptotic_p(u, len(green), len(blue), ties)
    theirs = stats.mannwhitneyu(green, blue, alternative="two-sided", method="asymptotic")
    assert ours == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


def _samples_with_u(u: int, n1: int, n2: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Green and blue without ties whose U (green's) is ``u``: each green value sits above k blues."""
    blue = tuple(float(j) for j in range(n2))
    above = [min(n2, u - n2 * i) if u > n2 * i else 0 for i in range(n1)]  # sums to u
    return tuple(k - 0.5 + i / (2 * n1 + 2) for i, k in enumerate(above)), blue


@pytest.mark.parametrize(("n1", "n2"), [(1, 1), (2, 7), (5, 5), (8, 8), (3, 40), (9, 4)])
def test_exact_p_agrees_with_scipy_at_every_u(n1: int, n2: int) -> None:
    for u in range(0, n1 * n2 + 1, max(1, n1 * n2 // 24)):
        green, blue = _samples_with_u(u, n1, n2)
        ours = mann_whitney_u(green, blue)
        theirs = stats.mannwhitneyu(green, blue, alternative="two-sided", method="exact")
        assert (ours.u, ours.method) == (u, "exact")
        assert ours.p == pytest.approx(theirs.pvalue, rel=1e-12)


@pytest.mark.parametrize(
    ("green", "blue", "p"),
    [
        ((0.3,) * 10, (0.3,) * 10, 1.0),  # all equal: nothing tells them apart (no division by zero)
        ((0.0,) * 5, (0.0,) * 5, 1.0),
    ],
)
def test_all_values_equal_gives_p_one(green: tuple[float, ...], blue: tuple[float, ...], p: float) -> None:
    result = mann_whitney_u(green, blue)
    assert result.p == p
    assert result.u == len(green) * len(blue) / 2


def test_mann_whitney_needs_a_value_on_each_side() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        mann_whitney_u((), (1.0,))


@pytest.mark.parametrize(
    ("green", "blue", "change"),
    [(1.4, 1.0, 0.4), (0.03, 0.005, 5.0), (0.0, 0.0, 0.0), (0.01, 0.0, math.inf), (0.5, 1.0, -0.5)],
)
def test_relative_change(green: float, blue: float, change: float) -> None:
    assert relative_change(green, blue) == pytest.approx(change)


# --- One metric --------------------------------------------------------------------------------

METRIC = MetricSettings(weight=100, tolerance=0.2)


@pytest.mark.parametrize(
    ("green", "blue", "metric", "verdict", "why"),
    [
        pytest.param(BLUE_P99, BLUE_P99, METRIC, Verdict.PASS, "no significant difference", id="identical"),
        pytest.param(_scaled(BLUE_P99, 1.4), BLUE_P99, METRIC, Verdict.FAIL, "+40%", id="p99-plus-40"),
        pytest.param(
            _scaled(BLUE_P99, 1.1),
            BLUE_P99,
            METRIC,
            Verdict.PASS,
            "within the 20% tolerance",
            id="p99-plus-10",
        ),
        pytest.param(
            _scaled(BLUE_P99, 0.6), BLUE_P99, METRIC, Verdict.PASS, "not worse", id="faster-is-fine"
        ),
        pytest.param(
            _scaled(BLUE_P99, 0.6),
            BLUE_P99,
            MetricSettings(weight=100, direction="decrease"),
            Verdict.FAIL,
            "-40%",
            id="decrease-is-bad",
        ),
        pytest.param(
            _scaled(BLUE_P99, 0.6),
            BLUE_P99,
            MetricSettings(weight=100, direction="either"),
            Verdict.FAIL,
            "-40%",
            id="either-way-is-bad",
        ),
        pytest.param(
            (0.001,) * 8,
            (0.0,) * 8,
            MetricSettings(weight=100, min_delta=0.005),
            Verdict.PASS,
            "within min_delta",
            id="zero-to-tiny-rate",
        ),
        pytest.param(
            (0.03, 0.028, 0.031, 0.033, 0.027, 0.03),
            (0.005, 0.004, 0.006, 0.005, 0.005, 0.004),
            MetricSettings(weight=100, tolerance=0.5, min_delta=0.005),
            Verdict.FAIL,
            "+",
            id="5xx-0.5-to-3",
        ),
        pytest.param(
            BLUE_P99[:4],
            BLUE_P99,
            METRIC,
            Verdict.INCONCLUSIVE,
            "green has 4 samples, needs 5",
            id="few-green",
        ),
        pytest.param(
            (), (), METRIC, Verdict.INCONCLUSIVE, "green has 0 samples and blue has 0 samples", id="no-data"
        ),
        pytest.param((0.2,) * 6, (0.2,) * 6, METRIC, Verdict.PASS, "p=1", id="all-ties"),
        # Boundaries (breaker14's hand mutations): exactly at the tolerance, at min_delta, at the
        # no-data minimums is still judged, and still passes.
        pytest.param(
            (12.5,) * 8,
            (10.0,) * 8,
            MetricSettings(weight=100, tolerance=0.25),
            Verdict.PASS,
            "+25%, within the 25% tolerance",
            id="exactly-at-tolerance",
        ),
        pytest.param(
            (0.25,) * 8,
            (0.125,) * 8,
            MetricSettings(weight=100, tolerance=0.0, min_delta=0.125),
            Verdict.PASS,
            "worse by 0.125, within min_delta 0.125",
            id="exactly-at-min-delta",
        ),
        pytest.param(
            BLUE_P99[:5],
            BLUE_P99[:5],
            METRIC,
            Verdict.PASS,
            "no significant difference",
            id="min-samples-exactly",
        ),
    ],
)
def test_metric_verdicts(
    green: tuple[float, ...], blue: tuple[float, ...], metric: MetricSettings, verdict: Verdict, why: str
) -> None:
    row = judge_metric("m", MetricSamples(green, blue), metric, _settings())
    assert (row.verdict, why in row.why) == (verdict, True), row.why


def test_a_metric_row_carries_the_test_and_the_effect() -> None:
    row = judge_metric("p99_latency", MetricSamples(_scaled(BLUE_P99, 1.4), BLUE_P99), METRIC, _settings())
    assert row.u == 64.0 and row.p is not None and row.p < 0.001
    assert row.effect == pytest.approx(0.4)
    assert row.green.count == row.blue.count == 8
    assert row.blue.mean == pytest.approx(sum(BLUE_P99) / 8)


# --- The whole judgement ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "verdict", "score", "reason"),
    [
        pytest.param(_window(), Verdict.PASS, 100, "score 100 >= 95", id="identical"),
        pytest.param(_window(p99=1.4), Verdict.FAIL, 70, "score 70 < 75: p99_latency failed", id="p99-up-40"),
        pytest.param(
            _window(p50=1.5), Verdict.MARGINAL, 80, "score 80 < 95: p50_latency failed", id="p50-only"
        ),
        pytest.param(
            _window(errors=6.0), Verdict.FAIL, 50, "critical metric 5xx_rate failed", id="one-critical-metric"
        ),
        pytest.param(
            _window(green_requests=0), Verdict.INCONCLUSIVE, None, "no green traffic yet", id="no-traffic"
        ),
        pytest.param(
            _window(green_requests=40),
            Verdict.INCONCLUSIVE,
            None,
            "green served 40 requests, needs 100",
            id="too-few-requests",
        ),
        pytest.param(
            _window(green_requests=100), Verdict.PASS, 100, "score 100 >= 95", id="exactly-min-requests"
        ),
        pytest.param(
            _window(n=3),
            Verdict.INCONCLUSIVE,
            0,
            "not enough data (5xx_rate: green has 3 samples and blue has 3 samples, needs 5",
            id="too-few-samples",
        ),
    ],
)
def test_judgements(
    window: dict[str, MetricSamples], verdict: Verdict, score: float | None, reason: str
) -> None:
    result = judge(window, _settings())
    assert (result.verdict, result.score) == (verdict, score)
    assert result.reason.startswith(reason), result.reason
    assert [row.name for row in result.metrics] == ["5xx_rate", "p99_latency", "p50_latency"]


def test_no_data_is_never_pass_even_when_every_metric_with_data_passes() -> None:
    window = _window()
    del window["p50_latency"]  # a metric without samples (CloudWatch had none)
    result = judge(window, _settings())
    assert result.verdict is Verdict.INCONCLUSIVE
    assert (
        result.reason == "not enough data (p50_latency: green has 0 samples and blue has 0 samples, needs 5)"
    )


def test_missing_data_does_not_hide_a_failure_the_rest_already_proves() -> None:
    # p99 (30) fails; even if p50 (20, no data) passed, 50 + 20 = 70 < 75: FAIL on the evidence.
    window = _window(p99=1.4)
    del window["p50_latency"]
    assert judge(window, _settings()).verdict is Verdict.FAIL


def test_a_critical_metric_without_data_leaves_the_judgement_inconclusive() -> None:
    window = _window()
    del window["5xx_rate"]
    result = judge(window, _settings())
    assert (result.verdict, result.score) == (Verdict.INCONCLUSIVE, 50)


def test_requests_are_counted_on_each_side() -> None:
    result = judge(_window(green_requests=120), _settings())
    assert (result.green_requests, result.blue_requests) == (120, 8 * 1080)


@pytest.mark.parametrize(("verdict", "stops"), [(v, v is Verdict.FAIL) for v in Verdict])
def test_only_fail_stops_a_deployment(verdict: Verdict, stops: bool) -> None:
    assert verdict.stops_deployment is stops


def test_a_critical_metric_that_fails_fails_even_a_passing_score() -> None:
    metrics = {
        "5xx_rate": {"weight": 5, "critical": True, "tolerance": 0.5, "min_delta": 0.005},
        "p99_latency": {"weight": 95},
    }
    result = judge(_window(errors=6.0), _settings(metrics=metrics))
    assert (result.verdict, result.score) == (Verdict.FAIL, 95)
    assert result.reason.startswith("critical metric 5xx_rate failed: +500%")
    lighter = judge(_window(errors=6.0), _settings(metrics={**metrics, "5xx_rate": {"weight": 5}}))
    assert lighter.verdict is Verdict.PASS  # the same failure, not critical: the score decides


@pytest.mark.parametrize(
    ("pass_score", "marginal_score", "verdict"),
    [
        pytest.param(80, 75, Verdict.PASS, id="score-at-pass"),
        pytest.param(95, 80, Verdict.MARGINAL, id="score-at-marginal"),
        pytest.param(95, 81, Verdict.FAIL, id="score-below-marginal"),
        pytest.param(80, 80, Verdict.PASS, id="no-marginal-band"),
    ],
)
def test_a_score_at_a_threshold_reaches_it(
    pass_score: float, marginal_score: float, verdict: Verdict
) -> None:
    # p50 (weight 20) fails, the rest passes: a score of exactly 80
    result = judge(_window(p50=1.5), _settings(pass_score=pass_score, marginal_score=marginal_score))
    assert (result.verdict, result.score) == (verdict, 80)
