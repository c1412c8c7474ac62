"""The canary judge against the static alarms on subtle regressions, and its false positives.

For each canary, users send ``--rate`` requests per virtual second (default 20) for ``--minutes``
virtual minutes of a canary10 traffic window (10 % to green), each request recorded as the sandbox's
routers record it (``sandbox.load_balancer.listeners.target_datapoints``: RequestCount,
TargetResponseTime, HTTPCode_Target_5XX_Count only for a 5xx) in the sandbox's ``MetricStore``.
Requests arrive as a Poisson process; each answer is a 5xx with the side's error rate and takes a
log-normal service time (median 40 ms, sigma 0.5: p99 ~ 128 ms), all from one seed per canary, so
runs repeat. Blue is the healthy baseline (0.5 % 5xx); green is one of:

- ``healthy``: exactly blue's distribution (every FAIL is a false positive);
- ``5xx``: 3 % 5xx instead of 0.5 %;
- ``latency``: every service time x 1.4 (p99 +40 %).

Two detectors watch the same store, on the same virtual clock:

- the static alarms bluegreen ships for product-service in dev (alarms/*.yaml, rendered by
  ``orchestrator.alarms.definitions`` for blue and green target groups), evaluated every 10 virtual
  seconds by the sandbox's alarm evaluator (``sandbox.alarm_eval.evaluation``, the same metric math
  and M-of-N rules); detected = the first evaluation in ALARM;
- the judge: every virtual minute (the analysis schedule), ``orchestrator.analysis.sources.read_samples``
  over [shift, now] through a CloudWatch stand-in that answers GetMetricData from the same store
  (``StoreMetrics``: the period's statistic of the raw samples, as the sandbox's moto holds them),
  then ``orchestrator.analysis.judge.judge`` with product-service's catalog settings (services.yaml);
  detected = the first FAIL.
Printed in one run: per scenario, the detection rate of each detector over ``--canaries`` canaries,
the median [min..max] virtual seconds from the shift to detection, and for ``healthy`` the false
positive rate (goal: at most 5 % for the judge).

What this is not: no HTTP, no emulator, no Lambda. At 20 requests per virtual second a real sandbox
world runs ~20 x its time scale requests per real second per service; the 2-core machine serves
~100, so a world would have to run at ~5x, an hour per 30 canaries. The detectors, the metric store,
the alarm definitions and the judge's reads are the real ones; the users are this file's.

``--world N`` adds, under each scenario's row, the same columns for canaries through REAL sandbox
worlds (bench/judge_world.py: HTTP users at ``--rate`` per virtual second per service, time scale
``--world-time-scale``, the judge reading moto's CloudWatch as the analysis Lambda does, the static
alarms set by the world's evaluator), so a reader sees whether the synthetic model agrees with it:
N canaries per regression and ``--world-healthy`` (default N) healthy ones, dealt into worlds of
``--world-services`` services deploying at once (default 1: a world per canary). Every world canary
is listed with what its users got (requests per virtual second, share on green); one that got less
than 95 % of the rate, or never shifted, is named, and the run exits 1. Off by default: a world's
users cost ``rate x time scale x services`` real requests a second, whatever K. A 30 s probe of one
world of 11 services at 20 users per virtual second each and time scale 1.3 (286 real requests a
second, no deployments, load 1.7) served 19.6 to 19.8 per service; 20 healthy canaries at that rate
are two such worlds, each ~15 virtual minutes of window plus ~2 to deploy and shift.

    .venv/bin/python bench/judge.py [--rate 20] [--minutes 15] [--canaries 20] [--healthy 40] [--seed 1]
        [--world N] [--world-healthy H] [--world-services K] [--world-time-scale 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "bench"))  # judge_world, the --world cross-check

from orchestrator.alarms.definitions import ServiceResources, load_definitions, render_request  # noqa: E402
from orchestrator.analysis.judge import Verdict, judge  # noqa: E402
from orchestrator.analysis.sources import Sides, read_samples  # noqa: E402
from orchestrator.catalog import ResolvedService, load_catalog  # noqa: E402
from sandbox.alarm_eval import evaluation  # noqa: E402
from sandbox.alarm_state import AlarmState, statistic  # noqa: E402
from sandbox.load_balancer.balancer import ELB_NAMESPACE  # noqa: E402
from sandbox.load_balancer.listeners import target_datapoints  # noqa: E402
from sandbox.metrics import MetricStore, metric_key  # noqa: E402

SERVICE = "product-service"
BLUE = "targetgroup/product-service-blue/1111111111111111"
GREEN = "targetgroup/product-service-green/2222222222222222"
LOAD_BALANCER = "app/doa-market-dev-alb/3333333333333333"
CANARY_SHARE = 0.10
BASELINE_5XX = 0.005
MEDIAN_MS, SIGMA = 40.0, 0.5
SCENARIOS = {"5xx": (0.03, 1.0), "latency": (BASELINE_5XX, 1.4), "healthy": (BASELINE_5XX, 1.0)}
EVALUATOR_TICK = 10.0
JUDGE_EVERY = 60.0
START = 1_800_000_000.0  # a minute boundary; the shift happens 25 s into a minute


class StoreMetrics:
    """GetMetricData answered from a MetricStore (each query's statistic per period)."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    def get_metric_data(self, **request: Any) -> Mapping[str, Any]:
        start, end = request["StartTime"].timestamp(), request["EndTime"].timestamp()
        results = []
        for query in request["MetricDataQueries"]:
            stat = query["MetricStat"]
            metric, period = stat["Metric"], float(stat["Period"])
            key = metric_key(
                metric["Namespace"],
                metric["MetricName"],
                {d["Name"]: d["Value"] for d in metric["Dimensions"]},
            )
            times, values = [], []
            at = start
            while at < end:
                value = statistic(stat["Stat"], self.store.values(key, at, at + period))
                if value is not None:
                    times.append(datetime.fromtimestamp(at, UTC))
                    values.append(value)
                at += period
            results.append(
                {"Id": query["Id"], "Timestamps": times, "Values": values, "StatusCode": "Complete"}
            )
        return {"MetricDataResults": results}

    def list_metrics(self, **request: Any) -> Mapping[str, Any]:
        return {"Metrics": []}


def no_retry(what: str, call: Any) -> Any:
    return call()


def traffic(
    store: MetricStore, rng: random.Random, rate: float, start: float, end: float, green: tuple[float, float]
) -> None:
    """Users' requests over [start, end): 10 % to green (its error rate and latency factor)."""
    at = start
    while True:
        at += rng.expovariate(rate)
        if at >= end:
            return
        to_green = rng.random() < CANARY_SHARE
        error_rate, factor = green if to_green else (BASELINE_5XX, 1.0)
        status = 500 if rng.random() < error_rate else 200
        service_ms = MEDIAN_MS * rng.lognormvariate(0.0, SIGMA) * factor
        dims = {"TargetGroup": GREEN if to_green else BLUE, "LoadBalancer": LOAD_BALANCER}
        for name, value in target_datapoints(status, service_ms):
            store.add(ELB_NAMESPACE, name, dims, at, value)


@dataclass
class Detection:
    judge_at: float | None  # virtual seconds after the shift of the first FAIL
    alarm_at: float | None  # ... of the first static alarm in ALARM
    alarm: str | None
    verdicts: dict[str, int]


def static_alarms(service: ResolvedService) -> list[dict[str, Any]]:
    definitions = load_definitions(load_catalog(REPO / "services.yaml"))
    resources = ServiceResources(
        target_group_blue=BLUE, target_group_green=GREEN, load_balancer=LOAD_BALANCER
    )
    return [
        {**render_request(alarm, service, resources), "StateValue": "OK"}
        for alarm in definitions.for_service(service)
        if alarm.kind in ("5xx-errors", "high-latency")  # the ones users' requests move
    ]


def one_canary(
    service: ResolvedService,
    alarms: Sequence[dict[str, Any]],
    scenario: str,
    seed: int,
    rate: float,
    minutes: float,
) -> Detection:
    store = MetricStore()
    rng = random.Random(seed)
    shift = START + 25.0
    end = shift + minutes * 60.0
    # blue's history before the shift (the alarms' evaluation periods), then the canary window
    traffic(store, rng, rate, START - 600.0, shift, (BASELINE_5XX, 1.0))
    traffic(store, rng, rate, shift, end, SCENARIOS[scenario])
    metrics = StoreMetrics(store)
    settings = service.settings.analysis
    sides = Sides(GREEN, BLUE, LOAD_BALANCER)
    judge_at = alarm_at = None
    fired = None
    verdicts: dict[str, int] = {}
    states = {alarm["AlarmName"]: AlarmState.OK for alarm in alarms}
    now, next_judge = shift, START + JUDGE_EVERY  # the schedule fires on the minute
    while now <= end:
        now += EVALUATOR_TICK
        for alarm in alarms:
            state = evaluation({**alarm, "StateValue": states[alarm["AlarmName"]].value}, store, now).state
            states[alarm["AlarmName"]] = state
            if state is AlarmState.ALARM and alarm_at is None:
                alarm_at, fired = now - shift, alarm["AlarmName"]
        if now >= next_judge and judge_at is None:
            next_judge += JUDGE_EVERY
            window = (datetime.fromtimestamp(shift, UTC), datetime.fromtimestamp(now, UTC))
            samples = read_samples(metrics, service, window, settings, sides=sides, call=no_retry)
            verdict = judge(samples, settings).verdict
            verdicts[verdict.value] = verdicts.get(verdict.value, 0) + 1
            if verdict is Verdict.FAIL:
                judge_at = now - shift
    return Detection(judge_at, alarm_at, fired, verdicts)


def summary(times: Sequence[float | None], total: int) -> str:
    found = sorted(t for t in times if t is not None)
    rate = f"{len(found)}/{total} ({100.0 * len(found) / total:.0f} %)"
    if not found:
        return f"{rate}, -"
    return f"{rate}, {statistics.median(found):.0f} s [{found[0]:.0f}..{found[-1]:.0f}]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="user requests per virtual second")
    parser.add_argument("--minutes", type=float, default=15.0, help="virtual minutes of canary window")
    parser.add_argument("--canaries", type=int, default=20, help="canaries per regression")
    parser.add_argument("--healthy", type=int, default=40, help="healthy canaries (false positives)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--world",
        type=int,
        default=0,
        metavar="N",
        help="also run N canaries per regression through real sandbox worlds (bench/judge_world.py)",
    )
    parser.add_argument(
        "--world-healthy", type=int, default=None, metavar="H", help="healthy world canaries (default: N)"
    )
    parser.add_argument(
        "--world-services", type=int, default=1, metavar="K", help="services (canaries) per world, at once"
    )
    parser.add_argument("--world-time-scale", type=float, default=5.0, help="the worlds' time scale")
    args = parser.parse_args(argv)
    service = load_catalog(REPO / "services.yaml").resolve(SERVICE, "dev")
    alarms = static_alarms(service)
    started = time.monotonic()
    settings = service.settings.analysis
    print(
        f"{SERVICE} (dev) judge settings: {', '.join(settings.metrics)}; min {settings.min_requests} green "
        f"requests, {settings.min_samples} samples of {settings.sample_period_seconds} s; "
        f"users {args.rate:g}/virtual s, canary 10 % for {args.minutes:g} virtual min; static alarms: "
        + ", ".join(a["AlarmName"] for a in alarms),
        flush=True,
    )
    synthetic: dict[str, list[Detection]] = {}
    for scenario in ("5xx", "latency", "healthy"):
        count = args.healthy if scenario == "healthy" else args.canaries
        synthetic[scenario] = [
            one_canary(service, alarms, scenario, args.seed * 10_000 + n, args.rate, args.minutes)
            for n in range(count)
        ]
    world = run_worlds(args) if args.world or args.world_healthy else []
    header = f"{'scenario':<10} {'canaries':>8}  {'judge: detected, time to FAIL':<38}"
    print(header + " static alarms: detected, time to ALARM")
    for scenario, runs in synthetic.items():
        count = len(runs)
        judge_line = summary([r.judge_at for r in runs], count)
        alarm_line = summary([r.alarm_at for r in runs], count)
        print(f"{scenario:<10} {count:>8}  {judge_line:<38} {alarm_line}")
        if scenario == "healthy":
            print_false_positives(runs, count)
        if world:
            print_world(scenario, [r for r in world if r.scenario == scenario], args)
    problems = print_world_canaries(world, args.rate) if world else []
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


def print_false_positives(runs: Sequence[Any], count: int, label: str = "") -> None:
    fp_judge = sum(r.judge_at is not None for r in runs)
    fp_alarm = sum(r.alarm_at is not None for r in runs)
    print(
        f"{label}false positives over {count} healthy canaries: judge {fp_judge} "
        f"({100.0 * fp_judge / count:.1f} %, goal <= 5 %), "
        f"static alarms {fp_alarm} ({100.0 * fp_alarm / count:.1f} %)"
    )


def run_worlds(args: argparse.Namespace) -> list[Any]:
    """Every world canary of the run (bench/judge_world.py), world after world; progress on stderr."""
    from judge_world import plan_worlds, world_run

    healthy = args.world if args.world_healthy is None else args.world_healthy
    counts = {"5xx": args.world, "latency": args.world, "healthy": healthy}
    plan = plan_worlds(counts, args.world_services)
    runs: list[Any] = []
    for number, scenarios in enumerate(plan, start=1):
        print(
            f"world {number}/{len(plan)}: {len(scenarios)} services at once ({', '.join(scenarios)}), "
            f"time scale {args.world_time_scale:g}",
            file=sys.stderr,
            flush=True,
        )
        batch = world_run(scenarios, args.rate, args.minutes, args.world_time_scale, number)
        print(f"world {number}/{len(plan)}: {batch[0].wall:.0f} s wall", file=sys.stderr, flush=True)
        runs += batch
    return runs


def print_world(scenario: str, runs: Sequence[Any], args: argparse.Namespace) -> None:
    """The same columns for a scenario's world canaries, under the synthetic row, with what the
    worlds served (bench/judge_world.py)."""
    from judge_world import GREEN_FAULTS, summary_world

    shifted = [r for r in runs if r.shifted]
    count = len(shifted)
    if not count:
        return
    judge_line = summary([r.judge_at for r in shifted], count)
    alarm_line = summary([r.alarm_at for r in shifted], count)
    served = summary_world(runs)
    print(
        f"{'  world':<10} {count:>8}  {judge_line:<38} {alarm_line}   [green {GREEN_FAULTS[scenario]}; "
        f"alarm fired: {served['alarms']}; users {served['rate']} virtual, {served['green']} on green]"
    )
    if scenario == "healthy":
        print_false_positives(shifted, count, "  world: ")


def print_world_canaries(runs: Sequence[Any], rate: float) -> list[str]:
    """One line per world canary (what it served and saw), then the worlds' shape and wall, and
    any canary that does not count (``served_problems``), returned."""
    from judge_world import served_problems

    print("world canaries (judge / static alarm: virtual s after the shift; users per virtual s, on green):")
    for r in runs:
        verdicts = ", ".join(f"{v} {n}" for v, n in sorted(r.verdicts.items())) or "-"
        judged = "-" if r.judge_at is None else f"{r.judge_at:.0f} s"
        alarmed = (
            "-" if r.alarm_at is None else f"{r.alarm_at:.0f} s ({r.alarm.removeprefix(r.service + '-')})"
        )
        print(
            f"  world {r.world} {r.service:<22} {r.scenario:<8} judge {judged:<6} alarm {alarmed:<24} "
            f"{r.rate:5.1f}/s {100 * r.green_share:5.1f} %  verdicts: {verdicts}"
        )
    walls = {r.world: r.wall for r in runs}
    shed = {r.world: r.shed for r in runs}
    print(
        f"worlds: {len(walls)}, wall {sum(walls.values()):.0f} s "
        f"({', '.join(f'{w:.0f}' for w in walls.values())}); requests shed (in flight full): "
        f"{', '.join(str(n) for n in shed.values())}"
    )
    problems = served_problems(runs, rate)
    for problem in problems:
        print(f"NOT MEASURED AS ASKED: {problem}")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
