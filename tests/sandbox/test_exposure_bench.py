"""bench/exposure.py's pieces that decide its figures: where its ListenerWatch reads the users'
traffic (the listener's default action on CodeDeploy, the rule ECS moves traffic on natively) and
its ``--engines`` option. The bench itself is slow (a world per strategy, fault and engine): run by
hand, its table is in README.md."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from orchestrator.vocabulary import EngineName
from sandbox.world import World, WorldOptions
from tests.support.sandbox import bench_module, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def exposure_bench() -> Any:
    """bench/exposure.py as a module (tests/support/sandbox.bench_module)."""
    return bench_module("exposure.py", "exposure_bench")


def _forward(blue: str, green: str, green_weight: int) -> list[dict[str, Any]]:
    groups = [
        {"TargetGroupArn": blue, "Weight": 100 - green_weight},
        {"TargetGroupArn": green, "Weight": green_weight},
    ]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


@pytest.mark.parametrize("engine", [EngineName.CODEDEPLOY, EngineName.ECS])
def test_listener_watch_sees_traffic_leave_and_come_back_on_either_engine(engine: EngineName) -> None:
    bench = exposure_bench()
    options = WorldOptions(time_scale=40.0, engine=engine)
    with World(REPO / "services.yaml", "dev", [bench.SERVICE], None, options) as world:
        item = world.infra[0]
        settings = item.service.settings
        blue, green = (
            item.target_groups[settings.target_group_blue],
            item.target_groups[settings.target_group_green],
        )
        elbv2 = world.clients().elbv2

        def shift(green_weight: int) -> None:  # as each engine moves production traffic
            if item.production_rule_arn:  # ECS: ModifyRule on the production listener's rule
                elbv2.modify_rule(
                    RuleArn=item.production_rule_arn, Actions=_forward(blue, green, green_weight)
                )
            else:  # CodeDeploy: ModifyListener's default action
                elbv2.modify_listener(
                    ListenerArn=item.production_listener_arn,
                    DefaultActions=_forward(blue, green, green_weight),
                )

        watch = bench.ListenerWatch(world)
        try:
            shift(10)
            wait_for(lambda: watch.green_since is not None, timeout=20)
            assert watch.back_on_blue is None
            shift(0)
            wait_for(lambda: watch.back_on_blue is not None, timeout=20)
            assert watch.back_on_blue >= watch.green_since
        finally:
            watch.stop()


@pytest.mark.parametrize(
    ("text", "engines"),
    [
        ("codedeploy,ecs", [EngineName.CODEDEPLOY, EngineName.ECS]),
        ("ecs", [EngineName.ECS]),
        (" ECS , codedeploy ", [EngineName.ECS, EngineName.CODEDEPLOY]),
    ],
)
def test_engines_option(text: str, engines: list[EngineName]) -> None:
    assert exposure_bench().engines_arg(text) == engines


def test_engines_option_names_the_valid_ones() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="valid engines are codedeploy, ecs"):
        exposure_bench().engines_arg("codedeploy,lambda")


@pytest.mark.parametrize(
    ("repeat", "phases"), [(1, [30.0]), (3, [10.0, 30.0, 50.0]), (4, [7.5, 22.5, 37.5, 52.5])]
)
def test_each_strategys_kth_run_starts_at_the_same_place_in_the_minute(
    repeat: int, phases: list[float]
) -> None:
    bench = exposure_bench()
    assert [bench.minute_phase(run, repeat) for run in range(repeat)] == phases


def _result(exposed: int, rolled_back: bool) -> Any:
    bench = exposure_bench()
    return bench.Result(
        strategy="s",
        engine=EngineName.CODEDEPLOY,
        outcome="rolled back" if rolled_back else "NOT rolled back",
        exposed=exposed,
        exposed_errors=0,
        users_total=0,
        to_alarm=None,
        to_blue=10.0 if rolled_back else None,
        alarm_to_blue=None,
        wall=0.0,
        served=20.0,
        shed=0,
        failed=0,
        hops={},
    )


@pytest.mark.parametrize(
    ("canary", "all_at_once", "expected"),
    [
        # all three rolled back: the three ratios agree in the middle run's shape
        ([(20, True), (40, True), (60, True)], [(200, True), (400, True), (600, True)], (10.0, 10.0, 10.0)),
        # all-at-once never rolled back in two runs: the median and mean count every user it reached,
        # the paired ratio only run 1 (both rolled back)
        (
            [(30, True), (70, True), (120, True)],
            [(300, True), (12700, False), (12700, False)],
            (0.6, 0.9, 10.0),
        ),
        # no run in which both were rolled back: no paired ratio
        ([(30, False)], [(300, True)], (10.0, 10.0, None)),
        # nothing exposed in all-at-once (stopped before users): nothing to divide by
        ([(0, True)], [(0, True)], (None, None, None)),
    ],
)
def test_exposure_ratios_median_mean_and_paired(
    canary: list[tuple[int, bool]], all_at_once: list[tuple[int, bool]], expected: tuple[float | None, ...]
) -> None:
    found = exposure_bench().ratios([_result(*r) for r in canary], [_result(*r) for r in all_at_once])
    assert [None if v is None else round(v, 1) for v in found] == list(expected)
