"""The per-process pool of moto children (``sandbox.moto_server.POOL``): a world that stops parks its
reset child, the next world in this process takes it, and nothing of the first world shows through:
not its resources (every service the sandbox uses), not its alarm history, not its target states
(the child reads the states file of the server that took it last)."""

from __future__ import annotations

import json
import os
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import moto_server
from sandbox.load_balancer.target_health import STATES_FILE_ENV
from sandbox.moto_server import POOL, MotoServer, sandbox_client_factory
from sandbox.world import World, WorldOptions

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture
def cold_pool() -> Iterator[None]:
    """An empty pool before and after the test (its children killed)."""
    POOL.clear()
    yield
    POOL.clear()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def pooled() -> MotoServer:
    return MotoServer(isolated=True, module="sandbox.moto_patched", reuse=True)


def _target_state(url: str, target_id: str) -> str:
    """Register ``target_id`` (an IP) in a new target group; the state DescribeTargetHealth gives it."""
    make = sandbox_client_factory(REGION)
    ec2, elbv2 = make("ec2", url), make("elbv2", url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = elbv2.create_target_group(Name="pool-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": target_id, "Port": 80}])
    health = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return str(health[0]["TargetHealth"]["State"])


def _states_file(path: Path, target_id: str, state: str) -> Path:
    path.write_text(json.dumps({target_id: {"State": state}}), encoding="utf-8")
    return path


def test_a_reused_child_reads_the_new_servers_target_states(
    cold_pool: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = "10.0.1.7"
    monkeypatch.setenv(STATES_FILE_ENV, str(_states_file(tmp_path / "a.json", target, "unhealthy")))
    with pooled() as url:
        assert _target_state(url, target) == "unhealthy"
    (pid,) = POOL.idle_pids()
    monkeypatch.setenv(STATES_FILE_ENV, str(_states_file(tmp_path / "b.json", target, "initial")))
    server = pooled()
    with server as url:
        assert server.pid == pid  # the parked child, reset
        assert POOL.idle_pids() == set()
        assert _target_state(url, target) == "initial"  # b.json's, not a.json's
    monkeypatch.delenv(STATES_FILE_ENV)
    with pooled() as url:
        assert _target_state(url, target) == "healthy"  # no file: moto's own answer


def test_two_servers_alive_at_once_never_share_a_child_and_the_pool_is_bounded(cold_pool: None) -> None:
    servers = [pooled() for _ in range(moto_server.POOL_SIZE + 1)]
    for server in servers:
        server.start()
    pids = [server.pid for server in servers]
    assert len(set(pids)) == len(pids)
    for server in servers:
        server.stop()
    # the last ones parked wait; the first, parked longest ago, was killed
    assert POOL.idle_pids() == set(pids[1:])
    assert not _alive(pids[0])


def test_a_child_that_fails_its_reset_is_killed(cold_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    server = pooled()
    server.start()
    pid = server.pid
    assert pid is not None

    def broken(self: MotoServer) -> None:
        raise urllib.error.URLError("reset refused")

    monkeypatch.setattr(MotoServer, "reset", broken)
    server.stop()
    assert POOL.idle_pids() == set()
    assert not _alive(pid)


def test_a_child_started_with_another_environment_is_not_reused(
    cold_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pooled():
        pass
    (pid,) = POOL.idle_pids()
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")  # moto reads it as it starts
    server = pooled()
    with server:
        other = server.pid
        assert other != pid
    assert POOL.idle_pids() == {pid, other}


def _everything(world: World) -> dict[str, Any]:
    """What moto holds of the kinds a world makes, by name."""
    make = sandbox_client_factory(world.region)

    def client(name: str) -> Any:
        return make(name, world.moto_url)

    ecs, cloudwatch = client("ecs"), client("cloudwatch")
    clusters = ecs.list_clusters()["clusterArns"]
    return {
        "ecs services": sorted(s for c in clusters for s in ecs.list_services(cluster=c)["serviceArns"]),
        "target groups": sorted(
            g["TargetGroupName"] for g in client("elbv2").describe_target_groups()["TargetGroups"]
        ),
        "alarms": sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]),
        "alarm history": sorted(
            {i["AlarmName"] for i in cloudwatch.describe_alarm_history(MaxRecords=100)["AlarmHistoryItems"]}
        ),
        "log groups": sorted(g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]),
        "parameters": sorted(p["Name"] for p in client("ssm").describe_parameters()["Parameters"]),
        "tables": sorted(client("dynamodb").list_tables()["TableNames"]),
        "topics": sorted(t["TopicArn"] for t in client("sns").list_topics()["Topics"]),
    }


def test_a_second_world_on_a_reused_child_sees_nothing_of_the_first(cold_pool: None) -> None:
    options = WorldOptions(time_scale=40.0)
    with World(REPO / "services.yaml", "dev", ["product-service"], None, options) as first:
        make = sandbox_client_factory(first.region)
        # What the first world's deployments and hooks would leave, beyond its provisioning.
        make("ssm", first.moto_url).put_parameter(Name="/pool/first", Value="1", Type="String")
        make("logs", first.moto_url).create_log_group(logGroupName="/pool/first")
        make("dynamodb", first.moto_url).create_table(
            TableName="pool-first",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        make("sns", first.moto_url).create_topic(Name="pool-first")
        cloudwatch = make("cloudwatch", first.moto_url)
        alarm = cloudwatch.describe_alarms()["MetricAlarms"][0]["AlarmName"]
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="pool test")
        seen_first = _everything(first)
        first_url, first_states = first.moto_url, first.target_health_path
    assert seen_first["alarm history"] and "/pool/first" in seen_first["parameters"]
    assert any("product-service" in arn for arn in seen_first["ecs services"])
    assert len(POOL.idle_pids()) == 1

    with World(REPO / "services.yaml", "dev", ["order-service"], None, options) as second:
        assert second.moto_url == first_url  # the same child (its port), reset
        assert second.target_health_path != first_states
        seen = _everything(second)
        # order-service's own, and nothing named for product-service or made by hand above
        for kind, names in seen.items():
            assert not [n for n in names if "product-service" in n or "pool" in n.lower()], (kind, names)
        assert seen["ecs services"] and all("order-service" in arn for arn in seen["ecs services"])
        assert seen["alarm history"] == [] or all(
            n.startswith("order-service") for n in seen["alarm history"]
        )
