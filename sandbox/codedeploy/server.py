"""CodeDeploy's JSON 1.1 wire protocol on loopback.

``POST /`` with ``X-Amz-Target: CodeDeploy_20141006.<Operation>`` and a JSON body; answers with the
operation's output or an AWS-shaped error (``__type`` and ``message``). Requests are checked against
botocore's input shape before any operation runs; a bad request never stops the server.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.codedeploy import api_deployments, api_resources, shapes
from sandbox.codedeploy.api_resources import ApiContext, Params
from sandbox.codedeploy.errors import ApiError, validation

log = logging.getLogger(__name__)

TARGET_PREFIX = "CodeDeploy_20141006."
MAX_BODY_BYTES = 1024 * 1024
# The deepest CodeDeploy input nests 6 levels, the body included (UpdateDeploymentGroup's
# loadBalancerInfo.targetGroupPairInfoList[].prodTrafficRoute.listenerArns; a test pins it).
# AWS documents no limit; anything past 32 is refused before it reaches a recursive walk.
MAX_JSON_DEPTH = 32
OPERATIONS: dict[str, Callable[[ApiContext, Params], Params]] = {
    **api_resources.OPERATIONS,
    **api_deployments.OPERATIONS,
}


class FaultInjector:
    """Makes the next N calls of an operation fail with a given AWS error (to test clients' retries)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[tuple[str, int]]] = {}

    def add(self, operation: str, error_code: str, times: int, http_status: int = 400) -> None:
        with self._lock:
            self._pending.setdefault(operation, []).extend([(error_code, http_status)] * times)

    def take(self, operation: str) -> ApiError | None:
        with self._lock:
            queue = self._pending.get(operation)
            if not queue:
                return None
            code, status = queue.pop(0)
        return ApiError(code, f"Injected fault: {code} on {operation}.", status)


class Dispatcher:
    """Turns one request (target header and body) into a status and a JSON body."""

    def __init__(self, ctx: ApiContext, faults: FaultInjector) -> None:
        self.ctx = ctx
        self.faults = faults
        self.model = shapes.service_model()
        self._operations = set(self.model.operation_names)

    def handle(self, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self._handle(target, body)
        except ApiError as err:
            return err.http_status, err.body()
        except Exception:
            log.exception("internal error on %s", target)
            return 500, {"__type": "InternalFailure", "message": "The server encountered an internal error."}

    def _handle(self, target: str | None, body: bytes) -> Params:
        operation = (target or "")[len(TARGET_PREFIX) :] if (target or "").startswith(TARGET_PREFIX) else ""
        if operation not in self._operations:
            raise ApiError("UnknownOperationException", f"Unknown operation {target!r}.")
        params = parse_body(body)
        fault = self.faults.take(operation)
        if fault is not None:
            raise fault
        input_shape = self.model.operation_model(operation).input_shape
        problems = shapes.check(params, input_shape) if input_shape is not None else []
        if problems:
            shown = "; ".join(problems[:5])
            raise validation(f"{len(problems)} validation error(s) detected: {shown}")
        if input_shape is not None:
            params = shapes.known_members(params, input_shape)
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise ApiError(
                "InvalidOperationException", f"{operation} is not supported by the CodeDeploy emulator."
            )
        with self.ctx.store.lock:
            return handler(self.ctx, params)


def parse_body(body: bytes) -> Params:
    """The request's JSON object; SerializationException (400) for anything else, however deep or
    broken (AWS answers SerializationException when a body cannot be deserialized)."""
    try:
        params = json.loads(body.decode("utf-8")) if body.strip() else {}
    except ValueError as err:  # not UTF-8, not JSON, or an integer past Python's 4,300-digit limit
        raise ApiError("SerializationException", f"The request body is not valid JSON: {err}") from None
    except RecursionError:  # nesting deeper than the interpreter's stack: refused like MAX_JSON_DEPTH
        params = None
        depth = MAX_JSON_DEPTH + 1
    else:
        depth = shapes.nesting_depth(params, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(
            "SerializationException", f"The request body nests deeper than {MAX_JSON_DEPTH} levels."
        )
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    try:  # a "\ud800" escape decodes to a lone surrogate, which no later encode() survives
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError("SerializationException", "The request body has a lone UTF-16 surrogate.") from None
    # The JSON protocol treats a null member as an absent one; drop them so required-member
    # checks see them missing and handlers never meet None.
    return dict(_without_nulls(params))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _handler_class(dispatcher: Dispatcher) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK hold every response
        # for ~40 ms on loopback (measured: 45 ms per call, 1.6 ms with it).
        disable_nagle_algorithm = True
        timeout = 60  # a client that sends less than its Content-Length does not hold a thread forever
        server_version = "CodeDeployEmulator"

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The ``Date`` header of every answer (``send_response`` adds it), by the sandbox's clock.

            AWS sends ``Date`` (RFC 7231: the server's clock) on every API answer. Here it is the
            virtual time, which a busy machine holds back (sandbox/clock.py): a client in another
            process times its waits by it (orchestrator.watching.loop.DeploymentClock), as it would by
            AWS's. botocore reads it only for the retry header's ttl (endpoint.py ``_set_ttl``)."""
            now = dispatcher.ctx.clock.now() if timestamp is None else timestamp
            return email.utils.formatdate(now, usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _send(self, status: int, body: dict[str, Any], close: bool = False) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._send(200, {"service": "codedeploy", "status": "ok"})

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                error = ApiError(
                    "SerializationException", f"The request body must be at most {MAX_BODY_BYTES} bytes.", 413
                )
                self._send(error.http_status, error.body(), close=True)
                return
            body = self.rfile.read(length) if length else b""
            status, response = dispatcher.handle(self.headers.get("X-Amz-Target"), body)
            self._send(status, response)

    return Handler


class CodeDeployHttpServer(ThreadingHTTPServer):
    """Threaded, and stoppable for real: ``close`` also hangs up on keep-alive connections a client
    never closed and waits for their handler threads, so nothing of the server outlives it (the same
    approach as sandbox/http_server.py, which binds port 0 only)."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open_lock = threading.Lock()
        self._open: dict[socket.socket, threading.Thread] = {}

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="codedeploy-http-connection",
            daemon=True,
        )
        with self._open_lock:
            self._open[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def close(self, timeout: float = 5.0) -> None:
        """Close the listening socket, hang up on every open connection, join their threads."""
        self.server_close()
        with self._open_lock:
            still_open = list(self._open.items())
        for connection, _ in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in still_open:
            thread.join(timeout)


def make_server(dispatcher: Dispatcher, host: str, port: int) -> CodeDeployHttpServer:
    return CodeDeployHttpServer((host, port), _handler_class(dispatcher))
