"""Fixtures for the hook tests: a world of moto + CodeDeploy on loopback for product-service (dev)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.hooks import (
    FakeCodeDeploy,
    FakeLambdaContext,
    ServiceWorld,
    SmokeApp,
    green_task_set,
    load_event,
    provision_service,
    reset_moto,
    smoke_apps,
)

SERVICE = "product-service"
APPLICATION = "doa-market-dev"
ALARMS = [
    f"{SERVICE}-5xx-errors",
    f"{SERVICE}-high-latency",
    f"{SERVICE}-unhealthy-hosts",
    f"{SERVICE}-high-cpu",
]
GREEN = f"{SERVICE}-green"
TIME_SCALE = "100"  # catalog seconds run 100x faster: dev's 30 s bake lasts 0.3 s


class LogRecords(logging.Handler):
    """Collects what the hooks' powertools Logger emits: the records and the JSON lines (formatted
    in the logging thread, as powertools' thread-local keys are)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[dict[str, Any]] = []
        self._formatter = formatter

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(json.loads(self._formatter.format(record)))

    def errors(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= logging.ERROR]


MOTO_ALB_SUFFIX = ".elb.amazonaws.com"  # moto's load balancer DNS names, which resolve nowhere


@pytest.fixture(autouse=True)
def alb_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS for moto's load balancers: their names resolve to 127.0.0.1, where the listeners' apps
    run (in AWS the ALB's DNS name resolves to its nodes). Every other name resolves for real."""
    from hooks import smoke_hosts

    real = smoke_hosts.resolve_addresses

    def resolve(host: str, port: int, timeout_s: float) -> frozenset[str]:
        if host.endswith(MOTO_ALB_SUFFIX):
            return frozenset({"127.0.0.1"})
        return real(host, port, timeout_s)

    monkeypatch.setattr(smoke_hosts, "resolve_addresses", resolve)


@pytest.fixture
def hook_logs() -> Iterator[LogRecords]:
    from hooks.runtime import logger

    handler = LogRecords(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@dataclass
class HookWorld:
    """moto (ELBv2, CloudWatch, EC2) + a CodeDeploy on loopback + two apps behind the listeners."""

    codedeploy: FakeCodeDeploy
    aws: ServiceWorld
    production_app: SmokeApp
    test_app: SmokeApp
    moto_url: str = ""
    green_desired: int = 1
    last_context: FakeLambdaContext | None = None  # the latest invocation's, even when it raised

    def deploy(self, description: str = "", group: str = SERVICE, green: bool = True) -> str:
        task_set = green_task_set(GREEN, self.green_desired) if green else None
        return self.codedeploy.add_deployment(APPLICATION, self.aws.group_info(group), task_set, description)

    def invoke(
        self,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]],
        lifecycle_event: str,
        deployment_id: str | None = None,
        execution_id: str | None = None,
        timeout_s: float = 30.0,
    ) -> tuple[dict[str, Any], str, FakeLambdaContext]:
        """Start a hook execution (unless given) and invoke the handler with a CodeDeploy event."""
        deployment_id = deployment_id or self.deploy()
        execution_id = execution_id or self.codedeploy.start_hook(deployment_id, lifecycle_event)
        context = self.last_context = FakeLambdaContext(timeout_s)
        event = load_event("lifecycle-hook.json", deployment_id=deployment_id, execution_id=execution_id)
        return handler(event, context), execution_id, context

    def puts(self) -> int:
        return sum(1 for op, _ in self.codedeploy.calls if op == "PutLifecycleEventHookExecutionStatus")


@pytest.fixture(scope="module")
def _hook_infra(moto_url: str) -> Iterator[HookWorld]:
    """Provisioned once per test module: moto resources, the CodeDeploy fake and the two apps."""
    from hooks import clients, settings

    reset_moto(moto_url)
    codedeploy = FakeCodeDeploy()
    with smoke_apps() as (production_app, test_app), codedeploy:
        aws = provision_service(moto_url, SERVICE, ALARMS, production_app.port, test_app.port)
        yield HookWorld(codedeploy, aws, production_app, test_app, moto_url=moto_url)
    clients.forget_clients()
    settings.forget_catalog()


@pytest.fixture
def hook_world(_hook_infra: HookWorld, monkeypatch: pytest.MonkeyPatch) -> HookWorld:
    """The module's world, reset to healthy, with the hooks' environment pointing at it."""
    world = _hook_infra
    world.aws.reset(GREEN, healthy_targets=1)
    world.production_app.reset()
    world.test_app.reset()
    world.codedeploy.reset()
    world.green_desired = 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", world.codedeploy.url)
    monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", "127.0.0.1")
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", TIME_SCALE)
    monkeypatch.delenv("BLUEGREEN_HOOK_SAFETY_MARGIN_MS", raising=False)
    return world
