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
``/aws/lambda/<function>``, log stream ``YYYY/MM/DD/[$LATEST]<id>``, one event per line stamped
with the world's clock (the virtual time the CodeDeploy emulator and the ECS endpoint answer in:
in AWS, Lambda and CodeDeploy share one clock, and `bluegreen why` lays both on one time line), so
``bluegreen deploy/status/why`` read a hook's verdict line the same way in the sandbox as in AWS
(``orchestrator.aws.logs``). Lines are told apart by the invocation's
``function_request_id`` (a powertools key every hook line carries, the checks' threads included).

As Lambda's asynchronous invocation does, a function error (the handler raises) is retried: up to
the function's MaximumRetryAttempts (template.yaml's ``EventInvokeConfig``; AWS's default is 2),
about 1 minute before the second attempt and 2 minutes before the third, on the world's virtual
clock ("Error handling and automatic retries in Lambda", asynchronous invocation:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). The retry
gets the same event and a fresh deadline; the hooks rely on it to report a verdict they decided
but could not report (``hooks.runtime.HookReportError``).

Amazon ECS invokes a hook synchronously instead (``invoke_sync``): it reads the function's return
value (``hookStatus``) and "if your function doesn't return a valid hookStatus, or if it fails,
Amazon ECS rolls back the deployment" ("Lambda hooks for Amazon ECS service deployments",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html). A
synchronous invocation is never retried by Lambda ("the client is responsible for retries",
https://docs.aws.amazon.com/lambda/latest/dg/invocation-sync.html), and ECS does not retry a
function error either: it rolls back. So ``invoke_sync`` runs the handler once and raises
``FunctionError`` on a function error; the caller (the native ECS emulator) fails the hook.
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from orchestrator.catalog import ResolvedService
from orchestrator.vocabulary import (
    AFTER_ALLOW_TEST_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
    AFTER_INSTALL,
    BEFORE_ALLOW_TRAFFIC,
    BEFORE_INSTALL,
)
from sandbox.clock import VirtualClock
from sandbox.template_file import load_template

Handler = Callable[[dict[str, Any], Any], Any]

# Lifecycle event -> handler name in hooks/handlers.py.
HANDLER_NAMES = {
    BEFORE_INSTALL: "before_install",
    AFTER_INSTALL: "after_install",
    AFTER_ALLOW_TEST_TRAFFIC: "after_allow_test_traffic",
    BEFORE_ALLOW_TRAFFIC: "before_allow_traffic",
    AFTER_ALLOW_TRAFFIC: "after_allow_traffic",
}
# The hooks' Lambda timeout, in real seconds: the deadline a Lambda has is wall-clock time, and
# the hooks size their checks to it (their bake and warm-up windows are virtual, see hooks.timing).
DEFAULT_TIMEOUT_SECONDS = 120.0
# Lambda's asynchronous retries: MaximumRetryAttempts defaults to 2 (AWS::Lambda::EventInvokeConfig,
# range 0-2), the waits are about 1 then 2 minutes (virtual seconds here).
DEFAULT_RETRY_ATTEMPTS = 2
RETRY_WAITS_SECONDS = (60.0, 120.0)
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
    """One hook invocation attempt: which function, the payload, how it ended, which attempt (1..3)."""

    function_name: str
    payload: dict[str, Any]
    error: str | None
    attempt: int = 1
    seconds: float = 0.0  # real seconds the handler ran


def retry_wait_seconds(attempt: int, max_retry_attempts: int) -> float | None:
    """Virtual seconds before the attempt after a failed ``attempt`` (1, 2, ...), None when none is left."""
    if attempt > max_retry_attempts:
        return None
    return RETRY_WAITS_SECONDS[min(attempt, len(RETRY_WAITS_SECONDS)) - 1]


class FunctionError(RuntimeError):
    """A synchronous invocation's function error: Lambda answers it with ``X-Amz-Function-Error``
    and a payload ``{errorType, errorMessage}`` (the handler raised, timed out, or returned a value
    that is not JSON)."""

    def __init__(self, function_name: str, error_type: str, message: str) -> None:
        super().__init__(f"{function_name}: {error_type}: {message}")
        self.function_name = function_name
        self.error_type = error_type
        self.error_message = message


def template_retry_attempts(template: Path) -> dict[str, int]:
    """Handler name (``before_install``, ...) -> the MaximumRetryAttempts of the template's function
    running ``hooks.handlers.<name>`` (AWS's default 2 when the function sets none; {} without a template)."""
    if not template.is_file():
        return {}
    document = load_template(template)
    out: dict[str, int] = {}
    for resource in (document.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        handler = str(properties.get("Handler") or "")
        if resource.get("Type") == "AWS::Serverless::Function" and handler.startswith("hooks.handlers."):
            config = properties.get("EventInvokeConfig") or {}
            out[handler.rsplit(".", 1)[-1]] = int(config.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
    return out


def retry_attempts_for(services: Iterable[ResolvedService], template: Path) -> dict[str, int]:
    """Function name -> MaximumRetryAttempts, for the hook functions the catalog names."""
    by_handler = template_retry_attempts(template)
    return {
        function: by_handler.get(HANDLER_NAMES[event], DEFAULT_RETRY_ATTEMPTS)
        for service in services
        for event, function in service.settings.hooks.items()
    }


class InvocationLogs(logging.Handler):
    """Collects the hooks' JSON log lines per open invocation (by ``function_request_id``), each
    stamped with ``now()`` (epoch s; default: the record's real time)."""

    def __init__(self, formatter: logging.Formatter, now: Callable[[], float] | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter)  # formatted in the logging thread: powertools' thread-local keys
        self._lock = threading.Lock()
        self._open: dict[str, list[tuple[int, str]]] = {}
        self._now = now

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
                at = self._now() if self._now is not None else record.created
                self._open[request_id].append((int(at * 1000), line))


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
        clock: VirtualClock | None = None,
        retry_attempts: Mapping[str, int] | None = None,
    ) -> None:
        self.handlers = dict(handlers)
        # Asynchronous retries: MaximumRetryAttempts per function (AWS's default 2), waits on ``clock``.
        self.clock = clock or VirtualClock(1.0)
        self.retry_attempts = dict(retry_attempts or {})
        self._stopping = threading.Event()
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

    def _handler(self, name: str) -> Handler:
        """The handler of a function; LookupError for an unknown one, or once the world is stopping."""
        handler = self.handlers.get(name)
        if handler is None:
            raise LookupError(
                f"no Lambda function {name!r} in the sandbox (known: {', '.join(sorted(self.handlers))})"
            )
        if self._stopping.is_set():  # the world is stopping: a hook started now would outlive it
            raise LookupError(f"the sandbox is stopping; {name} was not invoked")
        return handler

    def __call__(self, function_name: str, payload: dict[str, Any]) -> None:
        name = function_name_of(function_name)
        handler = self._handler(name)
        if self.before_invoke is not None:
            self.before_invoke()
        self._start(name, handler, payload)

    def _start(self, name: str, handler: Handler, payload: dict[str, Any]) -> None:
        """One asynchronous invocation on its own thread."""
        thread = threading.Thread(
            target=self._invoke_async, args=(name, handler, dict(payload)), name=f"lambda-{name}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def add_function(
        self, name: str, handler: Handler, max_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    ) -> None:
        """Deploy one more function (the world's EventBridge targets, e.g. the ledger Lambda)."""
        self.handlers[name] = handler
        self.retry_attempts[name] = max_retry_attempts

    def invoke_event(self, function_name: str, payload: dict[str, Any]) -> None:
        """EventBridge's invocation of a Lambda target: asynchronous (retried on a function error as
        any asynchronous invocation), without the fleet's settle step that precedes a hook."""
        name = function_name_of(function_name)
        handler = self._handler(name)
        self._start(name, handler, payload)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait (real seconds) for the invocations running now, retries included; unlike ``join``
        new ones are still accepted. True when none is left running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = [t for t in self._threads if t.is_alive()]
            if not running:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            running[0].join(left)

    def invoke_sync(
        self, function_name: str, payload: dict[str, Any], timeout_seconds: float | None = None
    ) -> dict[str, Any]:
        """Amazon ECS's synchronous invocation (InvocationType RequestResponse): run the handler
        once on its own thread, wait for it up to its deadline (the function's timeout, 120 s, or
        ``timeout_seconds``: real seconds) and return its return value as Lambda hands it back
        (JSON). Raises ``FunctionError`` on a function error (no retry: ECS rolls back, see the
        module's doc) and LookupError for an unknown function or once the world is stopping. The
        invocation's logs go to CloudWatch Logs as an asynchronous one's do."""
        name = function_name_of(function_name)
        handler = self._handler(name)
        context = self._context(name, str(uuid.uuid4()), timeout_seconds)
        outcome: dict[str, Any] = {}

        def run() -> None:
            outcome["result"], outcome["error"] = self._attempt(name, handler, dict(payload), context)

        thread = threading.Thread(target=run, name=f"lambda-sync-{name}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        thread.join(context.timeout_seconds)
        if thread.is_alive():  # Lambda ends the invocation at its deadline (the thread runs on, abandoned)
            message = f"Task timed out after {context.timeout_seconds:.2f} seconds"
            raise FunctionError(name, "Sandbox.Timedout", message)
        if outcome["error"] is not None:
            error_type, _, message = str(outcome["error"]).partition(": ")
            raise FunctionError(name, error_type, message)
        return _as_lambda_returns(name, outcome["result"])

    def _context(self, name: str, request_id: str, timeout_seconds: float | None = None) -> LambdaContext:
        return LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
            timeout_seconds=self.timeout_seconds if timeout_seconds is None else timeout_seconds,
            aws_request_id=request_id,
        )

    def _invoke_async(self, name: str, handler: Handler, payload: dict[str, Any]) -> None:
        """Run the handler; on a function error retry it as Lambda does (same event and request id,
        a fresh deadline), until it returns, the retries run out or the runner closes."""
        request_id = str(uuid.uuid4())
        max_retries = self.retry_attempts.get(name, DEFAULT_RETRY_ATTEMPTS)
        attempt = 1
        while True:
            failed = self._run(name, handler, payload, self._context(name, request_id), attempt)
            wait = retry_wait_seconds(attempt, max_retries) if failed else None
            if wait is None or self.clock.wait(self._stopping, wait):
                return
            attempt += 1

    def _run(
        self, name: str, handler: Handler, payload: dict[str, Any], context: LambdaContext, attempt: int = 1
    ) -> bool:
        """One attempt; True when the handler raised (a function error)."""
        return self._attempt(name, handler, payload, context, attempt)[1] is not None

    def _attempt(
        self, name: str, handler: Handler, payload: dict[str, Any], context: LambdaContext, attempt: int = 1
    ) -> tuple[Any, str | None]:
        """One attempt: (the handler's return value, None) or (None, "ErrorType: message")."""
        result, error = None, None
        if self.log_stream is not None:
            redirect_stdout_logging(self.log_stream)
        collector = self._collect()
        if collector is not None:
            collector.open(context.aws_request_id)
        try:
            result = handler(payload, context)
        except Exception as err:  # a function error: retried (asynchronous) or raised (synchronous)
            error = f"{type(err).__name__}: {err}"
        if collector is not None:
            self._deliver(context, collector.close_invocation(context.aws_request_id))
        with self._lock:
            took = time.monotonic() - context.started_at
            self.invocations.append(Invocation(name, payload, error, attempt, took))
        return result, error

    def _collect(self) -> InvocationLogs | None:
        """The collector on the hooks' logger, attached on the first invocation."""
        if self.logs_client is None:
            return None
        with self._lock:
            if self._collector is None:
                from hooks.runtime import logger

                # stamped on the world's clock, the one the emulators answer in (see the docstring)
                self._collector = InvocationLogs(logger.registered_formatter, self.clock.now)
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
        """Detach the log collector, close the CloudWatch Logs client, drop pending retries."""
        self._stopping.set()
        with self._lock:
            collector, self._collector = self._collector, None
            logs, self._logs = self._logs, None
        if collector is not None:
            from hooks.runtime import logger

            logging.getLogger(logger.name).removeHandler(collector)
        if logs is not None:
            logs.close()

    def join(self, timeout: float = 10.0) -> None:
        """Refuse new invocations, then wait for running ones (they end by reporting, or by their own
        deadline). Refusing first matters: the emulator still runs while the world stops, and a hook
        it started after this wait would run on after the world (its moto gone, its environment
        restored, its metrics printed on the process's stdout)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _as_lambda_returns(name: str, result: Any) -> dict[str, Any]:
    """The return value as a synchronous caller gets it: serialized to JSON and read back (a value
    that is not JSON is Lambda's Runtime.MarshalError, a function error). Anything but an object
    carries no ``hookStatus``: ECS rolls back on it, as on an empty object."""
    try:
        returned = json.loads(json.dumps(result))
    except (TypeError, ValueError) as err:
        raise FunctionError(name, "Runtime.MarshalError", f"Unable to marshal response: {err}") from None
    return returned if isinstance(returned, dict) else {}


HOOKS_LOGGER = "bluegreen-hooks"  # hooks.runtime.SERVICE: powertools names its logging.Logger after it
LEDGER_LOGGER = "bluegreen-ledger"  # hooks.ledger.SERVICE: the ledger Lambda's (an EventBridge target)
OUR_LOGGERS = (HOOKS_LOGGER, LEDGER_LOGGER)


def redirect_stdout_logging(stream: IO[str]) -> None:
    """Send log handlers that write to stdout (powertools' Logger does) to ``stream`` instead, so
    in-process hooks never mix their JSON logs into the CLI's output."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for logger in loggers:
        ours = logger.name.startswith(OUR_LOGGERS)
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
