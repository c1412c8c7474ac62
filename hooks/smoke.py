"""HTTP smoke checks through a listener (urllib3, already in the Lambda runtime: no new dependency).

The catalog says what to send and what the answer must be; the deployment group's listener says
which port and, through its load balancer, which host (``hooks.smoke_hosts`` decides it; the URL is
checked against that one host before every request), redirects are
never followed (a 3xx is judged like any other status, so a redirect cannot lead a hook to another
host), TLS is verified, and bodies are read up to ``max_body_bytes``. A failing check is retried
with exponential backoff while the warm-up window (catalog seconds, virtual in the sandbox) lasts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from hooks.outcome import CheckResult
from hooks.service_view import SmokeCheckView, SmokeView
from hooks.timing import Deadline, VirtualTime

_MIN_REQUEST_TIMEOUT_S = 1.0


class HttpResponse(NamedTuple):
    """What a smoke request got back: status, the body up to the cap, and the latency."""

    status: int
    body: bytes
    truncated: bool
    latency_ms: float


class SmokeRequestError(Exception):
    """The request got no HTTP response (refused, reset, timed out, TLS failure)."""


class HttpApi(Protocol):
    """The one call smoke checks need; a test passes its own."""

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: str | None,
        timeout_s: float,
        max_body_bytes: int,
        connect_to: str | None = None,
    ) -> HttpResponse: ...


class Urllib3Http:
    """HttpApi over a urllib3 PoolManager: no retries, no redirects, TLS verified, body capped."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        import urllib3

        self._urllib3 = urllib3
        self._pool = urllib3.PoolManager(retries=False, cert_reqs="CERT_REQUIRED")
        self._clock = clock

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: str | None,
        timeout_s: float,
        max_body_bytes: int,
        connect_to: str | None = None,
    ) -> HttpResponse:
        """``connect_to``: the address to open the connection to (the one the host check vetted), so
        a name cannot resolve elsewhere between the check and the request; the URL's host still goes
        in the Host header, SNI and the certificate check."""
        urllib3 = self._urllib3
        started = self._clock()
        send, target = self._pool.request, url
        if connect_to:
            send, target = self._pinned(url, connect_to)
            headers = {"Host": urlsplit(url).netloc, **headers}
        try:
            response = send(
                method,
                target,
                headers={"User-Agent": "bluegreen-hook", **headers},
                body=body.encode("utf-8") if body is not None else None,
                # total: connect and every read together, not each read anew (a trickling answer).
                timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s, total=timeout_s),
                preload_content=False,
                redirect=False,
                retries=False,
            )
            try:
                data = response.read(max_body_bytes + 1) if method != "HEAD" else b""
            finally:
                # Close rather than release: an unread remainder must not go back into the pool.
                response.close()
        except urllib3.exceptions.TimeoutError:
            # urllib3's own text ("HTTPConnectionPool(host=..., port=...): Read timed out. (read
            # timeout=1.9974...)") ends up in the verdict and `why`'s root cause: say it plainly.
            raise SmokeRequestError(f"no answer within {timeout_s * 1000:.0f} ms") from None
        except urllib3.exceptions.HTTPError as err:
            raise SmokeRequestError(f"{type(err).__name__}: {err}") from None
        latency_ms = (self._clock() - started) * 1000.0
        return HttpResponse(
            status=response.status,
            body=data[:max_body_bytes],
            truncated=len(data) > max_body_bytes,
            latency_ms=latency_ms,
        )

    def _pinned(self, url: str, address: str) -> tuple[Callable[..., Any], str]:
        """(urlopen of a pool connected to ``address``, the request target) for ``url``."""
        parts = urlsplit(url)
        tls = {"server_hostname": parts.hostname, "assert_hostname": parts.hostname}
        pool = self._pool.connection_from_host(
            address, parts.port, parts.scheme, pool_kwargs=tls if parts.scheme == "https" else None
        )
        return pool.urlopen, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def listener_url(scheme: str, host: str, port: int, path: str) -> str:
    """The URL of a smoke check through a listener (an IPv6 literal in brackets)."""
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}:{port}{path}"


def host_allowed(url: str, allowed_host: str) -> bool:
    """Whether ``url`` is http(s) and names exactly the allowed host (case-insensitive)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and (parts.hostname or "").lower() == allowed_host.lower()


MISSING = object()


def json_field(document: Any, dotted: str) -> Any:
    """The value at a dotted path (``data.items.0.id``) in a JSON document, or ``MISSING``."""
    current = document
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def evaluate_response(check: SmokeCheckView, response: HttpResponse) -> CheckResult:
    """Judge one response against the check: status, latency budget, body text, JSON field."""

    def result(passed: bool, detail: str) -> CheckResult:
        return CheckResult(check.name, passed, detail, latency_ms=response.latency_ms)

    if response.status not in check.expect_status:
        expected = ", ".join(str(code) for code in check.expect_status)
        return result(False, f"status {response.status}, expected {expected}")
    if response.latency_ms > check.latency_budget_ms:
        return result(
            False, f"latency {response.latency_ms:.0f} ms over the budget of {check.latency_budget_ms} ms"
        )
    if check.body_contains is not None:
        text = response.body.decode("utf-8", errors="replace")
        if check.body_contains not in text:
            cut = " (body cut at the size cap)" if response.truncated else ""
            return result(False, f"body does not contain {check.body_contains!r}{cut}")
    if check.json_field is not None:
        if response.truncated:
            return result(False, f"body larger than the {len(response.body)}-byte cap; cannot read JSON")
        try:
            document = json.loads(response.body)
        except ValueError:
            return result(False, "body is not JSON")
        value = json_field(document, check.json_field.path)
        if value is MISSING:
            return result(False, f"JSON field {check.json_field.path!r} is missing")
        if value != check.json_field.equals:
            return result(
                False,
                f"JSON field {check.json_field.path!r} is {value!r}, expected {check.json_field.equals!r}",
            )
    return result(True, f"status {response.status} in {response.latency_ms:.0f} ms")


class SmokeTarget(NamedTuple):
    """Where smoke checks go: the listener's scheme, host and port, and the one host allowed."""

    scheme: str
    host: str
    port: int
    allowed_host: str
    listener: str = ""  # "test" or "production", for the reason a person reads
    address: str = ""  # the vetted address to connect to (empty: resolve the host when connecting)


def _request_timeout(check: SmokeCheckView, deadline: Deadline) -> float:
    # Twice the budget lets a slow answer be measured (and fail on latency) instead of timing out.
    return min(max(2.0 * check.latency_budget_ms / 1000.0, _MIN_REQUEST_TIMEOUT_S), deadline.remaining())


def _attempt(
    check: SmokeCheckView,
    url: str,
    target: SmokeTarget,
    settings: SmokeView,
    http: HttpApi,
    deadline: Deadline,
) -> CheckResult:
    timeout_s = _request_timeout(check, deadline)
    if timeout_s <= 0:
        return CheckResult(check.name, False, "no time left before the hook's deadline")
    try:
        pinned = {"connect_to": target.address} if target.address else {}
        response = http.request(
            check.method, url, dict(check.headers), check.body, timeout_s, settings.max_body_bytes, **pinned
        )
    except SmokeRequestError as err:
        return CheckResult(check.name, False, f"no response from {urlsplit(url).netloc} ({err})")
    return evaluate_response(check, response)


def run_check(
    check: SmokeCheckView,
    target: SmokeTarget,
    settings: SmokeView,
    http: HttpApi,
    virtual: VirtualTime,
    deadline: Deadline,
) -> CheckResult:
    """Run one check; retry with backoff while the warm-up window lasts and attempts remain."""
    url = listener_url(target.scheme, target.host, target.port, check.path)
    if not host_allowed(url, target.allowed_host):
        return CheckResult(
            check.name, False, f"refused: {url} is not on the allowed host {target.allowed_host}"
        )
    started = deadline.clock()
    attempts = 0
    backoff = settings.backoff_seconds
    while True:
        attempts += 1
        result = _attempt(check, url, target, settings, http, deadline)
        if result.passed:
            return CheckResult(result.name, True, result.detail, result.latency_ms, attempts)
        warm_up_left = settings.warmup_seconds - virtual.virtual_seconds(deadline.clock() - started)
        wait = min(backoff, warm_up_left)
        out_of_time = virtual.real_seconds(wait) >= deadline.remaining()
        if attempts >= settings.max_attempts or warm_up_left <= 0 or out_of_time:
            return CheckResult(
                result.name,
                False,
                _evidence(check, target, result.detail, attempts),
                result.latency_ms,
                attempts,
            )
        virtual.sleep(wait)
        backoff *= 2


def attempt_check(
    check: SmokeCheckView,
    target: SmokeTarget,
    settings: SmokeView,
    http: HttpApi,
    deadline: Deadline,
    attempts: int,
) -> CheckResult:
    """One attempt of one check, no retry (``attempts``: how many this one makes, for the evidence):
    an Amazon ECS hook retries across invocations instead (``hooks.native_smoke``)."""
    url = listener_url(target.scheme, target.host, target.port, check.path)
    if not host_allowed(url, target.allowed_host):
        return CheckResult(
            check.name, False, f"refused: {url} is not on the allowed host {target.allowed_host}"
        )
    result = _attempt(check, url, target, settings, http, deadline)
    if result.passed:
        return CheckResult(result.name, True, result.detail, result.latency_ms, attempts)
    evidence = _evidence(check, target, result.detail, attempts)
    return CheckResult(result.name, False, evidence, result.latency_ms, attempts)


def _evidence(check: SmokeCheckView, target: SmokeTarget, detail: str, attempts: int) -> str:
    """``GET /health via the test listener: status 500, expected 200 (3 attempts)``."""
    via = f" via the {target.listener} listener" if target.listener else ""
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    return f"{check.method} {check.path}{via}: {detail}{tries}"


def run_smoke(
    settings: SmokeView, target: SmokeTarget, http: HttpApi, virtual: VirtualTime, deadline: Deadline
) -> list[CheckResult]:
    """Run every check of the service in order; the warm-up window starts with each check's first try."""
    if not settings.checks:
        return [CheckResult("smoke", False, "the catalog defines no smoke check for this service")]
    return [run_check(check, target, settings, http, virtual, deadline) for check in settings.checks]
