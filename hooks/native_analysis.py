"""The canary judge on Amazon ECS: in the BeforeAllowTraffic hook, which ECS invokes at
PRE_PRODUCTION_TRAFFIC_SHIFT before every production traffic step (AWS, "Lifecycle hooks for Amazon
ECS service deployments"), after its alarm and health gate, when the catalog enables ``analysis``.

- Before the first step green has no production traffic (the production listener rule gives it
  weight 0): nothing to judge, the step goes on.
- Later steps: green against blue over [the deployment's start, now] (``hooks.analysis``; the verdict
  metric is written as by the scheduled function). FAIL answers FAILED: ECS rolls back. PASS and
  MARGINAL answer SUCCEEDED.
- INCONCLUSIVE follows ``analysis.on_inconclusive``: ``continue`` (default) lets the step go on at
  once, saying it was not judged; ``wait`` answers IN_PROGRESS with a
  sample period as callBackDelay, so ECS keeps the traffic where it is and asks again, for up to
  ``inconclusive_wait_minutes`` of deployment time (the waits asked for, carried in hookDetails
  under ``native_event.STATE_KEY``), then lets the step go on and says it was never judged;
  ``fail`` rolls back.
"Now" is the ECS endpoint's clock (its answer's ``Date``), the clock the deployment's times and the
metrics are in (the sandbox's is virtual). Loaded on the first ECS event only, as every ``native_*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from hooks.analysis import analyse, resolved_service
from hooks.canaries import Canary, as_time
from hooks.clients import aws_call
from hooks.native_event import STATE_KEY, NativeEventError, NativeOutcome, callback_delay
from hooks.outcome import CheckResult, HookOutcome
from orchestrator.vocabulary import EngineName

if TYPE_CHECKING:
    from hooks.native_context import NativeHookContext
    from orchestrator.analysis.settings import AnalysisSettings

CHECK = "canary-analysis"


class InconclusiveWait(NamedTuple):
    """How long this execution has waited for a conclusive judgement (deployment seconds asked for)."""

    execution_id: str
    waited_s: float = 0.0

    def to_details(self, configured: Mapping[str, Any]) -> dict[str, Any]:
        state = {"executionId": self.execution_id, "inconclusiveWaitedSeconds": round(self.waited_s, 3)}
        return {**{k: v for k, v in configured.items() if k != STATE_KEY}, STATE_KEY: state}

    @classmethod
    def from_details(cls, hook_details: Mapping[str, Any], execution_id: str) -> InconclusiveWait:
        """The wait this execution carried (a fresh one for a first invocation or another execution)."""
        state = hook_details.get(STATE_KEY)
        if not isinstance(state, Mapping) or state.get("executionId") != execution_id:
            return cls(execution_id)
        waited = state.get("inconclusiveWaitedSeconds")
        if isinstance(waited, bool) or not isinstance(waited, (int, float)) or waited < 0:
            raise NativeEventError(f"hookDetails.{STATE_KEY} is not a wait this hook wrote")
        return cls(execution_id, float(waited))


def inconclusive_step(
    settings: AnalysisSettings, wait: InconclusiveWait, reason: str
) -> tuple[CheckResult, int | None, InconclusiveWait]:
    """What an INCONCLUSIVE judgement answers (pure): the check, the callBackDelay (None: done) and
    the wait to carry."""
    policy, limit = settings.on_inconclusive, settings.inconclusive_wait_minutes * 60.0
    if policy == "fail":
        return (
            CheckResult(CHECK, False, f"INCONCLUSIVE: {reason} (analysis.on_inconclusive: fail)"),
            None,
            wait,
        )
    if policy == "continue" or wait.waited_s >= limit:
        waited = f" after {wait.waited_s / 60:g} min" if policy == "wait" else ""
        detail = (
            f"INCONCLUSIVE{waited}: {reason}; the step goes on unjudged (analysis.on_inconclusive: {policy})"
        )
        return CheckResult(CHECK, True, detail), None, wait
    delay = callback_delay(min(settings.sample_period_seconds, limit - wait.waited_s))
    detail = (
        f"INCONCLUSIVE: {reason}; judging again in {delay} s ({wait.waited_s / 60:g} of {limit / 60:g} min)"
    )
    return CheckResult(CHECK, True, detail), delay, wait._replace(waited_s=wait.waited_s + delay)


def green_weight(rule: Mapping[str, Any], green_arn: str) -> int:
    """Green's weight in the production listener rule's forward action (pure)."""
    from orchestrator.aws.elbv2 import rule_forward_weights

    return rule_forward_weights(rule).get(green_arn, 0)


def answer_time(answer: Mapping[str, Any]) -> datetime | None:
    """The ``Date`` an AWS answer carries (the service's clock), None without one."""
    headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    text = headers.get("date")
    try:
        return parsedate_to_datetime(text).astimezone(UTC) if text else None
    except (TypeError, ValueError):
        return None


def _deployment(ctx: NativeHookContext) -> tuple[dict[str, Any], datetime]:
    ecs = ctx.client("ecs")
    arn = ctx.event.resource_arn
    answer = aws_call(
        "ecs DescribeServiceDeployments",
        lambda: ecs.describe_service_deployments(serviceDeploymentArns=[arn]),
    )
    found = answer.get("serviceDeployments") or []
    if not found:
        raise NativeEventError(f"no service deployment {arn}: the judge needs the deployment's start")
    return dict(found[0]), answer_time(answer) or ctx.now()


def canary_gate(ctx: NativeHookContext, checks: Sequence[CheckResult]) -> NativeOutcome:
    """The gate's checks, then the judge when the catalog enables analysis (module docstring)."""
    service = resolved_service(ctx.service.name, ctx.service.environment)
    settings = service.settings.analysis
    if not settings.enabled:
        return NativeOutcome(HookOutcome.of(list(checks)))
    balancer = ctx.ecs_service.load_balancer
    green = ctx.green_target_group_arn  # read once for the gate's health check too
    blue = (
        balancer.alternate_target_group_arn
        if green == balancer.target_group_arn
        else balancer.target_group_arn
    )
    elbv2 = ctx.elbv2
    rule_arn = balancer.production_listener_rule
    rules = aws_call("elbv2 DescribeRules", lambda: elbv2.describe_rules(RuleArns=[rule_arn])).get(
        "Rules"
    ) or [{}]
    if green_weight(rules[0], green) == 0:
        result = CheckResult(
            CHECK, True, "green has no production traffic yet: nothing to judge before the first step"
        )
        return NativeOutcome(HookOutcome.of([*checks, result]))
    deployment, now = _deployment(ctx)
    canary = Canary(
        ctx.event.resource_arn, EngineName.ECS.value, as_time(deployment["startedAt"]), green, blue
    )
    judged = analyse(ctx.client, service, canary, now, stop=False)  # FAILED rolls it back
    judgement = judged.judgement
    if judgement.verdict.value != "INCONCLUSIVE":
        passed = not judgement.verdict.stops_deployment
        result = CheckResult(CHECK, passed, f"{judgement.verdict.value}: {judgement.reason}")
        return NativeOutcome(HookOutcome.of([*checks, result]))
    event = ctx.event
    wait = InconclusiveWait.from_details(event.hook_details, event.execution_id)
    result, delay, carried = inconclusive_step(settings, wait, judgement.reason)
    outcome = HookOutcome.of([*checks, result])
    if delay is None:
        return NativeOutcome(outcome)
    return NativeOutcome(outcome, delay, carried.to_details(event.hook_details))
