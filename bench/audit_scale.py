"""How the alarm audit scales: AWS calls and wall time for 100 and 1,000 deployment groups x 4 alarms.

Runs against moto (CloudWatch, ELBv2) and the CodeDeploy emulator on loopback, both measured in this
one run. For each size it writes a catalog of N services (alarms/templates.yaml as the definitions),
creates a load balancer and the 2N target groups in ELBv2, N deployment groups through the CodeDeploy
API and the 4N alarms through PutMetricAlarm with their real dimension values (seeding, not
measured), then runs the audit once (measured): the calls it makes, per operation, and its wall
time. Expected: DescribeAlarms = ceil(4N / 100), BatchGetDeploymentGroups = ceil(N / 25).
The audit lists target groups 400 a page (ELBv2's maximum PageSize); moto ignores PageSize and
returns them all in one page, so against AWS that column would read ceil(2N / 400), not 1.

    .venv/bin/python bench/audit_scale.py [--sizes 100,1000] [--workers 8]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OPERATIONS = (
    "codedeploy:ListApplications",
    "codedeploy:ListDeploymentGroups",
    "codedeploy:BatchGetDeploymentGroups",
    "cloudwatch:DescribeAlarms",
    "elastic-load-balancing-v2:DescribeTargetGroups",
    "elastic-load-balancing-v2:DescribeLoadBalancers",
)


def write_catalog(directory: Path, project: str, size: int) -> Path:
    """A catalog of ``size`` services in one environment, and alarms/ with the real templates only."""
    lines = [
        "version: 1",
        f"project: {project}",
        "default_environment: dev",
        "defaults:",
        "  region: ap-northeast-2",
        "  cluster: bench-cluster",
        "  alarms: ['{service}-5xx-errors', '{service}-high-latency', '{service}-unhealthy-hosts', "
        "'{service}-high-cpu']",
        "environments:",
        "  dev:",
        "    defaults:",
        "      alarm_policy: {min_alarms: 2, stuck_insufficient_data_minutes: 120}",
        "  prod: {account_id: '210987654321'}  # templates.yaml has a prod layer; the bench audits dev",
        "services:",
    ]
    # Names unique to the size: one moto serves every size, and ELBv2 names are unique in a region.
    lines += [f"  s{size}-{i:04d}: {{port: {3000 + i}}}" for i in range(size)]
    (directory / "services.yaml").write_text("\n".join(lines) + "\n")
    (directory / "alarms").mkdir()
    shutil.copy(REPO / "alarms" / "templates.yaml", directory / "alarms" / "templates.yaml")
    return directory / "services.yaml"


def seed(clients: Any, catalog: Any, definitions: Any, workers: int) -> None:
    """An ALB and 2N target groups (ELBv2, moto), N deployment groups (CodeDeploy API, emulator) and
    4N alarms with their real dimension values (PutMetricAlarm, moto)."""
    from orchestrator.alarms.audit import load_balancer_dimension, target_group_dimension
    from orchestrator.alarms.definitions import ServiceResources, render_request
    from orchestrator.vocabulary import ROLLBACK_ON, ComputePlatform

    codedeploy, cloudwatch = clients.client("codedeploy"), clients.client("cloudwatch")
    ec2, elbv2 = clients.client("ec2"), clients.client("elbv2")
    services = catalog.resolve_all("dev")
    codedeploy.create_application(
        applicationName=services[0].settings.application, computePlatform=ComputePlatform.ECS.value
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"ap-northeast-2{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ac")
    ]
    alb = elbv2.create_load_balancer(Name=services[0].settings.load_balancer, Subnets=subnets)
    load_balancer = load_balancer_dimension(alb["LoadBalancers"][0]["LoadBalancerArn"])

    def target_group(name: str, port: int) -> str:
        tg = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=port, VpcId=vpc, TargetType="ip")
        return target_group_dimension(tg["TargetGroups"][0]["TargetGroupArn"])

    # One at a time: moto's CreateTargetGroup iterates its target groups unlocked (not thread-safe).
    resources = {
        s.name: ServiceResources(
            target_group_blue=target_group(s.settings.target_group_blue, s.settings.port),
            target_group_green=target_group(s.settings.target_group_green, s.settings.port),
            load_balancer=load_balancer,
        )
        for s in services
    }

    def one(service: Any) -> None:
        for alarm in definitions.for_service(service):
            cloudwatch.put_metric_alarm(**render_request(alarm, service, resources[service.name]))
        s = service.settings
        codedeploy.create_deployment_group(
            applicationName=s.application,
            deploymentGroupName=s.deployment_group,
            serviceRoleArn="arn:aws:iam::123456789012:role/bench",
            ecsServices=[{"serviceName": s.ecs_service, "clusterName": s.cluster}],
            loadBalancerInfo={
                "targetGroupPairInfoList": [
                    {
                        "targetGroups": [{"name": s.target_group_blue}, {"name": s.target_group_green}],
                        "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:::listener/x"]},
                    }
                ]
            },
            alarmConfiguration={
                "enabled": True,
                "ignorePollAlarmFailure": False,
                "alarms": [{"name": n} for n in s.alarms],
            },
            autoRollbackConfiguration={
                "enabled": True,
                "events": list(ROLLBACK_ON),
            },
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, services))


def measure(size: int, workers: int) -> dict[str, Any]:
    from orchestrator.alarms.audit import run_audit
    from orchestrator.alarms.definitions import load_definitions
    from orchestrator.aws.clients import AwsClients
    from orchestrator.catalog import load_catalog

    with tempfile.TemporaryDirectory() as tmp:
        catalog = load_catalog(write_catalog(Path(tmp), f"bench{size}", size))
        definitions = load_definitions(catalog)
        seeding = AwsClients("ap-northeast-2")
        started = time.perf_counter()
        seed(seeding, catalog, definitions, workers)
        seeded_in = time.perf_counter() - started

        # One audit first, not measured: the first size would otherwise also pay this process's
        # one-time imports. The measured run makes its own clients, as `bluegreen alarms audit` does.
        run_audit(AwsClients("ap-northeast-2"), catalog, definitions, "dev", datetime.now(UTC))
        clients = AwsClients("ap-northeast-2")
        started = time.perf_counter()
        report = run_audit(clients, catalog, definitions, "dev", datetime.now(UTC))
        wall = time.perf_counter() - started
    if not report.clean or report.notes or report.groups_checked != size or report.alarms_checked != 4 * size:
        found = report.to_dict()
        raise SystemExit(
            f"bench: audit of {size} groups was not what was seeded: {found['byRule']} {found['notes'][:2]}"
        )
    calls = {op: clients.counter.calls[op] for op in OPERATIONS}
    return {
        "groups": size,
        "alarms": 4 * size,
        "calls": calls,
        "total": clients.counter.total,
        "wall": wall,
        "seeded_in": seeded_in,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--workers", type=int, default=8, help="threads that seed (not measured)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[var]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="ap-northeast-2",
        AWS_CONFIG_FILE=str(REPO / "tests" / "fixtures" / "aws-config-empty"),
        AWS_SHARED_CREDENTIALS_FILE=str(REPO / "tests" / "fixtures" / "aws-config-empty"),
    )
    from sandbox.codedeploy import CodeDeployEmulator
    from sandbox.moto_server import MotoServer

    with MotoServer() as moto_url, CodeDeployEmulator(aws_endpoint=moto_url, time_scale=60) as emulator_url:
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        os.environ["AWS_ENDPOINT_URL_CODEDEPLOY"] = emulator_url
        results = [measure(size, args.workers) for size in sizes]

    print("alarm audit scale: moto (CloudWatch, ELBv2) + CodeDeploy emulator on loopback, one run")
    header = (
        f"{'groups':>7} {'alarms':>7} {'ListApps':>8} {'ListDGs':>7} {'BatchGetDG':>10} "
        f"{'DescrAlarms':>11} {'DescrTGs':>8} {'DescrLBs':>8} {'calls':>6} {'wall s':>7}"
        "   (seeding s, not measured)"
    )
    print(header)
    for r in results:
        c = [r["calls"][op] for op in OPERATIONS]
        print(
            f"{r['groups']:>7} {r['alarms']:>7} {c[0]:>8} {c[1]:>7} {c[2]:>10} {c[3]:>11} {c[4]:>8} "
            f"{c[5]:>8} {r['total']:>6} {r['wall']:>7.2f}   ({r['seeded_in']:.1f})"
        )
    for r in results:
        want_dg, want_alarms = math.ceil(r["groups"] / 25), math.ceil(r["alarms"] / 100)
        got_dg, got_alarms = r["calls"][OPERATIONS[2]], r["calls"][OPERATIONS[3]]
        verdict = "ok" if (got_dg, got_alarms) == (want_dg, want_alarms) else "UNEXPECTED"
        print(
            f"{r['groups']} groups: BatchGetDeploymentGroups {got_dg} (ceil(N/25) = {want_dg}), "
            f"DescribeAlarms {got_alarms} (ceil(4N/100) = {want_alarms}): {verdict}"
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        calls_ratio, wall_ratio = large["total"] / small["total"], large["wall"] / small["wall"]
        print(
            f"ratio {large['groups']}/{small['groups']} groups: calls x{calls_ratio:.2f}, "
            f"wall time x{wall_ratio:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
