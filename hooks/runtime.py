"""The hook wrapper every handler uses: parse, resolve, check under a deadline, report exactly once.

Order of an invocation (``run_hook``):
1. read the event's DeploymentId and LifecycleEventHookExecutionId; no execution id means nothing can be
   reported: one error log, and the invocation returns;
2. claim the execution id in the per-container ledger (a second invocation does not run again);
3. start from Failed; in a worker thread bounded by the deadline (remaining time minus a safety
   margin): GetDeployment -> catalog service -> the lifecycle event's checks;
4. in ``finally``: report the status (retried on throttling / 5xx), record metrics, flush them.
A report that finally fails raises ``HookReportError`` so that Lambda's asynchronous retry gets
another chance; the retry reports the verdict already decided instead of deciding again.

Amazon ECS invokes the same handlers with its own event and reads their return value instead:
``lifecycle_hook`` sends such an event to ``hooks.native_runtime`` (imported on the first one, so a
CodeDeploy hook's cold start does not pay for it).

Powertools: Logger (correlation id = deployment id), Metrics (EMF, namespace ``bluegreen``), and a
Tracer only when tracing is switched on (``POWERTOOLS_TRACE_DISABLED=false``): creating one costs
about 350 ms of cold start even when disabled, so by default none is made.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from hooks import clients, settings
from hooks.context import HookContext
from hooks.deployment import get_deployment
from hooks.outcome import CheckResult, HookOutcome, HookStatus
from hooks.reporting import LEDGER, Claim, ReportResult, report_status
from hooks.timing import Deadline, VirtualTime, safety_margin_ms
from orchestrator.errors import AwsError, BadInputError, BluegreenError

if TYPE_CHECKING:
    from hooks.native_context import NativeCheck

SERVICE = "bluegreen-hooks"
NAMESPACE = "bluegreen"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Check = Callable[[HookContext], HookOutcome]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
T = TypeVar("T")


class HookInputError(BadInputError):
    """The event CodeDeploy sent lacks DeploymentId or LifecycleEventHookExecutionId."""


class HookDeadlineError(BluegreenError):
    """The checks did not finish before the hook's deadline (remaining time minus the safety margin)."""


class HookReportError(AwsError):
    """PutLifecycleEventHookExecutionStatus failed after retries; Lambda's retry will report again."""


_tracer_lock = threading.Lock()
_tracer: Any = None


def tracing_enabled() -> bool:
    """Tracing only when explicitly on: POWERTOOLS_TRACE_DISABLED set to false/0/no."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("false", "0", "no")


def tracer() -> Any:
    """The powertools Tracer, created on first use and only when tracing is on (else None)."""
    global _tracer
    if not tracing_enabled():
        return None
    with _tracer_lock:
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer(service=SERVICE)
        return _tracer


def _remaining_ms(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        return float(getter())
    return 60_000.0  # no Lambda context (a direct call): a minute, like a short hook timeout


def _ids(event: Any) -> tuple[str | None, str | None]:
    # The event's two keys, read directly: powertools' CodeDeployLifecycleHookEvent is a dict wrapper
    # whose import loads every one of its event classes (about 40 ms of a cold start).
    if not isinstance(event, dict):
        return None, None
    deployment_id = event.get("DeploymentId")
    execution_id = event.get("LifecycleEventHookExecutionId")
    return (deployment_id or None) if isinstance(deployment_id, str) else None, (
        (execution_id or None) if isinstance(execution_id, str) else None
    )


def is_native_event(event: Any) -> bool:
    """Which contract an event is: Amazon ECS's has executionId and lifecycleStage, CodeDeploy's
    DeploymentId and LifecycleEventHookExecutionId."""
    return (
        isinstance(event, dict)
        and "executionId" in event
        and "lifecycleStage" in event
        and "LifecycleEventHookExecutionId" not in event
    )


def _run_before(deadline: Deadline, work: Callable[[], T], name: str) -> T:
    """Run ``work`` in a daemon thread; give up when the deadline passes (the thread is abandoned)."""
    if deadline.expired():
        raise HookDeadlineError("no time left for the checks before the hook's deadline")
    box: dict[str, Any] = {}
    keys = logger.thread_safe_get_current_keys()

    def target() -> None:
        logger.thread_safe_append_keys(**keys)  # the worker logs with the invocation's keys
        try:
            # Every AWS read of the checks is capped to the checks' deadline, so a hung API turns into
            # a failed check with its reason instead of an abandoned thread.
            with clients.calls_end_by(deadline.checks_end):
                box["outcome"] = work()
        except BaseException as err:
            box["error"] = err

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if worker.is_alive():
        raise HookDeadlineError(
            "the checks did not finish before the hook's deadline "
            f"({deadline.report_remaining():.1f} s were left for reporting)"
        )
    if "error" in box:
        raise box["error"]
    outcome: T = box["outcome"]
    return outcome


def _evaluate(
    lifecycle_event: str, deployment_id: str, deadline: Deadline, check: Check, found: dict[str, str]
) -> HookOutcome:
    deployment = get_deployment(clients.client("codedeploy"), deployment_id)
    service = settings.service_for(deployment.application, deployment.deployment_group)
    found.update(service_name=service.name, environment=service.environment)  # for the verdict's log
    logger.thread_safe_append_keys(**found)
    context = HookContext(lifecycle_event, deployment, service, deadline, VirtualTime.from_env())
    active = tracer()
    if active is None:
        return check(context)
    with active.provider.in_subsegment(f"## {lifecycle_event}") as subsegment:
        subsegment.put_annotation("DeploymentId", deployment_id)
        subsegment.put_annotation("Service", service.name)
        return check(context)


# The Metrics object is process-wide; the sandbox runs several hooks at once in one process, so one
# invocation's dimensions, metrics and flush must not interleave with another's.
_metrics_lock = threading.Lock()


def _record_metrics(lifecycle_event: str, status: str, duration_ms: float, outcome: HookOutcome) -> None:
    try:
        with _metrics_lock:
            metrics.add_dimension(name="LifecycleEvent", value=lifecycle_event)
            metrics.add_metric(name="HookDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
            metrics.add_metric(name=f"Hook{status}", unit=MetricUnit.Count, value=1)
            for check in outcome.checks:
                if check.latency_ms is not None:
                    metrics.add_metric(
                        name="CheckLatency", unit=MetricUnit.Milliseconds, value=check.latency_ms
                    )
            try:
                metrics.flush_metrics()
            finally:
                # With POWERTOOLS_METRICS_DISABLED (the sandbox sets it) flush keeps what it did not
                # print; clear so nothing carries into the next invocation.
                metrics.clear_metrics()
    except Exception:  # metrics never decide a hook
        logger.warning("could not emit metrics", exc_info=True)


def run_hook(event: Any, context: Any, lifecycle_event: str, check: Check) -> dict[str, Any]:
    """Handle one hook invocation; see the module docstring for the order of things."""
    try:
        return _run_hook(event, context, lifecycle_event, check)
    finally:
        # powertools keeps thread-local log keys in one context shared by every Logger: they belong
        # to this invocation and must not stamp the next handler's logs on this thread (the sandbox
        # runs other handlers, e.g. the alarm audit, in the same process).
        logger.thread_safe_clear_keys()


def _run_hook(event: Any, context: Any, lifecycle_event: str, check: Check) -> dict[str, Any]:
    started = time.monotonic()
    deadline = Deadline.from_remaining(_remaining_ms(context), safety_margin_ms())
    # Thread-local log keys: in Lambda one invocation runs at a time, but the sandbox runs several
    # hooks in one process, and each log line must carry its own deployment id.
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        lifecycle_event=lifecycle_event,
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    deployment_id, execution_id = _ids(event)
    if deployment_id:
        logger.thread_safe_append_keys(correlation_id=deployment_id)
    result: dict[str, Any] = {
        "lifecycleEvent": lifecycle_event,
        "deploymentId": deployment_id,
        "lifecycleEventHookExecutionId": execution_id,
    }
    if execution_id is None:
        logger.error(
            "hook event has no LifecycleEventHookExecutionId; nothing can be reported",
            extra={
                "error": {
                    "type": HookInputError.__name__,
                    "eventKeys": sorted(event) if isinstance(event, dict) else [],
                }
            },
        )
        return {**result, "status": HookStatus.FAILED.value, "reported": False, "reason": "no execution id"}
    logger.thread_safe_append_keys(execution_id=execution_id)
    claim, decided = LEDGER.claim(execution_id)
    if not claim.reports:
        logger.info(
            "hook execution already handled in this container; not reporting again",
            extra={"claim": claim.value},
        )
        return {
            **result,
            "status": claim.value,
            "reported": claim is Claim.REPORTED,
            "reason": "duplicate invocation",
        }

    _warm_reporting_client()
    status = decided or HookStatus.FAILED
    outcome = HookOutcome()
    reason = "verdict decided by an earlier invocation" if decided else "not evaluated"
    error: dict[str, Any] | None = None
    exc_info: BaseException | None = None
    found: dict[str, str] = {}
    try:
        if claim.runs_checks:
            if deployment_id is None:
                raise HookInputError("hook event has no DeploymentId")
            outcome = _run_before(
                deadline,
                lambda: _evaluate(lifecycle_event, deployment_id, deadline, check, found),
                f"hook-{execution_id}",
            )
            status, reason = outcome.status, outcome.reason
    except BluegreenError as err:
        status, reason = HookStatus.FAILED, str(err)
        error = {"type": type(err).__name__, "message": reason}
    except Exception as err:
        status, reason = HookStatus.FAILED, f"unexpected {type(err).__name__}: {err}"
        error, exc_info = {"type": type(err).__name__, "message": str(err)}, err
    finally:
        report, attempts, report_error = _report(deployment_id, execution_id, status, deadline)
        LEDGER.settle(execution_id, status, done=report.final)
        _record_metrics(lifecycle_event, status.value, (time.monotonic() - started) * 1000.0, outcome)
    result.update(
        status=status.value,
        reason=reason,
        reported=report.reported,
        report=report.value,
        reportAttempts=attempts,
        checks=[c.as_dict() for c in outcome.checks],
    )
    logger.thread_safe_append_keys(**found)
    _log_verdict(lifecycle_event, result, error, exc_info, report_error)
    if not report.final:
        raise HookReportError(f"PutLifecycleEventHookExecutionStatus({status.value}) failed: {report_error}")
    return result


def _log_verdict(
    lifecycle_event: str,
    result: dict[str, Any],
    error: dict[str, Any] | None,
    exc_info: BaseException | None,
    report_error: str,
) -> None:
    """One verdict line per invocation: info when reported Succeeded, warning when checks failed, and
    a single structured error when the hook could not judge (bad input, exception) or could not
    report. ``verdict``, ``deployment_id``, ``lifecycle_event``, ``reason`` and ``evidence`` (the
    failed checks) are what ``bluegreen deploy/status`` read back from CloudWatch Logs
    (``orchestrator.watching.hook_verdict``) to say why a hook failed."""
    message = f"{lifecycle_event} {result['status']}: {result['reason']}"
    extra = {k: result[k] for k in ("status", "report", "reportAttempts", "checks")}
    extra.update(
        verdict=result["status"],
        deployment_id=result["deploymentId"],
        reason=result["reason"],
        evidence=[check for check in result["checks"] if not check["passed"]],
    )
    if report_error:
        error = {**(error or {}), "report": report_error}
    _emit_verdict(message, extra, error, exc_info, result["status"] == HookStatus.SUCCEEDED.value)


def _emit_verdict(
    message: str,
    extra: dict[str, Any],
    error: dict[str, Any] | None,
    exc_info: BaseException | None,
    passed: bool,
) -> None:
    """Error when the hook could not judge (or report), info when it passed, else warning."""
    if error is not None:
        logger.error(message, extra={**extra, "error": error}, exc_info=exc_info)
    elif passed:
        logger.info(message, extra=extra)
    else:
        logger.warning(message, extra=extra)


def _warm_reporting_client() -> None:
    """Make the reporting client before the checks: on a cold start that costs ~100 ms, which
    must come out of the check time, not out of the safety margin kept for the report."""
    # A failure here shows again, as a failed report, when the report is attempted.
    with contextlib.suppress(Exception):
        clients.reporting_client()


# The report ends this long before Lambda's deadline: the verdict's log line and metrics come after.
REPORT_END_MARGIN_S = 0.2


def _report(
    deployment_id: str | None, execution_id: str, status: HookStatus, deadline: Deadline
) -> tuple[ReportResult, int, str]:
    try:
        return report_status(
            clients.reporting_client(),
            deployment_id,
            execution_id,
            status,
            deadline.report_remaining() - REPORT_END_MARGIN_S,
        )
    except Exception as err:  # making the client failed (configuration); nothing was sent
        return ReportResult.FAILED, 0, f"{type(err).__name__}: {err}"


def lifecycle_hook(lifecycle_event: str, native: NativeCheck | None = None) -> Callable[[Check], Handler]:
    """Turn a check into a Lambda handler ``(event, context) -> dict`` for one lifecycle event: on a
    CodeDeploy event it reports the check's verdict, on an Amazon ECS event it returns ``native``'s
    (by default the same check, over in one invocation)."""

    def wrap(check: Check) -> Handler:
        @functools.wraps(check)
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if is_native_event(event):
                from hooks import native_runtime

                answer = native or native_runtime.completed(check)
                return native_runtime.run_native_hook(event, context, lifecycle_event, answer)
            return run_hook(event, context, lifecycle_event, check)

        handler.check = check  # type: ignore[attr-defined]
        return handler

    return wrap


def single_result(result: CheckResult) -> HookOutcome:
    return HookOutcome.of([result])
