"""A throttling proxy for the sandbox: AWS's "rate exceeded" on a share of requests, on loopback.

``ThrottlingProxy(upstream, rate, seed)`` listens on 127.0.0.1 and forwards every request to
``upstream`` (moto or the CodeDeploy emulator), except a ``rate`` share of them, which it answers
itself with the service's own throttling error in the service's own protocol, as AWS does when a
caller exceeds an API's request rate (the request is refused, never applied):

- JSON protocols (``X-Amz-Target``: ECS, CodeDeploy, CloudWatch's JSON 1.0): HTTP 400,
  ``{"__type": "ThrottlingException", "message": "Rate exceeded"}``; CloudWatch, a query-compatible
  service, also sends ``x-amzn-query-error: Throttling;Sender`` as AWS does, so botocore reports
  its query-protocol code ``Throttling``;
- query protocol (form-encoded ``Action=...``: ELBv2, IAM): HTTP 400,
  ``<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>...``.

Both codes are ones botocore's standard retry mode treats as throttling
(botocore/retries/standard.py, ``_THROTTLED_ERROR_CODES``). Which requests are refused is
deterministic: the n-th request to arrive gets the n-th draw of ``random.Random(seed)``; when
several clients race, arrival order (not the draws) decides who gets which. ``first`` refuses the first
N calls of named operations besides (so a test is sure CreateDeployment was throttled);
``spare_user_agent`` lets one client through untouched (``bluegreen-hooks``: the hooks' clients,
to measure the CLI alone). A test and
bench tool (bench/chaos.py, tests/sandbox/test_throttling.py); nothing in orchestrator/ uses it.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any

from sandbox.http_server import LoopbackHttpServer

# Headers that describe one hop's connection, not the message (RFC 9110 section 7.6.1).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}
_QUERY_COMPATIBLE_TARGETS = ("GraniteServiceVersion20100801.",)  # CloudWatch's JSON 1.0 target prefix
_MESSAGE = "Rate exceeded"


def operation_of(headers: Any, body: bytes) -> str:
    """The API operation a request calls: from X-Amz-Target (JSON) or Action= (query)."""
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return form.get("Action", ["?"])[0]


def throttling_response(headers: Any) -> tuple[dict[str, str], bytes]:
    """The headers and body AWS answers a throttled request with, in the request's protocol."""
    target = headers.get("X-Amz-Target")
    if target:
        content_type = headers.get("Content-Type") or "application/x-amz-json-1.1"
        out = {"Content-Type": content_type, "x-amzn-ErrorType": "ThrottlingException"}
        if str(target).startswith(_QUERY_COMPATIBLE_TARGETS):
            out["x-amzn-query-error"] = "Throttling;Sender"
        return out, json.dumps({"__type": "ThrottlingException", "message": _MESSAGE}).encode()
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        f"<Message>{_MESSAGE}</Message></Error><RequestId>throttled</RequestId></ErrorResponse>"
    )
    return {"Content-Type": "text/xml"}, body.encode()


class ThrottlingProxy:
    """Forwards to ``upstream``; refuses a seeded ``rate`` share of requests as throttled."""

    def __init__(
        self,
        upstream: str,
        rate: float,
        seed: int = 0,
        name: str = "throttle",
        first: dict[str, int] | None = None,
        spare_user_agent: str | None = None,
    ) -> None:
        """``first``: also refuse the first N calls of these operations (a test's sure throttles);
        ``spare_user_agent``: forward, never refuse, requests whose User-Agent contains it."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"throttling rate must be in [0, 1], got {rate}")
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.rate = rate
        self.name = name
        self._draws = random.Random(seed)
        self._lock = threading.Lock()
        self._first = Counter(first or {})
        self.spare_user_agent = spare_user_agent
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self._server: LoopbackHttpServer | None = None
        self.url = ""
        # The upstream's latest Date: the server's clock (the emulator's is virtual), which the
        # proxy's own answers carry too (orchestrator.watching.loop.DeploymentClock times watches by it).
        self.upstream_date: str | None = None

    def decide(self, operation: str) -> bool:
        """True when this request is refused (the next seeded draw, counted per operation)."""
        with self._lock:
            refused = self._draws.random() < self.rate
            if self._first[operation] > 0:
                self._first[operation] -= 1
                refused = True
            self.requests[operation] += 1
            if refused:
                self.throttled[operation] += 1
            return refused

    def start(self) -> str:
        self._server = LoopbackHttpServer(_handler_for(self), self.name)
        self._server.start_serving()
        self.url = f"http://127.0.0.1:{self._server.port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request on to the upstream as it came; its status, headers and body."""
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            self.upstream_date = response.getheader("Date") or self.upstream_date
            return response.status, kept, data
        finally:
            connection.close()


def _handler_for(proxy: ThrottlingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            agent = self.headers.get("User-Agent") or ""
            spared = proxy.spare_user_agent is not None and proxy.spare_user_agent in agent
            if not spared and proxy.decide(operation_of(self.headers, body)):
                headers, answer = throttling_response(self.headers)
                self._send(400, list(headers.items()), answer)
                return
            try:
                status, headers_out, data = proxy.forward(self.command, self.path, self.headers, body)
            except OSError:  # the upstream is gone (a world stopping): what a dead endpoint says
                self._send(503, [("Content-Type", "text/plain")], b"upstream unavailable")
                return
            self._send(status, [(k, v) for k, v in headers_out if k.lower() != "content-length"], data)

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            # Not send_response: a forwarded answer keeps the upstream's Server and Date, one of
            # each (an added Date of ours would be joined to it: "<real>, <virtual>").
            self.send_response_only(status)
            names = {key.lower() for key, _ in headers}
            for key, value in (("Server", self.version_string()), ("Date", self.date_time_string())):
                if key.lower() not in names:
                    self.send_header(key, value)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The proxy's own answers (throttled, 503) are dated by the upstream's clock as last seen."""
            return proxy.upstream_date or super().date_time_string(timestamp)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            return None

    return Handler
