"""boto3 clients for the hooks, made on first use and kept per Lambda container.

Two retry policies, on purpose. Reads (GetDeployment, DescribeAlarms, ...) use botocore's standard
retry mode. The reporting client (PutLifecycleEventHookExecutionStatus) makes exactly one attempt
per call: ``hooks.reporting`` retries it with tenacity, so what is retried, how often and within
which budget is explicit and tested, not hidden inside botocore.

Clients are cached by service name and the endpoint variables boto3 honours, so an in-process
Lambda runner that points ``AWS_ENDPOINT_URL*`` at another sandbox gets fresh clients.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from orchestrator.aws import error_code
from orchestrator.errors import AwsError

T = TypeVar("T")

_READ_MAX_ATTEMPTS = 4
_lock = threading.Lock()
_clients: dict[tuple[str, ...], Any] = {}
_sessions: dict[str, Any] = {}


def _endpoint_key(service_name: str) -> tuple[str, ...]:
    specific = "AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_")
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
        connect_timeout=3,
        read_timeout=read_timeout,
        user_agent_extra="bluegreen-hooks",
    )
    # One session per region: a boto3 Session loads and caches the service models, so a second
    # session would pay for them again (about 100 ms per client on a cold start).
    region = _endpoint_key(service_name)[2]
    session: Any = _sessions.get(region)
    if session is None:
        session = _sessions[region] = boto3.session.Session()
    return session.client(service_name, config=config)


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
