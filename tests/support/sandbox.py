"""Helpers for the sandbox's full-loop tests: start a world, deploy into it with boto3 the way
bluegreen does (register the task definition revision, render the AppSpec, CreateDeployment),
wait for an outcome, and see which loopback ports this process listens on."""

from __future__ import annotations

import importlib.util
import os
import socketserver
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.appspec import appspec_revision, ecs_input_for, render_ecs_appspec
from orchestrator.files.taskdef import load_task_definition
from orchestrator.strategies import parse_strategy
from sandbox.faults import HEALTHY, parse_fault
from sandbox.world import World

TERMINAL = {"Succeeded", "Failed", "Stopped"}


def clients(world: World) -> dict[str, Any]:
    """codedeploy (emulator), ecs, elbv2, cloudwatch (moto) clients of a running world (closed with it)."""
    made = world.clients()
    return {
        "codedeploy": made.codedeploy,
        "ecs": made.ecs,
        "elbv2": made.elbv2,
        "cloudwatch": made.cloudwatch,
    }


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


def child_processes() -> set[int]:
    """Pids of this process's live children (from /proc/<pid>/stat), but for the idle moto
    children this process's pool keeps for the next world (``sandbox.moto_server.POOL``: at most
    ``POOL_SIZE``, reset, and gone with this process; tests/sandbox/test_moto_pool.py)."""
    from sandbox.moto_server import POOL

    me = os.getpid()
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            children.add(int(entry.name))
    return children - POOL.idle_pids()


def production_weights(world: World, service: str) -> dict[str, int]:
    """Target group name -> weight on the service's production listener, as moto has it now."""
    elbv2 = clients(world)["elbv2"]
    infra = next(item for item in world.infra if item.name == service)
    names = {arn: name for name, arn in infra.target_groups.items()}
    listener = elbv2.describe_listeners(ListenerArns=[infra.production_listener_arn])["Listeners"][0]
    out: dict[str, int] = {}
    for action in listener["DefaultActions"]:
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            out[names[group["TargetGroupArn"]]] = int(group.get("Weight", 1))
        if not action.get("ForwardConfig") and action.get("TargetGroupArn"):
            out[names[action["TargetGroupArn"]]] = 1
    return out


def lifecycle_events(world: World, deployment_id: str) -> dict[str, str]:
    """Lifecycle event name -> status of the deployment's ECS target (GetDeploymentTarget)."""
    codedeploy = clients(world)["codedeploy"]
    target_ids = codedeploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
    target = codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_ids[0])
    events = target["deploymentTarget"]["ecsTarget"]["lifecycleEvents"]
    return {event["lifecycleEventName"]: event["status"] for event in events}


_SANDBOX_THREAD_PREFIXES = (
    "task-",
    "router-",
    "fleet-reconciler",
    "load-balancer-",
    "metrics-publisher",
    "alarm-evaluator",
    "traffic",
    "lambda-",
    "sandbox-narrator",
)


def sandbox_threads(exclude: set[int] | None = None) -> list[threading.Thread]:
    """Live threads the sandbox starts (by name), or that serve a socketserver (a server loop or a
    connection handler, the emulator's included); ``exclude``: idents to leave out."""
    found = []
    for thread in threading.enumerate():
        if exclude and thread.ident in exclude:
            continue
        target = getattr(thread, "_target", None)
        serves = isinstance(getattr(target, "__self__", None), socketserver.BaseServer)
        if serves or thread.name.startswith(_SANDBOX_THREAD_PREFIXES):
            found.append(thread)
    return found


def concurrent_deploys_bench() -> Any:
    """bench/concurrent_deploys.py as a module (benches are scripts, not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "concurrent_deploys.py"
    spec = importlib.util.spec_from_file_location("concurrent_deploys", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_module(script: str, name: str) -> Any:
    """bench/<script> as a module named ``name``, loaded once (benches are scripts, not a package;
    registered before it runs, as its dataclasses look their module up)."""
    import sys

    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2] / "bench" / script
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def burn_cpu(count: int, seconds: float) -> list[Any]:
    """CPU-bound processes (the bench's), each ending by itself after ``seconds``."""
    return list(concurrent_deploys_bench().burn_cpu(count, seconds))


def endpoints_again(env: Mapping[str, str], monkeypatch: Any) -> None:
    """A module-scoped world's endpoint variables again in this test: tests/conftest.py's
    ``_no_real_aws`` removes them before each test."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@contextmanager
def in_shared_world(world: World, service: str, monkeypatch: Any) -> Iterator[World]:
    """A module's shared world for one test: its endpoint variables again (``endpoints_again``),
    and ``service``'s green healthy again after the test."""
    endpoints_again(world.env, monkeypatch)
    yield world
    assert world.fleet is not None
    world.fleet.set_fault(service, HEALTHY)


def stage(world: World, service: str, fault: str | None) -> list[Any]:
    """This test's deployment of ``service`` runs green with ``fault`` (None: healthy); returns the
    replacement runs (sandbox.fleet.TaskSetRun) that exist already."""
    assert world.fleet is not None
    world.fleet.set_fault(service, parse_fault(fault))
    return world.fleet.replacement_runs()
