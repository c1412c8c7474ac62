"""From what the user asked (`fleet deploy` flags) to a FleetPlan, without a single AWS call.

Every check that needs no AWS runs here, so bad input is exit 2 before anything is written: the
environment, the services named (or --all), --max-parallel, the strategy, the images, and each
service's own plan through its own engine (``Engine.plan(..., offline=True)``: the same guardrails,
task definition and image checks as `deploy --dry-run`), whose ``expected_seconds`` the fleet's plan
schedules. `fleet deploy` starts each service from ``fleet_inputs`` (the same DeployInputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.catalog import Catalog, ResolvedService, did_you_mean
from orchestrator.errors import BadInputError, UnknownServiceError
from orchestrator.fleet.images import images_for, load_images
from orchestrator.fleet.plan import FleetPlan, FleetService, build_plan, validate_max_parallel

if TYPE_CHECKING:
    from orchestrator.engines.base import DeployInputs


@dataclass(frozen=True)
class FleetRequest:
    """What `fleet deploy` was asked: which services where, how, with which images."""

    environment: str | None = None  # None: the catalog's default environment
    services: tuple[str, ...] = ()  # the services named; empty with ``all_services``
    all_services: bool = False
    strategy: str | None = None  # every service's strategy; None: each one's own (catalog)
    image_tag: str | None = None
    images_file: str | None = None
    max_parallel: int | None = None  # None: the environment's fleet.max_parallel
    force: bool = False


def chosen_services(catalog: Catalog, request: FleetRequest) -> list[ResolvedService]:
    """The services of the run in catalog order; unknown names are bad input (did-you-mean)."""
    environment = request.environment or catalog.default_environment
    catalog.environment(environment)  # UnknownEnvironmentError naming the defined ones
    if request.all_services and request.services:
        raise BadInputError("name services or pass --all, not both")
    if not request.all_services and not request.services:
        raise BadInputError("name the services to deploy, or pass --all for every service of the catalog")
    known = catalog.services
    for name in request.services:
        if name not in known:
            raise UnknownServiceError(
                f"{catalog.path.name}: no service {name!r}{did_you_mean(name, known)}; "
                "`bluegreen fleet deploy --all` deploys every service"
            )
    names = set(request.services)
    return [
        service
        for service in catalog.resolve_all(environment)
        if request.all_services or service.name in names
    ]


def fleet_inputs(catalog: Catalog, request: FleetRequest) -> dict[str, DeployInputs]:
    """Each chosen service's DeployInputs, in catalog order: what `deploy` would be given for it."""
    from orchestrator.engines.base import DeployInputs
    from orchestrator.strategies import parse_strategy

    if request.max_parallel is not None:
        validate_max_parallel(request.max_parallel)
    services = chosen_services(catalog, request)
    entries = load_images(request.images_file, catalog.services) if request.images_file else None
    images = images_for(services, entries, request.image_tag)
    inputs: dict[str, DeployInputs] = {}
    for service in services:
        strategy = parse_strategy(
            request.strategy if request.strategy is not None else service.settings.strategy
        )
        inputs[service.name] = DeployInputs(
            service=service, strategy=strategy, image=images[service.name], force=request.force
        )
    return inputs


def plan_fleet(catalog: Catalog, request: FleetRequest) -> FleetPlan:
    """The fleet's plan: waves, each service's engine, strategy and expected duration (its engine's
    offline plan: no AWS call), each wave's and the whole fleet's. BadInputError for bad input."""
    from orchestrator.engines import engine_for

    inputs = fleet_inputs(catalog, request)
    environment = request.environment or catalog.default_environment
    services: list[FleetService] = []
    for name, deploy in inputs.items():
        settings = deploy.service.settings
        plan = engine_for(deploy.service, None).plan(deploy, offline=True)  # offline: no client used
        services.append(
            FleetService(
                service=name,
                engine=plan.engine,
                image=deploy.image,
                expected_seconds=plan.expected_seconds,
                strategy=deploy.strategy.name,
                depends_on=tuple(settings.depends_on),
            )
        )
    max_parallel = request.max_parallel or catalog.environment(environment).fleet.max_parallel
    return build_plan(
        environment,
        services,
        {name: deploy.service.settings.wave for name, deploy in inputs.items()},
        strategy=request.strategy,
        max_parallel=max_parallel,
    )
