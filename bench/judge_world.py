"""bench/judge.py's cross-check (``--world``): the same scenarios through real sandbox worlds.

Each world (sandbox.world.World: moto, the CodeDeploy emulator, the fleet, the load balancer, the
metrics publisher, the alarm evaluator, simulated users over HTTP at ``rate`` requests per virtual
second PER SERVICE, at ``time_scale``) runs several canaries at once, one per service: product-service
(dev) and, for more, other services of the shipped catalog given product-service's dev settings
(analysis, alarms, smoke checks; ``world_catalog``), each with its own users, target groups, alarms
and deployment group. Their tasks are sized for the rate (one per 8 requests a second, as
bench/exposure.py sizes them) and each deployment continues at Ready by itself. Blue answers 0.5 %
of the users' requests with a 500 (its running tasks get ``BASELINE`` once the world is up); green is
the service's scenario (``GREEN_FAULTS``):

- ``healthy``: blue's own 0.5 %;
- ``5xx``: 3 %;
- ``latency``: 0.5 % and every service time x 1.4 (``latency_factor``).

``plan_worlds`` deals the scenarios' canaries into worlds of at most ``per_world`` services.
`bluegreen deploy SERVICE --engine codedeploy --strategy canary:10:M --no-wait` starts each canary
(10 % for ``minutes``), one service after the other. Nothing stops them: every deployment group's
alarm configuration is switched off (UpdateDeploymentGroup) and no analysis schedule runs, so both
detectors watch the whole window, as in the synthetic run. The detectors, per service:

- the judge, as the analysis Lambda runs it (``hooks.analysis.canaries_of`` finds the canary and
  its window start, AllowTraffic's startTime; ``hooks.analysis.judge_canary`` reads moto's
  CloudWatch with GetMetricData and judges), at every virtual minute after its shift;
- the static alarms (5xx-errors, high-latency: the synthetic run's two) as the world's alarm
  evaluator set them in moto: the first ALARM after the shift.

Differences from the synthetic model a reader should know: users arrive evenly spaced (the
traffic generator's schedule), not as a Poisson process; errors follow the sandbox's deterministic
equidistributed pattern, not Bernoulli draws; service times are the sandbox app's 20-60 ms (x the
factor) plus real HTTP on a shared 2-core machine, not a log-normal; and the load balancer picks a
side by weight per request.
"""

from __future__ import annotations

import contextlib
import io
import math
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SERVICE = "product-service"  # every world's first service; the others get its dev settings
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
SCENARIOS = ("5xx", "latency", "healthy")
REQUESTS_PER_TASK = 8.0  # as bench/exposure.py: one dev task at 20 requests a second trips the CPU alarm
JUDGE_EVERY = 60.0
STATIC_KINDS = ("5xx-errors", "high-latency")
# How long (virtual s) a canary may take to reach AllowTraffic (install, smoke warm-up, hooks).
SHIFT_WITHIN = 900.0
# A world canary whose users got less than this share of the asked rate is flagged (``served_problems``).
SERVED_AT_LEAST = 0.95


@dataclass
class WorldCanary:
    """One canary through a world: detection times (virtual s after the shift), as bench/judge.py's
    Detection, plus what the world actually served. ``shifted`` False: it never reached AllowTraffic
    within SHIFT_WITHIN (no detection, no traffic figures)."""

    service: str
    scenario: str
    world: int  # which world of the run (1-based)
    shifted: bool
    judge_at: float | None
    alarm_at: float | None
    alarm: str | None
    verdicts: dict[str, int]
    rate: float  # user requests per virtual second over the window
    green_share: float  # of those, the share green answered
    shed: int  # requests the world's traffic generator could not send (too many in flight), all services
    wall: float  # the whole world's wall time (start to stop), shared by its canaries


def plan_worlds(counts: Mapping[str, int], per_world: int) -> list[list[str]]:
    """The scenarios' canaries dealt into worlds of at most ``per_world`` services (pure): as few
    worlds as the total needs, sizes differing by at most one, each scenario spread round-robin over
    them (a regression's canaries in different worlds, so one world's load does not decide them all)."""
    if per_world < 1:
        raise ValueError(f"per_world must be at least 1, got {per_world}")
    total = sum(counts.values())
    if total == 0:
        return []
    worlds: list[list[str]] = [[] for _ in range(math.ceil(total / per_world))]
    turn = 0
    for scenario in sorted(counts, key=lambda s: (s == "healthy", s)):  # regressions first
        for _ in range(counts[scenario]):
            worlds[turn % len(worlds)].append(scenario)
            turn += 1
    return worlds


def world_services(catalog: Any, count: int) -> list[str]:
    """product-service, then the catalog's other services in catalog order, skipping those with
    per-service alarm overrides (alarms/overrides.yaml: their static alarms would not be
    product-service's): ``count`` names."""
    import yaml

    overridden = set(
        yaml.safe_load((REPO / "alarms" / "overrides.yaml").read_text(encoding="utf-8"))["services"]
    )
    others = [name for name in catalog if name != SERVICE and name not in overridden]
    names = [SERVICE, *others][:count]
    if len(names) < count:
        raise ValueError(f"the catalog has {len(names)} services a world can run, asked for {count}")
    return names


def world_catalog(directory: Path, rate: float, count: int = 1) -> tuple[Path, list[str]]:
    """The shipped catalog with ``count`` services (``world_services``) in product-service's dev
    shape: its catalog entry (analysis, alarms, smoke checks, task definition) under the service's own
    name and port, the dev tasks sized for ``rate``, continuing at Ready; and alarms/ with the
    canary-verdict alarm enabled for each (the catalog requires it where analysis is enabled)."""
    import copy
    import shutil

    import yaml

    document = yaml.safe_load((REPO / "services.yaml").read_text(encoding="utf-8"))
    services = document["services"]
    names = world_services(services, count)
    tasks = max(1, math.ceil(rate / REQUESTS_PER_TASK))
    for name in names:
        entry = copy.deepcopy(services[SERVICE])
        entry["port"] = services[name]["port"]
        entry.pop("depends_on", None)  # the world runs only these services
        overrides = entry.setdefault("overrides", {}).setdefault(ENVIRONMENT, {})
        overrides["tasks"] = {"desired": tasks, "min": tasks, "max": max(2, tasks)}
        deployment = overrides.setdefault("deployment", {})
        deployment["ready_action"] = "CONTINUE_DEPLOYMENT"  # `deploy --no-wait`: nobody would promote it
        services[name] = entry
    (directory / "task-definitions").symlink_to(REPO / "task-definitions")
    shutil.copytree(REPO / "alarms", directory / "alarms")
    verdict_path = directory / "alarms" / "verdict.yaml"
    verdict = yaml.safe_load(verdict_path.read_text(encoding="utf-8"))
    for name in names:
        verdict["services"][name] = {"alarms": {"canary-verdict": {"enabled": True}}}
    verdict_path.write_text(yaml.safe_dump(verdict, sort_keys=False), encoding="utf-8")
    path = directory / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path, names


def world_run(
    scenarios: list[str], rate: float, minutes: float, time_scale: float, number: int = 1
) -> list[WorldCanary]:
    """One fresh world whose services run one canary each, of ``scenarios`` (in order), at once."""
    from orchestrator.vocabulary import EngineName
    from sandbox.world import World, WorldOptions

    started = time.monotonic()
    options = WorldOptions(time_scale=time_scale, traffic_rate=rate, engine=EngineName.CODEDEPLOY)
    with tempfile.TemporaryDirectory() as folder:
        catalog, names = world_catalog(Path(folder), rate, len(scenarios))
        plan = dict(zip(names, scenarios, strict=True))
        faults = {name: GREEN_FAULTS[scenario] for name, scenario in plan.items()}
        with World(catalog, ENVIRONMENT, names, faults, options) as world:
            runs = _observe(world, catalog, plan, minutes, number)
    wall = time.monotonic() - started
    for run in runs:
        run.wall = wall
    return runs


def _observe(
    world: Any, catalog: Path, plan: Mapping[str, str], minutes: float, number: int
) -> list[WorldCanary]:
    from hooks import clients
    from hooks.analysis import canaries_of, judge_canary
    from orchestrator.analysis.judge import Verdict
    from sandbox.faults import parse_fault

    items = {item.name: item for item in world.infra}
    _baseline_on_blue(world, set(plan), parse_fault(BASELINE))
    for name in plan:
        _alarms_off(items[name])
    for name in plan:
        _deploy(world, catalog, name, minutes)

    def find(name: str) -> Any:
        return next(iter(canaries_of(clients.client, items[name].service)), None)

    canaries: dict[str, Any] = {}
    deadline = world.clock.now() + SHIFT_WITHIN
    while len(canaries) < len(plan) and world.clock.now() < deadline:
        for name in plan:
            if name not in canaries and (canary := find(name)) is not None:
                canaries[name] = canary
        if len(canaries) < len(plan):
            world.clock.sleep(5.0)
    shifts = {name: canary.shifting_since.timestamp() for name, canary in canaries.items()}
    ends = {name: shift + minutes * 60.0 for name, shift in shifts.items()}
    judge_at: dict[str, float] = {}
    verdicts: dict[str, dict[str, int]] = {name: {} for name in canaries}
    if shifts:
        at = (
            math.floor(min(shifts.values()) / JUDGE_EVERY) + 1
        ) * JUDGE_EVERY  # the schedule fires on the minute
        while at <= max(ends.values()):
            world.clock.sleep(max(0.0, at - world.clock.now()))
            for name, canary in canaries.items():
                if not shifts[name] < at <= ends[name]:
                    continue
                service = items[name].service
                verdict = judge_canary(
                    clients.client, service, canary, datetime.fromtimestamp(at, UTC)
                ).verdict
                verdicts[name][verdict.value] = verdicts[name].get(verdict.value, 0) + 1
                if verdict is Verdict.FAIL and name not in judge_at:
                    judge_at[name] = at - shifts[name]
            at += JUDGE_EVERY
        world.clock.sleep(max(0.0, max(ends.values()) - world.clock.now()))
    runs = []
    for name, scenario in plan.items():
        if name not in canaries:
            runs.append(
                WorldCanary(
                    name, scenario, number, False, None, None, None, {}, 0.0, 0.0, world.traffic.shed, 0.0
                )
            )
            continue
        alarm_at, alarm = _first_alarm(world, name, shifts[name], ends[name])
        rate, share = _served(world, name, shifts[name], ends[name])
        runs.append(
            WorldCanary(
                name,
                scenario,
                number,
                True,
                judge_at.get(name),
                alarm_at,
                alarm,
                verdicts[name],
                rate,
                share,
                world.traffic.shed,
                0.0,
            )
        )
    return runs


def _baseline_on_blue(world: Any, services: set[str], fault: Any) -> None:
    """Blue's running tasks answer with the baseline fault (a world's originals run healthy)."""
    for run in list(world.fleet.history.values()):
        if run.service in services and not run.replacement:
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


def _deploy(world: Any, catalog: Path, service: str, minutes: float) -> None:
    from orchestrator.cli import main as bluegreen

    command = ["deploy", service, "--env", ENVIRONMENT, "--engine", "codedeploy", "--no-wait"]
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
        raise RuntimeError(f"deploy {service} exited {code}: {err.getvalue().strip()[-500:]}")


def _first_alarm(world: Any, service: str, shift: float, end: float) -> tuple[float | None, str | None]:
    names = {f"{service}-{kind}" for kind in STATIC_KINDS}
    for transition in world.evaluator.history():
        if transition.alarm in names and transition.new.is_alarm and shift <= transition.at <= end:
            return transition.at - shift, transition.alarm
    return None, None


def _served(world: Any, service: str, shift: float, end: float) -> tuple[float, float]:
    """The service's user requests per virtual second over [shift, end] and green's share of them."""
    green = {run.version for run in world.fleet.replacement_runs() if run.service == service}
    records = [r for r in world.traffic.snapshot(service) if shift <= r.sent_at < end]
    on_green = sum(1 for r in records if r.version in green)
    return len(records) / (end - shift), (on_green / len(records) if records else 0.0)


def served_problems(runs: Sequence[WorldCanary], rate: float) -> list[str]:
    """What makes a world canary's figures not count as measured at ``rate`` (pure): it never
    shifted, or its users got less than SERVED_AT_LEAST of the rate, or green got no traffic."""
    problems = []
    for run in runs:
        where = f"world {run.world} {run.service} ({run.scenario})"
        if not run.shifted:
            problems.append(f"{where}: no AllowTraffic within {SHIFT_WITHIN:g} virtual s")
        elif run.rate < SERVED_AT_LEAST * rate:
            problems.append(f"{where}: served {run.rate:.1f} users/virtual s of {rate:g}")
        elif run.green_share == 0.0:
            problems.append(f"{where}: green answered no user")
    return problems


def summary_world(runs: Sequence[WorldCanary]) -> Mapping[str, str]:
    """The served-traffic columns of a scenario's world canaries (pure): the static alarms that
    fired, users per virtual second and green's share (median [min..max]), and the worlds' wall."""
    if not runs:
        return {}
    shifted = [r for r in runs if r.shifted]
    alarms = sorted({r.alarm.removeprefix(f"{r.service}-") for r in shifted if r.alarm})

    def spread(values: list[float], scale: float, unit: str) -> str:
        if not values:
            return "-"
        ordered = sorted(v * scale for v in values)
        return f"{statistics.median(ordered):.1f}{unit} [{ordered[0]:.1f}..{ordered[-1]:.1f}]"

    walls = {r.world: r.wall for r in runs}
    return {
        "alarms": ", ".join(alarms) or "none",
        "rate": spread([r.rate for r in shifted], 1.0, "/s"),
        "green": spread([r.green_share for r in shifted], 100.0, " %"),
        "worlds": f"{len(walls)}",
        "wall": f"{sum(walls.values()):.0f} s",
    }
