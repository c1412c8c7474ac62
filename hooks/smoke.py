"""HTTP smoke checks through a listener (urllib3, already in the Lambda runtime: no new dependency).

The catalog says what to send and what the answer must be; the deployment group's listener says
which port and, through its load balancer, which host (``hooks.smoke_hosts`` decides it; the URL is
checked against that one host before every request), redirects are
never followed (a 3xx is judged like any other status, so a redirect cannot lead a hook to another
host), TLS is verified, and bodies are read up to ``max_body_bytes``. A failing check is retried
with exponential backoff while the warm-up window (catalog seconds, virtual in the sandbox) lasts.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from hooks.outcome import CheckResult
from hooks.service_view import SmokeCheckView, SmokeView
from hooks.timing import Deadline, VirtualTime

# The HTTP client and the answer rules are shared with the watching CLI's green probe.
from orchestrator.analysis.probe import (  # noqa: F401  (MISSING, json_field: hooks.smoke's own names)
    MISSING,
    HttpApi,
    HttpResponse,
    SmokeRequestError,
    Urllib3Http,
    body_problem,
    json_field,
    listener_url,
    status_problem,
)

_MIN_REQUEST_TIMEOUT_S = 1.0


def host_allowed(url: str, allowed_host: str) -> bool:
    """Whether ``url`` is http(s) and names exactly the allowed host (case-insensitive)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and (parts.hostname or "").lower() == allowed_host.lower()


def evaluate_response(check: SmokeCheckView, response: HttpResponse) -> CheckResult:
    """Judge one response against the check: status, latency budget, body text, JSON field."""

    def result(passed: bool, detail: str) -> CheckResult:
        return CheckResult(check.name, passed, detail, latency_ms=response.latency_ms)

    wrong_status = status_problem(check, response.status)
    if wrong_status is not None:
        return result(False, wrong_status)
    if response.latency_ms > check.latency_budget_ms:
        return result(
            False, f"latency {response.latency_ms:.0f} ms over the budget of {check.latency_budget_ms} ms"
        )
    wrong_body = body_problem(check, response.body, response.truncated)
    if wrong_body is not None:
        return result(False, wrong_body)
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
