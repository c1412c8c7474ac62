"""Issue 13, the engines' side of a fleet, end to end in one sandbox world (the shipped catalog, dev:
product-service and order-service on CodeDeploy, inventory-service and notification-service on
Amazon ECS's own deployments):

- one round, all four at once: product and inventory for another fleet run, order and
  notification for ours, watched with ``Engine.snapshots`` (one batched read per engine per look;
  the shares add up to what the clients counted);
- ``Engine.fleet_deployments`` tells the runs apart: CodeDeploy by the description the emulator
  keeps, ECS by the ``bluegreen:fleet-run`` tag moto keeps on the registered task definition and
  answers through the ECS endpoint (DescribeTaskDefinition include TAGS);
- the fleet run record round-trips through moto's SSM (``FleetRunStore``); the sandbox refuses a
  Standard value over 4096 characters as Parameter Store does, so the compression is what makes
  the market's 16 images by digest fit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.aws.fleet_runs import FleetRunStore, encode
from orchestrator.catalog import ResolvedService, load_catalog
from orchestrator.engines import engine_for
from orchestrator.engines.base import DeployInputs, Engine
from orchestrator.errors import BadInputError
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import DeploymentStatus
from sandbox.world import World, WorldOptions
from tests.support.fleet_records import MARKET, fleet_run_document

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SCALE = 400.0
REPO = Path(__file__).resolve().parents[2]
CODEDEPLOY = ["product-service", "order-service"]
ECS = ["inventory-service", "notification-service"]
SERVICES = CODEDEPLOY + ECS
OURS = "fr-20261130t0730z-3f9a"
OTHER = "fr-20261130t0700z-0000"
RUNS = {
    "product-service": OTHER,
    "order-service": OURS,
    "inventory-service": OTHER,
    "notification-service": OURS,
}


@dataclass
class Run:
    world: World
    clients: AwsClients
    services: dict[str, ResolvedService]
    engines: dict[str, Engine]
    since: datetime
    ids: dict[str, str] = field(default_factory=dict)  # service -> its deployment
    looks: list[dict[str, Any]] = field(default_factory=list)  # engine, ids, shares, counted


def virtual_now(world: World) -> datetime:
    return datetime.fromtimestamp(world.clock.now(), UTC)


def start(run: Run, service: str, fleet_run: str) -> str:
    engine = run.engines[service]
    inputs = DeployInputs(
        service=run.services[service], strategy=parse_strategy("all-at-once"), fleet_run=fleet_run
    )
    return engine.start(engine.plan(inputs)).deployment_id


def watch(run: Run, ids: dict[str, str], timeout: float = 120.0) -> dict[str, str]:
    """Look at every deployment with one ``snapshots`` per engine until all end (promoting any that
    waits at Ready); each look's shares and what the clients counted are kept in ``run.looks``."""
    by_engine: dict[str, list[str]] = {}
    for service in ids:
        by_engine.setdefault(run.engines[service].name, []).append(service)
    ended: dict[str, str] = {}
    promoted: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(ended) < len(ids):
        assert time.monotonic() < deadline, f"still running after {timeout} s: {set(ids) - set(ended)}"
        for name, services in by_engine.items():
            engine = run.engines[services[0]]
            asked = [ids[service] for service in services]
            before = run.clients.counter.total
            looked = engine.snapshots(asked)
            counted = run.clients.counter.total - before
            run.looks.append(
                {"engine": name, "ids": asked, "shares": [looked[i].calls for i in asked], "counted": counted}
            )
            for service in services:
                snapshot = looked[ids[service]].snapshot
                if snapshot.status.is_terminal:
                    ended[service] = snapshot.status.value
                elif snapshot.status is DeploymentStatus.READY and service not in promoted:
                    promoted.add(service)
                    engine.promote(ids[service])
        time.sleep(0.2)
    return ended


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    # Alarms held still and few users: nothing here reads the users' answers.
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.05)
    with World(REPO / "services.yaml", "dev", SERVICES, None, options) as world:
        catalog = load_catalog(world.catalog.path)
        clients = AwsClients(region=world.region)
        services = {service: catalog.resolve(service, "dev") for service in SERVICES}
        engines = {service: engine_for(services[service], clients) for service in SERVICES}
        assert {engines[s].name for s in CODEDEPLOY} == {"codedeploy"} and {engines[s].name for s in ECS} == {
            "ecs"
        }
        made = Run(world, clients, services, engines, virtual_now(world) - timedelta(minutes=1))
        made.ids = {service: start(made, service, RUNS[service]) for service in SERVICES}
        assert set(watch(made, made.ids).values()) == {DeploymentStatus.SUCCEEDED.value}
        yield made


def test_each_look_is_one_batched_read_per_engine_and_the_shares_are_what_it_cost(run: Run) -> None:
    assert run.looks
    for look in run.looks:
        assert sum(look["shares"]) == look["counted"], look
        if look["engine"] == "ecs":
            assert look["shares"] == [1, 0], (
                look
            )  # both service deployments in one DescribeServiceDeployments
        else:  # one BatchGetDeployments, each target read only where it is worth a call
            assert look["counted"] <= 1 + 2 * len(look["ids"]), look
    cheap = [look for look in run.looks if look["engine"] == "codedeploy" and look["counted"] == 1]
    assert cheap, "some CodeDeploy looks read no target at all"


@pytest.mark.parametrize("service", SERVICES)
def test_fleet_deployments_tell_the_runs_apart_on_both_engines(run: Run, service: str) -> None:
    engine, resolved = run.engines[service], run.services[service]
    for fleet_run in (OURS, OTHER, "fr-20261130t0800z-ffff"):
        expected = [run.ids[service]] if RUNS[service] == fleet_run else []
        assert engine.fleet_deployments(resolved, fleet_run, run.since) == expected, fleet_run
    later = virtual_now(run.world)  # the deployment was created before: not found
    assert engine.fleet_deployments(resolved, RUNS[service], later) == []


def test_the_ecs_revision_carries_the_tag_through_the_ecs_endpoint(run: Run) -> None:
    ecs = run.clients.client("ecs")
    described = ecs.describe_service_deployments(serviceDeploymentArns=[run.ids[ECS[1]]])
    revision = described["serviceDeployments"][0]["targetServiceRevision"]["arn"]
    task_definition = ecs.describe_service_revisions(serviceRevisionArns=[revision])["serviceRevisions"][0][
        "taskDefinition"
    ]
    tags = ecs.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])["tags"]
    assert {"key": "bluegreen:fleet-run", "value": OURS} in tags
    assert "tags" not in ecs.describe_task_definition(taskDefinition=task_definition)


@pytest.fixture
def in_world(run: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The world's endpoint variables again (each test starts with a clean environment), for the
    clients made after the module's fixture."""
    for key, value in run.world.env.items():
        monkeypatch.setenv(key, value)
    return run


def test_the_run_record_round_trips_through_ssm_within_the_standard_tier(in_world: Run) -> None:
    ssm = in_world.clients.client("ssm")
    assert ssm.meta.endpoint_url == in_world.world.moto_url  # moto on loopback, never AWS
    store = FleetRunStore(ssm, "doa-market")
    document = fleet_run_document(16, by_digest=True)
    assert {f"{name}-service" for name in MARKET} == set(load_catalog(REPO / "services.yaml").services)
    plain = json.dumps(document, separators=(",", ":"), sort_keys=True)
    assert len(plain) > 4096 and encode(document).tier == "Standard"

    store.put(OURS, "dev", document)

    assert store.get(OURS, "dev") == document
    name = store.name(OURS, "dev")
    # GetParameter does not say the tier; DescribeParameters' ParameterMetadata does
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert [parameter["Tier"] for parameter in described] == ["Standard"]
    with pytest.raises(BadInputError, match="no fleet run fr-20261130t0800z-ffff in dev"):
        store.get("fr-20261130t0800z-ffff", "dev")
    # as Parameter Store does, the sandbox refuses the plain JSON on the Standard tier
    with pytest.raises(ssm.exceptions.ClientError, match="maximum parameter value of 4096 characters"):
        ssm.put_parameter(Name=name, Value=plain, Type="String", Tier="Standard", Overwrite=True)


def test_a_record_that_needed_advanced_stays_advanced(in_world: Run) -> None:
    ssm = in_world.clients.client("ssm")
    assert ssm.meta.endpoint_url == in_world.world.moto_url
    store = FleetRunStore(ssm, "doa-market")
    run_id = "fr-20261130t0900z-abcd"
    large, small = fleet_run_document(64, by_digest=True), fleet_run_document(4, by_digest=True)
    assert encode(large).tier == "Advanced" and encode(small).tier == "Standard"
    store.put(run_id, "dev", large)
    store.put(run_id, "dev", small)  # Standard refused by SSM (no way back), written Advanced again

    assert store.get(run_id, "dev") == small
    name = store.name(run_id, "dev")
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert [parameter["Tier"] for parameter in described] == ["Advanced"]
