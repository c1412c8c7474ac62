"""The hooks' Amazon ECS contract at run time: parse, resolve, check under a deadline, return.

The same handlers answer CodeDeploy by callback (``hooks.runtime.run_hook``) and Amazon ECS by return
value (here); ``runtime.lifecycle_hook`` tells them apart by the event (``native_event``). Order of
an ECS invocation (``run_native_hook``):
1. read the event; a malformed one answers FAILED with its reason (ECS rolls back on a function error
   as on FAILED, and an error would hide why);
2. the event's lifecycleStage must be the stage the handler's CodeDeploy event runs at on ECS
   (``vocabulary.NATIVE_STAGE_FOR_EVENT``): a hook registered at another stage fails and says so;
3. in a worker thread bounded by the deadline, as on CodeDeploy: the service ARN's cluster and name
   -> the catalog service -> the check over a ``NativeHookContext``;
4. return ``{hookStatus, callBackDelay, hookDetails}``. Nothing is reported and nothing is kept in
   the container: ECS invokes an IN_PROGRESS hook again with the same execution id and the
   hookDetails it returned, and every invocation decides from the event alone (idempotent; the
   alarm gate at PRE_PRODUCTION_TRAFFIC_SHIFT runs before every production step, a read or two).
Each invocation ends with one verdict log line, the CodeDeploy line's format (``verdict``,
``deployment_id`` = the service deployment ARN, ``lifecycle_event``, ``reason``, ``evidence``) plus
``execution_id``, ``lifecycle_stage`` and ``hook_status``; an IN_PROGRESS line's verdict is
``InProgress``.
"""

from __future__ import annotations

import time
from typing import Any

from hooks import clients, settings
from hooks.native_context import NativeCheck, NativeHookContext
from hooks.native_event import (
    NativeEvent,
    NativeEventError,
    NativeOutcome,
    hook_return,
    parse_native_event,
    parse_service_arn,
)
from hooks.outcome import HookOutcome
from hooks.runtime import (
    Check,
    _emit_verdict,
    _record_metrics,
    _remaining_ms,
    _run_before,
    logger,
    tracer,
)
from hooks.timing import Deadline, VirtualTime, safety_margin_ms
from orchestrator.errors import BluegreenError
from orchestrator.vocabulary import NATIVE_STAGE_FOR_EVENT, HookReturnStatus, LifecycleStatus

# The log line's verdict, in the words the CLI reads back (orchestrator.watching.hook_verdict).
VERDICT_WORD = {
    HookReturnStatus.SUCCEEDED: LifecycleStatus.SUCCEEDED.value,
    HookReturnStatus.FAILED: LifecycleStatus.FAILED.value,
    HookReturnStatus.IN_PROGRESS: LifecycleStatus.IN_PROGRESS.value,
}


def completed(check: Check) -> NativeCheck:
    """A check that is over in one invocation, as on CodeDeploy."""

    def native(ctx: NativeHookContext) -> NativeOutcome:
        return NativeOutcome(check(ctx))

    return native


def check_stage(lifecycle_event: str, stage: str) -> None:
    """The handler runs at its event's native stage only."""
    expected = NATIVE_STAGE_FOR_EVENT[lifecycle_event]
    if stage != expected:
        raise NativeEventError(
            f"the {lifecycle_event} hook runs at {expected} on Amazon ECS, not at {stage}; fix the "
            "lifecycle hook's lifecycleStages"
        )


def _evaluate(
    lifecycle_event: str, event: NativeEvent, deadline: Deadline, check: NativeCheck, found: dict[str, str]
) -> NativeOutcome:
    name = parse_service_arn(event.service_arn)
    service = settings.service_for_ecs(name.cluster, name.service, name.account_id)
    found.update(service_name=service.name, environment=service.environment)  # for the verdict's log
    logger.thread_safe_append_keys(**found)
    # clients.client looked up now, not at import: the tests swap in their fakes there.
    context = NativeHookContext(
        lifecycle_event, event, service, deadline, VirtualTime.from_env(), client=clients.client
    )
    active = tracer()
    if active is None:
        return check(context)
    with active.provider.in_subsegment(f"## {lifecycle_event}") as subsegment:
        subsegment.put_annotation("ServiceDeployment", event.resource_arn)
        subsegment.put_annotation("Service", service.name)
        return check(context)


def run_native_hook(event: Any, context: Any, lifecycle_event: str, check: NativeCheck) -> dict[str, Any]:
    """Handle one Amazon ECS hook invocation; see the module docstring for the order of things."""
    try:
        return _run_native_hook(event, context, lifecycle_event, check)
    finally:
        logger.thread_safe_clear_keys()  # as runtime.run_hook: the keys belong to this invocation


def _run_native_hook(event: Any, context: Any, lifecycle_event: str, check: NativeCheck) -> dict[str, Any]:
    started = time.monotonic()
    deadline = Deadline.from_remaining(_remaining_ms(context), safety_margin_ms())
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        lifecycle_event=lifecycle_event,
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    verdict = NativeOutcome(HookOutcome())
    reason = "not evaluated"
    error: dict[str, Any] | None = None
    exc_info: BaseException | None = None
    found: dict[str, str] = {}
    ids = _ids(event)  # for the log, even when the event is malformed
    logger.thread_safe_append_keys(correlation_id=ids["deployment_id"] or ids["execution_id"])
    try:
        parsed = parse_native_event(event)
        check_stage(lifecycle_event, parsed.lifecycle_stage)
        verdict = _run_before(
            deadline,
            lambda: _evaluate(lifecycle_event, parsed, deadline, check, found),
            f"hook-{parsed.execution_id}",
        )
        reason = _reason(verdict)
    except BluegreenError as err:
        verdict, reason = NativeOutcome(verdict.outcome), str(err)
        error = {"type": type(err).__name__, "message": reason}
    except Exception as err:  # a function error rolls back as FAILED does, but says nothing: answer
        verdict, reason = NativeOutcome(verdict.outcome), f"unexpected {type(err).__name__}: {err}"
        error, exc_info = {"type": type(err).__name__, "message": str(err)}, err
    status = HookReturnStatus.FAILED if error else verdict.hook_status
    _record_metrics(
        lifecycle_event, VERDICT_WORD[status], (time.monotonic() - started) * 1000.0, verdict.outcome
    )
    answer = hook_return(status, verdict.delay_s, verdict.hook_details)
    logger.thread_safe_append_keys(**found)
    _log_native_verdict(lifecycle_event, ids, status, reason, verdict.outcome, answer, error, exc_info)
    return answer


def _ids(event: Any) -> dict[str, str | None]:
    """The event's ids as they came (strings or None): the verdict line carries them."""

    def text(mapping: Any, key: str) -> str | None:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        return value if isinstance(value, str) and value else None

    return {
        "deployment_id": text(event, "resourceArn") or text(event, "executionId"),
        "execution_id": text(event, "executionId"),
        "lifecycle_stage": text(event, "lifecycleStage"),
    }


def _reason(verdict: NativeOutcome) -> str:
    if verdict.in_progress:
        return "; ".join(f"{check.name}: {check.detail}" for check in verdict.outcome.checks[-1:])
    return verdict.outcome.reason


def _log_native_verdict(
    lifecycle_event: str,
    ids: dict[str, str | None],
    status: HookReturnStatus,
    reason: str,
    outcome: HookOutcome,
    answer: dict[str, Any],
    error: dict[str, Any] | None,
    exc_info: BaseException | None,
) -> None:
    """One verdict line per invocation (see the module docstring)."""
    checks = [check.as_dict() for check in outcome.checks]
    word = VERDICT_WORD[status]
    extra: dict[str, Any] = {
        "status": word,
        "checks": checks,
        "verdict": word,
        **ids,
        "hook_status": status.value,
        "reason": reason,
        "evidence": [check for check in checks if not check["passed"]],
    }
    if "callBackDelay" in answer:
        extra["callBackDelay"] = answer["callBackDelay"]
    passed = status is not HookReturnStatus.FAILED
    _emit_verdict(f"{lifecycle_event} {word}: {reason}", extra, error, exc_info, passed)
