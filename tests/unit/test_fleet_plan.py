"""The fleet's plan (orchestrator/fleet/plan.py): waves from depends_on and explicit waves, cycles
named, list scheduling within a wave, the fleet's expected time as the sum over its waves."""

from __future__ import annotations

import pytest

from orchestrator.errors import BadInputError
from orchestrator.fleet.plan import (
    DependencyError,
    FleetService,
    build_plan,
    expected_wave_seconds,
    find_cycle,
    order_waves,
    validate_max_parallel,
)


@pytest.mark.parametrize(
    ("depends_on", "explicit", "chosen", "waves"),
    [
        pytest.param({}, {}, [], [], id="nothing chosen"),
        pytest.param({}, {}, ["a", "b", "c"], [["a", "b", "c"]], id="no dependencies: one wave"),
        pytest.param({"b": ["a"], "c": ["b"]}, {}, ["a", "b", "c"], [["a"], ["b"], ["c"]], id="a chain"),
        pytest.param(
            {"c": ["a", "b"], "d": ["a"]}, {}, ["a", "b", "c", "d"], [["a", "b"], ["c", "d"]], id="a diamond"
        ),
        pytest.param(
            {"c": ["b"], "b": ["a"]},
            {},
            ["c", "b", "a"],
            [["a"], ["b"], ["c"]],
            id="order is not the input's",
        ),
        pytest.param({"b": ["a"]}, {}, ["b"], [["b"]], id="a dependency not chosen is ignored"),
        pytest.param(
            {"c": ["b"], "b": ["a"]}, {}, ["a", "c"], [["a", "c"]], id="no order through an unchosen service"
        ),
        pytest.param({}, {"a": 2}, ["a", "b"], [["b"], ["a"]], id="an explicit wave lifts a service"),
        pytest.param({}, {"a": 3, "b": 1}, ["a", "b"], [["b"], ["a"]], id="empty waves are dropped"),
        pytest.param({}, {"a": 1, "b": None}, ["a", "b"], [["a", "b"]], id="explicit wave 1 is the first"),
        pytest.param(
            {"b": ["a"]},
            {"b": 3, "c": 2},
            ["a", "b", "c"],
            [["a"], ["c"], ["b"]],
            id="explicit after its deps",
        ),
        pytest.param(
            {"c": ["b"]},
            {"b": 2},
            ["a", "b", "c"],
            [["a"], ["b"], ["c"]],
            id="a dependency's explicit wave counts",
        ),
        pytest.param({"b": ["a", "a"]}, {}, ["a", "b"], [["a"], ["b"]], id="a dependency named twice"),
        pytest.param({}, {}, ["a", "b", "a"], [["a", "b"]], id="a service chosen twice deploys once"),
    ],
)
def test_order_waves(
    depends_on: dict[str, list[str]],
    explicit: dict[str, int | None],
    chosen: list[str],
    waves: list[list[str]],
) -> None:
    assert order_waves(depends_on, explicit, chosen) == waves


@pytest.mark.parametrize(
    ("depends_on", "chosen", "message"),
    [
        pytest.param(
            {"order-service": ["payment-service"], "payment-service": ["order-service"]},
            ["order-service", "payment-service"],
            "dependency cycle: order-service -> payment-service -> order-service",
            id="two services",
        ),
        pytest.param(
            {"a": ["b"], "b": ["c"], "c": ["a"]},
            ["b", "a", "c"],
            "dependency cycle: b -> c -> a -> b",
            id="three",
        ),
        pytest.param(
            {"a": ["x"], "x": ["y"], "y": ["x"]},
            ["a", "x", "y"],
            "dependency cycle: x -> y -> x",
            id="past a tail",
        ),
    ],
)
def test_a_cycle_is_bad_input_naming_it(
    depends_on: dict[str, list[str]], chosen: list[str], message: str
) -> None:
    with pytest.raises(DependencyError) as caught:
        order_waves(depends_on, {}, chosen)
    assert str(caught.value) == message
    assert caught.value.exit_code == 2
    assert caught.value.field == "depends_on"


def test_a_cycle_through_a_service_not_chosen_is_no_cycle_for_this_run() -> None:
    # The catalog refuses it at load, with every service chosen; a run orders only what it deploys.
    depends_on = {"a": ["b"], "b": ["a"]}
    assert find_cycle(depends_on, ["a", "b"]) == ["a", "b", "a"]
    assert order_waves(depends_on, {}, ["a"]) == [["a"]]


def test_a_service_depending_on_itself_is_no_cycle_here() -> None:
    # The catalog refuses it at load with its own message; the order ignores it.
    assert order_waves({"a": ["a"]}, {}, ["a"]) == [["a"]]


@pytest.mark.parametrize(
    ("depends_on", "explicit", "message", "service"),
    [
        pytest.param(
            {"order-service": ["payment-service"]},
            {"order-service": 1},
            "wave 1 is not after payment-service's wave 1 (order-service depends on payment-service); "
            "set wave to 2 or more, or leave it out",
            "order-service",
            id="same wave as its dependency",
        ),
        pytest.param(
            {"order-service": ["payment-service"]},
            {"order-service": 2, "payment-service": 3},
            "wave 2 is not after payment-service's wave 3 (order-service depends on payment-service); "
            "set wave to 4 or more, or leave it out",
            "order-service",
            id="before its dependency",
        ),
    ],
)
def test_an_explicit_wave_before_a_dependency_is_bad_input_naming_both(
    depends_on: dict[str, list[str]], explicit: dict[str, int | None], message: str, service: str
) -> None:
    with pytest.raises(DependencyError) as caught:
        order_waves(depends_on, explicit, ["order-service", "payment-service"])
    assert str(caught.value) == message
    assert (caught.value.service, caught.value.field) == (service, "wave")


@pytest.mark.parametrize(
    ("durations", "max_parallel", "seconds"),
    [
        pytest.param([], 4, 0.0, id="an empty wave"),
        pytest.param([300.0], 4, 300.0, id="one"),
        pytest.param([100.0, 200.0, 300.0], 4, 300.0, id="all at once: the longest"),
        pytest.param([100.0, 200.0, 300.0], 1, 600.0, id="one at a time: the sum"),
        # longest first on 2 lanes: 5 | 4, then 3 -> lane at 4 (7), 2 -> lane at 5 (7), 1 -> 8
        pytest.param([1.0, 2.0, 3.0, 4.0, 5.0], 2, 8.0, id="list scheduling, longest first"),
        pytest.param([60.0] * 6, 4, 120.0, id="six equal on four lanes: two rounds"),
        pytest.param([60.0] * 6, 8, 60.0, id="more lanes than deployments"),
        # LPT is not optimal: 3,3,2,2,2 on 2 lanes is 7 (3+2+2 | 3+2) where 6 (3+3 | 2+2+2) exists;
        # the runner starts longest first, so 7 is when it ends.
        pytest.param([3.0, 3.0, 2.0, 2.0, 2.0], 2, 7.0, id="what the runner does, not the optimum"),
    ],
)
def test_expected_wave_seconds(durations: list[float], max_parallel: int, seconds: float) -> None:
    assert expected_wave_seconds(durations, max_parallel) == seconds


@pytest.mark.parametrize("value", [0, -1, 101])
def test_max_parallel_out_of_bounds_is_bad_input(value: int) -> None:
    with pytest.raises(BadInputError, match=rf"^--max-parallel must be between 1 and 100 .*got {value}$"):
        validate_max_parallel(value)
    with pytest.raises(BadInputError):
        expected_wave_seconds([1.0], value)


def _service(name: str, seconds: float, *depends_on: str, engine: str = "codedeploy") -> FleetService:
    return FleetService(
        service=name, engine=engine, image=None, expected_seconds=seconds, depends_on=depends_on
    )


def test_build_plan_waves_order_and_expected_seconds() -> None:
    services = [
        _service("auth-service", 120.0),
        _service("file-service", 60.0),
        _service("user-service", 90.0, "auth-service"),
        _service("product-service", 200.0, "auth-service", "file-service"),
        _service("coupon-service", 90.0, "auth-service", engine="ecs"),
        _service("order-service", 300.0, "user-service", "product-service", "not-chosen"),
    ]
    plan = build_plan("dev", services, {}, strategy=None, max_parallel=2)
    assert [[s.service for s in wave.services] for wave in plan.waves] == [
        ["auth-service", "file-service"],
        ["product-service", "user-service", "coupon-service"],  # longest first; ties in catalog order
        ["order-service"],
    ]
    assert [wave.number for wave in plan.waves] == [1, 2, 3]
    # wave 2 on 2 lanes: 200 | 90, then 90 on the lane free at 90 -> 180; the wave ends at 200
    assert [wave.expected_seconds for wave in plan.waves] == [120.0, 200.0, 300.0]
    assert plan.expected_seconds == 620.0
    assert plan.services[-1].depends_on == ("user-service", "product-service")  # not-chosen dropped
    assert (plan.services[4].service, plan.services[4].engine) == ("coupon-service", "ecs")


def test_build_plan_one_lane_is_the_sum_of_everything() -> None:
    services = [_service("a", 10.0), _service("b", 20.0), _service("c", 30.0, "a")]
    plan = build_plan("prod", services, {}, strategy="canary10", max_parallel=1)
    assert plan.expected_seconds == 60.0
    assert (plan.environment, plan.strategy, plan.max_parallel) == ("prod", "canary10", 1)


def test_build_plan_refuses_a_cycle_and_max_parallel_zero() -> None:
    services = [_service("a", 1.0, "b"), _service("b", 1.0, "a")]
    with pytest.raises(DependencyError, match=r"^dependency cycle: a -> b -> a$"):
        build_plan("dev", services, {}, strategy=None, max_parallel=4)
    with pytest.raises(BadInputError, match="--max-parallel"):
        build_plan("dev", [_service("a", 1.0)], {}, strategy=None, max_parallel=0)


def test_cycles_and_waves_agree_with_graphlib_on_random_graphs() -> None:
    # 500 random dependency graphs (a fixed seed): a cycle is found exactly when graphlib finds one,
    # and it is a real cycle; otherwise each service's wave is 1 + its longest chain of dependencies.
    import graphlib
    import itertools
    import random

    rng = random.Random(13)
    for _ in range(500):
        names = [f"s{i}" for i in range(rng.randint(1, 8))]
        depends_on = {name: rng.sample(names, rng.randint(0, min(3, len(names)))) for name in names}
        depends_on = {name: [dep for dep in deps if dep != name] for name, deps in depends_on.items()}
        try:
            order = list(graphlib.TopologicalSorter(depends_on).static_order())
        except graphlib.CycleError:
            cycle = find_cycle(depends_on, names)
            assert cycle is not None and cycle[0] == cycle[-1]
            assert all(after in depends_on[before] for before, after in itertools.pairwise(cycle))
            continue
        assert find_cycle(depends_on, names) is None
        chain: dict[str, int] = {}
        for name in order:  # dependencies come first
            chain[name] = 1 + max((chain[dep] for dep in depends_on[name]), default=0)
        waves = order_waves(depends_on, {}, names)
        assert {name: number for number, wave in enumerate(waves, 1) for name in wave} == chain
