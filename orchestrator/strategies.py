"""Strategy names -> CodeDeploy deployment configs (pure: no boto3).

For the CLI engineer:
- ``parse_strategy(name)`` turns what the user typed (``canary10``, ``linear:20:2``) into a frozen
  ``Strategy``; a bad name raises ``StrategyError`` listing the valid names (and a close match).
- ``Strategy.deployment_config_name`` goes into CreateDeployment's ``deploymentConfigName``.
- ``Strategy.create_request()`` is None for the predefined ``CodeDeployDefault.ECS*`` configs; for a
  custom one it is the exact kwargs of ``CreateDeploymentConfig`` (create it when GetDeploymentConfig
  says DeploymentConfigDoesNotExistException; DeploymentConfigAlreadyExistsException means another
  run created it first, which is fine because the name encodes the whole config).
- ``Strategy.traffic_steps()`` is the traffic routing schedule: (minutes after AllowTraffic starts,
  percent of production traffic on the replacement task set).
- ``strategy_for_config(name, trafficRoutingConfig)`` is the reverse, for ``status``/``watch`` of a
  deployment someone else made (pass GetDeploymentConfig's ``trafficRoutingConfig`` for names that
  are neither ``CodeDeployDefault.*`` nor ours).

Additions beyond the shared interface: ``Strategy.describe()`` (one line for ``bluegreen
strategies``), ``Strategy.total_shift_minutes``, ``custom_config_name(kind, pct, minutes)``,
``valid_names_hint()``, ``CUSTOM_CONFIG_PREFIX``, and the limits ``MIN_PERCENT``/``MAX_PERCENT``/
``MAX_SHIFT_MINUTES``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import StrategyError
from orchestrator.vocabulary import ComputePlatform, StrategyKind, TrafficRoutingType

# Custom configs are created once per account and region under this prefix, so they are easy to
# find (and to tell apart from configs other tools made).
CUSTOM_CONFIG_PREFIX = "bluegreen."

# A step of 0 % would never move traffic and 100 % is all-at-once, which has its own config.
MIN_PERCENT = 1
MAX_PERCENT = 99
# CodeDeploy's quotas allow at most 48 hours between the first and the last traffic shift (stated
# for Lambda deployments; we apply the same bound to ECS so a config never outlives its deployment).
MAX_SHIFT_MINUTES = 48 * 60


@dataclass(frozen=True)
class Strategy:
    """A named traffic routing strategy and the CodeDeploy deployment config that implements it."""

    name: str
    kind: StrategyKind
    deployment_config_name: str
    percentage: int | None
    interval_minutes: int | None
    predefined: bool

    def create_request(self) -> dict[str, Any] | None:
        """CreateDeploymentConfig kwargs for a custom config; None for a predefined one."""
        if self.predefined:
            return None
        assert self.percentage is not None and self.interval_minutes is not None
        if self.kind is StrategyKind.CANARY:
            routing: dict[str, Any] = {
                "type": TrafficRoutingType.TIME_BASED_CANARY.value,
                "timeBasedCanary": {
                    "canaryPercentage": self.percentage,
                    "canaryInterval": self.interval_minutes,
                },
            }
        else:
            routing = {
                "type": TrafficRoutingType.TIME_BASED_LINEAR.value,
                "timeBasedLinear": {
                    "linearPercentage": self.percentage,
                    "linearInterval": self.interval_minutes,
                },
            }
        return {
            "deploymentConfigName": self.deployment_config_name,
            "computePlatform": ComputePlatform.ECS.value,
            "trafficRoutingConfig": routing,
        }

    def traffic_steps(self) -> list[tuple[float, int]]:
        """(minutes after traffic shifting starts, % of production traffic on the replacement).

        CodeDeploy moves the first increment as soon as AllowTraffic starts: a canary moves the
        rest after one interval; a linear config adds one increment per interval until 100 %.
        """
        if self.kind is StrategyKind.ALL_AT_ONCE:
            return [(0.0, 100)]
        assert self.percentage is not None and self.interval_minutes is not None
        if self.kind is StrategyKind.CANARY:
            return [(0.0, self.percentage), (float(self.interval_minutes), 100)]
        steps = math.ceil(100 / self.percentage)
        return [
            (float(index * self.interval_minutes), min(100, (index + 1) * self.percentage))
            for index in range(steps)
        ]

    @property
    def total_shift_minutes(self) -> float:
        """Minutes from the first traffic shift to 100 % on the replacement task set."""
        return self.traffic_steps()[-1][0]

    def describe(self) -> str:
        """One line a person reads, e.g. '10% first, the rest after 5 minutes'."""
        if self.kind is StrategyKind.ALL_AT_ONCE:
            return "all traffic at once"
        if self.kind is StrategyKind.CANARY:
            return f"{self.percentage}% first, the rest after {_minutes(self.interval_minutes)}"
        return (
            f"{self.percentage}% more every {_minutes(self.interval_minutes)} "
            f"({len(self.traffic_steps())} steps)"
        )


def _minutes(value: int | None) -> str:
    return "1 minute" if value == 1 else f"{value} minutes"


def _predefined(name: str, kind: StrategyKind, config: str, pct: int | None, minutes: int | None) -> Strategy:
    return Strategy(name, kind, f"CodeDeployDefault.{config}", pct, minutes, predefined=True)


# DESIGN.md's names, in its order; the configs are CodeDeploy's predefined ECS ones.
_PREDEFINED: tuple[Strategy, ...] = (
    _predefined("all-at-once", StrategyKind.ALL_AT_ONCE, "ECSAllAtOnce", None, None),
    _predefined("canary10", StrategyKind.CANARY, "ECSCanary10Percent5Minutes", 10, 5),
    _predefined("canary10-15m", StrategyKind.CANARY, "ECSCanary10Percent15Minutes", 10, 15),
    _predefined("linear10", StrategyKind.LINEAR, "ECSLinear10PercentEvery1Minutes", 10, 1),
    _predefined("linear10-3m", StrategyKind.LINEAR, "ECSLinear10PercentEvery3Minutes", 10, 3),
)
_BY_NAME = {strategy.name: strategy for strategy in _PREDEFINED}
_BY_CONFIG = {strategy.deployment_config_name: strategy for strategy in _PREDEFINED}

_CUSTOM = re.compile(r"(canary|linear):([0-9]+):([0-9]+)")  # ASCII only: \d and int() take full-width digits
_CUSTOM_HINT = "canary:PCT:MIN, linear:PCT:MIN"


def list_strategies() -> list[Strategy]:
    """The predefined strategies, in DESIGN.md's order."""
    return list(_PREDEFINED)


def valid_names_hint() -> str:
    """Every valid name, for error messages and --help."""
    return ", ".join(s.name for s in _PREDEFINED) + f", {_CUSTOM_HINT}"


def custom_config_name(kind: StrategyKind, percentage: int, interval_minutes: int) -> str:
    """The predictable name bluegreen gives a custom config (CodeDeploy's own naming, prefixed)."""
    if kind is StrategyKind.CANARY:
        return f"{CUSTOM_CONFIG_PREFIX}ECSCanary{percentage}Percent{interval_minutes}Minutes"
    if kind is StrategyKind.LINEAR:
        return f"{CUSTOM_CONFIG_PREFIX}ECSLinear{percentage}PercentEvery{interval_minutes}Minutes"
    raise ValueError("all-at-once has no custom config")


def _custom(kind: StrategyKind, percentage: int, interval_minutes: int, typed: str) -> Strategy:
    if not MIN_PERCENT <= percentage <= MAX_PERCENT:
        raise StrategyError(
            f"strategy {typed!r}: percentage must be {MIN_PERCENT}..{MAX_PERCENT}, got {percentage} "
            "(use all-at-once for 100%)"
        )
    if interval_minutes < 1:
        raise StrategyError(f"strategy {typed!r}: interval must be at least 1 minute, got {interval_minutes}")
    candidate = Strategy(
        name=f"{kind.value}:{percentage}:{interval_minutes}",
        kind=kind,
        deployment_config_name=custom_config_name(kind, percentage, interval_minutes),
        percentage=percentage,
        interval_minutes=interval_minutes,
        predefined=False,
    )
    if candidate.total_shift_minutes > MAX_SHIFT_MINUTES:
        raise StrategyError(
            f"strategy {typed!r}: shifting traffic would take {candidate.total_shift_minutes:g} minutes; "
            f"CodeDeploy allows at most {MAX_SHIFT_MINUTES} (48 hours) from the first shift to the last"
        )
    # A custom spec equal to a predefined config uses the predefined one: nothing to create.
    for strategy in _PREDEFINED:
        if (strategy.kind, strategy.percentage, strategy.interval_minutes) == (
            kind,
            percentage,
            interval_minutes,
        ):
            return strategy
    return candidate


def parse_strategy(name: str) -> Strategy:
    """The strategy a user's name means; StrategyError (listing the valid names) otherwise."""
    typed = name
    normalised = name.strip().lower()
    if normalised in _BY_NAME:
        return _BY_NAME[normalised]
    match = _CUSTOM.fullmatch(normalised)
    if match:
        return _custom(StrategyKind(match.group(1)), int(match.group(2)), int(match.group(3)), typed)
    close = difflib.get_close_matches(normalised, list(_BY_NAME), n=1)
    suggestion = f" (did you mean {close[0]}?)" if close else ""
    raise StrategyError(f"unknown strategy {typed!r}{suggestion}; valid: {valid_names_hint()}")


# CodeDeploy's own names: ECSCanary10Percent5Minutes, ECSLinear10PercentEvery1Minutes and the
# Lambda ones (LambdaLinear10PercentEvery1Minute is singular), with or without our prefix.
_CONFIG_NAME = re.compile(
    r"(?:CodeDeployDefault\.|" + re.escape(CUSTOM_CONFIG_PREFIX) + r")?"
    r"(?:ECS|Lambda)(?:(?P<canary>Canary)(?P<cpct>[0-9]+)Percent(?P<cmin>[0-9]+)Minutes?"
    r"|(?P<linear>Linear)(?P<lpct>[0-9]+)PercentEvery(?P<lmin>[0-9]+)Minutes?"
    r"|(?P<all>AllAtOnce))"
)


def _from_parts(config_name: str, kind: StrategyKind, pct: int | None, minutes: int | None) -> Strategy:
    if kind is StrategyKind.ALL_AT_ONCE:
        return Strategy("all-at-once", kind, config_name, None, None, config_name in _BY_CONFIG)
    assert pct is not None and minutes is not None
    predefined = config_name in _BY_CONFIG
    name = _BY_CONFIG[config_name].name if predefined else f"{kind.value}:{pct}:{minutes}"
    return Strategy(name, kind, config_name, pct, minutes, predefined)


# A trafficRoutingConfig's type -> our kind and the member that holds its percentage and interval.
_ROUTING_FIELDS: dict[str, tuple[StrategyKind, str, str, str]] = {
    TrafficRoutingType.TIME_BASED_CANARY: (
        StrategyKind.CANARY,
        "timeBasedCanary",
        "canaryPercentage",
        "canaryInterval",
    ),
    TrafficRoutingType.TIME_BASED_LINEAR: (
        StrategyKind.LINEAR,
        "timeBasedLinear",
        "linearPercentage",
        "linearInterval",
    ),
}


def _from_routing(config_name: str, routing: dict[str, Any]) -> Strategy | None:
    routing_type = routing.get("type")
    if routing_type == TrafficRoutingType.ALL_AT_ONCE:
        return _from_parts(config_name, StrategyKind.ALL_AT_ONCE, None, None)
    fields = _ROUTING_FIELDS.get(str(routing_type))
    if fields is None:
        return None
    kind, key, pct_key, min_key = fields
    detail = routing.get(key) or {}
    try:
        return _from_parts(config_name, kind, int(detail[pct_key]), int(detail[min_key]))
    except (KeyError, TypeError, ValueError):
        raise StrategyError(
            f"deployment config {config_name!r}: trafficRoutingConfig.{key} needs integer "
            f"{pct_key} and {min_key}, got {detail!r}"
        ) from None


def strategy_for_config(config_name: str, traffic_routing_config: dict[str, Any] | None = None) -> Strategy:
    """The strategy behind a deployment config name (and GetDeploymentConfig's trafficRoutingConfig)."""
    if config_name in _BY_CONFIG:
        return _BY_CONFIG[config_name]
    if traffic_routing_config:
        strategy = _from_routing(config_name, traffic_routing_config)
        if strategy is not None:
            return strategy
    match = _CONFIG_NAME.fullmatch(config_name)
    if match is None:
        raise StrategyError(
            f"deployment config {config_name!r} is not one bluegreen knows; pass its trafficRoutingConfig "
            "(GetDeploymentConfig) to read it"
        )
    if match.group("all"):
        return _from_parts(config_name, StrategyKind.ALL_AT_ONCE, None, None)
    if match.group("canary"):
        pct, minutes = match.group("cpct"), match.group("cmin")
        return _from_parts(config_name, StrategyKind.CANARY, int(pct), int(minutes))
    pct, minutes = match.group("lpct"), match.group("lmin")
    return _from_parts(config_name, StrategyKind.LINEAR, int(pct), int(minutes))
