"""The green probe (issue 14 item 3, stop at the first sign): while production users reach the
replacement, the watching CLI sends the catalog's smoke checks to it through the test listener and
stops the deployment with rollback once enough of the answers were wrong.

Why: an alarm on an ALB metric waits for green's first complete minute (Elastic Load Balancing
sends its metrics in 60-second periods) and CodeDeploy runs no hook between a canary's first step
and the rest, so a canary's users met a broken green for half a minute before anything could see it
(bench/exposure.py). The test listener routes to the replacement for the whole deployment on both
engines (CodeDeploy reroutes it at AllowTestTraffic; Amazon ECS at TEST_TRAFFIC_SHIFT), so a probe
through it reaches green alone, whatever share of production green has.

What counts (``ProbeRule``): an HTTP answer whose status, body text or JSON field the check refuses,
``failures`` of the last ``window`` answers. Not counted: latency (one slow answer on a busy runner
is no sign; the judge and the alarms own latency) and no answer at all (a runner that cannot reach
an internal load balancer must not stop deployments: ``GreenProbe.round`` raises
``ProbeUnreachable`` when no check got an answer before any ever did, and the watch goes on without
the probe, saying why). No warm-up retries: green passed its test-traffic hook before any user
reached it.

The answer rules (``status_problem``, ``body_problem``, ``json_field``) and the HTTP client
(``Urllib3Http``) are the smoke checks' own: ``hooks.smoke`` judges and sends with them. Pure but for
``Urllib3Http``, which imports urllib3 (botocore's own dependency) when made.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

# Deployment seconds between two rounds of the probe while users are on green.
PROBE_SECONDS = 1.0
_MIN_REQUEST_TIMEOUT_S = 1.0
_MAX_TIMEOUT_S = 5.0
PROBE_MAX_BODY_BYTES = 65536


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

    def __init__(self, clock: Callable[[], float] = time.perf_counter, agent: str = "bluegreen-hook") -> None:
        import urllib3

        self._urllib3 = urllib3
        self._pool = urllib3.PoolManager(retries=False, cert_reqs="CERT_REQUIRED")
        self._clock = clock
        self._agent = agent

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
                headers={"User-Agent": self._agent, **headers},
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


def status_problem(check: Any, status: int) -> str | None:
    """What is wrong with an answer's status for ``check`` (the catalog's SmokeCheck or the hooks'
    view of it), or None."""
    if status in check.expect_status:
        return None
    expected = ", ".join(str(code) for code in check.expect_status)
    return f"status {status}, expected {expected}"


def body_problem(check: Any, body: bytes, truncated: bool) -> str | None:
    """What is wrong with an answer's body for ``check`` (its text, its JSON field), or None."""
    if check.body_contains is not None:
        text = body.decode("utf-8", errors="replace")
        if check.body_contains not in text:
            cut = " (body cut at the size cap)" if truncated else ""
            return f"body does not contain {check.body_contains!r}{cut}"
    if check.json_field is not None:
        if truncated:
            return f"body larger than the {len(body)}-byte cap; cannot read JSON"
        try:
            document = json.loads(body)
        except ValueError:
            return "body is not JSON"
        value = json_field(document, check.json_field.path)
        if value is MISSING:
            return f"JSON field {check.json_field.path!r} is missing"
        if value != check.json_field.equals:
            return f"JSON field {check.json_field.path!r} is {value!r}, expected {check.json_field.equals!r}"
    return None


# --- the rule: when wrong answers are a sign ----------------------------------------------------


@dataclass(frozen=True)
class ProbeRule:
    """Stop once ``failures`` of the last ``window`` answers were wrong. One wrong answer is not
    enough: a healthy service answers a 5xx now and then. At 0.5 % errors, 3 wrong of 10 comes about
    once in 66,000 windows (120 x 0.005^3); 2 of 10 once in 900, and a ten-minute canary probed each
    second looks at some 600 windows. A green failing half its answers meets 3 of 10 in about 3 rounds
    of two checks."""

    window: int = 10
    failures: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.failures <= self.window:
            raise ValueError(f"probe rule: failures {self.failures} not in 1..window ({self.window})")


class ProbeAnswer(NamedTuple):
    """One answer green gave a probe: which check (``GET /health``) and what was wrong (None: right)."""

    check: str
    problem: str | None


class ProbeHistory:
    """The last answers, and whether they are a sign (pure)."""

    def __init__(self, rule: ProbeRule) -> None:
        self.rule = rule
        self._answers: deque[ProbeAnswer] = deque(maxlen=rule.window)
        self.answers = 0  # every answer seen, for the report
        self.wrong = 0

    def add(self, answers: Sequence[ProbeAnswer]) -> str | None:
        """Adds a round's answers; the sign, said for a person, once the rule is met (else None)."""
        for answer in answers:
            self._answers.append(answer)
            self.answers += 1
            self.wrong += answer.problem is not None
        wrong = [answer for answer in self._answers if answer.problem is not None]
        if len(wrong) < self.rule.failures:
            return None
        latest = wrong[-1]
        return (
            f"{len(wrong)} of green's last {len(self._answers)} answers through the test listener were wrong "
            f"({latest.check}: {latest.problem})"
        )


# --- the probe the watcher runs -------------------------------------------------------------------


class ProbeUnreachable(Exception):
    """The probe never got an answer: the test listener is out of this machine's reach."""


@dataclass(frozen=True)
class ProbeTarget:
    """The test listener as this machine reaches it."""

    scheme: str
    host: str
    port: int


class GreenProbe:
    """One round = one request per smoke check through the test listener; ``round`` returns the sign
    that stops the deployment (``ProbeHistory``), or None."""

    seconds = PROBE_SECONDS

    def __init__(
        self, checks: Sequence[Any], target: ProbeTarget, http: HttpApi, rule: ProbeRule | None = None
    ) -> None:
        self.checks = tuple(checks)
        self.target = target
        self.http = http
        self.history = ProbeHistory(rule or ProbeRule())

    @property
    def answers(self) -> tuple[int, int]:
        """(answers, wrong) so far."""
        return (self.history.answers, self.history.wrong)

    def round(self) -> str | None:
        answers: list[ProbeAnswer] = []
        unanswered: str | None = None
        for check in self.checks:
            url = listener_url(self.target.scheme, self.target.host, self.target.port, check.path)
            # twice the budget, as the hooks' smoke: a slow answer is still an answer
            timeout = min(max(2.0 * check.latency_budget_ms / 1000.0, _MIN_REQUEST_TIMEOUT_S), _MAX_TIMEOUT_S)
            try:
                response = self.http.request(
                    check.method, url, dict(check.headers), check.body, timeout, PROBE_MAX_BODY_BYTES
                )
            except SmokeRequestError as err:
                unanswered = f"{check.method} {url}: {err}"
                continue
            problem = status_problem(check, response.status) or body_problem(
                check, response.body, response.truncated
            )
            answers.append(ProbeAnswer(f"{check.method} {check.path}", problem))
        if not answers and self.history.answers == 0:
            raise ProbeUnreachable(f"no answer through the test listener ({unanswered})")
        return self.history.add(answers)
