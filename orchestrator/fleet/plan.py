"""A fleet's plan: which services deploy in which wave, and how long each wave should take. Pure.

The order comes from the catalog: ``depends_on`` (the services a service waits for) and an explicit
``wave`` (1 first). They combine so that neither is ignored: a service's wave is

    max(its explicit wave or 1, 1 + the wave of each service it depends on)

and an explicit wave that is not after a dependency's is bad input naming both (the catalog refuses
it at load): a ``wave`` lifts a service later, it can never pull one before what it depends on.
Waves are numbered within one run, 1 first, with empty waves dropped: deploying a subset keeps
only the dependencies between chosen services (a dependency that is not chosen is taken as already
deployed) and renumbers the waves that are left.

Within a wave at most ``max_parallel`` deployments run at once, started longest first (a wave's
``services`` are in that order; the runner starts them in it), each next one as soon as one ends:
list scheduling, whose finish time ``expected_wave_seconds`` computes. A fleet's expected time is
the sum over its waves: a wave starts when the one before has ended.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from orchestrator.errors import BadInputError

# FleetSettings.max_parallel's bounds (catalog.py): the flag gets the same.
MAX_PARALLEL_LIMIT = 100


class DependencyError(BadInputError):
    """The services' order cannot be decided: a dependency cycle, or an explicit wave that is not
    after a dependency's. ``service`` and ``field`` say where (the catalog prefixes its path)."""

    kind = "dependency"

    def __init__(self, message: str, *, service: str, field: str) -> None:
        super().__init__(message)
        self.service = service
        self.field = field


@dataclass(frozen=True)
class FleetService:
    """One service of a fleet run: its engine, the image it deploys (None: the catalog's) and how
    long its deployment should take (its engine's offline plan: ``Plan.expected_seconds``)."""

    service: str
    engine: str
    image: str | None
    expected_seconds: float
    strategy: str | None = None  # the strategy it deploys with (None: not known to the caller)
    depends_on: tuple[str, ...] = ()  # the chosen services it waits for (earlier waves)


@dataclass(frozen=True)
class Wave:
    """Services deployed together (at most max_parallel at once), longest expected first."""

    number: int
    services: tuple[FleetService, ...]
    expected_seconds: float


@dataclass(frozen=True)
class FleetPlan:
    """A fleet run decided before any write: the waves in order and the time they should take."""

    environment: str
    strategy: str | None  # `--strategy` for every service; None: each service's own
    max_parallel: int
    waves: tuple[Wave, ...]
    expected_seconds: float

    @property
    def services(self) -> tuple[FleetService, ...]:
        """Every service of the plan, wave by wave, in the order they start."""
        return tuple(service for wave in self.waves for service in wave.services)


def validate_max_parallel(value: int, flag: str = "--max-parallel") -> int:
    """``value`` when it is a usable concurrency cap; BadInputError (one line) otherwise."""
    if not 1 <= value <= MAX_PARALLEL_LIMIT:
        raise BadInputError(
            f"{flag} must be between 1 and {MAX_PARALLEL_LIMIT} (deployments at once in a wave), got {value}"
        )
    return value


def find_cycle(depends_on: Mapping[str, Sequence[str]], chosen: Sequence[str]) -> list[str] | None:
    """A dependency cycle among ``chosen`` as a path that ends where it starts, or None.

    Depth-first from each service in ``chosen``'s order, so the same input names the same cycle."""
    members = set(chosen)
    done: set[str] = set()
    for start in chosen:
        if start in done:
            continue
        path: list[str] = []
        on_path: dict[str, int] = {}
        stack: list[tuple[str, list[str]]] = [(start, _edges(depends_on, start, members))]
        path.append(start)
        on_path[start] = 0
        while stack:
            name, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                del on_path[name]
                done.add(name)
                continue
            following = pending.pop(0)
            if following in on_path:
                return [*path[on_path[following] :], following]
            if following in done:
                continue
            on_path[following] = len(path)
            path.append(following)
            stack.append((following, _edges(depends_on, following, members)))
    return None


def _edges(depends_on: Mapping[str, Sequence[str]], name: str, members: set[str]) -> list[str]:
    """``name``'s dependencies that are chosen, without repeats, in the catalog's order."""
    return [dep for dep in dict.fromkeys(depends_on.get(name, ())) if dep in members and dep != name]


def wave_numbers(
    depends_on: Mapping[str, Sequence[str]], explicit_waves: Mapping[str, int | None], chosen: Sequence[str]
) -> dict[str, int]:
    """Each chosen service's wave before renumbering (the module docstring's rule).

    DependencyError for a cycle (naming it) or an explicit wave not after a dependency's."""
    cycle = find_cycle(depends_on, chosen)
    if cycle is not None:
        raise DependencyError(f"dependency cycle: {' -> '.join(cycle)}", service=cycle[0], field="depends_on")
    members = set(chosen)
    waves: dict[str, int] = {}

    def wave_of(name: str) -> int:  # no cycle, so the recursion ends (depth <= len(chosen))
        if name not in waves:
            deps = _edges(depends_on, name, members)
            after = {dep: wave_of(dep) for dep in deps}
            explicit = explicit_waves.get(name)
            if explicit is not None:
                _check_explicit(name, explicit, after)
            waves[name] = max([explicit or 1, *(wave + 1 for wave in after.values())])
        return waves[name]

    for name in chosen:
        wave_of(name)
    return waves


def _check_explicit(name: str, explicit: int, after: Mapping[str, int]) -> None:
    for dep, dep_wave in after.items():
        if explicit <= dep_wave:
            raise DependencyError(
                f"wave {explicit} is not after {dep}'s wave {dep_wave} ({name} depends on {dep}); "
                f"set wave to {dep_wave + 1} or more, or leave it out",
                service=name,
                field="wave",
            )


def order_waves(
    depends_on: Mapping[str, Sequence[str]], explicit_waves: Mapping[str, int | None], chosen: Sequence[str]
) -> list[list[str]]:
    """The chosen services in waves, first wave first, each in ``chosen``'s order; empty waves
    dropped. Dependencies that are not chosen are ignored. DependencyError (a BadInputError) for a
    cycle ("dependency cycle: a -> b -> a") or an explicit wave before a dependency's."""
    chosen = list(dict.fromkeys(chosen))
    numbers = wave_numbers(depends_on, explicit_waves, chosen)
    return [[name for name in chosen if numbers[name] == number] for number in sorted(set(numbers.values()))]


def expected_wave_seconds(durations: Sequence[float], max_parallel: int) -> float:
    """When a wave ends if its deployments start longest first, at most ``max_parallel`` at once,
    each next one as soon as one ends (list scheduling, longest processing time first)."""
    validate_max_parallel(max_parallel)
    lanes = [0.0] * min(max_parallel, len(durations))  # when each lane is free again
    for duration in sorted(durations, reverse=True):
        heapq.heapreplace(lanes, lanes[0] + duration)
    return max(lanes, default=0.0)


def build_plan(
    environment: str,
    services: Sequence[FleetService],
    explicit_waves: Mapping[str, int | None],
    *,
    strategy: str | None,
    max_parallel: int,
) -> FleetPlan:
    """The fleet's plan from the chosen services (catalog order; each one's ``depends_on`` and
    expected seconds filled in by the caller) and their explicit waves."""
    validate_max_parallel(max_parallel)
    by_name = {service.service: service for service in services}
    depends_on = {service.service: service.depends_on for service in services}
    waves: list[Wave] = []
    for number, names in enumerate(order_waves(depends_on, explicit_waves, list(by_name)), start=1):
        ordered = sorted((by_name[name] for name in names), key=lambda item: -item.expected_seconds)
        ordered = [_chosen_only(service, set(by_name)) for service in ordered]
        seconds = expected_wave_seconds([service.expected_seconds for service in ordered], max_parallel)
        waves.append(Wave(number=number, services=tuple(ordered), expected_seconds=seconds))
    return FleetPlan(
        environment=environment,
        strategy=strategy,
        max_parallel=max_parallel,
        waves=tuple(waves),
        expected_seconds=sum(wave.expected_seconds for wave in waves),
    )


def _chosen_only(service: FleetService, chosen: set[str]) -> FleetService:
    """The service with only the dependencies this run orders it after (the others are not chosen)."""
    kept = tuple(dep for dep in dict.fromkeys(service.depends_on) if dep in chosen and dep != service.service)
    return service if kept == service.depends_on else replace(service, depends_on=kept)


# --- the plan as a fleet run's record (aws/fleet_runs.py keeps it in SSM: `watch` and `--resume` read it) ---
RECORD_VERSION = 1


def plan_record(plan: FleetPlan) -> dict[str, Any]:
    """The plan as plain JSON data, compact (an SSM Standard parameter holds 4 KB): what is None or
    empty is left out, seconds are whole. ``plan_from_record`` reads it back."""
    return {
        "version": RECORD_VERSION,
        "environment": plan.environment,
        **({"strategy": plan.strategy} if plan.strategy is not None else {}),
        "maxParallel": plan.max_parallel,
        "waves": [[_service_record(service) for service in wave.services] for wave in plan.waves],
    }


def _service_record(service: FleetService) -> dict[str, Any]:
    record: dict[str, Any] = {"service": service.service, "engine": service.engine}
    optional = {"strategy": service.strategy, "image": service.image, "dependsOn": list(service.depends_on)}
    record.update({key: value for key, value in optional.items() if value})
    record["seconds"] = round(service.expected_seconds)
    return record


def plan_from_record(record: Mapping[str, Any]) -> FleetPlan:
    """The plan ``plan_record`` wrote (waves and their order as recorded; each wave's and the fleet's
    expected seconds computed again). BadInputError when it is not such a record."""
    try:
        if record["version"] != RECORD_VERSION:
            raise ValueError(f"version {record['version']!r}")
        max_parallel = validate_max_parallel(int(record["maxParallel"]), "maxParallel")
        waves: list[Wave] = []
        for number, entries in enumerate(record["waves"], start=1):
            services = tuple(_service_from(entry) for entry in entries)
            seconds = expected_wave_seconds([service.expected_seconds for service in services], max_parallel)
            waves.append(Wave(number=number, services=services, expected_seconds=seconds))
        return FleetPlan(
            environment=str(record["environment"]),
            strategy=record.get("strategy"),
            max_parallel=max_parallel,
            waves=tuple(waves),
            expected_seconds=float(sum(wave.expected_seconds for wave in waves)),
        )
    except (KeyError, TypeError, ValueError, BadInputError) as err:
        raise BadInputError(
            f"the fleet run's record is not a plan this bluegreen reads ({type(err).__name__}: {err}); "
            f"start a new run"
        ) from None


def _service_from(entry: Mapping[str, Any]) -> FleetService:
    return FleetService(
        service=str(entry["service"]),
        engine=str(entry["engine"]),
        image=entry.get("image"),
        expected_seconds=float(entry["seconds"]),
        strategy=entry.get("strategy"),
        depends_on=tuple(str(dep) for dep in entry.get("dependsOn", ())),
    )
