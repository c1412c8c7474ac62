"""The Lambda runner: the CodeDeploy emulator's hook invoker, running the real ``hooks/`` handlers
in-process with a Lambda-like context.

CodeDeploy invokes a hook asynchronously and then waits for PutLifecycleEventHookExecutionStatus,
so each invocation runs on its own thread and ``invoke`` returns at once. Function names come from
the catalog (``settings.hooks``: lifecycle event -> function name); an ARN ending in
``:function:<name>`` (optionally with a qualifier) resolves the same. An unknown function raises
LookupError, which the emulator turns into a failed lifecycle event.

The environment a deployed hook would have (endpoints, region, catalog, listener host, time scale)
is process-wide: the world sets it once for the whole process, see ``sandbox.world``.

As the Lambda runtime does, each invocation's log lines go to CloudWatch Logs (moto's): log group
``/aws/lambda/<function>``, log stream ``YYYY/MM/DD/[$LATEST]<id>``, one event per line with its
real timestamp, so ``bluegreen deploy/status`` read a failed hook's verdict line the same way in
the sandbox as in AWS (``orchestrator.logs_api``). Lines are told apart by the invocation's
``function_request_id`` (a powertools key every hook line carries, the checks' threads included).
"""

from __future__ import annotations

import contextlib
import importlib
import json
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


class InvocationLogs(logging.Handler):
    """Collects the hooks' JSON log lines per open invocation (by ``function_request_id``)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter)  # formatted in the logging thread: powertools' thread-local keys
        self._lock = threading.Lock()
        self._open: dict[str, list[tuple[int, str]]] = {}

    def open(self, request_id: str) -> None:
        with self._lock:
            self._open[request_id] = []

    def close_invocation(self, request_id: str) -> list[tuple[int, str]]:
        """The (timestamp ms, line) pairs of an invocation; later lines (abandoned threads) are dropped."""
        with self._lock:
            return self._open.pop(request_id, [])

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            request_id = json.loads(line).get("function_request_id")
        except Exception:  # a line we cannot read is not worth failing a hook for
            return
        with self._lock:
            if request_id in self._open:
                self._open[request_id].append((int(record.created * 1000), line))


def deliver_logs(logs: Any, context: LambdaContext, lines: list[tuple[int, str]]) -> None:
    """PutLogEvents of one invocation's lines to its log group and stream (both made if missing)."""
    from botocore.exceptions import ClientError

    for create in (
        lambda: logs.create_log_group(logGroupName=context.log_group_name),
        lambda: logs.create_log_stream(
            logGroupName=context.log_group_name, logStreamName=context.log_stream_name
        ),
    ):
        try:
            create()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                raise
    events = [{"timestamp": at, "message": line} for at, line in sorted(lines, key=lambda item: item[0])]
    logs.put_log_events(
        logGroupName=context.log_group_name, logStreamName=context.log_stream_name, logEvents=events
    )


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
        logs_client: Callable[[], Any] | None = None,
    ) -> None:
        self.handlers = dict(handlers)
        # Makes the CloudWatch Logs client invocations' lines go to (None: lines stay in the file).
        self.logs_client = logs_client
        self._logs: Any = None
        self._collector: InvocationLogs | None = None
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
        collector = self._collect()
        if collector is not None:
            collector.open(context.aws_request_id)
        try:
            handler(payload, context)
        except Exception as err:  # Lambda records a function error; CodeDeploy then waits for the timeout
            error = f"{type(err).__name__}: {err}"
        if collector is not None:
            self._deliver(context, collector.close_invocation(context.aws_request_id))
        with self._lock:
            self.invocations.append(Invocation(name, payload, error))

    def _collect(self) -> InvocationLogs | None:
        """The collector on the hooks' logger, attached on the first invocation."""
        if self.logs_client is None:
            return None
        with self._lock:
            if self._collector is None:
                from hooks.runtime import logger

                self._collector = InvocationLogs(logger.registered_formatter)
                logging.getLogger(logger.name).addHandler(self._collector)
            return self._collector

    def _deliver(self, context: LambdaContext, lines: list[tuple[int, str]]) -> None:
        if not lines or self.logs_client is None:
            return
        try:
            with self._lock:
                if self._logs is None:
                    self._logs = self.logs_client()
                logs = self._logs
            deliver_logs(logs, context, lines)
        except Exception as err:  # the hook ran; only its copy in CloudWatch Logs is missing
            if self.log_stream is not None:
                self.log_stream.write(f"sandbox: could not deliver {context.function_name}'s logs: {err}\n")

    def close(self) -> None:
        """Detach the log collector and close the CloudWatch Logs client."""
        with self._lock:
            collector, self._collector = self._collector, None
            logs, self._logs = self._logs, None
        if collector is not None:
            from hooks.runtime import logger

            logging.getLogger(logger.name).removeHandler(collector)
        if logs is not None:
            logs.close()

    def join(self, timeout: float = 10.0) -> None:
        """Wait for running invocations (they end by reporting, or by their own deadline)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


HOOKS_LOGGER = "bluegreen-hooks"  # hooks.runtime.SERVICE: powertools names its logging.Logger after it


def redirect_stdout_logging(stream: IO[str]) -> None:
    """Send log handlers that write to stdout (powertools' Logger does) to ``stream`` instead, so
    in-process hooks never mix their JSON logs into the CLI's output."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for logger in loggers:
        ours = logger.name.startswith(HOOKS_LOGGER)
        for handler in logger.handlers:
            if not isinstance(handler, logging.StreamHandler):
                continue
            # The hooks' own logger always writes to this world's file, whatever stream it held: the
            # stdout it was created with may be a stream that was swapped since (pytest's capture).
            # Otherwise stdout, or the closed file of a world that stopped earlier in this process
            # (its hooks would otherwise log nowhere).
            if ours or getattr(handler.stream, "closed", False):
                with handler.lock or contextlib.nullcontext():  # setStream would flush the closed file
                    handler.stream = stream
            elif handler.stream in (sys.stdout, sys.__stdout__):
                handler.setStream(stream)
