"""How many users does a faulty release reach before bluegreen takes it back? Measured in the sandbox.

For each fault, each strategy (canary10, linear10, all-at-once) and each engine (CodeDeploy, and
Amazon ECS's native blue/green: the world provisions the same service for it, as `deploy --sandbox
--engine` does) one fresh world runs `bluegreen deploy --engine E` (the unchanged deploy path,
in-process) of product-service (dev) with a faulty replacement while simulated users send ``--rate``
requests per virtual second (default 20) to ``/browse``. Two faults by
default: ``error_rate=0.5`` on every path (the smoke checks through the test listener see it too),
and ``error_rate=0.5,path=/browse``, a bug only users' requests hit, so only traffic shifting and
alarms stand between it and the users. Reported, all in one run:

- users exposed: user requests answered by the faulty version before traffic was back on blue
  (and how many of those got a 5xx), and as a ratio to all-at-once's on the same engine and fault
  (issue 14's goal: canary10 at most 12 %);
- seconds (virtual) from the first bad datapoint (the first user request the faulty version
  answered) to the first alarm in ALARM (negative: the alarm already fired on the smoke checks'
  errors before users got there) and to traffic back on blue (the production listener forwarding
  nothing to the replacement's target group again, observed by polling moto for where the world's
  load balancer sends users: the listener's default action, or on the ECS engine its rule), and from
  the first alarm in ALARM to back on blue (issue 14's goal with a watcher attached: at most 15 s);
- with ``--stop-on-alarm`` (the default, as `deploy`) the watching CLI stops the deployment at the
  first ALARM it reads; ``--no-stop-on-alarm`` leaves it to the engine's own alarm poll (the
  figures before issue 14).
- the user requests the world served per virtual second while `deploy` ran (what ``--rate`` asked for,
  unless the machine could not keep up at this time scale), and the requests it could not serve
  (shed while ``max_in_flight`` waited, or failed), the outcome and the wall time.
``--timeline`` adds each run's hops on the virtual clock (users first on green, first bad answer, the
evaluator's first ALARM, the watcher's read that first found it, the stop request as the engine
received it, back on blue): where the seconds between the alarm and blue go.
Each cell is the median of ``--repeat`` runs (default 3) with the range in brackets: where a
minute boundary falls relative to the shift moves the figures by up to an alarm period, so run k of
every strategy and engine starts its deploy at the same second of the virtual minute
(``minute_phase``: the runs spread evenly over it). ``--probe-green`` has `deploy` probe green
through the test listener as well (orchestrator/analysis/probe.py).

    .venv/bin/python bench/exposure.py [--faults "error_rate=0.5;error_rate=0.5,path=/browse"]
        [--time-scale 40] [--strategies canary10,linear10,all-at-once] [--engines codedeploy,ecs]
        [--repeat 3] [--env dev] [--rate 20] [--no-stop-on-alarm] [--probe-green] [--timeline]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.cli import main as bluegreen  # noqa: E402
from orchestrator.time_scale import positive_number_arg  # noqa: E402
from orchestrator.vocabulary import EngineName  # noqa: E402
from sandbox.world import DEFAULT_TIME_SCALE, World, WorldOptions  # noqa: E402

SERVICE = "product-service"
STRATEGIES = ("canary10", "linear10", "all-at-once")
ENGINES = (EngineName.CODEDEPLOY, EngineName.ECS)
# After an unrolled-back release, how long (virtual seconds) users are counted before we stop looking.
OBSERVE_AFTER_SUCCESS = 600.0


@dataclass
class Result:
    strategy: str
    engine: EngineName
    outcome: str
    exposed: int
    exposed_errors: int
    users_total: int
    to_alarm: float | None
    to_blue: float | None
    alarm_to_blue: float | None
    wall: float
    served: float  # user requests answered per virtual second while the deployment ran
    shed: int  # user requests due but not sent: max_in_flight were still waiting for answers
    failed: int  # user requests sent but not answered (connection refused or reset, timed out)
    hops: dict[str, float | None]  # virtual seconds since `deploy` began: green, bad, alarm, stop, blue
    stopped_by: str = ""  # who stopped it: the watcher's alarm read, its green probe, or the engine


class ListenerWatch:
    """Polls the production listener; records when the replacement first and last had weight.

    Where the listener sends users is the world's load balancer's reading of moto (its default
    action, or the rule ECS moves traffic on for a service whose listeners route by a rule), so the
    watch is the same on both engines."""

    def __init__(self, world: World, interval: float = 0.02) -> None:
        self.world = world
        self.interval = interval
        self.green_since: float | None = None
        self.back_on_blue: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        item = next(i for i in self.world.infra if i.name == SERVICE)
        original_group = item.target_groups[item.service.settings.target_group_blue]
        balancer = self.world.load_balancer
        assert balancer is not None
        while not self._stop.wait(self.interval):
            weights = balancer.current_weights(item.production_listener_arn)
            now = self.world.clock.now()
            other = sum(weight for group, weight in weights if group != original_group)
            if other > 0 and self.green_since is None:
                self.green_since = now
            elif other == 0 and self.green_since is not None and self.back_on_blue is None:
                self.back_on_blue = now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# Virtual times at which an engine was asked to stop a deployment (StopDeployment on the CodeDeploy
# emulator, StopServiceDeployment on the ECS one), for ``--timeline``.
STOP_REQUESTS: list[float] = []
# (virtual time the read began, alarms it found in ALARM) for each of the watcher's alarm reads.
ALARM_READS: list[tuple[float, tuple[str, ...]]] = []


def record_stop_requests() -> None:
    """Wraps both emulators' stop operations so each request's virtual time lands in STOP_REQUESTS."""
    from sandbox.codedeploy import server as codedeploy_server
    from sandbox.ecs_native import api as ecs_api

    def recorded(operation: Callable[..., Any]) -> Callable[..., Any]:
        def handler(ctx: Any, *args: Any) -> Any:
            STOP_REQUESTS.append(ctx.clock.now())
            return operation(ctx, *args)

        return handler

    table: dict[str, Any]
    for table, name in (
        (codedeploy_server.OPERATIONS, "StopDeployment"),
        (ecs_api.OPERATIONS, "StopServiceDeployment"),
    ):
        table[name] = recorded(table[name])


def record_alarm_reads(clock: Any) -> None:
    """Wraps the watcher's alarm read so each one's virtual start and answer land in ALARM_READS."""
    from orchestrator.commands.follow import WatchedAlarms

    read = WatchedAlarms.firing
    if hasattr(read, "recorded"):
        read = read.recorded

    def firing(self: WatchedAlarms) -> tuple[str, ...]:
        began = clock.now()
        found = read(self)
        ALARM_READS.append((began, found))
        return found

    firing.recorded = read  # type: ignore[attr-defined]
    WatchedAlarms.firing = firing  # type: ignore[method-assign]


# Tasks per user request per virtual second: the sandbox's fleet makes CPU from the requests each task
# serves, and one dev task at 20 requests a second is above the service's 80 % CPU alarm (which then
# stops the deployment before any traffic moves). One task per 8 requests keeps CPU near 30 %.
REQUESTS_PER_TASK = 8.0


def sized_catalog(directory: Path, environment: str, rate: float) -> Path:
    """The shipped catalog with ``environment``'s tasks sized for ``rate`` user requests a second,
    beside the shipped task definitions and alarm definitions."""
    import math

    import yaml

    document = yaml.safe_load((REPO / "services.yaml").read_text(encoding="utf-8"))
    tasks = max(1, math.ceil(rate / REQUESTS_PER_TASK))
    overrides = document["services"][SERVICE].setdefault("overrides", {}).setdefault(environment, {})
    overrides["tasks"] = {"desired": tasks, "min": tasks, "max": max(2, tasks)}  # the last layer wins
    for name in ("task-definitions", "alarms"):
        (directory / name).symlink_to(REPO / name)
    path = directory / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def minute_phase(run: int, repeat: int) -> float:
    """Seconds into the virtual minute at which run ``run`` (0-based) of ``repeat`` begins its deploy:
    spread evenly over the minute, the same for every strategy and engine. An ALB metric's alarm
    waits for green's first complete 60-second period, so where the shift falls in the minute moved
    a run's first bad answer -> alarm by up to a period (10 to 49 s in one cell): with each strategy's
    k-th run at the same phase, the ratio to all-at-once compares like with like (common random
    numbers), and the runs still cover the minute. Each run starts in the middle of its slot: from
    the deploy's start, users reach green after 37.5-41.3 s here, so starts at 0/20/40 s put run 2's
    first bad answer at seconds 58-61 of the minute, on the period's boundary, where one second
    decides between an alarm ~6 s and ~65 s later: whether canary10 and all-at-once fell on the same
    side was a coin flip the ratio inherited (canary10 on ECS, users-only fault: 12.4 %, 11.1 %,
    19.9 % in three runs of the bench). Starts at 10/30/50 s keep every first bad answer 7 s or more
    from a boundary."""
    return 60.0 * (run + 0.5) / repeat


def run_one(strategy: str, engine: EngineName, fault: str, args: argparse.Namespace, run: int = 0) -> Result:
    time_scale, environment = args.time_scale, args.env
    started = time.monotonic()
    options = WorldOptions(time_scale=time_scale, traffic_rate=args.rate, engine=engine)
    with tempfile.TemporaryDirectory() as folder:
        catalog = sized_catalog(Path(folder), environment, args.rate)
        phase = minute_phase(run, args.repeat)
        return _measure(strategy, engine, fault, args, catalog, options, started, phase)


def _measure(
    strategy: str,
    engine: EngineName,
    fault: str,
    args: argparse.Namespace,
    catalog: Path,
    options: WorldOptions,
    started: float,
    phase: float = 0.0,
) -> Result:
    time_scale, environment = args.time_scale, args.env
    with World(catalog, environment, [SERVICE], fault, options) as world:
        world.clock.sleep((phase - world.clock.now()) % 60.0)  # the run's place in the minute
        # Each world has its own virtual clock: an earlier world's stamps are on another time line.
        STOP_REQUESTS.clear()
        ALARM_READS.clear()
        record_alarm_reads(world.clock)
        watch = ListenerWatch(world)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            # --force: prod's guardrails refuse all-at-once, which is the point of comparing it here.
            command = ["deploy", SERVICE, "--env", environment, "--strategy", strategy, "--force"]
            command += ["--engine", engine.value]
            command += ["--stop-on-alarm" if args.stop_on_alarm else "--no-stop-on-alarm"]
            command += ["--probe-green"] if args.probe_green else []
            command += ["--catalog", str(catalog)]
            deployed_at = world.clock.now()
            code = bluegreen([*command, "--time-scale", f"{time_scale:g}", "--output", "json"])
            ended_at = world.clock.now()
        document = json.loads(out.getvalue() or "{}")
        if code == 0:  # not taken back: keep counting what users get for a while
            world.clock.sleep(OBSERVE_AFTER_SUCCESS)
        watch.stop()
        assert world.fleet is not None and world.traffic is not None and world.evaluator is not None
        faulty = {run.version for run in world.fleet.replacement_runs()}
        records = world.traffic.snapshot(SERVICE)
        exposed = [r for r in records if r.version in faulty]
        first_bad = min((r.answered_at for r in exposed), default=None)
        alarm_at = min((t.at for t in world.evaluator.history() if t.new.is_alarm), default=None)
        stop_at = min((at for at in STOP_REQUESTS if at >= deployed_at), default=None)
        seen_at = min((at for at, found in ALARM_READS if found and at >= deployed_at), default=None)
        hops = {"green": watch.green_since, "bad": first_bad, "alarm": alarm_at}
        hops |= {"seen": seen_at, "stop": stop_at}
        hops["blue"] = watch.back_on_blue
        outcome = "rolled back" if document.get("rolledBack") else (document.get("status") or f"exit {code}")
        if code == 0:
            outcome = f"NOT rolled back ({OBSERVE_AFTER_SUCCESS / 60:g} min observed)"
        stopped = document.get("stoppedOnAlarm") or {}
        stopped_by = "probe" if stopped.get("probe") else ("watcher's alarm read" if stopped else "engine")
        return Result(
            stopped_by=stopped_by if document.get("rolledBack") else "-",
            strategy=strategy,
            engine=engine,
            outcome=outcome,
            exposed=len(exposed),
            exposed_errors=sum(1 for r in exposed if r.status >= 500),
            users_total=len(records),
            to_alarm=None if alarm_at is None or first_bad is None else alarm_at - first_bad,
            to_blue=None
            if watch.back_on_blue is None or first_bad is None
            else watch.back_on_blue - first_bad,
            # (none when users were back on blue before the alarm fired: the probe stopped it first;
            # that run's alarm says nothing of how fast an alarm brings them back)
            alarm_to_blue=None
            if watch.back_on_blue is None or alarm_at is None or watch.back_on_blue < alarm_at
            else watch.back_on_blue - alarm_at,
            wall=time.monotonic() - started,
            served=sum(1 for r in records if deployed_at <= r.sent_at < ended_at) / (ended_at - deployed_at),
            shed=world.traffic.shed,
            failed=world.traffic.failures,
            hops={hop: None if at is None else at - deployed_at for hop, at in hops.items()},
        )


def _cell(values: list[float | None], digits: int = 0) -> str:
    known = sorted(v for v in values if v is not None)
    if not known:
        return "-"
    middle = statistics.median(known)
    text = f"{middle:.{digits}f}"
    if len(known) > 1 and known[0] != known[-1]:
        text += f" [{known[0]:.{digits}f}..{known[-1]:.{digits}f}]"
    if len(known) < len(values):
        text += f" ({len(values) - len(known)} n/a)"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default="error_rate=0.5;error_rate=0.5,path=/browse")
    parser.add_argument("--time-scale", type=positive_number_arg, default=DEFAULT_TIME_SCALE)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--engines", type=engines_arg, default=list(ENGINES), help="codedeploy,ecs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--env", default="dev", help="catalog environment (prod: 15 min termination wait)")
    parser.add_argument("--rate", type=positive_number_arg, default=20.0, help="user requests per virtual s")
    parser.add_argument("--timeline", action="store_true", help="each run's hops on the virtual clock")
    parser.add_argument(
        "--stop-on-alarm", action=argparse.BooleanOptionalAction, default=True, help="deploy's watcher stops"
    )
    parser.add_argument(
        "--probe-green",
        action="store_true",
        help="deploy --probe-green: the watcher also probes green through the test listener",
    )
    args = parser.parse_args()
    watcher = "the watching CLI stops at the first ALARM" if args.stop_on_alarm else "the engine alone stops"
    watcher += " or at its green probe's sign (--probe-green)" if args.probe_green else ""
    print(
        f"{SERVICE} ({args.env} catalog), faulty replacement, {args.rate:g} user requests per virtual s, "
        f"{watcher}, time scale {args.time_scale:g}; seconds are virtual; median [min..max] of "
        f"{args.repeat} runs"
    )
    started = time.monotonic()
    record_stop_requests()
    for fault in args.faults.split(";"):
        runs: dict[tuple[str, EngineName], list[Result]] = {}
        for strategy in args.strategies.split(","):
            for engine in args.engines:  # the same service, users and fault on each engine, side by side
                runs[(strategy, engine)] = [
                    run_one(strategy, engine, fault, args, run) for run in range(args.repeat)
                ]
        print(f"\nfault {fault}")
        print_table([_row(strategy, engine, found, runs) for (strategy, engine), found in runs.items()])
        if args.timeline:
            print_timelines(runs)
    print(f"\ntotal wall time {time.monotonic() - started:.0f} s")
    return 0


def engines_arg(text: str) -> list[EngineName]:
    """``--engines codedeploy,ecs``: the engines to compare, in that order."""
    try:
        return [EngineName(name.strip().lower()) for name in text.split(",") if name.strip()]
    except ValueError:
        valid = ", ".join(engine.value for engine in EngineName)
        raise argparse.ArgumentTypeError(f"{text!r}: valid engines are {valid}") from None


def _row(
    strategy: str, engine: EngineName, found: list[Result], runs: dict[tuple[str, EngineName], list[Result]]
) -> tuple[str, ...]:
    outcomes = sorted({r.outcome for r in found})
    baseline = runs.get(("all-at-once", engine)) or []
    return (
        strategy,
        engine.value,
        " / ".join(outcomes),
        _cell([float(r.exposed) for r in found]),
        *(_percent(value) for value in ratios(found, baseline)),
        _cell([float(r.exposed_errors) for r in found]),
        _cell([r.to_alarm for r in found]),
        _cell([r.to_blue for r in found]),
        _cell([r.alarm_to_blue for r in found]),
        _cell([r.served for r in found], 1),
        _cell([float(r.shed) for r in found]),
        _cell([float(r.failed) for r in found]),
        _cell([r.wall for r in found], 1),
    )


def ratios(found: Sequence[Result], baseline: Sequence[Result]) -> tuple[float | None, ...]:
    """Users exposed as a share of all-at-once's on the same engine and fault, three ways: the
    medians'; the means' (expected users exposed: an all-at-once run never rolled back counts with
    every user it reached); and the means' over the paired runs k in which both were rolled back
    (exposure given both stopped it). None where there is nothing to divide by."""

    def share(
        mine: Sequence[int], theirs: Sequence[int], middle: Callable[[Sequence[int]], float]
    ) -> float | None:
        return 100.0 * middle(mine) / middle(theirs) if mine and theirs and middle(theirs) else None

    mine, theirs = [r.exposed for r in found], [r.exposed for r in baseline]
    pairs = [
        (a, b)
        for a, b in zip(found, baseline, strict=False)
        if a.to_blue is not None and b.to_blue is not None
    ]
    return (
        share(mine, theirs, statistics.median),
        share(mine, theirs, statistics.fmean),
        share([a.exposed for a, _ in pairs], [b.exposed for _, b in pairs], statistics.fmean),
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def print_timelines(runs: dict[tuple[str, EngineName], list[Result]]) -> None:
    """One line per run: when each hop happened, virtual seconds since `deploy` began."""
    print("hops, virtual s since deploy began: green = users first reach the replacement, bad = first bad")
    print("answer, alarm = first alarm in ALARM (the evaluator), seen = the watcher's read that first found")
    print("it began, stop = the engine asked to stop, blue = traffic back on blue")
    for (strategy, engine), found in runs.items():
        for number, result in enumerate(found, 1):
            hops = ", ".join(f"{hop} {'-' if at is None else f'{at:.1f}'}" for hop, at in result.hops.items())
            print(f"  {strategy} {engine.value} #{number}: {hops}; stopped by {result.stopped_by}")


def print_table(rows: Sequence[tuple[str, ...]]) -> None:
    header = (
        "strategy",
        "engine",
        "outcome",
        "users exposed",
        "vs all-at-once",
        "mean vs",
        "both rolled back",
        "of which 5xx",
        "bad->alarm s",
        "bad->blue s",
        "alarm->blue s",
        "served/s",
        "shed",
        "failed",
        "wall s",
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
