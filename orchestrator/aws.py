"""The one place boto3 clients are made.

boto3's standard configuration decides everything: profile, region, credentials and endpoints
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_CODEDEPLOY``, ...). The sandbox only sets those
variables; nothing here knows it exists. Retries use botocore's standard mode (throttling and 5xx
with backoff); callers never retry a non-idempotent call blindly.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator.errors import AwsError

_RETRY_MODE = "standard"
_MAX_ATTEMPTS = 6


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
        if code in ("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"):
            return f"{action}: throttled by AWS after retries; try again in a minute"
        if code in (
            "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
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
