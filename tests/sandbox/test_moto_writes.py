"""The moto child's write counts (``GET /moto-api/sandbox/writes``, sandbox.moto_patched) against a
real child: botocore's requests of each protocol (ECS's JSON, Elastic Load Balancing's query,
CloudWatch's rpc-v2-cbor) move their service's count only when they write, and the answer comes
after the write is in (a reader that sees the new count reads the new state)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.moto_server import MotoServer, sandbox_client_factory
from sandbox.moto_writes import EVERY_SERVICE, Writes

pytestmark = pytest.mark.integration

REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with MotoServer(isolated=True, module="sandbox.moto_patched") as url:
        yield url


def test_each_protocol_counts_its_writes_only(moto_url: str) -> None:
    writes = Writes(moto_url)
    make = sandbox_client_factory(REGION)
    ecs, elbv2, cloudwatch = make("ecs", moto_url), make("elbv2", moto_url), make("cloudwatch", moto_url)
    before = writes.counts()
    assert before is not None

    def moved() -> dict[str, int]:
        now = writes.counts()
        assert now is not None
        return {
            k: now.get(k, 0) - before.get(k, 0) for k in ("ecs", "elasticloadbalancing", "monitoring", "*")
        }

    ecs.create_cluster(clusterName="writes")
    ecs.describe_clusters(clusters=["writes"])
    ecs.list_clusters()
    elbv2.describe_load_balancers()
    cloudwatch.put_metric_data(Namespace="N", MetricData=[{"MetricName": "M", "Value": 1.0}])
    cloudwatch.describe_alarms()
    assert moved() == {"ecs": 1, "elasticloadbalancing": 0, "monitoring": 0, "*": 0}
    cloudwatch.put_metric_alarm(
        AlarmName="a",
        MetricName="M",
        Namespace="N",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="test")
    ec2 = make("ec2", moto_url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elbv2.create_target_group(Name="writes-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    assert moved() == {"ecs": 1, "elasticloadbalancing": 1, "monitoring": 2, "*": 0}
    token = writes.token("monitoring")
    assert cloudwatch.describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert writes.token("monitoring") == token


def test_a_reset_moves_every_services_token(moto_url: str) -> None:
    writes = Writes(moto_url)
    token = writes.token("ecs")
    assert token is not None
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10
    ).close()
    after = writes.token("ecs")
    assert after is not None and after[0] == token[0] and after[1] == token[1] + 1
    counts = writes.counts()
    assert counts is not None and counts[EVERY_SERVICE] >= 1


def test_no_answer_is_none() -> None:
    assert Writes("http://127.0.0.1:9", timeout=1.0).counts() is None
