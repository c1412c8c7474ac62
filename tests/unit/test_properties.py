"""Properties of the pure modules over many generated inputs (hypothesis, modest example counts)."""

from __future__ import annotations

import itertools
import math

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.appspec import EcsAppSpecInput, appspec_sha256, render_ecs_appspec
from orchestrator.catalog import ECS_HOOK_EVENTS, Network
from orchestrator.errors import StrategyError
from orchestrator.files.taskdef import validate_image
from orchestrator.strategies import MAX_SHIFT_MINUTES, StrategyKind, parse_strategy, strategy_for_config
from orchestrator.watching.timing import (
    GroupTiming,
    default_timeout,
    eta_seconds,
    expected_duration,
    expected_phases,
)

percent = st.integers(min_value=1, max_value=99)
minutes = st.integers(min_value=1, max_value=MAX_SHIFT_MINUTES)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["canary", "linear"]), pct=percent, interval=minutes)
def test_custom_strategies_shift_monotonically_to_100(kind: str, pct: int, interval: int) -> None:
    try:
        strategy = parse_strategy(f"{kind}:{pct}:{interval}")
    except StrategyError as err:
        # Only a linear config longer than CodeDeploy's 48 hours may be refused.
        assert kind == "linear" and (math.ceil(100 / pct) - 1) * interval > MAX_SHIFT_MINUTES, err
        return
    steps = strategy.traffic_steps()
    assert steps[0] == (0.0, pct)
    assert steps[-1][1] == 100
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(steps))
    assert all(b[0] - a[0] == interval for a, b in itertools.pairwise(steps))
    if strategy.kind is StrategyKind.LINEAR:
        assert len(steps) == math.ceil(100 / pct)
    # Round trip through the config name, as status/watch would read it back.
    assert strategy_for_config(strategy.deployment_config_name) == strategy


@settings(max_examples=40, deadline=None)
@given(
    name=st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True),
    port=st.integers(min_value=1, max_value=65535),
    hooks=st.dictionaries(
        st.sampled_from(ECS_HOOK_EVENTS), st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
    ),
    subnets=st.lists(st.from_regex(r"subnet-[0-9a-f]{8}", fullmatch=True), min_size=1, max_size=3),
)
def test_ecs_appspec_round_trips_and_is_stable(
    name: str, port: int, hooks: dict[str, str], subnets: list[str]
) -> None:
    spec = EcsAppSpecInput(
        "arn:aws:ecs:r:1:task-definition/x:1", name, port, "LATEST", Network(subnets=subnets), [], hooks
    )
    content = render_ecs_appspec(spec)
    document = yaml.safe_load(content)
    properties = document["Resources"][0]["TargetService"]["Properties"]
    assert properties["LoadBalancerInfo"] == {"ContainerName": name, "ContainerPort": port}
    assert properties["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == subnets
    assert [next(iter(h)) for h in document.get("Hooks", [])] == [e for e in ECS_HOOK_EVENTS if e in hooks]
    reordered = EcsAppSpecInput(
        spec.task_definition_arn,
        name,
        port,
        "LATEST",
        Network(subnets=subnets),
        [],
        dict(reversed(hooks.items())),
    )
    assert appspec_sha256(render_ecs_appspec(reordered)) == appspec_sha256(content)


@settings(max_examples=40, deadline=None)
@given(
    strategy=st.sampled_from(
        ["all-at-once", "canary10", "canary10-15m", "linear10", "linear10-3m", "linear:7:2"]
    ),
    ready=st.sampled_from(["CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"]),
    ready_wait=st.integers(min_value=0, max_value=120),
    termination=st.integers(min_value=0, max_value=120),
    elapsed=st.floats(min_value=0, max_value=10_000),
)
def test_eta_never_exceeds_the_total_and_never_goes_negative(
    strategy: str, ready: str, ready_wait: int, termination: int, elapsed: float
) -> None:
    timing = GroupTiming(ready, ready_wait, termination, {"AfterAllowTraffic": 60.0})
    parsed = parse_strategy(strategy)
    phases = expected_phases(parsed, timing)
    total = expected_duration(parsed, timing)
    assert default_timeout(parsed, timing) >= total + 300
    previous = total
    for phase in phases:
        eta = eta_seconds(phases, phase.name, elapsed)
        assert 0 <= eta <= total
        assert eta_seconds(phases, phase.name, 0) <= previous  # later phases never have more left
        previous = eta_seconds(phases, phase.name, 0)


image_name = st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*){0,2}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    registry=st.sampled_from(["", "registry.example.com/", "localhost:5000/", "1.dkr.ecr.r.amazonaws.com/"]),
    name=image_name,
    tag=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)),
)
def test_generated_valid_image_references_pass(registry: str, name: str, tag: str | None) -> None:
    ref = f"{registry}{name}" + (f":{tag}" if tag else "")
    if len(registry + name) <= 255:
        assert validate_image(ref) == ref
