"""Hook executions: created Pending, handed to a pluggable invoker on its own thread (as CodeDeploy
invokes a Lambda asynchronously), resolved by PutLifecycleEventHookExecutionStatus or by failure.

Never fail open: an invoker that raises fails the execution at once, and silence is not success (the
engine fails the event when the hook timeout passes).
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Callable

from sandbox.codedeploy.model import Deployment, HookExecution, LifecycleEventStatus, Store

log = logging.getLogger(__name__)

HookInvoker = Callable[[str, dict[str, str]], None]
"""``(function_name_or_arn, {"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}) -> None``."""


def new_execution_id() -> str:
    """An opaque id like CodeDeploy's (long, URL-safe)."""
    return "eyJ" + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")


class HookDispatcher:
    """Starts hook executions for the engine and resolves them."""

    def __init__(self, store: Store, invoker: HookInvoker | None) -> None:
        self._store = store
        self._invoker = invoker
        self._threads: list[threading.Thread] = []

    def start(self, deployment: Deployment, lifecycle_event: str, function_name: str) -> HookExecution:
        """Record a Pending execution and invoke the hook (if an invoker is plugged in)."""
        execution = HookExecution(new_execution_id(), deployment.id, lifecycle_event, function_name)
        with self._store.lock:
            self._store.hook_executions[execution.id] = execution
        if self._invoker is not None:
            payload = {"DeploymentId": deployment.id, "LifecycleEventHookExecutionId": execution.id}
            thread = threading.Thread(
                target=self._invoke,
                args=(deployment, execution, payload),
                name=f"hook-{deployment.id}-{lifecycle_event}",
                daemon=True,
            )
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()
        return execution

    def _invoke(self, deployment: Deployment, execution: HookExecution, payload: dict[str, str]) -> None:
        assert self._invoker is not None
        try:
            self._invoker(execution.function_name, payload)
        except LookupError as err:
            self.fail(
                deployment, execution, f"The Lambda function {execution.function_name} was not found: {err}"
            )
        except Exception as err:
            self.fail(
                deployment,
                execution,
                f"Invoking {execution.function_name} failed: {type(err).__name__}: {err}",
            )

    def fail(self, deployment: Deployment, execution: HookExecution, reason: str) -> None:
        """Fail a still-pending execution (invoke error, timeout) and wake the deployment."""
        with self._store.lock:
            if execution.status is LifecycleEventStatus.PENDING:
                execution.status = LifecycleEventStatus.FAILED
                execution.reason = reason
        log.info("hook execution for %s %s failed: %s", deployment.id, execution.lifecycle_event, reason)
        deployment.wake.set()

    def join(self, timeout: float) -> None:
        """Wait a little for invoker threads (they belong to hooks that may still be running)."""
        for thread in self._threads:
            thread.join(timeout)
