"""The Amazon ECS contract of the hooks (pure: no AWS calls): the event ECS invokes a hook with and
the value it reads back (the state a bake carries between invocations: ``hooks.native_bake``).

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
How the handler tells the two contracts apart: ``hooks.runtime.is_native_event``. This module and
the other ``native_*`` ones load on the first ECS event only: a CodeDeploy hook's cold start does
not pay for their classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from hooks.outcome import HookOutcome, HookStatus
from orchestrator.errors import BadInputError
from orchestrator.vocabulary import HookReturnStatus

STATE_KEY = "bluegreen"  # the hook's own state in hookDetails (hooks.native_bake)
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


class NativeOutcome(NamedTuple):
    """An Amazon ECS hook invocation's verdict: the checks, and when they are not over (a bake that
    spans invocations) the deployment seconds to wait and the hookDetails to come back with."""

    outcome: HookOutcome
    delay_s: int | None = None  # not None: IN_PROGRESS (only while every check so far passed)
    hook_details: dict[str, Any] | None = None

    @property
    def in_progress(self) -> bool:
        return self.delay_s is not None and self.outcome.status is HookStatus.SUCCEEDED

    @property
    def hook_status(self) -> HookReturnStatus:
        if self.outcome.status is HookStatus.FAILED:
            return HookReturnStatus.FAILED
        return HookReturnStatus.IN_PROGRESS if self.in_progress else HookReturnStatus.SUCCEEDED
