"""CodeDeployEmulator: the HTTP server, the store and one worker thread per deployment."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from types import TracebackType

from sandbox.clock import VirtualClock
from sandbox.codedeploy import configs, resources
from sandbox.codedeploy.api_resources import ApiContext
from sandbox.codedeploy.appspec import AppSpec
from sandbox.codedeploy.engine import DeploymentRun, EngineContext
from sandbox.codedeploy.engine_ecs import EcsRun
from sandbox.codedeploy.engine_lambda import LambdaRun
from sandbox.codedeploy.events import Publish
from sandbox.codedeploy.hooks import HookDispatcher, HookInvoker
from sandbox.codedeploy.lifecycle import HOOK_TIMEOUT_SECONDS
from sandbox.codedeploy.model import Deployment, HookExecution, HookStatusReport, LifecycleEventStatus, Store
from sandbox.codedeploy.server import CodeDeployHttpServer, Dispatcher, FaultInjector, make_server
from sandbox.moto_server import LOOPBACK

log = logging.getLogger(__name__)


class CodeDeployEmulator:
    """CodeDeploy's API and ECS/Lambda deployment engine on 127.0.0.1, over moto at ``aws_endpoint``.

    ``with CodeDeployEmulator(aws_endpoint=moto_url, time_scale=60.0) as url: ...`` or
    ``start()``/``stop()``. ``clock`` (a VirtualClock) replaces ``time_scale`` when given so the
    emulator shares virtual time with the rest of the sandbox.
    """

    def __init__(
        self,
        aws_endpoint: str,
        time_scale: float = 60.0,
        hook_invoker: HookInvoker | None = None,
        region: str = "ap-northeast-2",
        clock: VirtualClock | None = None,
        port: int = 0,
        alarm_poll_seconds: float = 60.0,
        hook_timeout_seconds: float = HOOK_TIMEOUT_SECONDS,
        publish: Publish | None = None,
    ) -> None:
        self.aws_endpoint = aws_endpoint
        # Where the deployments' state-change events go (EventBridge; None: nowhere).
        self.publish = publish
        self.region = region
        self.clock = clock or VirtualClock(time_scale)
        self.store = Store()
        self.faults = FaultInjector()
        self.hooks = HookDispatcher(self.store, hook_invoker)
        self._shutdown = threading.Event()
        self._port = port
        self._alarm_poll_seconds = alarm_poll_seconds
        self._hook_timeout_seconds = hook_timeout_seconds
        self._workers: list[threading.Thread] = []
        self._server: CodeDeployHttpServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._engine: EngineContext | None = None
        self.url = ""
        with self.store.lock:
            for config in configs.predefined_configs(self.clock.now()):
                self.store.configs[config.name] = config

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving; returns the endpoint URL (``http://127.0.0.1:PORT``)."""
        self._shutdown.clear()
        self._engine = EngineContext(
            store=self.store,
            clock=self.clock,
            clients=resources.MotoClients(self.aws_endpoint, self.region),
            hooks=self.hooks,
            region=self.region,
            shutdown=self._shutdown,
            alarm_poll_seconds=self._alarm_poll_seconds,
            hook_timeout_seconds=self._hook_timeout_seconds,
            publish=self.publish,
        )
        api = ApiContext(store=self.store, clock=self.clock, region=self.region, launch=self._launch)
        self._server = make_server(Dispatcher(api, self.faults), LOOPBACK, self._port)
        port = self._server.server_address[1]
        self.url = f"http://{LOOPBACK}:{port}"
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="codedeploy-http",
            daemon=True,
        )
        self._serve_thread.start()
        return self.url

    def stop(self) -> None:
        """Stop the server and every deployment worker (deployments stay as they are)."""
        self._shutdown.set()
        with self.store.lock:
            for dep in self.store.deployments.values():
                dep.wake.set()
        if self._server is not None:
            self._server.shutdown()
        if self._serve_thread is not None:
            self._serve_thread.join(5)
            self._serve_thread = None
        if self._server is not None:
            self._server.close()  # hangs up on keep-alive clients too
            self._server = None
        for worker in self._workers:
            worker.join(10)
        self._workers = []
        self.hooks.join(1)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- engine ---------------------------------------------------------------------------------------

    def _launch(self, deployment: Deployment, appspec: AppSpec) -> None:
        assert self._engine is not None
        run: DeploymentRun = (
            EcsRun(self._engine, deployment, appspec)
            if deployment.compute_platform == "ECS"
            else LambdaRun(self._engine, deployment, appspec)
        )
        worker = threading.Thread(target=run.run, name=f"deployment-{deployment.id}", daemon=True)
        self._workers = [w for w in self._workers if w.is_alive()]
        self._workers.append(worker)
        worker.start()

    # --- introspection for tests ----------------------------------------------------------------------

    @property
    def hook_status_reports(self) -> list[HookStatusReport]:
        """Every PutLifecycleEventHookExecutionStatus call received, in order, rejected ones included."""
        with self.store.lock:
            return list(self.store.hook_reports)

    def pending_hook_executions(self, deployment_id: str | None = None) -> list[HookExecution]:
        """Hook executions still waiting for PutLifecycleEventHookExecutionStatus (copies), oldest first.

        With the default invoker (None) this is how a test learns the LifecycleEventHookExecutionId to report.
        """
        with self.store.lock:
            return [
                replace(e)
                for e in self.store.hook_executions.values()
                if e.status is LifecycleEventStatus.PENDING and deployment_id in (None, e.deployment_id)
            ]

    def inject_errors(self, operation: str, error_code: str, times: int, http_status: int = 400) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``error_code`` (e.g. Throttling)."""
        self.faults.add(operation, error_code, times, http_status)

    def wait_until_idle(self, real_timeout: float = 30.0) -> bool:
        """Wait (real seconds) until no deployment worker runs; True when all ended."""
        for worker in list(self._workers):
            worker.join(real_timeout)
        return not any(w.is_alive() for w in self._workers)
