"""The catalog: the real services.yaml resolves, and every bad file fails with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import CatalogError, UnknownEnvironmentError, UnknownServiceError

EXPECTED_SERVICES = [
    "auth-service", "user-service", "product-service", "order-service", "payment-service",
    "shipping-service", "seller-service", "settlement-service", "coupon-service", "inventory-service",
    "notification-service", "review-service", "search-service", "admin-service", "file-service",
    "stats-service",
]  # fmt: skip


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_real_catalog_resolves_all_16_services_on_ports_3001_to_3016(
    real_catalog: Catalog, environment: str
) -> None:
    resolved = real_catalog.resolve_all(environment)
    assert [service.name for service in resolved] == EXPECTED_SERVICES
    assert [service.container_port for service in resolved] == list(range(3001, 3017))
    for service in resolved:
        settings = service.settings
        assert service.environment == environment
        assert settings.cluster == "doa-market-cluster"
        assert settings.region == "ap-northeast-2"
        assert settings.health_path == "/health"
        assert settings.application == f"doa-market-{environment}"
        assert settings.deployment_group == service.name
        assert settings.container_name == service.name
        assert (settings.target_group_blue, settings.target_group_green) == (
            f"{service.name}-blue",
            f"{service.name}-green",
        )
        assert f"{service.name}-5xx-errors" in settings.alarms
        assert f"{service.name}-high-latency" in settings.alarms
        assert (service.cpu, service.memory) in {(256, 512), (512, 1024)}
        assert settings.tasks.min <= settings.tasks.desired <= settings.tasks.max
        assert service.task_definition_path is not None and service.task_definition_path.is_file()


@pytest.mark.parametrize(
    ("environment", "default_strategy", "allowed_kinds", "require_alarms"),
    [
        ("dev", "all-at-once", ["all-at-once", "canary", "linear"], False),
        ("prod", "canary10", ["canary", "linear"], True),
    ],
)
def test_real_catalog_environment_overlays(
    real_catalog: Catalog,
    environment: str,
    default_strategy: str,
    allowed_kinds: list[str],
    require_alarms: bool,
) -> None:
    service = real_catalog.resolve("order-service", environment)
    assert service.settings.strategy == default_strategy
    assert service.settings.guardrails.allowed_strategy_kinds == allowed_kinds
    assert service.settings.guardrails.require_alarms is require_alarms
    assert service.settings.guardrails.require_auto_rollback is True
    assert service.settings.deployment.auto_rollback is True


def test_service_override_wins_over_environment_defaults(real_catalog: Catalog) -> None:
    assert real_catalog.resolve("payment-service", "prod").settings.strategy == "linear10"
    assert real_catalog.resolve("payment-service", "prod").settings.deployment.bake_seconds == 300
    assert real_catalog.resolve("payment-service", "dev").settings.strategy == "all-at-once"
    assert real_catalog.resolve("product-service", "prod").settings.tasks.max == 12


def test_find_by_deployment_group_maps_to_one_service_and_environment(real_catalog: Catalog) -> None:
    found = real_catalog.find_by_deployment_group("doa-market-prod", "payment-service")
    assert found is not None and (found.name, found.environment) == ("payment-service", "prod")
    assert real_catalog.find_by_deployment_group("doa-market-prod", "nope") is None


def test_good_fixture_catalog_resolves(good_catalog: Catalog) -> None:
    checkout = good_catalog.resolve("checkout-service", "prod")
    assert checkout.settings.strategy == "canary:25:3"  # the service's own value beats prod's canary10
    assert [p.capacity_provider for p in checkout.settings.capacity_provider_strategy] == [
        "FARGATE",
        "FARGATE_SPOT",
    ]
    assert good_catalog.resolve("cart-service", "prod").settings.tasks.desired == 4
    assert good_catalog.resolve("cart-service").environment == "dev"  # default_environment


def test_name_patterns_in_model_defaults_are_filled(good_catalog: Catalog) -> None:
    # good.yaml leaves container_name, deployment_group, ... to ServiceSettings' "{service}" defaults.
    settings = good_catalog.resolve("cart-service", "prod").settings
    assert settings.container_name == "cart-service"
    assert settings.ecs_service == "cart-service"
    assert settings.deployment_group == "cart-service"
    assert settings.application == "shop-prod"
    assert settings.load_balancer == "shop-prod-alb"
    assert (settings.target_group_blue, settings.target_group_green) == (
        "cart-service-blue",
        "cart-service-green",
    )
    assert not any(pattern in repr(settings) for pattern in ("{service}", "{environment}", "{project}"))


@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        (lambda c: c.resolve("basket-service", "dev"), UnknownServiceError, ["good.yaml", "basket-service"]),
        (
            lambda c: c.resolve("cart-service", "qa"),
            UnknownEnvironmentError,
            ["good.yaml", "'qa'", "dev, prod"],
        ),
        (lambda c: c.resolve_all("qa"), UnknownEnvironmentError, ["good.yaml", "'qa'"]),
    ],
)
def test_unknown_service_or_environment(good_catalog: Catalog, call, error, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as raised:
        call(good_catalog)
    _assert_one_line_naming(str(raised.value), names)


# Each bad file, and what its one-line message must name: the file, the service, the field.
BAD_CATALOGS = [
    ("yaml-syntax.yaml", ["yaml-syntax.yaml", "line 9"]),
    (
        "unknown-key.yaml",
        ["unknown-key.yaml", "services.cart-service", "field prot", "unknown setting (did you mean port?)"],
    ),
    ("bad-port.yaml", ["bad-port.yaml", "services.cart-service", "field port", "65535"]),
    (
        "bad-port-in-override.yaml",
        ["bad-port-in-override.yaml", "services.cart-service.overrides.prod", "field port"],
    ),
    (
        "min-greater-than-max.yaml",
        ["min-greater-than-max.yaml", "services.cart-service", "field tasks", "min"],
    ),
    (
        "unknown-environment-override.yaml",
        ["unknown-environment-override.yaml", "services.cart-service", "field overrides", "staging"],
    ),
    (
        "default-environment-missing.yaml",
        ["default-environment-missing.yaml", "default_environment", "staging"],
    ),
    (
        "task-definition-missing.yaml",
        [
            "task-definition-missing.yaml",
            "services.cart-service",
            "field task_definition",
            "cart-service.json",
        ],
    ),
    (
        "missing-var.yaml",
        ["missing-var.yaml", "services.cart-service", "field image", "${BLUEGREEN_TEST_UNSET_REGISTRY}"],
    ),
    (
        "bad-strategy.yaml",
        ["bad-strategy.yaml", "services.cart-service", "field strategy", "canary11", "canary10"],
    ),
    (
        "unknown-hook-event.yaml",
        ["unknown-hook-event.yaml", "services.cart-service", "field hooks", "AfterTraffic"],
    ),
    # A typo is reported before the "Field required" it causes (services is missing too).
    (
        "unknown-top-level-key.yaml",
        ["unknown-top-level-key.yaml", "field servics: unknown setting (did you mean services?)"],
    ),
    (
        "override-typo.yaml",
        ["override-typo.yaml", "overrides.prod: field stratgy: unknown setting (did you mean strategy?)"],
    ),
    # Names fill paths (appspecs/<service>.<env>.yaml): nothing that climbs out of a directory.
    ("service-name-slash.yaml", ["service-name-slash.yaml", "service name 'team/cart' must be lower-case"]),
    ("service-name-traversal.yaml", ["service name '../../outside' must be lower-case"]),
    ("environment-name-traversal.yaml", ["environment name '../prod' must be lower-case"]),
    ("target-group-too-long.yaml", ["target-group-too-long.yaml", "ELBv2 allows 1-32"]),
    # Services behind one load balancer: production and test listener ports are all distinct.
    ("duplicate-service-port.yaml", ["field port: production listener port 4001 is already cart-service's"]),
    ("duplicate-listener-port.yaml", ["port 5001 is already cart-service's test listener port"]),
    (
        "duplicate-listener-port-in-override.yaml",
        ["(prod): field test_listener_port: test listener port"],
    ),
    # Each layer is checked on its own, even a value every environment overrides.
    ("tasks-three-overridden.yaml", ["defaults: field tasks: Input should be a valid dictionary"]),
]


@pytest.mark.parametrize(("filename", "names"), BAD_CATALOGS, ids=[name for name, _ in BAD_CATALOGS])
def test_bad_catalog_fails_with_one_line_naming_file_service_and_field(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, filename: str, names: list[str]
) -> None:
    monkeypatch.delenv("BLUEGREEN_TEST_UNSET_REGISTRY", raising=False)
    with pytest.raises(CatalogError) as raised:
        load_catalog(fixtures_dir / "catalogs" / filename)
    _assert_one_line_naming(str(raised.value), names)
    assert raised.value.exit_code == 2


def test_missing_catalog_file_names_it_and_the_way_to_point_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as raised:
        load_catalog(tmp_path / "nowhere.yaml")
    _assert_one_line_naming(str(raised.value), ["nowhere.yaml", "BLUEGREEN_CATALOG"])


def test_missing_var_is_taken_from_the_environment_when_set(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUEGREEN_TEST_UNSET_REGISTRY", "registry.example.com")
    catalog = load_catalog(fixtures_dir / "catalogs" / "missing-var.yaml")
    assert catalog.resolve("cart-service").settings.image == "registry.example.com/shop/cart-service:1.0"


def test_top_level_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(CatalogError, match=r"^list\.yaml: the top level must be a mapping"):
        load_catalog(path)


def _assert_one_line_naming(message: str, names: list[str]) -> None:
    assert "\n" not in message, message
    assert "Traceback" not in message
    for name in names:
        assert name in message, f"{name!r} not in {message!r}"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("a" * 32, True),  # ELBv2's limit exactly
        ("a" * 33, False),
        ("shop-dev-alb", True),
        ("a", True),
        ("-shop", False),  # not beginning or ending with a hyphen
        ("shop-", False),
        ("shop_alb", False),
    ],
)
def test_elbv2_names_follow_elbv2s_rule(name: str, valid: bool) -> None:
    from orchestrator.catalog import ELBV2_NAME

    assert bool(ELBV2_NAME.fullmatch(name)) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("cart-service", True),
        ("a" + "b" * 62, True),  # 63 characters
        ("a" + "b" * 63, False),
        ("team/cart", False),
        ("../prod", False),
        ("a..b", False),
        ("cart.dev", False),
        ("Cart", False),
        ("cart-", False),
    ],
)
def test_service_and_environment_names_cannot_leave_a_directory(name: str, valid: bool) -> None:
    from orchestrator.catalog import NAME_PATTERN

    assert bool(NAME_PATTERN.fullmatch(name)) is valid


def test_a_nested_setting_every_environment_overrides_is_still_checked(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    # tasks.desired: three in the defaults never reaches a merged service (every environment sets
    # it), so only checking each layer key by key, nested settings included, finds it.
    text = (fixtures_dir / "catalogs" / "tasks-three-overridden.yaml").read_text(encoding="utf-8")
    path = tmp_path / "services.yaml"
    path.write_text(text.replace("  tasks: three\n", "  tasks: {desired: three}\n"), encoding="utf-8")
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    _assert_one_line_naming(str(raised.value), ["services.yaml", "defaults: field tasks.desired"])
