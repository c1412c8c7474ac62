"""bench/judge.py's cross-check (``--world N``): the same scenarios through a real sandbox world.

One fresh world per canary (sandbox.world.World: moto, the CodeDeploy emulator, the fleet, the load
balancer, the metrics publisher, the alarm evaluator, simulated users over HTTP at ``rate`` requests
per virtual second, at ``time_scale``). product-service (dev) runs on CodeDeploy with its tasks sized
for the rate (one per 8 requests a second, as bench/exposure.py sizes them), and continues at Ready
by itself. Blue answers 0.5 % of the users' requests with a 500 (its running tasks get
``BASELINE`` once the world is up); green is the scenario's fault (``GREEN_FAULTS``):

- ``healthy``: blue's own 0.5 %;
- ``5xx``: 3 %;
- ``latency``: 0.5 % and every service time x 1.4 (``latency_factor``).

`bluegreen deploy --engine codedeploy --strategy canary:10:M --no-wait` starts the canary (10 % for
``minutes``). Nothing stops it: the deployment group's alarm configuration is switched off
(UpdateDeploymentGroup) and no analysis schedule runs, so both detectors watch the whole window,
as in the synthetic run. The detectors:

- the judge, as the analysis Lambda runs it (``hooks.analysis.canaries_of`` finds the canary and
  its window start, AllowTraffic's startTime; ``hooks.analysis.judge_canary`` reads moto's
  CloudWatch with GetMetricData and judges), at every virtual minute after the shift;
- the static alarms (5xx-errors, high-latency: the synthetic run's two) as the world's alarm
  evaluator set them in moto: the first ALARM after the shift.

Differences from the synthetic model a reader should know: users arrive evenly spaced (the
traffic generator's schedule), not as a Poisson process; errors follow the sandbox's deterministic
equidistributed pattern, not Bernoulli draws; service times are the sandbox app's 20-60 ms (x the
factor) plus real HTTP, not a log-normal; and the load balancer picks a side by weight per request.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SERVICE = "product-service"
ENVIRONMENT = "dev"
# error_phase=0.5: the sandbox's error sequence would otherwise fail each task's first request, a
# burst of 500s at the shift (3 green tasks: 3 errors in ~20 requests) that fired the 5xx alarm in
# every world canary, healthy ones included, ~10 s after the shift.
BASELINE = "error_rate=0.005,error_phase=0.5,path=/browse"
GREEN_FAULTS = {
    "5xx": "error_rate=0.03,error_phase=0.5,path=/browse",
    "latency": "error_rate=0.005,error_phase=0.5,latency_factor=1.4,path=/browse",
    "healthy": BASELINE,
}
REQUESTS_PER_TASK = 8.0  # as bench/exposure.py: one dev task at 20 requests a second trips the CPU alarm
JUDGE_EVERY = 60.0
STATIC_KINDS = ("5xx-errors", "high-latency")
# How long (virtual s) a canary may take to reach AllowTraffic (install, smoke warm-up, hooks).
SHIFT_WITHIN = 900.0


@dataclass
class WorldCanary:
    """One canary through a world: detection times (virtual s after the shift), as bench/judge.py's
    Detection, plus what the world actually served."""

    judge_at: float | None
    alarm_at: float | None
    alarm: str | None
    verdicts: dict[str, int]
    rate: float  # user requests per virtual second over the window
    green_share: float  # of those, the share green answered
    shed: int  # requests the traffic generator could not send (too many in flight)
    wall: float


def world_catalog(directory: Path, rate: float) -> Path:
    """The shipped catalog, product-service's dev tasks sized for ``rate`` and continuing at Ready."""
    import yaml

    document = yaml.safe_load((REPO / "services.yaml").read_text(encoding="utf-8"))
    tasks = max(1, math.ceil(rate / REQUESTS_PER_TASK))
    overrides = document["services"][SERVICE].setdefault("overrides", {}).setdefault(ENVIRONMENT, {})
    overrides["tasks"] = {"desired": tasks, "min": tasks, "max": max(2, tasks)}
    deployment = overrides.setdefault("deployment", {})
    deployment["ready_action"] = "CONTINUE_DEPLOYMENT"  # `deploy --no-wait`: nobody would promote it
    for name in ("task-definitions", "alarms"):
        (directory / name).symlink_to(REPO / name)
    path = directory / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def world_canary(scenario: str, rate: float, minutes: float, time_scale: float) -> WorldCanary:
    """One canary of ``scenario`` through a fresh world."""
    from orchestrator.vocabulary import EngineName
    from sandbox.world import World, WorldOptions

    started = time.monotonic()
    options = WorldOptions(time_scale=time_scale, traffic_rate=rate, engine=EngineName.CODEDEPLOY)
    with tempfile.TemporaryDirectory() as folder:
        catalog = world_catalog(Path(folder), rate)
        with World(catalog, ENVIRONMENT, [SERVICE], GREEN_FAULTS[scenario], options) as world:
            return _observe(world, catalog, scenario, minutes, started)


def _observe(world: Any, catalog: Path, scenario: str, minutes: float, started: float) -> WorldCanary:
    from hooks import clients
    from hooks.analysis import canaries_of, judge_canary
    from orchestrator.analysis.judge import Verdict
    from sandbox.faults import parse_fault

    item = next(i for i in world.infra if i.name == SERVICE)
    service = item.service
    _baseline_on_blue(world, parse_fault(BASELINE))
    _alarms_off(item)
    _deploy(world, catalog, minutes)
    canary = _wait_for(lambda: next(iter(canaries_of(clients.client, service)), None), world, SHIFT_WITHIN)
    if canary is None:
        raise RuntimeError(f"{scenario}: no canary reached AllowTraffic in {SHIFT_WITHIN:g} virtual s")
    shift = canary.shifting_since.timestamp()
    end = shift + minutes * 60.0
    judge_at: float | None = None
    verdicts: dict[str, int] = {}
    at = (math.floor(shift / JUDGE_EVERY) + 1) * JUDGE_EVERY  # the schedule fires on the minute
    while at <= end:
        world.clock.sleep(max(0.0, at - world.clock.now()))
        verdict = judge_canary(clients.client, service, canary, datetime.fromtimestamp(at, UTC)).verdict
        verdicts[verdict.value] = verdicts.get(verdict.value, 0) + 1
        if verdict is Verdict.FAIL and judge_at is None:
            judge_at = at - shift
        at += JUDGE_EVERY
    world.clock.sleep(max(0.0, end - world.clock.now()))
    alarm_at, alarm = _first_alarm(world, service.name, shift, end)
    rate, share, shed = _served(world, item, shift, end)
    return WorldCanary(judge_at, alarm_at, alarm, verdicts, rate, share, shed, time.monotonic() - started)


def _baseline_on_blue(world: Any, fault: Any) -> None:
    """Blue's running tasks answer with the baseline fault (a world's originals run healthy)."""
    for run in list(world.fleet.history.values()):
        if run.service == SERVICE and not run.replacement:
            for task in run.tasks:
                task.fault = fault


def _alarms_off(item: Any) -> None:
    """The deployment group watches no alarm: the canary runs its whole window whatever fires."""
    import boto3

    settings = item.service.settings
    boto3.client("codedeploy", region_name=settings.region).update_deployment_group(
        applicationName=settings.application,
        currentDeploymentGroupName=settings.deployment_group,
        alarmConfiguration={"enabled": False, "alarms": []},
    )


def _deploy(world: Any, catalog: Path, minutes: float) -> None:
    from orchestrator.cli import main as bluegreen

    command = ["deploy", SERVICE, "--env", ENVIRONMENT, "--engine", "codedeploy", "--no-wait"]
    command += ["--strategy", f"canary:10:{math.ceil(minutes) + 1}", "--no-stop-on-alarm"]
    command += [
        "--catalog",
        str(catalog),
        "--time-scale",
        f"{world.options.time_scale:g}",
        "--output",
        "json",
    ]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = bluegreen(command)
    if code != 0:
        raise RuntimeError(f"deploy exited {code}: {err.getvalue().strip()[-500:]}")


def _wait_for(found: Callable[[], Any], world: Any, within: float, every: float = 5.0) -> Any:
    deadline = world.clock.now() + within
    while world.clock.now() < deadline:
        value = found()
        if value is not None:
            return value
        world.clock.sleep(every)
    return None


def _first_alarm(world: Any, service: str, shift: float, end: float) -> tuple[float | None, str | None]:
    names = {f"{service}-{kind}" for kind in STATIC_KINDS}
    for transition in world.evaluator.history():
        if transition.alarm in names and transition.new.is_alarm and shift <= transition.at <= end:
            return transition.at - shift, transition.alarm
    return None, None


def _served(world: Any, item: Any, shift: float, end: float) -> tuple[float, float, int]:
    """User requests per virtual second over [shift, end], green's share of them, and the shed."""
    green = {run.version for run in world.fleet.replacement_runs()}
    records = [r for r in world.traffic.snapshot(SERVICE) if shift <= r.sent_at < end]
    on_green = sum(1 for r in records if r.version in green)
    return len(records) / (end - shift), (on_green / len(records) if records else 0.0), world.traffic.shed


def summary_world(runs: list[WorldCanary]) -> Mapping[str, str]:
    """The served-traffic columns of the world's rows (median over its canaries)."""
    import statistics

    if not runs:
        return {}
    alarms = sorted({r.alarm.removeprefix(f"{SERVICE}-") for r in runs if r.alarm})
    return {
        "alarms": ", ".join(alarms) or "none",
        "rate": f"{statistics.median(r.rate for r in runs):.1f}/s",
        "green": f"{100 * statistics.median(r.green_share for r in runs):.1f} %",
        "wall": f"{sum(r.wall for r in runs):.0f} s",
    }
