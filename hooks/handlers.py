"""One handler per ECS lifecycle event (the Lambda entry points ``hooks.handlers.<name>``).

Each is a check over a ``HookContext``; ``lifecycle_hook`` turns it into ``handler(event, context)``
that parses the event, runs the check under the deadline and reports exactly once.

- BeforeInstall: deployment freeze windows (an override in the deployment description passes).
- AfterInstall: the replacement task set's targets are healthy in the green target group.
- AfterAllowTestTraffic: smoke checks through the test listener.
- BeforeAllowTraffic: no alarm firing, and green target health, before production traffic moves.
- AfterAllowTraffic: smoke checks through the production listener, then the bake (alarms watched
  for ``deployment.bake_seconds``).
The scheduled alarm audit is ``hooks.audit.handler``.
"""

from __future__ import annotations

from hooks.context import HookContext
from hooks.freeze import decide_freeze
from hooks.gates import BakeSettings, alarm_gate, alarm_states, bake, target_health_gate, target_healths
from hooks.outcome import CheckResult, HookOutcome
from hooks.runtime import lifecycle_hook
from hooks.smoke import run_smoke
from orchestrator.vocabulary import (
    AFTER_ALLOW_TEST_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
    AFTER_INSTALL,
    BEFORE_ALLOW_TRAFFIC,
    BEFORE_INSTALL,
)


def freeze_check(ctx: HookContext) -> CheckResult:
    decision = decide_freeze(ctx.service.freeze_windows, ctx.now(), ctx.deployment.description)
    return CheckResult("freeze-window", decision.allowed, decision.reason)


def green_health_check(ctx: HookContext) -> CheckResult:
    green = ctx.replacement
    desired = green.desired_count or ctx.service.desired_tasks
    return target_health_gate(green.target_group, target_healths(ctx.elbv2, green.target_group), desired)


def alarm_check(ctx: HookContext) -> CheckResult:
    service = ctx.service
    states = alarm_states(ctx.cloudwatch, service.alarms) if service.alarms else {}
    return alarm_gate(service.alarms, states, service.insufficient_data)


def smoke_checks(ctx: HookContext, route: str) -> list[CheckResult]:
    return run_smoke(ctx.service.smoke, ctx.smoke_target(route), ctx.http, ctx.virtual, ctx.deadline)


def bake_check(ctx: HookContext) -> CheckResult:
    service = ctx.service
    watch = BakeSettings(
        alarms=tuple(service.alarms),
        insufficient_data=service.insufficient_data,
        bake_seconds=service.bake_seconds,
    )
    cloudwatch = ctx.cloudwatch
    return bake(watch, lambda: alarm_states(cloudwatch, watch.alarms), ctx.virtual, ctx.deadline)


@lifecycle_hook(BEFORE_INSTALL)
def before_install(ctx: HookContext) -> HookOutcome:
    """Refuse to start inside a freeze window (unless the description overrides it)."""
    return HookOutcome.of([freeze_check(ctx)])


@lifecycle_hook(AFTER_INSTALL)
def after_install(ctx: HookContext) -> HookOutcome:
    """The replacement task set is up: its targets are healthy, at least the desired count."""
    return HookOutcome.of([green_health_check(ctx)])


@lifecycle_hook(AFTER_ALLOW_TEST_TRAFFIC)
def after_allow_test_traffic(ctx: HookContext) -> HookOutcome:
    """Smoke checks against green through the test listener."""
    return HookOutcome.of(smoke_checks(ctx, "test"))


@lifecycle_hook(BEFORE_ALLOW_TRAFFIC)
def before_allow_traffic(ctx: HookContext) -> HookOutcome:
    """No alarm firing and green healthy before production traffic moves."""
    alarms = alarm_check(ctx)
    if not alarms.passed:
        return HookOutcome.of([alarms])
    return HookOutcome.of([alarms, green_health_check(ctx)])


@lifecycle_hook(AFTER_ALLOW_TRAFFIC)
def after_allow_traffic(ctx: HookContext) -> HookOutcome:
    """Smoke checks through the production listener, then watch the alarms for the bake time."""
    smoke = smoke_checks(ctx, "production")
    if not all(result.passed for result in smoke):
        return HookOutcome.of(smoke)
    return HookOutcome.of([*smoke, bake_check(ctx)])
