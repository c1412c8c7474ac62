"""`fleet deploy --dry-run`'s plan: plan_fleet from the catalog (each service's engine planned
offline: no AWS call), every bad input refused with one line, and the text and JSON renderers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from orchestrator import documents
from orchestrator.catalog import Catalog
from orchestrator.engines import engine_for
from orchestrator.errors import BadInputError, GuardrailError, UnknownEnvironmentError, UnknownServiceError
from orchestrator.fleet.plan import FleetPlan, FleetService, Wave
from orchestrator.fleet.plan_view import plan_document, plan_text
from orchestrator.fleet.planning import FleetRequest, fleet_inputs, plan_fleet
from tests.support.schema import document_kind


def test_the_whole_dev_fleet(real_catalog: Catalog) -> None:
    # No clients at all: an engine that tried to reach AWS would fail on None.
    plan = plan_fleet(real_catalog, FleetRequest(environment="dev", all_services=True))
    assert (plan.environment, plan.strategy, plan.max_parallel) == ("dev", None, 8)  # dev's fleet setting
    assert [len(wave.services) for wave in plan.waves] == [3, 7, 4, 2]
    assert len(plan.services) == 16
    engines = {service.service: service.engine for service in plan.services}
    assert {name for name, engine in engines.items() if engine == "ecs"} == {
        "inventory-service",
        "notification-service",
    }
    inputs = fleet_inputs(real_catalog, FleetRequest(environment="dev", all_services=True))
    for service in plan.services:  # each one's expected seconds is its own engine's offline plan
        resolved = real_catalog.resolve(service.service, "dev")
        own = engine_for(resolved, None).plan(inputs[service.service], offline=True)
        assert service.expected_seconds == own.expected_seconds > 0
        assert service.strategy == "all-at-once"
    for wave in plan.waves:  # all at once in dev: each wave lasts as long as its longest
        assert wave.expected_seconds == max(service.expected_seconds for service in wave.services)
    assert plan.expected_seconds == sum(wave.expected_seconds for wave in plan.waves)


def test_prod_four_at_once_and_overrides(real_catalog: Catalog) -> None:
    plan = plan_fleet(real_catalog, FleetRequest(environment="prod", all_services=True))
    assert plan.max_parallel == 4
    wave_2 = plan.waves[1]
    assert wave_2.services[0].service == "payment-service"  # linear10 in prod: the longest starts first
    assert wave_2.expected_seconds > max(service.expected_seconds for service in wave_2.services)
    one_lane = plan_fleet(real_catalog, FleetRequest(environment="prod", all_services=True, max_parallel=1))
    assert one_lane.expected_seconds == pytest.approx(sum(s.expected_seconds for s in one_lane.services))


def test_a_subset_keeps_only_its_own_order(real_catalog: Catalog) -> None:
    request = FleetRequest(services=("stats-service", "order-service", "auth-service", "order-service"))
    plan = plan_fleet(real_catalog, request)
    assert plan.environment == "dev"  # the catalog's default environment
    assert [[s.service for s in wave.services] for wave in plan.waves] == [
        ["auth-service", "order-service"],  # order's dependencies are not chosen: taken as deployed
        ["stats-service"],
    ]
    assert plan.services[-1].depends_on == ("order-service",)


def test_strategy_and_images_for_every_service(real_catalog: Catalog, tmp_path: Path) -> None:
    images = tmp_path / "images.yaml"
    images.write_text("order-service: registry.example.com/order:9\nuser-service: :2.0\n", encoding="utf-8")
    request = FleetRequest(
        services=("order-service", "user-service"), strategy="canary10", images_file=str(images)
    )
    plan = plan_fleet(real_catalog, request)
    assert plan.strategy == "canary10"
    assert {service.service: service.strategy for service in plan.services} == dict.fromkeys(
        ["user-service", "order-service"], "canary10"
    )
    by_name = {service.service: service.image for service in plan.services}
    assert by_name["order-service"] == "registry.example.com/order:9"
    assert str(by_name["user-service"]).endswith("/doa-market/user-service:2.0")


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        pytest.param(
            FleetRequest(services=("oder-service",)),
            UnknownServiceError,
            "services.yaml: no service 'oder-service' (did you mean order-service?); "
            "`bluegreen fleet deploy --all` deploys every service",
            id="an unknown service on the command line",
        ),
        pytest.param(FleetRequest(), BadInputError, "name the services to deploy, or pass --all", id="none"),
        pytest.param(
            FleetRequest(services=("order-service",), all_services=True),
            BadInputError,
            "name services or pass --all, not both",
            id="both",
        ),
        pytest.param(
            FleetRequest(environment="staging", all_services=True),
            UnknownEnvironmentError,
            "services.yaml: no environment 'staging'",
            id="an unknown environment",
        ),
        pytest.param(
            FleetRequest(all_services=True, max_parallel=0),
            BadInputError,
            "--max-parallel must be between 1 and 100",
            id="--max-parallel 0",
        ),
        pytest.param(
            FleetRequest(all_services=True, strategy="canary11"),
            BadInputError,
            "unknown strategy 'canary11'",
            id="an unknown strategy",
        ),
        pytest.param(
            FleetRequest(environment="prod", all_services=True, strategy="all-at-once"),
            GuardrailError,
            "refused by prod guardrails for auth-service",
            id="prod's guardrails, per service",
        ),
        pytest.param(
            FleetRequest(all_services=True, image_tag="v 1"),
            BadInputError,
            "--image-tag: 'v 1' is not a valid image tag",
            id="an invalid tag",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    real_catalog: Catalog, request_: FleetRequest, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        plan_fleet(real_catalog, request_)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)
    assert getattr(raised.value, "exit_code", None) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("order-service: :1\norder-service: :2\n", "images.yaml: key 'order-service' is defined twice"),
        ("order-service: Order:1\n", "images.yaml: order-service: image 'Order:1' is not a valid image"),
    ],
)
def test_a_bad_images_file_is_refused_before_any_plan(
    real_catalog: Catalog, tmp_path: Path, text: str, message: str
) -> None:
    images = tmp_path / "images.yaml"
    images.write_text(text, encoding="utf-8")
    with pytest.raises(BadInputError, match=f"^{message}"):
        plan_fleet(real_catalog, FleetRequest(all_services=True, images_file=str(images)))


def test_force_lets_prod_guardrails_pass_as_deploy_does(real_catalog: Catalog) -> None:
    request = FleetRequest(environment="prod", services=("auth-service",), strategy="all-at-once", force=True)
    assert plan_fleet(real_catalog, request).services[0].strategy == "all-at-once"


# --- the renderers ------------------------------------------------------------------------------------
SMALL = FleetPlan(
    environment="dev",
    strategy=None,
    max_parallel=2,
    waves=(
        Wave(1, (FleetService("auth-service", "codedeploy", None, 296.0, "all-at-once"),), 296.0),
        Wave(
            2,
            (
                FleetService(
                    "payment-service", "codedeploy", "registry.example.com/pay:2", 2006.0, "linear10"
                ),
                FleetService("inventory-service", "ecs", None, 300.0, "canary10", ("auth-service",)),
                FleetService("user-service", "codedeploy", None, 90.0, "all-at-once", ("auth-service",)),
            ),
            2006.0,
        ),
    ),
    expected_seconds=2302.0,
)

SMALL_TEXT = """\
plan: fleet deploy to dev: 4 services in 2 waves, at most 2 at once (dry run: nothing is changed)
  wave 1: 1 service, all at once, expected 4m 56s
    auth-service       codedeploy  all-at-once  4m 56s
  wave 2: 3 services, 2 at once, longest first, expected 33m 26s
    payment-service    codedeploy  linear10     33m 26s
                       image registry.example.com/pay:2
    inventory-service  ecs         canary10     5m 00s
    user-service       codedeploy  all-at-once  1m 30s
  expected duration 38m 22s (the sum of the 2 waves: each starts when the one before has ended)
"""


def test_the_text_shows_waves_order_engines_strategies_and_durations() -> None:
    assert plan_text(SMALL) == SMALL_TEXT


def test_the_document_and_its_schema() -> None:
    document = documents.to_json(plan_document(SMALL))
    assert document["expectedSeconds"] == 2302 and document["maxParallel"] == 2 and document["services"] == 4
    assert [wave["number"] for wave in document["waves"]] == [1, 2]
    inventory = document["waves"][1]["services"][1]
    assert inventory == {
        "service": "inventory-service",
        "engine": "ecs",
        "strategy": "canary10",
        "image": None,
        "expectedSeconds": 300,
        "dependsOn": ["auth-service"],
    }
    assert document["dryRun"] is True
    assert document_kind(document) == "FleetPlanDocument"


def test_the_real_dev_plan_renders(real_catalog: Catalog) -> None:
    plan = plan_fleet(real_catalog, FleetRequest(all_services=True))
    text = plan_text(plan)
    assert text.startswith("plan: fleet deploy to dev: 16 services in 4 waves, at most 8 at once")
    assert text.count("  wave ") == 4 and "notification-service  ecs" in text
    assert document_kind(documents.to_json(plan_document(plan))) == "FleetPlanDocument"


# --- the plan as a fleet run's record -------------------------------------------------------------------
def test_the_record_reads_back_as_the_same_plan(real_catalog: Catalog) -> None:
    import json

    from orchestrator.fleet.plan import plan_from_record, plan_record

    plan = plan_fleet(
        real_catalog, FleetRequest(environment="prod", all_services=True, image_tag="1.4.2-rc.1")
    )
    record = plan_record(plan)
    text = json.dumps(record, separators=(",", ":"))
    # an SSM Standard parameter holds 4 KB; 16 services with full ECR image URIs fit
    assert len(text.encode()) < 4096, len(text.encode())
    again = plan_from_record(json.loads(text))
    assert [[s.service for s in wave.services] for wave in again.waves] == [
        [s.service for s in wave.services] for wave in plan.waves
    ]
    assert again.services == tuple(
        dataclasses.replace(s, expected_seconds=float(round(s.expected_seconds))) for s in plan.services
    )
    assert (again.environment, again.strategy, again.max_parallel) == ("prod", None, 4)
    assert again.expected_seconds == pytest.approx(plan.expected_seconds, abs=16)


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"version": 2, "environment": "dev", "maxParallel": 4, "waves": []},
        {"version": 1, "environment": "dev", "maxParallel": 0, "waves": []},
        {"version": 1, "environment": "dev", "maxParallel": 4, "waves": [[{"service": "a"}]]},
        {
            "version": 1,
            "environment": "dev",
            "maxParallel": 4,
            "waves": [[{"service": "a", "engine": "ecs"}]],
        },
        {"version": 1, "environment": "dev", "maxParallel": "x", "waves": []},
    ],
)
def test_a_record_that_is_not_a_plan_is_bad_input(record: dict[str, object]) -> None:
    from orchestrator.fleet.plan import plan_from_record

    with pytest.raises(BadInputError, match=r"^the fleet run's record is not a plan this bluegreen reads \("):
        plan_from_record(record)
