"""The Lambda runner: the CodeDeploy emulator's hook invoker, running the real ``hooks/`` handlers
in-process with a Lambda-like context.

CodeDeploy invokes a hook asynchronously and then waits for PutLifecycleEventHookExecutionStatus,
so each invocation runs on its own thread and ``invoke`` returns at once. Function names come from
the catalog (``settings.hooks``: lifecycle event -> function name); an ARN ending in
``:function:<name>`` (optionally with a qualifier) resolves the same. An unknown function raises
LookupError, which the emulator turns into a failed lifecycle event.

The environment a deployed hook would have (endpoints, region, catalog, listener host, time scale)
is process-wide: the world sets it once for the whole process, see ``sandbox.world``.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from orchestrator.catalog import ResolvedService

Handler = Callable[[dict[str, Any], Any], Any]

# Lifecycle event -> handler name in hooks/handlers.py.
HANDLER_NAMES = {
    "BeforeInstall": "before_install",
    "AfterInstall": "after_install",
    "AfterAllowTestTraffic": "after_allow_test_traffic",
    "BeforeAllowTraffic": "before_allow_traffic",
    "AfterAllowTraffic": "after_allow_traffic",
}
# The hooks' Lambda timeout, in real seconds: the deadline a Lambda has is wall-clock time, and
# the hooks size their checks to it (their bake and warm-up windows are virtual, see hooks.timing).
DEFAULT_TIMEOUT_SECONDS = 120.0
_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$")


def function_name_of(name_or_arn: str) -> str:
    """``my-fn`` from ``my-fn``, ``arn:aws:lambda:r:a:function:my-fn`` or ``...:function:my-fn:live``."""
    match = _ARN.match(name_or_arn)
    return match.group(1) if match else name_or_arn


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object the hooks (and powertools) read."""

    function_name: str
    invoked_function_arn: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    started_at: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = (
            self.log_stream_name or f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id[:8]}"
        )
        self.started_at = self.started_at or time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started_at + self.timeout_seconds - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One hook invocation: which function, the payload, and how it ended."""

    function_name: str
    payload: dict[str, Any]
    error: str | None


def handlers_for(services: Iterable[ResolvedService], module: str = "hooks.handlers") -> dict[str, Handler]:
    """Function name -> handler, for the hook functions the catalog names for these services."""
    handlers = importlib.import_module(module)
    out: dict[str, Handler] = {}
    for service in services:
        for event, function in service.settings.hooks.items():
            out[function] = getattr(handlers, HANDLER_NAMES[event])
    return out


class LambdaRunner:
    """Callable as the emulator's ``hook_invoker(function_name, payload)``."""

    def __init__(
        self,
        handlers: dict[str, Handler],
        region: str,
        account_id: str,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        log_stream: IO[str] | None = None,
        before_invoke: Callable[[], None] | None = None,
    ) -> None:
        self.handlers = dict(handlers)
        # Runs on the emulator's thread before a hook starts: the world brings the fleet up to date,
        # as in AWS the replacement's tasks are running by the time CodeDeploy calls AfterInstall.
        self.before_invoke = before_invoke
        self.log_stream = log_stream
        self.region = region
        self.account_id = account_id
        self.timeout_seconds = timeout_seconds
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __call__(self, function_name: str, payload: dict[str, Any]) -> None:
        name = function_name_of(function_name)
        handler = self.handlers.get(name)
        if handler is None:
            raise LookupError(
                f"no Lambda function {name!r} in the sandbox (known: {', '.join(sorted(self.handlers))})"
            )
        if self.before_invoke is not None:
            self.before_invoke()
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
            timeout_seconds=self.timeout_seconds,
        )
        thread = threading.Thread(
            target=self._run, args=(name, handler, dict(payload), context), name=f"lambda-{name}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, name: str, handler: Handler, payload: dict[str, Any], context: LambdaContext) -> None:
        error = None
        if self.log_stream is not None:
            redirect_stdout_logging(self.log_stream)
        try:
            handler(payload, context)
        except Exception as err:  # Lambda records a function error; CodeDeploy then waits for the timeout
            error = f"{type(err).__name__}: {err}"
        with self._lock:
            self.invocations.append(Invocation(name, payload, error))

    def join(self, timeout: float = 10.0) -> None:
        """Wait for running invocations (they end by reporting, or by their own deadline)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def redirect_stdout_logging(stream: IO[str]) -> None:
    """Send log handlers that write to stdout (powertools' Logger does) to ``stream`` instead, so
    in-process hooks never mix their JSON logs into the CLI's output."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
                handler.setStream(stream)
