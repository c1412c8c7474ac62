"""NativeEcs: the sandbox's ECS endpoint (seam.md item 5): the HTTP server, the store, one worker
thread per service deployment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.codedeploy.server import CodeDeployHttpServer
from sandbox.ecs_native.api import ApiContext
from sandbox.ecs_native.events import Publish
from sandbox.ecs_native.machine import HookInvoke, Machine, MachineContext, revision_task_set
from sandbox.ecs_native.model import NativeService, ServiceDeployment, Store
from sandbox.ecs_native.server import Dispatcher, make_server
from sandbox.ecs_native.tasks import TaskBook
from sandbox.moto_server import LOOPBACK, sandbox_client_factory


class NativeEcs:
    """Amazon ECS's native blue/green, linear and canary deployments on 127.0.0.1, over moto.

    ``start()`` / ``stop()``; ``url`` after start (for ``AWS_ENDPOINT_URL_ECS``); ``tasks``: the
    native services' tasks (the fleet reports what it runs; ListTasks / DescribeTasks answer from it).
    ``invoke`` runs a Lambda hook synchronously; ``elbv2`` and ``cloudwatch`` are boto3 clients on
    moto (ModifyRule, DescribeAlarms); ``before_hook`` (the world's settle step) runs before every
    hook invocation.
    """

    def __init__(
        self,
        *,
        moto_url: str,
        clock: VirtualClock,
        invoke: HookInvoke,
        elbv2: Any,
        cloudwatch: Any,
        before_hook: Callable[[], None] | None = None,
        alarm_poll_seconds: float = 60.0,
        port: int = 0,
        publish: Publish | None = None,
    ) -> None:
        self.moto_url = moto_url
        self.clock = clock
        self.store = Store()
        self.url = ""
        self._port = port
        self._shutdown = threading.Event()
        self._machine = MachineContext(
            store=self.store,
            clock=clock,
            elbv2=elbv2,
            cloudwatch=cloudwatch,
            invoke=invoke,
            shutdown=self._shutdown,
            before_hook=before_hook,
            alarm_poll_seconds=alarm_poll_seconds,
            publish=publish,  # the deployments' state-change events (None: nowhere)
        )
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        # native services' tasks: the fleet says what it runs, ListTasks / DescribeTasks read it
        self.tasks = TaskBook(self.store, clock, self._task_definition)
        self._workers: dict[str, threading.Thread] = {}
        self._server: CodeDeployHttpServer | None = None
        self._serve_thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> str:
        self._shutdown.clear()
        ctx = ApiContext(
            store=self.store, clock=self.clock, launch=self._launch, moto_ecs=self._moto_ecs, tasks=self.tasks
        )
        self._server = make_server(Dispatcher(ctx, self.moto_url, self._resolve), LOOPBACK, self._port)
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="ecs-native-http",
            daemon=True,
        )
        self._serve_thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and every worker (deployments stay as they are)."""
        self._shutdown.set()
        with self.store.lock:
            for service in self.store.services.values():
                for deployment in service.deployments:
                    deployment.wake.set()
        if self._server is not None:
            self._server.shutdown()
        if self._serve_thread is not None:
            self._serve_thread.join(5)
            self._serve_thread = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for worker in list(self._workers.values()):
            worker.join(10)
        self._workers.clear()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the world reads -----------------------------------------------------------------------

    def task_sets(self, cluster: str, service: str) -> list[dict[str, Any]]:
        """The native revisions that must run now, in DescribeServices' taskSets shape."""
        key = (cluster.split("/")[-1], service.split("/")[-1])
        with self.store.lock:
            found = self.store.services.get(key)
            if found is None:
                return []
            return [revision_task_set(r, found.production) for r in found.live_revisions()]

    def wait_until_idle(self, real_timeout: float = 30.0) -> bool:
        """Wait (real seconds) until no deployment worker runs; True when all ended."""
        for worker in list(self._workers.values()):
            worker.join(real_timeout)
        return not any(w.is_alive() for w in self._workers.values())

    # --- internals ----------------------------------------------------------------------------------

    def _launch(
        self, service: NativeService, deployment: ServiceDeployment, replaced: ServiceDeployment | None
    ) -> None:
        previous = self._workers.get(replaced.arn) if replaced is not None else None
        machine = Machine(
            self._machine,
            service,
            deployment,
            (replaced, previous) if replaced is not None and previous is not None else None,
        )
        worker = threading.Thread(
            target=machine.run, name=f"ecs-deployment-{deployment.arn[-8:]}", daemon=True
        )
        self._workers = {arn: w for arn, w in self._workers.items() if w.is_alive()}
        self._workers[deployment.arn] = worker
        worker.start()

    def _moto_ecs(self, region: str) -> Any:
        with self._clients_lock:
            if region not in self._clients:
                self._clients[region] = sandbox_client_factory(region)("ecs", self.moto_url)
            return self._clients[region]

    def _task_definition(self, arn: str) -> dict[str, Any] | None:
        """DescribeTaskDefinition on moto, in the region the ARN names (for the tasks' containers)."""
        region = arn.split(":")[3] if arn.count(":") >= 5 else "us-east-1"
        found = self._moto_ecs(region).describe_task_definition(taskDefinition=arn)
        return dict(found["taskDefinition"])

    def _resolve(self, task_definition: str, region: str) -> str | None:
        """A task definition's ARN as moto knows it (UpdateService takes family:revision too)."""
        found = self._moto_ecs(region).describe_task_definition(taskDefinition=task_definition)
        return str(found["taskDefinition"]["taskDefinitionArn"])
