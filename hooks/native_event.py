"""The Amazon ECS contract of the hooks (pure, stdlib only): the event ECS invokes a hook with, the
value it reads back, and the state a hook carries from one invocation to the next.

AWS, "Lifecycle hooks for Amazon ECS service deployments" and "Lambda hooks for Amazon ECS service
deployments" (Amazon ECS Developer Guide):
- ECS invokes the function synchronously with ``{executionId, lifecycleStage, resourceArn (the
  service deployment), executionDetails {serviceArn, targetServiceRevisionArn, testTrafficWeights,
  productionTrafficWeights}, hookDetails}`` and reads the return value ``{hookStatus, callBackDelay,
  hookDetails}``, keys spelled exactly so;
- ``hookStatus`` SUCCEEDED continues, FAILED rolls back; a missing or invalid hookStatus, or a
  function error, rolls back too: a hook answers FAILED with its reason rather than raising;
- IN_PROGRESS: ECS invokes the function again after ``callBackDelay`` seconds (an integer; 30 by
  default). The pages name no maximum for it, nor a size limit for hookDetails: a hook keeps both
  small (one bake poll interval; a handful of numbers);
- ``hookDetails``: what the lifecycle hook's configuration sets comes on every invocation; what an
  IN_PROGRESS answer returns comes back on the next one (AWS's samples return the configured keys
  again with their own, so a hook echoes what it got and keeps its state under one key,
  ``STATE_KEY``).
How the handler tells the two contracts apart (``is_native_event``): CodeDeploy's event has
``DeploymentId`` and ``LifecycleEventHookExecutionId``; ECS's has ``executionId`` and
``lifecycleStage``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from orchestrator.errors import BadInputError
from orchestrator.vocabulary import HookReturnStatus

STATE_KEY = "bluegreen"
DEFAULT_CALLBACK_DELAY_S = 30  # what ECS waits without a callBackDelay (AWS, above)
MIN_CALLBACK_DELAY_S = 1


class NativeEventError(BadInputError):
    """The event ECS sent lacks a key the hook needs, or carries state it cannot read."""


class NativeEvent(NamedTuple):
    """What a hook reads of an Amazon ECS lifecycle hook event."""

    execution_id: str
    lifecycle_stage: str
    resource_arn: str  # the service deployment (the id `bluegreen` names it by); may be empty
    service_arn: str
    target_revision_arn: str
    hook_details: dict[str, Any]


class ServiceName(NamedTuple):
    """An ECS service ARN's account, cluster (None in the old, short format) and service name."""

    account_id: str | None
    cluster: str | None
    service: str


def is_native_event(event: Any) -> bool:
    """An Amazon ECS hook event (executionId + lifecycleStage), not CodeDeploy's."""
    return (
        isinstance(event, dict)
        and "executionId" in event
        and "lifecycleStage" in event
        and "LifecycleEventHookExecutionId" not in event
    )


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise NativeEventError(f"the Amazon ECS hook event has no {where}{key}")
    return value


def parse_native_event(event: Mapping[str, Any]) -> NativeEvent:
    """The event's parts; one line naming the first missing key otherwise."""
    details = event.get("executionDetails")
    if not isinstance(details, Mapping):
        raise NativeEventError("the Amazon ECS hook event has no executionDetails")
    hook_details = event.get("hookDetails") or {}
    if not isinstance(hook_details, Mapping):
        raise NativeEventError("the Amazon ECS hook event's hookDetails is not a JSON object")
    resource = event.get("resourceArn")
    return NativeEvent(
        execution_id=_text(event, "executionId", ""),
        lifecycle_stage=_text(event, "lifecycleStage", ""),
        resource_arn=resource if isinstance(resource, str) else "",
        service_arn=_text(details, "serviceArn", "executionDetails."),
        target_revision_arn=_text(details, "targetServiceRevisionArn", "executionDetails."),
        hook_details=dict(hook_details),
    )


def parse_service_arn(arn: str) -> ServiceName:
    """``arn:aws:ecs:<region>:<account>:service/<cluster>/<name>`` (or the old ``service/<name>``;
    AWS, "Amazon Resource Names (ARNs) and IDs", ECS)."""
    parts = arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    if parts[0] != "arn" or len(resource) not in (2, 3) or resource[0] != "service" or not all(resource):
        raise NativeEventError(f"executionDetails.serviceArn {arn!r} is not an ECS service ARN")
    account = parts[4] or None
    if len(resource) == 3:
        return ServiceName(account, resource[1], resource[2])
    return ServiceName(account, None, resource[1])


def callback_delay(seconds: float) -> int:
    """``callBackDelay`` in whole seconds (rounded up, so a wait is never shorter than asked)."""
    return max(MIN_CALLBACK_DELAY_S, math.ceil(seconds))


def hook_return(
    status: HookReturnStatus, delay_s: float | None = None, hook_details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The value ECS reads: hookStatus, and with IN_PROGRESS its callBackDelay and hookDetails."""
    answer: dict[str, Any] = {"hookStatus": status.value}
    if status is HookReturnStatus.IN_PROGRESS:
        answer["callBackDelay"] = callback_delay(DEFAULT_CALLBACK_DELAY_S if delay_s is None else delay_s)
        if hook_details is not None:
            answer["hookDetails"] = dict(hook_details)
    return answer


def _count(value: Any, integer: bool) -> bool:
    """A JSON number (an integer if asked) of at least 0; a bool is not one."""
    if isinstance(value, bool):
        return False
    if integer:
        return isinstance(value, int) and value >= 0
    return isinstance(value, (int, float)) and value >= 0


class BakeState(NamedTuple):
    """A bake that spans invocations (POST_PRODUCTION_TRAFFIC_SHIFT on ECS): when it started (epoch
    seconds), the deployment seconds ECS was asked to wait so far, the alarm checks passed, and the
    alarm reads that failed in a row. Tied to one execution id: another execution starts afresh."""

    execution_id: str
    started_at: float
    waited_s: float = 0.0
    checks_passed: int = 0
    read_errors: int = 0

    def to_details(self, configured: Mapping[str, Any]) -> dict[str, Any]:
        """hookDetails to return: the configured keys as they came, and this state under STATE_KEY."""
        state = {
            "executionId": self.execution_id,
            "bakeStartedAt": round(self.started_at, 3),
            "bakeWaitedSeconds": round(self.waited_s, 3),
            "checksPassed": self.checks_passed,
            "readErrors": self.read_errors,
        }
        return {**{k: v for k, v in configured.items() if k != STATE_KEY}, STATE_KEY: state}

    @classmethod
    def from_details(cls, hook_details: Mapping[str, Any], execution_id: str) -> BakeState | None:
        """The state this execution returned last time; None when there is none (a first invocation,
        or state of another execution). State that is not ours to read is bad input."""
        state = hook_details.get(STATE_KEY)
        if state is None:
            return None
        try:
            if state["executionId"] != execution_id:
                return None
            numbers = [state[key] for key in ("bakeStartedAt", "bakeWaitedSeconds")]
            counts = [state[key] for key in ("checksPassed", "readErrors")]
        except (KeyError, TypeError):
            raise NativeEventError(f"hookDetails.{STATE_KEY} is not a bake state this hook wrote") from None
        if not all(_count(n, False) for n in numbers) or not all(_count(c, True) for c in counts):
            raise NativeEventError(f"hookDetails.{STATE_KEY} holds values a bake state cannot have")
        return cls(execution_id, float(numbers[0]), float(numbers[1]), counts[0], counts[1])
