"""What a native deployment does when, as plain data (pure: no clock, no AWS).

- ``production_steps``: the production traffic steps of a strategy, each with the virtual seconds
  to bake before it (CANARY: canaryPercent, then 100 after canaryBakeTimeInMinutes; LINEAR:
  stepPercent more every stepBakeTimeInMinutes until 100, the bake "not applied after reaching 100
  percent"; BLUE_GREEN: 100 at once). Defaults are botocore's documentation of Linear- and
  CanaryConfiguration (stepPercent 10.0 every 6 minutes; canaryPercent 5.0 for 10 minutes).
- ``rule_weights``: a listener rule's forward weights for a share.
- ``hooks_at``: the hooks configured for a stage, in the order of ``lifecycleHooks``. AWS says a
  stage's Lambda and PAUSE hooks "must complete before the deployment proceeds" and documents no
  order between them (AWS, "Lifecycle hooks for Amazon ECS service deployments"): the list order
  is the emulator's choice, so a PAUSE listed after a Lambda hook at the same stage waits after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sandbox.ecs_native.vocabulary import HookAction, HookTargetType, Strategy

DEFAULT_STEP_PERCENT = 10.0
DEFAULT_STEP_BAKE_MINUTES = 6
DEFAULT_CANARY_PERCENT = 5.0
DEFAULT_CANARY_BAKE_MINUTES = 10
# DeploymentLifecycleHookTimeoutConfiguration: "Default: 1440 (24 hours)", action "Default: ROLLBACK".
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440
DEFAULT_TIMEOUT_ACTION = HookAction.ROLLBACK
# A Lambda hook answering IN_PROGRESS is invoked again after callBackDelay seconds, "By default,
# the delay is 30 seconds" (AWS, "Lambda hooks for Amazon ECS service deployments").
DEFAULT_CALLBACK_DELAY = 30.0


@dataclass(frozen=True)
class TrafficStep:
    """Bake ``bake_before`` virtual seconds, then give the target revision ``percent`` of production."""

    bake_before: float
    percent: float


def production_steps(config: dict[str, Any]) -> list[TrafficStep]:
    """The production traffic steps of a deploymentConfiguration, ending at 100."""
    strategy = config.get("strategy")
    if strategy == Strategy.CANARY:
        canary = config.get("canaryConfiguration") or {}
        percent = float(canary.get("canaryPercent", DEFAULT_CANARY_PERCENT))
        bake = 60.0 * canary.get("canaryBakeTimeInMinutes", DEFAULT_CANARY_BAKE_MINUTES)
        return [TrafficStep(0.0, percent)] + ([TrafficStep(bake, 100.0)] if percent < 100 else [])
    if strategy == Strategy.LINEAR:
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", DEFAULT_STEP_PERCENT))
        bake = 60.0 * linear.get("stepBakeTimeInMinutes", DEFAULT_STEP_BAKE_MINUTES)
        steps = [TrafficStep(0.0, min(step, 100.0))]
        while steps[-1].percent < 100:
            # in tenths of a percent, so 3 x 33.3 does not drift past or short of the next step
            reached = round(steps[-1].percent * 10 + step * 10) / 10
            steps.append(TrafficStep(bake, min(reached, 100.0)))
        return steps
    return [TrafficStep(0.0, 100.0)]


def bake_seconds(config: dict[str, Any]) -> float:
    """BAKE_TIME's length (bakeTimeInMinutes; 0 when left out)."""
    return 60.0 * float(config.get("bakeTimeInMinutes") or 0)


def rule_weights(source_tg: str, target_tg: str, percent: float) -> dict[str, int]:
    """Forward weights giving ``target_tg`` ``percent`` % (source first; ELBv2 takes integers 0-999).

    Whole percentages are written as percentages (90/10); fractional ones in thousandths reduced
    by their gcd (10.5 % -> 179/21), so every share ECS allows (0.1 steps) is exact and in range.
    """
    tenths = round(percent * 10)
    if tenths % 10 == 0:
        return {source_tg: 100 - tenths // 10, target_tg: tenths // 10}
    source, target = 1000 - tenths, tenths
    divisor = math.gcd(source, target)
    return {source_tg: source // divisor, target_tg: target // divisor}


@dataclass(frozen=True)
class HookSpec:
    """One configured hook at one stage."""

    target_type: HookTargetType
    target_arn: str | None
    hook_details: Any
    timeout_seconds: float
    timeout_action: HookAction


def hooks_at(config: dict[str, Any], stage: str) -> list[HookSpec]:
    """The hooks configured for ``stage``, in ``lifecycleHooks`` order."""
    found: list[HookSpec] = []
    for hook in config.get("lifecycleHooks") or []:
        if stage not in (hook.get("lifecycleStages") or []):
            continue
        timeout = hook.get("timeoutConfiguration") or {}
        found.append(
            HookSpec(
                target_type=HookTargetType(hook.get("targetType", HookTargetType.AWS_LAMBDA)),
                target_arn=hook.get("hookTargetArn"),
                hook_details=hook.get("hookDetails"),
                timeout_seconds=60.0 * timeout.get("timeoutInMinutes", DEFAULT_HOOK_TIMEOUT_MINUTES),
                timeout_action=HookAction(timeout.get("action", DEFAULT_TIMEOUT_ACTION)),
            )
        )
    return found


def callback_delay(answer: dict[str, Any]) -> float:
    """Seconds before re-invoking a hook that answered IN_PROGRESS."""
    delay = answer.get("callBackDelay")
    if isinstance(delay, (int, float)) and not isinstance(delay, bool) and delay >= 0:
        return float(delay)
    return DEFAULT_CALLBACK_DELAY
