"""Deploys under AWS throttling: the sandbox's throttling proxy, and bluegreen's contract behind it.

The proxy (sandbox/throttle.py) answers a seeded share of requests with the service's own
throttling error. Behind it bluegreen must still complete every deploy, never make two deployments
for one request and leave no task definition revision without a deployment (the small version of
bench/chaos.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator.aws.clients import THROTTLING_CODES
from orchestrator.cli import main
from orchestrator.commands.deploy import applied as endpoints  # set, then restore, env variables
from sandbox.codedeploy import CodeDeployEmulator
from sandbox.ledger import active_revisions, read_ledger
from sandbox.throttle import ThrottlingProxy
from sandbox.world import World, WorldOptions
from tests.support.cli import wait_for
from tests.support.emulator import client
from tests.support.sandbox import endpoints_again

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared_world() -> Iterator[World]:
    """One world for both deploy tests (product-service at 40x): each test's proxies, ledger
    baseline and hook invocations are its own, so neither reads what the other did."""
    options = WorldOptions(time_scale=40.0)
    with World(REPO / "services.yaml", "dev", ["product-service"], None, options) as made:
        yield made


@pytest.fixture
def world(shared_world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world's endpoint variables again (each test starts with a clean environment)."""
    endpoints_again(shared_world.env, monkeypatch)
    return shared_world


def _single_attempt(name: str, url: str, attempts: int = 1) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return boto3.client(
        name,
        endpoint_url=url,
        region_name="ap-northeast-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("ecs", lambda c: c.list_clusters(), "ThrottlingException"),  # JSON 1.1
        ("elbv2", lambda c: c.describe_load_balancers(), "Throttling"),  # query protocol (XML)
        ("cloudwatch", lambda c: c.describe_alarms(), "Throttling"),  # JSON 1.0, query-compatible
        ("codedeploy", lambda c: c.list_applications(), "ThrottlingException"),  # JSON 1.1
    ],
)
def test_throttled_answers_are_the_ones_botocore_retries(
    moto_url: str, service: str, call: Any, code: str
) -> None:
    from botocore.exceptions import ClientError

    with CodeDeployEmulator(aws_endpoint=moto_url) as codedeploy_url:
        upstream = codedeploy_url if service == "codedeploy" else moto_url
        with ThrottlingProxy(upstream, rate=1.0) as url:
            with pytest.raises(ClientError) as raised:
                call(_single_attempt(service, url))
            assert raised.value.response["Error"]["Code"] == code and code in THROTTLING_CODES
            assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        # botocore's standard mode retries it: 3 attempts, the last one through.
        with ThrottlingProxy(upstream, rate=0.0, first={_operation(service): 2}) as url:
            call(_single_attempt(service, url, attempts=3))


def test_answers_through_the_proxy_carry_the_upstreams_date_once(moto_url: str) -> None:
    """The CLI times watches by the server's Date (orchestrator.watching.loop.DeploymentClock): behind the
    proxy it must still be the emulator's virtual clock, one Date per answer, throttled ones too."""
    from orchestrator.watching.loop import server_time
    from sandbox.clock import VirtualClock

    clock = VirtualClock(600.0)
    with CodeDeployEmulator(aws_endpoint=moto_url, clock=clock) as codedeploy_url:
        time.sleep(0.2)  # 120 virtual s: the emulator's clock is ahead of the real one
        with ThrottlingProxy(codedeploy_url, rate=0.0, first={"ListApplications": 1}) as url:
            answers: list[tuple[int, str]] = []
            codedeploy = _single_attempt("codedeploy", url, attempts=1)
            codedeploy.meta.events.register(
                "after-call.codedeploy",
                lambda http_response, **_: answers.append(
                    (http_response.status_code, http_response.headers["Date"])
                ),
            )
            codedeploy.list_deployment_configs()
            with pytest.raises(ClientError):
                codedeploy.list_applications()  # throttled by the proxy itself
            codedeploy.list_applications()
        virtual_now = clock.now()
    assert [status for status, _ in answers] == [200, 400, 200]
    for _, date in answers:
        assert time.time() + 60 < server_time(date) <= virtual_now  # one date: it parses


def _operation(service: str) -> str:
    return {
        "ecs": "ListClusters",
        "elbv2": "DescribeLoadBalancers",
        "cloudwatch": "DescribeAlarms",
        "codedeploy": "ListApplications",
    }[service]


def test_the_draws_are_seeded() -> None:
    def draws(seed: int) -> list[bool]:
        proxy = ThrottlingProxy("http://127.0.0.1:1", rate=0.3, seed=seed)
        return [proxy.decide("GetDeployment") for _ in range(200)]

    assert draws(7) == draws(7) != draws(8)
    assert 40 <= sum(draws(7)) <= 80


def test_deploys_under_30_percent_throttling_complete_once_each_without_orphans(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    made = world.clients()
    item = world.infra[0].service.settings
    groups = [(item.application, item.deployment_group)]
    baseline = active_revisions(made.ecs)
    before = read_ledger(made.codedeploy, made.ecs, groups, baseline)
    # 30 % of the CLI's requests, and the first CreateDeployment and RegisterTaskDefinition
    # surely. The hooks' clients are spared: their retries are the hooks' contract, and a hook
    # that gives up fails the deployment (a rollback, not what this test is about).
    hooks = "bluegreen-hooks"
    moto = ThrottlingProxy(
        world.moto_url, 0.3, seed=11, first={"RegisterTaskDefinition": 1}, spare_user_agent=hooks
    )
    codedeploy = ThrottlingProxy(
        world.codedeploy_url, 0.3, seed=12, first={"CreateDeployment": 2}, spare_user_agent=hooks
    )
    codes, documents = [], []
    with (
        moto as moto_url,
        codedeploy as codedeploy_url,
        endpoints({"AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_CODEDEPLOY": codedeploy_url}),
    ):
        for _ in range(3):
            capsys.readouterr()
            # A long watch (60 deployment minutes), as the hooks' test below: this test is about
            # throttled calls; a loaded machine once ran the third deploy past the default bound (exit 3).
            command = ["deploy", "product-service", "-s", "all-at-once", "--time-scale", "40", "-o", "json"]
            code = main([*command, "--timeout", "60"])
            codes.append(code)
            documents.append(json.loads(capsys.readouterr().out or "{}"))
    ledger = read_ledger(made.codedeploy, made.ecs, groups, baseline)
    assert codes == [0, 0, 0], documents
    assert documents[0]["createAttempts"] >= 3  # the first two surely throttled
    assert sum(codedeploy.throttled.values()) + sum(moto.throttled.values()) > 3
    # three deployments, each with a token of its own, besides those made before this test
    assert ledger.deployments - before.deployments == 3 and ledger.duplicated == 0
    assert len(ledger.tokens) - len(before.tokens) == 3 and before.duplicated == 0
    assert ledger.orphans == ()


def test_the_ledger_sees_duplicates_and_orphans(moto_url: str) -> None:
    """The counters above can fail: two deployments with one token, a revision nobody deploys."""
    from orchestrator.appspec import appspec_revision
    from tests.support.emulator import (
        EcsServiceSpec,
        ecs_appspec,
        provision_ecs_service,
        register_task_definition,
    )

    with CodeDeployEmulator(aws_endpoint=moto_url, time_scale=600.0) as codedeploy_url:
        env = provision_ecs_service(moto_url, codedeploy_url, EcsServiceSpec(service="ledger-service"))
        ecs, codedeploy = client("ecs", moto_url), client("codedeploy", codedeploy_url)
        baseline = active_revisions(ecs)
        deployed = register_task_definition(moto_url, env.family, image="app:v2")
        orphan = register_task_definition(moto_url, env.family, image="app:v3")
        content = ecs_appspec(deployed, env.container_name, env.container_port)
        for _ in range(2):  # one request token, two deployments
            deployment_id = codedeploy.create_deployment(
                applicationName=env.application,
                deploymentGroupName=env.deployment_group,
                revision=appspec_revision(content),
                description="bg:0123456789ab; bluegreen deploy ledger-service all-at-once",
            )["deploymentId"]
            codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=False)
            wait_for(lambda i=deployment_id: _status(codedeploy, i) in ("Stopped", "Failed"), timeout=30)
        ledger = read_ledger(codedeploy, ecs, [(env.application, env.deployment_group)], baseline)
    assert ledger.duplicated == 1
    assert ledger.orphans == (orphan,)


def _status(codedeploy: Any, deployment_id: str) -> str:
    return str(codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"])


def test_a_deploy_completes_when_the_hooks_are_throttled_too(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """30 % of every request throttled, the hooks' included (seeded), and surely: the first 4
    DescribeTargetHealth (more than botocore's 4 attempts gave a read: AfterInstall used to report
    Failed) and the first 6 PutLifecycleEventHookExecutionStatus (all of one report's attempts: the
    hook raises HookReportError, and the sandbox's Lambda runner retries it a virtual minute later,
    as Lambda's asynchronous invocation does; before, the deployment sat until the hook timeout).
    Both operations are the hooks' alone."""
    assert world.runner is not None
    earlier = len(world.runner.invocations)  # the other deploy test's, if it ran first
    moto = ThrottlingProxy(world.moto_url, 0.3, seed=21, first={"DescribeTargetHealth": 4})
    codedeploy = ThrottlingProxy(
        world.codedeploy_url, 0.3, seed=22, first={"PutLifecycleEventHookExecutionStatus": 6}
    )
    with (
        moto as moto_url,
        codedeploy as codedeploy_url,
        endpoints({"AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_CODEDEPLOY": codedeploy_url}),
    ):
        capsys.readouterr()
        # A long watch (60 deployment minutes, 90 s real): this test is about the hooks' verdicts;
        # whether a loaded machine keeps the default timeout is bench/chaos.py's question.
        command = ["deploy", "product-service", "-s", "all-at-once", "--time-scale", "40", "-o", "json"]
        code = main([*command, "--timeout", "60"])
        document = json.loads(capsys.readouterr().out or "{}")
    invocations = list(world.runner.invocations)[earlier:]
    assert code == 0, document
    assert moto.throttled["DescribeTargetHealth"] >= 4
    assert codedeploy.throttled["PutLifecycleEventHookExecutionStatus"] >= 6
    retried = [i for i in invocations if i.attempt > 1]
    assert retried and all(i.error is None for i in retried)  # the report went through on the retry
    assert sum(moto.throttled.values()) + sum(codedeploy.throttled.values()) > 10
