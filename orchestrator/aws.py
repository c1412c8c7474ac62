"""The one place boto3 clients are made.

boto3's standard configuration decides everything: profile, region, credentials and endpoints
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_CODEDEPLOY``, ...). The sandbox only sets those
variables; nothing here knows it exists. Retries use botocore's standard mode (throttling and 5xx
with backoff); callers never retry a non-idempotent call blindly.
"""

from __future__ import annotations

import threading
from collections import Counter
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
        _, service, operation = event_name.split(".", 2)
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

    def client(self, service_name: str) -> Any:
        """A cached client for ``service_name`` (codedeploy, ecs, elbv2, cloudwatch, ...)."""
        with self._lock:
            if service_name not in self._clients:
                from botocore.config import Config

                session = self._boto_session()
                config = Config(
                    retries={"mode": _RETRY_MODE, "total_max_attempts": _MAX_ATTEMPTS},
                    connect_timeout=10,
                    read_timeout=30,
                    user_agent_extra="bluegreen",
                )
                client = session.client(service_name, config=config)
                client.meta.events.register("before-call.*.*", self.counter)
                self._clients[service_name] = client
            return self._clients[service_name]


def client(service_name: str, region: str | None = None) -> Any:
    """A one-off client with bluegreen's retry settings (for code that holds no AwsClients)."""
    return AwsClients(region=region).client(service_name)
