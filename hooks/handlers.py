"""One handler per ECS lifecycle event (the Lambda entry points ``hooks.handlers.<name>``).

Each is a check over a ``HookContext``; ``lifecycle_hook`` turns it into ``handler(event, context)``
that parses the event, runs the check under the deadline and reports exactly once to CodeDeploy, or,
on an Amazon ECS event, returns the verdict (``hooks.native_runtime``). On ECS each runs at its
event's native stage (``vocabulary.NATIVE_STAGE_FOR_EVENT``): BeforeAllowTraffic's gate at
PRE_PRODUCTION_TRAFFIC_SHIFT, which ECS runs before every production traffic step (a couple of reads,
no state: the same answer however often it runs), and AfterAllowTraffic's bake spans invocations
(``after_allow_traffic_on_ecs``) instead of holding the Lambda.

- BeforeInstall: deployment freeze windows (an override in the deployment description passes).
- AfterInstall: the replacement task set's targets are healthy in the green target group.
- AfterAllowTestTraffic: smoke checks through the test listener.
- BeforeAllowTraffic: no alarm firing, and green target health, before production traffic moves;
  on ECS, before every production step, then the canary judge when the catalog enables analysis.
- AfterAllowTraffic: smoke checks through the production listener, then the bake (alarms watched
  for ``deployment.bake_seconds``); Failed at once on a deployment a hook drill marked
  (``hooks.drill``).
The scheduled alarm audit is ``hooks.audit.handler``; the scheduled canary analysis
``hooks.analysis.handler``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # the ECS contract's modules load on the first ECS event (hooks.native_runtime)
    from hooks.native_context import NativeHookContext
    from hooks.native_event import NativeOutcome
    from hooks.native_smoke import SmokeState, SmokeStep
    from hooks.service_view import SmokeCheckView


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


def bake_settings(ctx: HookContext) -> BakeSettings:
    service = ctx.service
    return BakeSettings(
        alarms=tuple(service.alarms),
        insufficient_data=service.insufficient_data,
        bake_seconds=service.bake_seconds,
    )


def bake_check(ctx: HookContext) -> CheckResult:
    watch = bake_settings(ctx)
    cloudwatch = ctx.cloudwatch
    return bake(watch, lambda: alarm_states(cloudwatch, watch.alarms), ctx.virtual, ctx.deadline)


def drill_fault(ctx: HookContext) -> CheckResult | None:
    """`bluegreen drill --fault hook`'s forced failure, when the deployment is marked for one."""
    from hooks.drill import drill_check  # loaded when AfterAllowTraffic runs, not at every cold start

    return drill_check(ctx)


def production_smoke_step(ctx: NativeHookContext, smoke: SmokeState) -> SmokeStep:
    """One invocation's attempts of the production smoke checks (``native_smoke.smoke_step``)."""
    from hooks.native_smoke import smoke_step
    from hooks.smoke import attempt_check

    settings = ctx.service.smoke
    target = ctx.smoke_target("production")

    def attempt(check: SmokeCheckView, number: int) -> CheckResult:
        return attempt_check(check, target, settings, ctx.http, ctx.deadline, number)

    return smoke_step(settings, smoke, ctx.now().timestamp(), ctx.virtual.scale, attempt)


def after_allow_traffic_on_ecs(ctx: NativeHookContext) -> NativeOutcome:
    """Amazon ECS, POST_PRODUCTION_TRAFFIC_SHIFT: the production smoke checks, one attempt per
    invocation while the warm-up lasts (``native_smoke``), then the bake; each bake invocation reads
    the alarms once. Until both are over it answers IN_PROGRESS with its state in hookDetails and
    the backoff or poll interval as callBackDelay, so the Lambda never holds the deployment."""
    from hooks.native_bake import BakeState, bake_step
    from hooks.native_event import NativeOutcome
    from hooks.native_smoke import SmokeState

    event = ctx.event
    smoke = SmokeState.from_details(event.hook_details, event.execution_id)
    state = None if smoke is not None else BakeState.from_details(event.hook_details, event.execution_id)
    checks: list[CheckResult] = []
    if state is None:
        if smoke is None:
            drill = drill_fault(ctx)
            if drill is not None:
                return NativeOutcome(HookOutcome.of([drill]))
            smoke = SmokeState(event.execution_id, ctx.now().timestamp())
        smoked = production_smoke_step(ctx, smoke)
        if not smoked.done:
            details = smoked.state.to_details(event.hook_details)
            return NativeOutcome(HookOutcome.of(smoked.results), smoked.delay_s, details)
        checks = smoked.results
        if not all(result.passed for result in checks):
            return NativeOutcome(HookOutcome.of(checks))
        state = BakeState(event.execution_id, ctx.now().timestamp())
    watch = bake_settings(ctx)
    cloudwatch = ctx.cloudwatch
    step = bake_step(
        watch, state, ctx.now().timestamp(), ctx.virtual.scale, lambda: alarm_states(cloudwatch, watch.alarms)
    )
    outcome = HookOutcome.of([*checks, step.result])
    if step.done:
        return NativeOutcome(outcome)
    return NativeOutcome(outcome, step.delay_s, step.state.to_details(event.hook_details))


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


def traffic_gate(ctx: HookContext) -> list[CheckResult]:
    """No alarm firing, then green healthy (stops at the first that fails)."""
    alarms = alarm_check(ctx)
    if not alarms.passed:
        return [alarms]
    return [alarms, green_health_check(ctx)]


def before_allow_traffic_on_ecs(ctx: NativeHookContext) -> NativeOutcome:
    """Amazon ECS, PRE_PRODUCTION_TRAFFIC_SHIFT (before every production step): the same gate, then,
    when the catalog enables analysis, the canary judge (``hooks.native_analysis``)."""
    from hooks.native_event import NativeOutcome

    checks = traffic_gate(ctx)
    if not all(result.passed for result in checks):
        return NativeOutcome(HookOutcome.of(checks))
    from hooks.native_analysis import canary_gate

    return canary_gate(ctx, checks)


@lifecycle_hook(BEFORE_ALLOW_TRAFFIC, native=before_allow_traffic_on_ecs)
def before_allow_traffic(ctx: HookContext) -> HookOutcome:
    """No alarm firing and green healthy before production traffic moves."""
    return HookOutcome.of(traffic_gate(ctx))


@lifecycle_hook(AFTER_ALLOW_TRAFFIC, native=after_allow_traffic_on_ecs)
def after_allow_traffic(ctx: HookContext) -> HookOutcome:
    """Smoke checks through the production listener, then watch the alarms for the bake time."""
    drill = drill_fault(ctx)
    if drill is not None:
        return HookOutcome.of([drill])
    smoke = smoke_checks(ctx, "production")
    if not all(result.passed for result in smoke):
        return HookOutcome.of(smoke)
    return HookOutcome.of([*smoke, bake_check(ctx)])
