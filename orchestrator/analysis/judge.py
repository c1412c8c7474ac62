"""The canary judge: green against blue over the same window, metric by metric, then one verdict.

Pure and standard library only: the analysis Lambda and the ECS judge hook import it, so it must
cost their cold start nothing beyond its own bytecode (no scipy, no numpy; scipy is the tests'
oracle). The method follows Kayenta's (Netflix ACA judge, spinnaker/kayenta ``kayenta-judge``):

1. per metric, a two-sided Mann-Whitney U test of green's samples against blue's (one sample per
   period, e.g. the 5xx rate of each minute), with the effect measured as the relative change of the
   means (Kayenta's ``MannWhitneyClassifier`` reports mean(experiment) / mean(control));
2. a metric fails when the difference is significant, in the direction that is bad for it and larger
   than its tolerance; otherwise it passes; too few samples on either side make it INCONCLUSIVE;
3. the score is the weight of the passing metrics (weights add up to 100), as Kayenta's
   ``WeightedSumScorer`` counts a metric without data as not passing; a critical metric that fails
   fails the whole judgement (Kayenta's ``criticalFailures``);
4. the no-data rule, stricter than Kayenta's (which scores without the missing metrics): a window in
   which green served fewer requests than the minimum, or a metric without enough samples that could
   still change the outcome, makes the judgement INCONCLUSIVE, never PASS, and says what is missing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.analysis.settings import AnalysisSettings, MetricSettings

# The samples every judgement needs besides its metrics: the RequestCount of each period, so the
# no-data rule can say "green served 12 requests" (sources.py reads it with the metrics).
REQUESTS = "requests"

# The exact distribution of U is used when a sample is this small and nothing ties, as
# scipy.stats.mannwhitneyu's method="auto" does (its _mwu_choose_method: exact unless both samples
# are larger than 8, asymptotic whenever there are ties, since the exact test is not tie-corrected).
EXACT_MAX_SIZE = 8


class Verdict(StrEnum):
    """The outcome of one metric or of a whole judgement."""

    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"

    @property
    def stops_deployment(self) -> bool:
        """Only a FAIL stops a deployment: MARGINAL and INCONCLUSIVE let it go on, watched."""
        return self is Verdict.FAIL


@dataclass(frozen=True)
class MetricSamples:
    """One metric's samples (one value per sample period) on each side, oldest first."""

    green: tuple[float, ...]
    blue: tuple[float, ...]


@dataclass(frozen=True)
class MannWhitney:
    """A two-sided Mann-Whitney U test: U of the first sample (green), p, and how p was found."""

    u: float
    p: float
    method: str  # "exact" or "asymptotic" (normal approximation, tie and continuity corrected)


@dataclass(frozen=True)
class Summary:
    """What a person needs to read one side of a metric: how many samples, their mean and median."""

    count: int
    mean: float | None
    median: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            return cls(0, None, None)
        return cls(len(values), statistics.fmean(values), statistics.median(values))


@dataclass(frozen=True)
class MetricJudgement:
    """One metric's row of the judge's table."""

    name: str
    blue: Summary
    green: Summary
    u: float | None
    p: float | None
    effect: float | None  # relative change of the mean, green against blue (0.4 = +40 %)
    verdict: Verdict
    why: str
    weight: float
    critical: bool


@dataclass(frozen=True)
class Judgement:
    """The judge's answer for one window: a verdict, a score (None when not scored), the rows, why."""

    verdict: Verdict
    score: float | None
    metrics: tuple[MetricJudgement, ...]
    reason: str
    green_requests: float
    blue_requests: float


# --- Mann-Whitney U --------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` and the size of each group of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for index in order[start : end + 1]:
            ranks[index] = (start + end) / 2 + 1
        ties.append(end - start + 1)
        start = end + 1
    return ranks, ties


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _asymptotic_p(u: float, n1: int, n2: int, ties: Sequence[int]) -> float:
    """Two-sided p by the normal approximation, tie-corrected, with a continuity correction of 1/2
    (as scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True))."""
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties)
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:  # every value equal: nothing tells the samples apart
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return min(1.0, 2 * _normal_sf(z))


@cache
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1+n2, n1) orderings give each U = 0 .. n1*n2 (no ties): the coefficients
    of the Gaussian binomial [n1+n2 choose n1] in q, built one factor (1-q^(n2+i))/(1-q^i) at a time."""
    counts = [1] + [0] * (n1 * n2)
    for i in range(1, n1 + 1):
        for power in range(n1 * n2, n2 + i - 1, -1):  # multiply by (1 - q^(n2+i))
            counts[power] -= counts[power - n2 - i]
        for power in range(i, n1 * n2 + 1):  # divide by (1 - q^i)
            counts[power] += counts[power - i]
    return tuple(counts)


def _exact_p(u: float, n1: int, n2: int) -> float:
    """Two-sided exact p: twice P(U >= u) with u the larger of U1 and U2 (no ties)."""
    counts = _u_counts(min(n1, n2), max(n1, n2))  # the distribution is symmetric in n1, n2
    at_least = sum(counts[math.ceil(u) :])
    return min(1.0, 2 * at_least / math.comb(n1 + n2, n1))


def mann_whitney_u(green: Sequence[float], blue: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test of ``green`` against ``blue`` (both non-empty).

    U is green's statistic (scipy's ``statistic``: R1 - n1(n1+1)/2). p is exact when a sample has at
    most 8 values and nothing ties, else from the tie-corrected normal approximation.
    """
    n1, n2 = len(green), len(blue)
    if not n1 or not n2:
        raise ValueError("the Mann-Whitney U test needs at least one value on each side")
    ranks, ties = _ranks([*green, *blue])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if min(n1, n2) <= EXACT_MAX_SIZE and all(t == 1 for t in ties):
        return MannWhitney(u1, _exact_p(u, n1, n2), "exact")
    return MannWhitney(u1, _asymptotic_p(u, n1, n2, ties), "asymptotic")


# --- One metric ------------------------------------------------------------------------------


def relative_change(green: float, blue: float) -> float:
    """green / blue - 1; from a blue of 0: 0 when green is 0 too, else +/- infinity."""
    if blue == 0:
        return 0.0 if green == 0 else math.copysign(math.inf, green)
    return green / abs(blue) - (1 if blue > 0 else -1)


def _bad_side(change: float, direction: str) -> bool:
    """Whether a change of this sign is the bad one for the metric (its ``direction``)."""
    if direction == "increase":
        return change > 0
    if direction == "decrease":
        return change < 0
    return change != 0


def _percent(value: float) -> str:
    return f"{value:+.0%}" if math.isfinite(value) else ("+inf" if value > 0 else "-inf")


def _classify(
    samples: MetricSamples, metric: MetricSettings, settings: AnalysisSettings, test: MannWhitney
) -> tuple[Verdict, str]:
    """PASS or FAIL for a metric with enough samples on both sides, and why."""
    green, blue = statistics.fmean(samples.green), statistics.fmean(samples.blue)
    effect = relative_change(green, blue)
    if test.p >= 1 - settings.confidence:
        return Verdict.PASS, f"no significant difference (p={test.p:.3g})"
    if not _bad_side(green - blue, metric.direction):
        return Verdict.PASS, f"significant but not worse ({_percent(effect)})"
    if abs(green - blue) <= metric.min_delta:
        return Verdict.PASS, f"worse by {abs(green - blue):.3g}, within min_delta {metric.min_delta:g}"
    if abs(effect) <= metric.tolerance:
        return Verdict.PASS, f"{_percent(effect)}, within the {metric.tolerance:.0%} tolerance"
    return Verdict.FAIL, f"{_percent(effect)} (p={test.p:.3g}), beyond the {metric.tolerance:.0%} tolerance"


def judge_metric(
    name: str, samples: MetricSamples, metric: MetricSettings, settings: AnalysisSettings
) -> MetricJudgement:
    """One metric's verdict: PASS, FAIL or INCONCLUSIVE (too few samples on a side), with why."""
    blue, green = Summary.of(samples.blue), Summary.of(samples.green)
    short = [
        f"{side} has {count} sample{'s' * (count != 1)}"
        for side, count in (("green", green.count), ("blue", blue.count))
        if count < max(settings.min_samples, 1)
    ]
    if short:
        why = f"{' and '.join(short)}, needs {settings.min_samples}"
        return MetricJudgement(
            name, blue, green, None, None, None, Verdict.INCONCLUSIVE, why, metric.weight, metric.critical
        )
    assert green.mean is not None and blue.mean is not None  # both sides have samples
    test = mann_whitney_u(samples.green, samples.blue)
    verdict, why = _classify(samples, metric, settings, test)
    effect = relative_change(green.mean, blue.mean)
    return MetricJudgement(
        name, blue, green, test.u, test.p, effect, verdict, why, metric.weight, metric.critical
    )


# --- The whole judgement ---------------------------------------------------------------------


def _requests(samples: Mapping[str, MetricSamples]) -> tuple[float, float]:
    counts = samples.get(REQUESTS, MetricSamples((), ()))
    return math.fsum(counts.green), math.fsum(counts.blue)


def _verdict_of(score: float, settings: AnalysisSettings) -> Verdict:
    if score >= settings.pass_score:
        return Verdict.PASS
    if score >= settings.marginal_score:
        return Verdict.MARGINAL
    return Verdict.FAIL


def _names(rows: Sequence[MetricJudgement]) -> str:
    return ", ".join(row.name for row in rows)


def _decide(rows: tuple[MetricJudgement, ...], settings: AnalysisSettings) -> tuple[Verdict, float, str]:
    """The verdict, score and reason from the metric rows (green served enough requests)."""
    score = math.fsum(row.weight for row in rows if row.verdict is Verdict.PASS)
    failed = [row for row in rows if row.verdict is Verdict.FAIL]
    missing = [row for row in rows if row.verdict is Verdict.INCONCLUSIVE]
    critical = [row for row in failed if row.critical]
    if critical:
        return Verdict.FAIL, score, f"critical metric {_names(critical)} failed: {critical[0].why}"
    verdict = _verdict_of(score, settings)
    if missing:
        # What the metrics without data could still bring: if even their passing would not lift the
        # score to marginal, the evidence at hand is enough to fail; otherwise nothing is decided.
        best = score + math.fsum(row.weight for row in missing)
        if _verdict_of(best, settings) is Verdict.FAIL:
            return (
                Verdict.FAIL,
                score,
                f"score {score:.0f} < {settings.marginal_score:g}: {_names(failed)} failed",
            )
        detail = "; ".join(f"{row.name}: {row.why}" for row in missing)
        return Verdict.INCONCLUSIVE, score, f"not enough data ({detail})"
    if verdict is Verdict.PASS:
        return verdict, score, f"score {score:.0f} >= {settings.pass_score:g}"
    threshold = settings.marginal_score if verdict is Verdict.FAIL else settings.pass_score
    return verdict, score, f"score {score:.0f} < {threshold:g}: {_names(failed)} failed"


def judge(samples: Mapping[str, MetricSamples], settings: AnalysisSettings) -> Judgement:
    """Judge green against blue over one window: every metric of ``settings``, then one verdict."""
    green_requests, blue_requests = _requests(samples)
    empty = MetricSamples((), ())
    rows = tuple(
        judge_metric(name, samples.get(name, empty), metric, settings)
        for name, metric in settings.metrics.items()
    )
    if green_requests < settings.min_requests:
        reason = (
            "no green traffic yet"
            if green_requests == 0
            else f"green served {green_requests:g} requests, needs {settings.min_requests}"
        )
        return Judgement(Verdict.INCONCLUSIVE, None, rows, reason, green_requests, blue_requests)
    verdict, score, reason = _decide(rows, settings)
    return Judgement(verdict, score, rows, reason, green_requests, blue_requests)
