"""`fleet deploy --dry-run`: a FleetPlan as text (people) and as FleetPlanDocument (machines). Pure."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.fleet.plan import FleetPlan, FleetService, Wave


def _duration(seconds: float) -> str:
    from orchestrator.watching.views import duration

    return duration(seconds)


def plan_document(plan: FleetPlan) -> documents.FleetPlanDocument:
    """The plan for machines: waves in order, each service's engine, strategy, image and duration."""
    return documents.FleetPlanDocument(
        environment=plan.environment,
        strategy=plan.strategy,
        max_parallel=plan.max_parallel,
        services=len(plan.services),
        expected_seconds=round(plan.expected_seconds),
        waves=[_wave_document(wave) for wave in plan.waves],
        dry_run=True,
    )


def _wave_document(wave: Wave) -> documents.FleetPlannedWave:
    return documents.FleetPlannedWave(
        number=wave.number,
        expected_seconds=round(wave.expected_seconds),
        services=[_service_document(service) for service in wave.services],
    )


def _service_document(service: FleetService) -> documents.FleetPlannedService:
    return documents.FleetPlannedService(
        service=service.service,
        engine=service.engine,
        strategy=service.strategy,
        image=service.image,
        expected_seconds=round(service.expected_seconds),
        depends_on=list(service.depends_on),
    )


def plan_text(plan: FleetPlan) -> str:
    """The plan for people: each wave (its services in the order they start) and the durations."""
    count = len(plan.services)
    waves = len(plan.waves)
    out = [
        f"plan: fleet deploy to {plan.environment}: {count} service{'s' * (count != 1)} in {waves} "
        f"wave{'s' * (waves != 1)}, at most {plan.max_parallel} at once (dry run: nothing is changed)"
    ]
    width = max((len(service.service) for service in plan.services), default=0) + 2
    engine_width = max((len(service.engine) for service in plan.services), default=0) + 2
    strategy_width = max((len(service.strategy or "") for service in plan.services), default=0) + 2
    for wave in plan.waves:
        out.append(_wave_header(wave, plan.max_parallel))
        for service in wave.services:
            out.append(
                f"    {service.service:<{width}}{service.engine:<{engine_width}}"
                f"{service.strategy or '?':<{strategy_width}}{_duration(service.expected_seconds)}"
            )
            if service.image is not None:
                out.append(f"    {'':<{width}}image {service.image}")
    if waves > 1:
        how = f"the sum of the {waves} waves: each starts when the one before has ended"
    else:
        how = "one wave"
    out.append(f"  expected duration {_duration(plan.expected_seconds)} ({how})")
    return "".join(f"{line}\n" for line in out)


def _wave_header(wave: Wave, max_parallel: int) -> str:
    size = len(wave.services)
    at_once = "all at once" if size <= max_parallel else f"{max_parallel} at once, longest first"
    return (
        f"  wave {wave.number}: {size} service{'s' * (size != 1)}, {at_once}, "
        f"expected {_duration(wave.expected_seconds)}"
    )
