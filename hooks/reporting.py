"""Reporting a hook's verdict to CodeDeploy exactly once (PutLifecycleEventHookExecutionStatus).

CodeDeploy waits up to an hour for a hook that never reports, so the report is the one thing a hook
must not skip; reporting twice is an error on CodeDeploy's side. Three rules keep it exactly once:
- ``ExecutionLedger`` remembers, per Lambda container, every execution id being handled or already
  reported, so a second invocation for the same execution does not run or report again;
- LifecycleEventAlreadyCompletedException means someone reported already: counted as reported;
- the call is retried (tenacity, within the time left) on throttling, 5xx and connection errors
  only; every other error is final. Each attempt ends by the end of the budget whatever the
  endpoint does (``hooks.clients.call_before``): a hung CodeDeploy cannot hold the hook past its
  Lambda deadline. An abandoned attempt may still land; a later report then meets
  LifecycleEventAlreadyCompletedException, which counts as reported. A verdict that could not be
  reported is remembered, so Lambda's own retry of the invocation reports that verdict instead of
  deciding again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from hooks.clients import call_before
from hooks.outcome import HookStatus
from orchestrator.aws.clients import error_code, http_status

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
    }
)
ALREADY_COMPLETED = "LifecycleEventAlreadyCompletedException"
MAX_REPORT_ATTEMPTS = 6


class Claim(Enum):
    """What the ledger says about an execution id when an invocation starts."""

    NEW = "new"  # run the checks, then report
    DECIDED = "decided"  # a verdict exists but was not reported: report it, do not decide again
    IN_FLIGHT = "in-flight"  # another invocation in this container is handling it
    REPORTED = "reported"  # done; do nothing

    @property
    def runs_checks(self) -> bool:
        return self is Claim.NEW

    @property
    def reports(self) -> bool:
        return self in (Claim.NEW, Claim.DECIDED)


class ExecutionLedger:
    """Per-container memory of hook executions (thread-safe: the sandbox invokes hooks in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._done: set[str] = set()
        self._decided: dict[str, HookStatus] = {}

    def claim(self, execution_id: str) -> tuple[Claim, HookStatus | None]:
        """Start handling an execution: what this invocation should do, and a verdict already decided."""
        with self._lock:
            if execution_id in self._done:
                return Claim.REPORTED, None
            if execution_id in self._in_flight:
                return Claim.IN_FLIGHT, None
            self._in_flight.add(execution_id)
            if execution_id in self._decided:
                return Claim.DECIDED, self._decided[execution_id]
            return Claim.NEW, None

    def settle(self, execution_id: str, status: HookStatus, done: bool) -> None:
        """Finish handling: ``done`` when CodeDeploy needs nothing more, else remember the verdict."""
        with self._lock:
            self._in_flight.discard(execution_id)
            if done:
                self._done.add(execution_id)
                self._decided.pop(execution_id, None)
            else:
                self._decided[execution_id] = status

    def is_done(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._done


LEDGER = ExecutionLedger()


class ReportResult(Enum):
    """How a report ended."""

    ACCEPTED = "accepted"
    ALREADY_COMPLETED = "already-completed"  # someone reported this execution before: fine
    REJECTED = "rejected"  # CodeDeploy does not know the deployment or execution: nothing waits on it
    FAILED = "failed"  # throttling, 5xx or no connection until the budget ran out: try again later

    @property
    def reported(self) -> bool:
        """CodeDeploy holds a status for the execution (ours or an earlier one)."""
        return self in (ReportResult.ACCEPTED, ReportResult.ALREADY_COMPLETED)

    @property
    def final(self) -> bool:
        """Nothing is gained by reporting again."""
        return self is not ReportResult.FAILED


# CodeDeploy's answers that no retry can change: the ids do not name a pending hook execution.
REJECTIONS = frozenset(
    {
        "DeploymentDoesNotExistException",
        "DeploymentIdRequiredException",
        "InvalidDeploymentIdException",
        "InvalidLifecycleEventHookExecutionIdException",
        "UnsupportedActionForDeploymentTypeException",
    }
)


def is_retryable(err: BaseException) -> bool:
    """Throttling, 5xx and connection-level failures are worth another attempt; nothing else is."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(err, (BotoConnectionError, HTTPClientError)):
        return True
    return error_code(err) in THROTTLING_CODES or http_status(err) >= 500


def report_status(
    codedeploy: Any,
    deployment_id: str | None,
    execution_id: str,
    status: HookStatus,
    budget_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[ReportResult, int, str]:
    """Put the status, retrying transient failures within ``budget_s``: (result, attempts, error).
    Every attempt, waits included, is over ``budget_s`` after the call starts."""
    from tenacity import (
        RetryError,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_before_delay,
        wait_exponential_jitter,
    )

    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(MAX_REPORT_ATTEMPTS) | stop_before_delay(max(budget_s, 0.0)),
        wait=wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1),
        sleep=sleep,
        reraise=True,
    )
    attempts = 0
    end = time.monotonic() + max(budget_s, 0.0)

    def put() -> None:
        nonlocal attempts
        attempts += 1
        # deploymentId is optional in the API; without one, the execution id alone is all we can send.
        ids = {"deploymentId": deployment_id} if deployment_id else {}
        call_before(
            end,
            lambda: codedeploy.put_lifecycle_event_hook_execution_status(
                **ids, lifecycleEventHookExecutionId=execution_id, status=status.value
            ),
            "PutLifecycleEventHookExecutionStatus",
        )

    try:
        retrying(put)
    except RetryError as err:  # only without reraise; kept for safety
        return ReportResult.FAILED, attempts, str(err)
    except Exception as err:
        code = error_code(err)
        if code == ALREADY_COMPLETED:
            return ReportResult.ALREADY_COMPLETED, attempts, ""
        described = f"{code}: {err}" if code else f"{type(err).__name__}: {err}"
        if code in REJECTIONS:
            return ReportResult.REJECTED, attempts, described
        return ReportResult.FAILED, attempts, described
    return ReportResult.ACCEPTED, attempts, ""
