"""The catalog refuses at load what would stop every fleet run: depends_on naming an unknown service,
the service itself or a cycle, and a wave before a dependency's (one line, exit 2); the example
catalog's order and fleet settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import CatalogError
from orchestrator.fleet.plan import order_waves

CATALOG = """\
version: 1
project: shop
default_environment: dev
defaults:
  region: ap-northeast-2
  cluster: shop-cluster
  task_definition: current
environments:
  dev: {{}}
  prod:
    fleet: {{max_parallel: 2, queue_wait_minutes: 10}}
services:
  cart-service:
    port: 4001
{cart}
  checkout-service:
    port: 4002
{checkout}
  payment-service:
    port: 4003
{payment}
"""


def _catalog(tmp_path: Path, cart: str = "", checkout: str = "", payment: str = "") -> Path:
    def indent(text: str) -> str:
        return "\n".join(f"    {line}" for line in text.splitlines())

    path = tmp_path / "services.yaml"
    text = CATALOG.format(cart=indent(cart), checkout=indent(checkout), payment=indent(payment))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        pytest.param(
            {"checkout": "depends_on: [paymnet-service]"},
            "services.yaml: services.checkout-service (dev): field depends_on: "
            "no service 'paymnet-service' (did you mean payment-service?)",
            id="unknown service, did you mean",
        ),
        pytest.param(
            {"checkout": "depends_on: [inventory]"},
            "services.yaml: services.checkout-service (dev): field depends_on: no service 'inventory'",
            id="unknown service, nothing close",
        ),
        pytest.param(
            {"checkout": "depends_on: [checkout-service]"},
            "services.yaml: services.checkout-service (dev): field depends_on: "
            "checkout-service cannot depend on itself; remove it",
            id="itself",
        ),
        pytest.param(
            {"checkout": "depends_on: [cart-service, cart-service]"},
            "services.yaml: services.checkout-service (dev): field depends_on: "
            "cart-service is listed twice; keep one",
            id="twice",
        ),
        pytest.param(
            {"checkout": "depends_on: [payment-service]", "payment": "depends_on: [checkout-service]"},
            "services.yaml: services.checkout-service (dev): field depends_on: "
            "dependency cycle: checkout-service -> payment-service -> checkout-service",
            id="a cycle",
        ),
        pytest.param(
            {
                "cart": "depends_on: [checkout-service]",
                "checkout": "depends_on: [payment-service]",
                "payment": "depends_on: [cart-service]",
            },
            "services.yaml: services.cart-service (dev): field depends_on: "
            "dependency cycle: cart-service -> checkout-service -> payment-service -> cart-service",
            id="a cycle of three",
        ),
        pytest.param(
            {"checkout": "depends_on: [payment-service]\nwave: 1"},
            "services.yaml: services.checkout-service (dev): field wave: wave 1 is not after "
            "payment-service's wave 1 (checkout-service depends on payment-service); "
            "set wave to 2 or more, or leave it out",
            id="a wave before a dependency's",
        ),
        pytest.param(
            {"checkout": "overrides:\n  prod:\n    depends_on: [payment-service]", "payment": "wave: 2\n"
             "depends_on: [checkout-service]"},
            "services.yaml: services.checkout-service (prod): field depends_on: "
            "dependency cycle: checkout-service -> payment-service -> checkout-service",
            id="a cycle in one environment only",
        ),
        pytest.param(
            {"cart": "wave: 0"},
            "services.yaml: services.cart-service: field wave: "
            "Input should be greater than or equal to 1 (got 0)",
            id="wave 0",
        ),
        pytest.param(
            {"cart": "depends_on: cart-service"},
            "services.yaml: services.cart-service: field depends_on: Input should be a valid list",
            id="depends_on not a list",
        ),
    ],
)  # fmt: skip
def test_a_bad_order_is_a_catalog_error_at_load_naming_it(
    tmp_path: Path, layers: dict[str, str], message: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        load_catalog(_catalog(tmp_path, **layers))
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_good_order_loads_with_fleet_settings_per_environment(tmp_path: Path) -> None:
    catalog = load_catalog(
        _catalog(tmp_path, checkout="depends_on: [cart-service, payment-service]", payment="wave: 2")
    )
    checkout = catalog.resolve("checkout-service", "dev")
    assert checkout.settings.depends_on == ["cart-service", "payment-service"]
    assert catalog.resolve("payment-service", "prod").settings.wave == 2
    assert catalog.environment("prod").fleet.max_parallel == 2
    assert catalog.environment("dev").fleet.max_parallel == 4  # the default


@pytest.mark.parametrize(
    ("fleet", "message"),
    [
        ("{max_parallel: 0}", "max_parallel"),
        ("{max_paralel: 3}", "max_paralel"),
        ("{queue_wait_minutes: -1}", "queue_wait_minutes"),
    ],
)
def test_bad_fleet_settings_are_catalog_errors(tmp_path: Path, fleet: str, message: str) -> None:
    path = _catalog(tmp_path)
    path.write_text(path.read_text().replace("dev: {}", f"dev: {{fleet: {fleet}}}"), encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


# --- the example catalog (services.yaml) ------------------------------------------------------------
EXAMPLE_WAVES = [
    ["auth-service", "notification-service", "file-service"],
    [
        "user-service", "product-service", "payment-service", "shipping-service", "seller-service",
        "coupon-service", "inventory-service",
    ],
    ["order-service", "settlement-service", "review-service", "search-service"],
    ["admin-service", "stats-service"],
]  # fmt: skip


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_example_market_deploys_in_four_waves(real_catalog: Catalog, environment: str) -> None:
    services = real_catalog.resolve_all(environment)
    depends_on = {service.name: service.settings.depends_on for service in services}
    explicit = {service.name: service.settings.wave for service in services}
    waves = order_waves(depends_on, explicit, [service.name for service in services])
    assert waves == EXAMPLE_WAVES


def test_the_example_environments_fleet_settings(real_catalog: Catalog) -> None:
    assert real_catalog.environment("dev").fleet.max_parallel == 8
    assert real_catalog.environment("prod").fleet.max_parallel == 4
