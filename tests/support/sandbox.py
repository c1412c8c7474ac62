"""Helpers for the sandbox's full-loop tests: start a world, deploy into it with boto3 the way
bluegreen does (register the task definition revision, render the AppSpec, CreateDeployment),
wait for an outcome, and see which loopback ports this process listens on."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from orchestrator.appspec import appspec_revision, ecs_input_for, render_ecs_appspec
from orchestrator.strategies import parse_strategy
from orchestrator.taskdef import load_task_definition
from sandbox.world import World

TERMINAL = {"Succeeded", "Failed", "Stopped"}


def clients(world: World) -> dict[str, Any]:
    """codedeploy (emulator), ecs, elbv2, cloudwatch (moto) clients for a running world."""
    session = boto3.session.Session(region_name=world.region)
    out: dict[str, Any] = {
        name: session.client(name, endpoint_url=world.moto_url) for name in ("ecs", "elbv2", "cloudwatch")
    }
    out["codedeploy"] = session.client("codedeploy", endpoint_url=world.codedeploy_url)
    return out


def create_deployment(world: World, service_name: str, strategy: str) -> str:
    """Register a new task definition revision and start a deployment of it; returns its id."""
    api = clients(world)
    service = world.catalog.resolve(service_name, world.environment)
    registered = api["ecs"].register_task_definition(**load_task_definition(service))
    arn = registered["taskDefinition"]["taskDefinitionArn"]
    content = render_ecs_appspec(ecs_input_for(service, arn))
    chosen = parse_strategy(strategy)
    request = chosen.create_request()
    if request is not None:
        try:
            api["codedeploy"].create_deployment_config(**request)
        except api["codedeploy"].exceptions.DeploymentConfigAlreadyExistsException:
            pass
    created = api["codedeploy"].create_deployment(
        applicationName=service.settings.application,
        deploymentGroupName=service.settings.deployment_group,
        deploymentConfigName=chosen.deployment_config_name,
        revision=appspec_revision(content),
        description="sandbox test",
    )
    return str(created["deploymentId"])


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll until ``predicate`` returns something truthy; returns it (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def deployment(world: World, deployment_id: str) -> dict[str, Any]:
    return dict(clients(world)["codedeploy"].get_deployment(deploymentId=deployment_id)["deploymentInfo"])


def wait_terminal(world: World, deployment_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        info = deployment(world, deployment_id)
        return info if info["status"] in TERMINAL else None

    return dict(wait_for(done, timeout, interval=0.2))


def listening_ports() -> set[int]:
    """TCP ports this process has a LISTEN socket on (from /proc: socket inodes owned by our fds)."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{os.getpid()}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports
