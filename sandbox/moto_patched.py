"""``python -m sandbox.moto_patched``: moto's server with what the sandbox needs changed.

1. moto 5.2.5 sums the containers' ``memory`` when it places tasks (CreateTaskSet with a scale,
   even 0 %, and RunTask) and crashes (TypeError, HTTP 500) when a container sets none: the usual
   Fargate shape, with memory only at the task level, as the catalog's task-definitions/*.json
   have it. Here a container without memory counts the task's memory instead.
2. moto answers DescribeTargetHealth ``healthy`` for every registered target the moment it is
   registered. When ``BLUEGREEN_SANDBOX_TARGET_HEALTH`` names a file, a registered target listed
   there has the state (``initial``, ``healthy``, ``unhealthy``), reason and description the fake
   load balancer's health checks gave it (see ``sandbox.load_balancer.target_health``).
   ``POST /moto-api/sandbox/target-health`` (body: a path, or empty for none) names another file
   (a pooled child reused by the next world, ``sandbox.moto_server``); moto's reset keeps it.
3. moto names every load balancer ``<name>-1.<region>.elb.amazonaws.com``, a name that resolves
   nowhere; the sandbox's load balancers are its routers on 127.0.0.1, so their DNSName is
   ``127.0.0.1``: the hooks tie a smoke host to the deployment group's load balancer through it
   (``hooks.smoke_hosts``), as they do with a real ALB's DNS name in AWS.
4. It exits when the process that started it is gone, even one killed with SIGKILL that could not
   stop it: an orphaned moto would keep its loopback port and memory until someone noticed.
5. moto keeps no alarm history and has no DescribeAlarmHistory, which `bluegreen why` reads: every
   state change is recorded and the operation answered as CloudWatch does (``sandbox.alarm_history``).
6. PutLogEvents refuses events more than 2 hours ahead of moto's clock (as CloudWatch Logs does of
   its own). The sandbox's AWS time is its virtual clock (the emulators answer in it; the Lambda
   runner stamps the hooks' lines with it), hours ahead of moto's real one after a long run: here
   every event is kept (still refused: events out of chronological order, as AWS does).
7. ``GET /moto-api/sandbox/writes`` answers how many requests may have changed each service's
   state, so the world's pollers reread only what changed (``sandbox.moto_writes``).
Nothing else changes.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from sandbox import alarm_history
from sandbox.load_balancer.target_health import STATES_FILE_ENV
from sandbox.moto_writes import TARGET_HEALTH_PATH, WRITES_PATH, WriteCounter
from sandbox.shared_models import share_botocore_models


def _patch() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition: Any) -> dict[str, Any]:
        definitions = task_definition.container_definitions
        task_memory = int(getattr(task_definition, "memory", None) or 0)
        fixed = []
        for container in definitions:
            keys = ("memory", "memoryReservation", "Memory", "MemoryReservation")
            if not any(container.get(key) is not None for key in keys):
                container = {**container, "memory": task_memory // max(1, len(definitions))}
            fixed.append(container)
        task_definition.container_definitions = fixed
        try:
            return dict(original(task_definition))
        finally:
            task_definition.container_definitions = definitions

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign]


# The states file read now, and what was read from it (a new file: nothing read yet).
_TARGET_HEALTH: dict[str, Any] = {"path": "", "version": None, "states": {}}
_TARGET_HEALTH_LOCK = threading.Lock()


def set_target_health_file(path: str) -> None:
    """Read target states from ``path`` from now on ("" : none, moto's own answers)."""
    with _TARGET_HEALTH_LOCK:
        _TARGET_HEALTH.update(path=path, version=None, states={})


def _patch_target_health() -> None:
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    original = FakeTargetGroup.health_for

    def states() -> dict[str, Any]:
        with _TARGET_HEALTH_LOCK:
            seen = _TARGET_HEALTH
            if not seen["path"]:
                return {}
            try:
                info = os.stat(seen["path"])
                version = (info.st_ino, info.st_mtime_ns, info.st_size)
                if version != seen["version"]:
                    with open(seen["path"], encoding="utf-8") as source:
                        seen["states"] = json.load(source)
                    seen["version"] = version
            except (OSError, ValueError):  # not written yet, or gone: moto's own answer
                pass
            return dict(seen["states"])

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        status = original(self, target, ec2_backend)
        known = states().get(target["Id"]) if status.status == "healthy" else None
        if not known:
            return status
        return FakeHealthStatus(
            status.instance_id,
            status.port,
            status.health_check_port,
            known["State"],
            known.get("Reason"),
            known.get("Description"),
        )

    FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]


def _patch_log_event_times() -> None:
    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.logs.models import LogsBackend

    def put_log_events(
        self: Any, log_group_name: str, log_stream_name: str, log_events: list[dict[str, Any]]
    ) -> tuple[str, dict[str, Any]]:
        if log_group_name not in self.groups:
            raise ResourceNotFoundException()
        times = [event["timestamp"] for event in log_events]
        if times != sorted(times):
            raise InvalidParameterException(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        return self.groups[log_group_name].put_log_events(log_stream_name, log_events), {}

    LogsBackend.put_log_events = put_log_events  # type: ignore[method-assign]


SANDBOX_LOAD_BALANCER_HOST = "127.0.0.1"


def _patch_load_balancer_dns() -> None:
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.create_load_balancer

    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = original(self, *args, **kwargs)
        balancer.dns_name = SANDBOX_LOAD_BALANCER_HOST
        return balancer

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]


def _serve_sandbox_api() -> None:
    """Answer POST /moto-api/sandbox/target-health and GET /moto-api/sandbox/writes before moto's
    own routes, and count the writes (a WSGI wrapper around the application ``moto.server.main``
    serves)."""
    import moto.server

    run_simple = moto.server.run_simple
    writes = WriteCounter()

    def wrapped(host: str, port: int, application: Any, **kwargs: Any) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
            if path == TARGET_HEALTH_PATH and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                set_target_health_file(environ["wsgi.input"].read(length).decode() if length else "")
                start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
                return [b""]
            if path == WRITES_PATH and method == "GET":
                body = writes.document()
                start_response(
                    "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                )
                return [body]
            written = writes.written(environ)
            answer = application(environ, start_response)
            if written is not None:  # after the write, before its writer reads the answer
                writes.bump(written)
            return answer

        run_simple(host, port, app, **kwargs)

    moto.server.run_simple = wrapped  # type: ignore[assignment]


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """Exit this process once it is no longer the child of ``parent`` (the parent died)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="moto-parent-watch", daemon=True).start()


if __name__ == "__main__":
    _exit_with_parent(os.getppid())
    share_botocore_models()  # moto makes a boto3 session per backend as it starts
    _patch()
    _patch_load_balancer_dns()
    alarm_history.install()
    _patch_log_event_times()
    _patch_target_health()
    set_target_health_file(os.environ.get(STATES_FILE_ENV, ""))
    _serve_sandbox_api()
    from moto.server import main

    main()
