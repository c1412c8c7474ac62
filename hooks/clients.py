"""AWS clients for the hooks (botocore's: what boto3.client makes), made on first use and kept per
Lambda container: a hook that never reads ELBv2 never pays for an ELBv2 client.

Every client makes one attempt per call (botocore ``total_max_attempts=1``); what is retried, how
often and within which budget is explicit and tested, not hidden inside botocore, whose standard
mode sleeps up to 20 s between attempts whatever time the hook has left. Reads (GetDeployment,
DescribeAlarms, ...) go through ``aws_call``: throttling (the request was refused, not applied),
5xx and connection failures are retried with jittered exponential backoff for as long as the
thread's deadline leaves time for another attempt (``read_retry_wait``, pure), so a throttled read
turns into a failed check only when the hook's time is spent. The report
(PutLifecycleEventHookExecutionStatus) is retried by ``hooks.reporting`` with tenacity.

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
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from orchestrator.aws.clients import backoff_seconds, error_code, is_transient
from orchestrator.errors import AwsError

T = TypeVar("T")

# Read retries: backoff 0.1, 0.2, 0.4 ... capped at 2 s (half of it jitter), for as long as the
# deadline allows; without a deadline (a direct call) at most this many attempts.
READ_BACKOFF_BASE_S = 0.1
READ_BACKOFF_CAP_S = 2.0
READ_ATTEMPTS_WITHOUT_DEADLINE = 8
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
    # botocore's own session, not boto3's: a boto3 Session only wraps it (adding resources, which
    # the hooks never use), and importing boto3 costs a cold start about 60 ms more.
    import botocore.session
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=_CONNECT_TIMEOUT_S,
        read_timeout=read_timeout,
        user_agent_extra="bluegreen-hooks",
    )
    # One session per region: a session loads and caches the service models, so a second session
    # would pay for them again (about 100 ms per client on a cold start).
    region = _endpoint_key(service_name)[2]
    try:
        session: Any = _sessions.get(region)
        if session is None:
            session = _sessions[region] = botocore.session.get_session()
            session.register_component("data_loader", _asked_services_loader(session))
        session.get_component("data_loader").asked.add(service_name)
        made = session.create_client(service_name, config=config)
    except Exception:
        # The Lambda runtime brings its own botocore, which this package cannot pin: should the
        # narrowed loader not fit it, a hook must still get a client (an unreported hook holds the
        # deployment for an hour). botocore's own loader answers what it answers, errors included.
        session = _sessions[region] = botocore.session.get_session()
        made = session.create_client(service_name, config=config)
    made.meta.events.register("before-send", _cap_to_deadline)
    return made


def _asked_services_loader(session: Any) -> Any:
    """botocore's data loader (its search paths: AWS_DATA_PATH, then botocore's data), except that
    the services it lists are the ones asked for. botocore checks a client's service name against
    ``list_available_services``, which reads every service directory of its data (over 400, once per
    model type): about a third of making the first client on a cold start. For a service asked for,
    the answer is the same: ``list_api_versions`` looks for its models in the same places."""
    import botocore.loaders
    from botocore.exceptions import DataNotFoundError

    class AskedServicesLoader(botocore.loaders.Loader):
        def __init__(self, extra_search_paths: list[str] | None) -> None:
            super().__init__(extra_search_paths=extra_search_paths)
            self.asked: set[str] = set()

        def list_available_services(self, type_name: str) -> list[str]:
            found = []
            for name in sorted(self.asked):
                with contextlib.suppress(DataNotFoundError):
                    if self.list_api_versions(name, type_name):
                        found.append(name)
            return found

    # As botocore.loaders.create_loader reads the session's data_path.
    data_path = session.get_config_variable("data_path")
    paths = data_path.split(os.pathsep) if data_path else []
    return AskedServicesLoader([os.path.expanduser(os.path.expandvars(p)) for p in paths] or None)


def client(service_name: str) -> Any:
    """A cached client for reads (codedeploy, elbv2, cloudwatch): one attempt per call, ``aws_call``
    retries."""
    return _cached(service_name, "read", 1, 10)


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


def read_retry_wait(attempt: int, retryable: bool, left: float | None, draw: float) -> float | None:
    """Seconds to wait before retrying a read whose ``attempt`` (1, 2, ...) failed; None: give up.

    Only ``retryable`` failures (throttling, 5xx, connection) are retried. With a deadline (``left``
    seconds before it), the jittered backoff is cut to what leaves time for one more request;
    without one, at most READ_ATTEMPTS_WITHOUT_DEADLINE attempts. ``draw`` in [0, 1) is the jitter.
    """
    if not retryable:
        return None
    wait = backoff_seconds(attempt, base=READ_BACKOFF_BASE_S, cap=READ_BACKOFF_CAP_S, draw=draw)
    if left is None:
        return wait if attempt < READ_ATTEMPTS_WITHOUT_DEADLINE else None
    room = left - 2 * _MIN_CALL_S  # the next request needs _MIN_CALL_S to be sent at all
    if room <= 0:
        return None
    return min(wait, room)


def _time_left() -> float | None:
    end = getattr(_deadline, "end", None)
    return None if end is None else end - time.monotonic()


def aws_call(
    what: str,
    call: Callable[[], T],
    not_found: dict[str, Callable[[str], Exception]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run one AWS read, retried as ``read_retry_wait`` says; botocore errors become AwsError (or the
    error ``not_found`` maps its code to). A request refused for the deadline is not retried."""
    from botocore.exceptions import BotoCoreError, ClientError

    attempt = 1
    while True:
        try:
            return call()
        except (ClientError, BotoCoreError) as err:
            wait = read_retry_wait(attempt, is_transient(err), _time_left(), random.random())
            if wait is None:
                raise _aws_error(what, err, attempt, not_found) from None
        sleep(wait)
        attempt += 1


def _aws_error(
    what: str, err: Exception, attempts: int, not_found: dict[str, Callable[[str], Exception]] | None
) -> Exception:
    from botocore.exceptions import ClientError

    tried = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(err, ClientError):
        code = error_code(err)
        message = err.response.get("Error", {}).get("Message", "")
        if not_found and code in not_found:
            return not_found[code](message)
        return AwsError(f"{what}: {code}: {message}".rstrip(": ") + tried)
    return AwsError(f"{what}: {err}{tried}")
