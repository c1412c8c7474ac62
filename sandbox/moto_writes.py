"""The sandbox's own routes on the moto child, and its count of writes per AWS service.

The world's pollers read moto several times per real second: the fleet's reconciler
(DescribeServices), the load balancer's listener refresh (DescribeListeners, DescribeRules) and the
alarm evaluator (DescribeAlarms). Almost every read finds what the last one found, and each costs
the moto child a request's dispatch and a model-driven serialization (an idle one-service world kept
moto ~20 % of a core busy, most of it these reads). The child (``sandbox.moto_patched``) counts the
requests that may change each service's state: every action but a read (``Describe*``, ``List*``,
``Get*``), and every POST to its ``/moto-api/`` routes (a reset wipes every service) under ``*``.
``GET WRITES_PATH`` answers the counts; a poller rereads a service only when its count moved since
its last read (``WriteWatch``).

Why a count read before a read is enough: the child bumps a count once the write's answer is made
and before the writer gets it, so a reader that saw count N and then read may hold state newer
than N, never older; its next look sees N+1 and reads again. A poller whose look fails reads, as
before.

Not counted, by intent: ``PutMetricData`` (the metrics publisher writes all the time; no poller
reads metric data through DescribeAlarms, and the alarm evaluator takes its samples elsewhere).
"""

from __future__ import annotations

import http.client
import io
import json
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

TARGET_HEALTH_PATH = "/moto-api/sandbox/target-health"  # POST: the states file (body; empty: none)
WRITES_PATH = "/moto-api/sandbox/writes"  # GET: {"ecs": 3, "elasticloadbalancing": 12, "*": 1, ...}
EVERY_SERVICE = "*"
READS = ("Describe", "List", "Get")
UNCOUNTED: Mapping[str, frozenset[str]] = {"monitoring": frozenset({"PutMetricData"})}
# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20261130/ap-northeast-2/elasticloadbalancing/aws4_request, ..."
_SIGNING_NAME = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
# smithy-rpc-v2-cbor (CloudWatch): POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")


def signing_name(authorization: str) -> str | None:
    """The service a SigV4 request was signed for (``ecs``, ``elasticloadbalancing``, ``monitoring``)."""
    found = _SIGNING_NAME.search(authorization)
    return found.group(1) if found else None


def action_of(target: str, path: str, query_body: bytes) -> str | None:
    """The operation of a request: its X-Amz-Target (JSON protocols), its rpc-v2 path, or the
    ``Action`` of its form body (the query protocol)."""
    if target:
        return target.rpartition(".")[2] or None
    on_path = _RPC_V2_PATH.match(path)
    if on_path:
        return on_path.group(1)
    actions = parse_qs(query_body.decode("utf-8", "replace")).get("Action") if query_body else None
    return actions[0] if actions else None


def is_write(service: str, action: str | None) -> bool:
    """Whether a request of ``service`` may change what its reads answer (an unknown action counts)."""
    if action is None:
        return True
    return not action.startswith(READS) and action not in UNCOUNTED.get(service, frozenset())


class WriteCounter:
    """The child's side: counts, per signing name, the requests that may change state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def bump(self, service: str) -> None:
        with self._lock:
            self._counts[service] = self._counts.get(service, 0) + 1

    def document(self) -> bytes:
        with self._lock:
            return json.dumps(self._counts).encode()

    def written(self, environ: dict[str, Any]) -> str | None:
        """The service this WSGI request may write to (None: a read, or not an AWS request). Reads
        the body of a form-encoded request and puts it back for moto."""
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        path = str(environ.get("PATH_INFO") or "")
        if path.startswith("/moto-api/"):
            return EVERY_SERVICE
        service = signing_name(str(environ.get("HTTP_AUTHORIZATION") or ""))
        if service is None:
            return None
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        body = b""
        if not target and not _RPC_V2_PATH.match(path):
            body = _take_body(environ)
        return service if is_write(service, action_of(target, path, body)) else None


def _take_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


class Writes:
    """The parent's side: the child's counts over one kept-alive connection per thread."""

    def __init__(self, moto_url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(moto_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._timeout = timeout
        self._local = threading.local()

    def counts(self) -> Mapping[str, int] | None:
        """The counts now; None when the child did not answer (the caller reads as if changed)."""
        connection = getattr(self._local, "connection", None)
        try:
            if connection is None:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
                self._local.connection = connection
            connection.request("GET", WRITES_PATH)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise OSError(f"HTTP {response.status}")
            return {str(k): int(v) for k, v in json.loads(body).items()}
        except (OSError, http.client.HTTPException, ValueError):
            if connection is not None:
                connection.close()
            self._local.connection = None
            return None

    def token(self, service: str) -> tuple[int, int] | None:
        """What a reader of ``service`` compares: its count and the every-service count."""
        counts = self.counts()
        if counts is None:
            return None
        return counts.get(service, 0), counts.get(EVERY_SERVICE, 0)


class WriteWatch:
    """One poller's memory: read again only when the service was written since the last read (or
    the poller's own ``key``, what else its read depends on, changed)."""

    def __init__(self, writes: Writes | None, service: str) -> None:
        self._writes, self._service = writes, service
        self._seen: tuple[object, object] | None = None

    def look(self, key: object = None) -> tuple[object, object] | None:
        """None: nothing changed since the last ``read_done``, skip the read. Else a ticket to pass
        to ``read_done`` once the read succeeded."""
        token = self._writes.token(self._service) if self._writes is not None else None
        if token is not None and self._seen == (token, key):
            return None
        return (token, key)

    def read_done(self, ticket: tuple[object, object]) -> None:
        token, _ = ticket
        self._seen = ticket if token is not None else None
