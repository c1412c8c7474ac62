"""bench/judge_world.py's pure parts, which decide bench/judge.py's world figures: how the canaries
are dealt into worlds, the catalog a world of several services runs (each service product-service's
dev shape, its alarms valid), which world canaries do not count as measured at the asked rate, and
the served-traffic summary. The worlds themselves are slow: run by hand, the table is in README.md."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orchestrator.alarms.definitions import load_definitions
from orchestrator.catalog import load_catalog
from tests.support.sandbox import bench_module

REPO = Path(__file__).resolve().parents[2]


def judge_world() -> Any:
    """bench/judge_world.py as a module (tests/support/sandbox.bench_module)."""
    return bench_module("judge_world.py", "judge_world_bench")


@pytest.mark.parametrize(
    ("counts", "per_world", "sizes"),
    [
        ({"5xx": 1, "latency": 1, "healthy": 20}, 11, [11, 11]),
        ({"5xx": 2, "latency": 2, "healthy": 20}, 10, [8, 8, 8]),
        ({"5xx": 1, "latency": 1, "healthy": 1}, 1, [1, 1, 1]),
        ({"5xx": 0, "latency": 0, "healthy": 3}, 5, [3]),
        ({"5xx": 0, "latency": 0, "healthy": 0}, 4, []),
    ],
)
def test_plan_worlds_deals_every_canary_into_as_few_even_worlds(
    counts: dict[str, int], per_world: int, sizes: list[int]
) -> None:
    worlds = judge_world().plan_worlds(counts, per_world)
    assert [len(w) for w in worlds] == sizes
    assert Counter(s for w in worlds for s in w) == Counter({k: v for k, v in counts.items() if v})


def test_plan_worlds_spreads_a_regression_over_worlds() -> None:
    worlds = judge_world().plan_worlds({"5xx": 2, "latency": 2, "healthy": 20}, 12)
    assert [Counter(w)["5xx"] for w in worlds] == [1, 1]
    assert [Counter(w)["latency"] for w in worlds] == [1, 1]


def test_plan_worlds_needs_a_service_per_world() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        judge_world().plan_worlds({"healthy": 1}, 0)


def test_world_catalog_gives_every_service_product_service_dev_shape(tmp_path: Path) -> None:
    module = judge_world()
    path, names = module.world_catalog(tmp_path, rate=20.0, count=11)
    assert names[0] == "product-service" and len(set(names)) == 11
    catalog = load_catalog(path)
    definitions = load_definitions(catalog)  # raises when a service's alarms are not defined
    product = catalog.resolve("product-service", "dev")
    for name in names:
        service = catalog.resolve(name, "dev")
        assert service.settings.analysis == product.settings.analysis
        assert service.settings.analysis.enabled
        assert service.settings.tasks.desired == 3  # 20 requests a second, 8 a task
        kinds = {alarm.kind for alarm in definitions.for_service(service)}
        assert {"5xx-errors", "high-latency", "canary-verdict"} <= kinds


def test_world_services_skip_those_with_their_own_alarm_thresholds() -> None:
    module = judge_world()
    services = load_catalog(REPO / "services.yaml").services
    names = module.world_services(services, 11)
    assert not {"payment-service", "search-service", "file-service"} & set(names)
    with pytest.raises(ValueError, match="asked for 99"):
        module.world_services(services, 99)


def canary(**fields: Any) -> Any:
    defaults: dict[str, Any] = {
        "service": "auth-service",
        "scenario": "healthy",
        "world": 1,
        "shifted": True,
        "judge_at": None,
        "alarm_at": None,
        "alarm": None,
        "verdicts": {},
        "rate": 20.0,
        "green_share": 0.1,
        "shed": 0,
        "wall": 1000.0,
    }
    return judge_world().WorldCanary(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({}, None),
        ({"rate": 19.0}, None),  # 95 % of 20
        ({"rate": 18.9}, "served 18.9 users/virtual s of 20"),
        ({"shifted": False, "rate": 0.0}, "no AllowTraffic within 900 virtual s"),
        ({"green_share": 0.0}, "green answered no user"),
    ],
)
def test_served_problems(fields: dict[str, Any], problem: str | None) -> None:
    problems = judge_world().served_problems([canary(**fields)], 20.0)
    assert problems == ([] if problem is None else [f"world 1 auth-service (healthy): {problem}"])


def test_summary_world_spreads_served_traffic_and_sums_each_world_once() -> None:
    runs = [
        canary(rate=19.8, green_share=0.098, world=1, wall=1000.0),
        canary(rate=20.0, green_share=0.100, world=1, wall=1000.0, alarm="auth-service-5xx-errors"),
        canary(rate=20.1, green_share=0.104, world=2, wall=1100.0, service="user-service"),
        canary(shifted=False, rate=0.0, green_share=0.0, world=2, wall=1100.0),
    ]
    assert judge_world().summary_world(runs) == {
        "alarms": "5xx-errors",
        "rate": "20.0/s [19.8..20.1]",
        "green": "10.0 % [9.8..10.4]",
        "worlds": "2",
        "wall": "2100 s",
    }
    assert judge_world().summary_world([]) == {}
