"""The one place boto3 clients are made.

boto3's standard configuration decides everything: profile, region, credentials and endpoints
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_CODEDEPLOY``, ...). The sandbox only sets those
variables; nothing here knows it exists. Retries use botocore's standard mode (throttling and 5xx
with backoff); callers never retry a non-idempotent call blindly.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from orchestrator.errors import AwsError

_RETRY_MODE = "standard"
_MAX_ATTEMPTS = 6

# The error codes botocore's standard retry mode treats as throttling
# (botocore/retries/standard.py, ThrottledRetryableChecker._THROTTLED_ERROR_CODES), minus
# LimitExceededException (a quota for CodeDeploy, not a rate) and TransactionInProgressException.
# A throttled request was refused before AWS acted on it, so sending it again is safe even for a
# non-idempotent call. tests/unit/test_aws_retry.py pins that this stays a subset of botocore's.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
# Whole-step retries on top of botocore's own attempts (a read then gets 3 x 6 tries: at 30 %
# throttling 0.3**18, about 4e-10, is the chance that all of them are refused).
STEP_ATTEMPTS = 3
T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size`` (a batch API's limit per call)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class CallCounter:
    """Counts AWS API calls per operation (reported in --output json as apiCalls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: Any) -> None:
        # event_name: "before-call.<service>.<Operation>"
        _prefix, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}:{operation}"] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


class AwsClients:
    """Makes and caches boto3 clients for one region, all counted by one CallCounter."""

    def __init__(self, region: str | None = None, profile: str | None = None) -> None:
        self.region = region
        self.profile = profile
        self.counter = CallCounter()
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()

    def _boto_session(self) -> Any:
        import boto3

        if self._session is None:
            try:
                self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            except Exception as err:  # botocore.exceptions.ProfileNotFound and friends
                raise AwsError(f"AWS configuration: {err}") from None
        return self._session

    def client(self, service_name: str, *, single_attempt: bool = False) -> Any:
        """A cached client for ``service_name`` (codedeploy, ecs, elbv2, cloudwatch, ...).

        ``single_attempt=True`` gives a client that never retries: for non-idempotent calls
        (CreateDeployment) whose caller checks what happened before trying again.
        """
        key = f"{service_name}#once" if single_attempt else service_name
        with self._lock:
            if key not in self._clients:
                from botocore.config import Config

                session = self._boto_session()
                attempts = 1 if single_attempt else _MAX_ATTEMPTS
                retries: Any = {"mode": _RETRY_MODE, "total_max_attempts": attempts}
                config = Config(
                    retries=retries,
                    connect_timeout=10,
                    read_timeout=30,
                    user_agent_extra="bluegreen",
                )
                try:
                    client = session.client(service_name, config=config)
                except Exception as err:  # NoRegionError, unknown service, bad endpoint URL
                    raise AwsError(f"AWS configuration: {err}") from None
                client.meta.events.register("before-call.*.*", self.counter)
                self._clients[key] = client
            return self._clients[key]


def client(service_name: str, region: str | None = None) -> Any:
    """A one-off client with bluegreen's retry settings (for code that holds no AwsClients)."""
    return AwsClients(region=region).client(service_name)


def error_code(err: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def http_status(err: BaseException) -> int:
    """The HTTP status of a botocore ClientError (0 for anything else)."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def _root(err: BaseException) -> BaseException:
    """The botocore error behind a bluegreen error (adapters raise ``AwsError(...) from err``)."""
    while err.__cause__ is not None and not _is_botocore(err):
        err = err.__cause__
    return err


def _is_botocore(err: BaseException) -> bool:
    return type(err).__module__.startswith("botocore")


def is_throttling(err: BaseException) -> bool:
    """True when AWS refused the call for its rate (so it was not applied): safe to send again."""
    return error_code(_root(err)) in THROTTLING_CODES


def is_transient(err: BaseException) -> bool:
    """A failure that may clear by itself: throttling, a timeout, a dropped connection, a 5xx."""
    from botocore import exceptions as bex

    root = _root(err)
    if isinstance(root, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return True
    return is_throttling(root) or is_ambiguous(root)


def backoff_seconds(
    attempt: int, *, base: float = 0.5, cap: float = 10.0, draw: float | None = None
) -> float:
    """Exponential backoff with jitter before retry number ``attempt`` (1, 2, ...).

    Half of the delay is fixed and half random ("equal jitter"), so callers that were throttled
    together spread out but never retry at once.
    """
    ceiling = min(cap, base * 2 ** (attempt - 1))
    chosen = random.random() if draw is None else draw
    return ceiling / 2 + ceiling / 2 * chosen


def retry_throttled(
    call: Callable[[], T],
    *,
    attempts: int = STEP_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()`` again, with backoff, while AWS throttles it (at most ``attempts`` times in all).

    Only throttling is retried: the request was refused, not applied. Anything else (and the
    last throttling) propagates unchanged, so an ambiguous failure is never retried blindly.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as err:
            if attempt == attempts or not is_throttling(err):
                raise
        sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def is_ambiguous(err: BaseException) -> bool:
    """True when a failed call may still have taken effect: timeouts, dropped connections, 5xx.

    Connecting never succeeded (EndpointConnectionError) is not ambiguous: nothing was sent.
    """
    from botocore import exceptions as bex

    if isinstance(err, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return False
    if isinstance(err, bex.ReadTimeoutError | bex.ConnectionClosedError | bex.HTTPClientError):
        return True
    if isinstance(err, bex.ClientError):
        return http_status(err) >= 500
    return False


def describe_aws_error(err: BaseException, action: str) -> str:
    """One line for a person: what failed and what to do next."""
    from botocore import exceptions as bex

    if isinstance(err, bex.NoCredentialsError | bex.PartialCredentialsError):
        return f"{action}: no AWS credentials found; set AWS_PROFILE (or --profile) or run `aws sso login`"
    if isinstance(err, bex.TokenRetrievalError | bex.SSOTokenLoadError | bex.UnauthorizedSSOTokenError):
        return f"{action}: AWS SSO session expired or missing; run `aws sso login`"
    if isinstance(err, bex.NoRegionError):
        return f"{action}: no AWS region; pass --region or set AWS_REGION"
    if isinstance(err, bex.ProfileNotFound):
        return f"{action}: {err}"
    if isinstance(err, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return f"{action}: cannot reach the AWS endpoint ({err})"
    if isinstance(err, bex.ClientError):
        code = error_code(err)
        message = str(err.response.get("Error", {}).get("Message", "")).strip() or code
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"{action}: access denied ({message}); see the README's IAM permissions"
        if code in THROTTLING_CODES:  # the codes the retries treat as throttling, and no others
            return f"{action}: throttled by AWS after retries; try again in a minute"
        if code in (
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
        ):
            return f"{action}: AWS credentials rejected ({code}); refresh them"
        return f"{action}: {code}: {message}"
    return f"{action}: {type(err).__name__}: {err}"


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn any botocore error raised inside into one-line ``AwsError`` (exit 4)."""
    from botocore import exceptions as bex

    try:
        yield
    except (bex.BotoCoreError, bex.ClientError) as err:
        raise AwsError(describe_aws_error(err, action)) from err


class CallPolicy(Protocol):
    """How an adapter makes one AWS call: ``call()``, named ``what`` in errors, retried as the
    caller's context needs (the CLI: botocore's standard retries, ``cli_call``; a hook: bounded by
    its deadline, ``hooks.clients.aws_call``). Adapters take one so the CLI and the hooks share them."""

    def __call__(self, what: str, call: Callable[[], T]) -> T: ...


def cli_call(what: str, call: Callable[[], T]) -> T:
    """The CLI's policy: botocore already retried; any botocore error becomes one-line ``AwsError``."""
    with aws_errors(what):
        return call()


def direct_call(what: str, call: Callable[[], T]) -> T:
    """No translation: for a caller that wraps several calls in one ``aws_errors`` of its own."""
    return call()
