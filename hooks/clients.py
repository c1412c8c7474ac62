"""boto3 clients for the hooks, made on first use and kept per Lambda container.

Two retry policies, on purpose. Reads (GetDeployment, DescribeAlarms, ...) use botocore's standard
retry mode. The reporting client (PutLifecycleEventHookExecutionStatus) makes exactly one attempt
per call: ``hooks.reporting`` retries it with tenacity, so what is retried, how often and within
which budget is explicit and tested, not hidden inside botocore.

Clients are cached by service name and the endpoint variables boto3 honours, so an in-process
Lambda runner that points ``AWS_ENDPOINT_URL*`` at another sandbox gets fresh clients.

No call may outlive the hook's deadline. ``calls_end_by(end)`` sets, for the calling thread, the
monotonic time by which every AWS call must be over; a ``before-send`` handler on every client caps
that request's read timeout to the time left (botocore's per-request ``read_timeout`` context) and
refuses to send when none is left (``CallDeadlineError``). Connection set-up is capped by the
client's short connect timeout and, for the report, by ``call_before`` (the attempt runs in a
thread the hook stops waiting for at the deadline), so a hung or slow endpoint cannot hold a hook
past its Lambda deadline.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from orchestrator.aws import error_code
from orchestrator.errors import AwsError

T = TypeVar("T")

_READ_MAX_ATTEMPTS = 4
# AWS endpoints accept a connection in milliseconds; a second without one is a failure, not a wait.
_CONNECT_TIMEOUT_S = 1.0
# Below this, a request cannot get an answer anyway: refuse it instead of sending it.
_MIN_CALL_S = 0.05
_deadline = threading.local()


class CallDeadlineError(AwsError):
    """An AWS call was refused or abandoned because the hook's deadline leaves no time for it."""

    def __init__(self, operation: str, left: float) -> None:
        super().__init__(f"no time left before the hook's deadline for {operation} ({left:.2f} s left)")


@contextlib.contextmanager
def calls_end_by(end: float | None) -> Iterator[None]:
    """Within the block, this thread's AWS calls end by ``end`` (``time.monotonic()`` seconds)."""
    previous = getattr(_deadline, "end", None)
    _deadline.end = end
    try:
        yield
    finally:
        _deadline.end = previous


def call_timeout(end: float | None, configured: float, now: Callable[[], float] = time.monotonic) -> float:
    """The read timeout of a request: the configured one, capped to the time left before ``end``."""
    if end is None:
        return configured
    return min(configured, end - now())


def _cap_to_deadline(request: Any, event_name: str = "", **_: Any) -> None:
    """botocore ``before-send``: cap the request's read timeout to the time left, or refuse it."""
    end = getattr(_deadline, "end", None)
    if end is None:
        return
    configured = request.context.get("read_timeout") or request.context["client_config"].read_timeout
    timeout = call_timeout(end, float(configured))
    if timeout < _MIN_CALL_S:
        raise CallDeadlineError(event_name.rsplit(".", 1)[-1] or "a call", max(timeout, 0.0))
    request.context["read_timeout"] = timeout


def call_before(end: float, call: Callable[[], T], what: str) -> T:
    """Run ``call`` with its AWS calls capped to ``end``; stop waiting for it at ``end`` whatever it
    does (DNS, connect): it then raises CallDeadlineError and the call is abandoned on its thread."""
    box: dict[str, Any] = {}

    def target() -> None:
        with calls_end_by(end):
            try:
                box["result"] = call()
            except BaseException as err:
                box["error"] = err

    worker = threading.Thread(target=target, name=f"aws-{what}", daemon=True)
    worker.start()
    worker.join(max(0.0, end - time.monotonic()))
    if worker.is_alive():
        raise CallDeadlineError(what, 0.0)
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


_lock = threading.Lock()
_clients: dict[tuple[str, ...], Any] = {}
_sessions: dict[str, Any] = {}


# boto3 names the service-specific endpoint variable after the service id, not the client name
# (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): elbv2's service id is
# "Elastic Load Balancing v2", so its variable is AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2.
_SERVICE_IDS = {"elbv2": "ELASTIC_LOAD_BALANCING_V2"}


def _endpoint_key(service_name: str) -> tuple[str, ...]:
    service_id = _SERVICE_IDS.get(service_name, service_name.upper().replace("-", "_"))
    specific = "AWS_ENDPOINT_URL_" + service_id
    return (
        os.environ.get("AWS_ENDPOINT_URL", ""),
        os.environ.get(specific, ""),
        os.environ.get("AWS_REGION", "") or os.environ.get("AWS_DEFAULT_REGION", ""),
    )


def _make(service_name: str, max_attempts: int, read_timeout: int) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=_CONNECT_TIMEOUT_S,
        read_timeout=read_timeout,
        user_agent_extra="bluegreen-hooks",
    )
    # One session per region: a boto3 Session loads and caches the service models, so a second
    # session would pay for them again (about 100 ms per client on a cold start).
    region = _endpoint_key(service_name)[2]
    session: Any = _sessions.get(region)
    if session is None:
        session = _sessions[region] = boto3.session.Session()
    made = session.client(service_name, config=config)
    made.meta.events.register("before-send", _cap_to_deadline)
    return made


def client(service_name: str) -> Any:
    """A cached client for reads (codedeploy, elbv2, cloudwatch) with standard retries."""
    return _cached(service_name, "read", _READ_MAX_ATTEMPTS, 10)


def reporting_client() -> Any:
    """The CodeDeploy client for PutLifecycleEventHookExecutionStatus: one attempt per call."""
    return _cached("codedeploy", "report", 1, 5)


def _cached(service_name: str, purpose: str, max_attempts: int, read_timeout: int) -> Any:
    key = (service_name, purpose, *_endpoint_key(service_name))
    with _lock:
        if key not in _clients:
            _clients[key] = _make(service_name, max_attempts, read_timeout)
        return _clients[key]


def forget_clients() -> None:
    """Drop every cached client (tests; a Lambda container never needs it)."""
    with _lock:
        _clients.clear()
        _sessions.clear()


def aws_call(
    what: str, call: Callable[[], T], not_found: dict[str, Callable[[str], Exception]] | None = None
) -> T:
    """Run one AWS call; botocore errors become AwsError (or the error ``not_found`` maps its code to)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as err:
        code = error_code(err)
        message = err.response.get("Error", {}).get("Message", "")
        if not_found and code in not_found:
            raise not_found[code](message) from None
        raise AwsError(f"{what}: {code}: {message}".rstrip(": ")) from None
    except BotoCoreError as err:
        raise AwsError(f"{what}: {err}") from None
