"""Fixtures for the alarm tests: moto (CloudWatch, ELBv2) and the CodeDeploy emulator on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from orchestrator.alarms.definitions import load_definitions
from orchestrator.aws.clients import AwsClients
from orchestrator.catalog import load_catalog
from tests.support.alarms import World, provision_load_balancing, reset_moto


@pytest.fixture
def make_world(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., World]]:
    """A fresh moto with the environment's load balancer and target groups, and a fresh emulator."""
    from sandbox.codedeploy import CodeDeployEmulator

    with ExitStack() as stack:

        def make(environment: str = "dev", services: tuple[str, ...] | None = None) -> World:
            reset_moto(moto_url)
            emulator_url = stack.enter_context(CodeDeployEmulator(aws_endpoint=moto_url, time_scale=60))
            monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
            monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", emulator_url)
            catalog = load_catalog()
            clients = AwsClients("ap-northeast-2")
            chosen = [s for s in catalog.resolve_all(environment) if services is None or s.name in services]
            provision_load_balancing(clients, chosen)
            clients.counter.calls.clear()
            return World(clients, catalog, load_definitions(catalog), environment)

        yield make


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world("dev")
