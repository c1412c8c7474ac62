"""Fixtures for the alarm tests: moto (CloudWatch, ELBv2) plus a FakeCodeDeploy for deployment groups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.alarms import load_definitions
from orchestrator.aws import AwsClients
from orchestrator.catalog import load_catalog
from tests.support.alarms import (
    FakeClients,
    FakeCodeDeploy,
    World,
    provision_load_balancing,
    reset_moto,
)


@pytest.fixture
def world(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    reset_moto(moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    catalog = load_catalog()
    environment = "dev"
    clients = FakeClients(AwsClients("ap-northeast-2"), FakeCodeDeploy(page_size=7))
    provision_load_balancing(clients, catalog.resolve_all(environment))
    clients.aws.counter.calls.clear()
    yield World(clients, clients.codedeploy, catalog, load_definitions(catalog), environment)
