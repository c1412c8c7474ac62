"""A recording reverse proxy on loopback: put it in front of moto or the CodeDeploy emulator, point
AWS_ENDPOINT_URL* at it, and every request the CLI sends is forwarded and recorded with its AWS action
(``RecordedCall``), so a test can assert that nothing mutating reached the sandbox."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Read-only AWS actions start with Describe/Get/List/BatchGet; every other verb AWS uses changes
# something. Matched against the action name of each protocol (JSON target, query Action, REST path).
MUTATING = re.compile(
    r"^(Create|Register|Put|Update|Delete|Deregister|Stop|Continue|Set|Modify|Tag|Untag|Add|Remove|"
    r"Start|Enable|Disable|Publish|Invoke|Run|Attach|Detach|Submit|Execute|Batch(?!Get))"
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class RecordedCall:
    """One request that reached the sandbox: which endpoint, the HTTP method and path, the AWS action."""

    endpoint: str
    method: str
    path: str
    action: str

    @property
    def mutating(self) -> bool:
        if self.action:
            return MUTATING.match(self.action) is not None
        return self.method not in ("GET", "HEAD")  # a REST call we could not name: writes if not a read


def action_of(headers: Any, path: str, body: bytes) -> str:
    """The AWS action of a request in any of botocore's protocols ("" when it names none)."""
    target = headers.get("X-Amz-Target")
    if target:  # JSON 1.0/1.1: "Service_20141006.CreateDeployment"
        return str(target).rsplit(".", 1)[-1]
    rpc = re.search(r"/operation/([A-Za-z]+)$", path)
    if rpc:  # smithy RPC v2 CBOR: /service/X/operation/Action
        return rpc.group(1)
    if body and b"Action=" in body:  # query protocol (ELBv2, CloudWatch)
        found = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if found:
            return found[0]
    query = parse_qs(urlsplit(path).query).get("Action")
    return query[0] if query else ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        server: Any = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server.calls.append(
            RecordedCall(server.name, self.command, self.path, action_of(self.headers, self.path, body))
        )
        upstream = http.client.HTTPConnection(server.upstream_host, server.upstream_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

    def log_message(self, *args: Any) -> None:
        return None


@dataclass
class RecordingProxy:
    """A running proxy: its URL and every call it forwarded."""

    url: str
    calls: list[RecordedCall]


@contextmanager
def recording_proxy(upstream_url: str, name: str) -> Iterator[RecordingProxy]:
    """Forward everything sent to the yielded URL to ``upstream_url``, recording each call."""
    parts = urlsplit(upstream_url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    calls: list[RecordedCall] = []
    server.calls = calls  # type: ignore[attr-defined]
    server.name = name  # type: ignore[attr-defined]
    server.upstream_host = parts.hostname  # type: ignore[attr-defined]
    server.upstream_port = parts.port  # type: ignore[attr-defined]
    thread = threading.Thread(  # shutdown() waits for the next poll (socketserver's default: 0.5 s)
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=f"proxy-{name}", daemon=True
    )
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield RecordingProxy(f"http://{host}:{port}", calls)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
