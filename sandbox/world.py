"""The sandbox world: everything a rehearsal needs, started together and stopped together.

``World`` is an ordered list of components (``World._components``), on 127.0.0.1 only: its work
folder, the process environment, moto (a child process, so its state is its own), the CodeDeploy
emulator with the Lambda runner as its hook invoker, the native ECS emulator (the ECS endpoint:
Amazon ECS's own blue/green deployments, everything else passed to moto; hooks through the
runner's synchronous ``invoke_sync``), a router per listener, the catalog's
infrastructure for the listed services, the fleet, the load balancer, the metrics publisher, the
alarm evaluator, user traffic and the narrator. They start in that order and stop in reverse
(``sandbox.components``); one that fails to start stops those already started. ``env`` holds the
variables a deployed Lambda or a CLI user would set to talk to it; while the world runs they are
also set in this process (the hooks run in-process and read them).

``sandbox_environment`` is what ``bluegreen deploy --sandbox`` calls.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from orchestrator.catalog import Catalog, ResolvedService, load_catalog
from orchestrator.commands.options import SANDBOX_TIME_SCALE
from orchestrator.commands.sandbox_extra import HOOK_LOG_ENV_VAR
from orchestrator.vocabulary import EngineName
from sandbox.alarm_eval import AlarmEvaluator
from sandbox.clock import VirtualClock
from sandbox.components import Component, Components, ProcessEnvironment, Step
from sandbox.events import Delivery, EventBus, TemplateRule, handler_of, template_rules
from sandbox.faults import HEALTHY, Fault, parse_fault
from sandbox.fleet import Fleet
from sandbox.http_server import stop_servers
from sandbox.lambda_runner import (
    Handler,
    LambdaRunner,
    handlers_for,
    redirect_stdout_logging,
    retry_attempts_for,
)
from sandbox.ledger_setup import LedgerResources
from sandbox.load_balancer.balancer import LoadBalancer
from sandbox.load_balancer.listeners import Router
from sandbox.load_balancer.target_health import STATES_FILE_ENV
from sandbox.metrics import GAUGE_INTERVAL, MetricsPublisher, MetricStore
from sandbox.moto_server import LOOPBACK, SANDBOX_CREDENTIALS, MotoServer, sandbox_client_factory
from sandbox.moto_writes import Writes
from sandbox.narrator import Narrator, Sightings
from sandbox.provision import (
    HEALTH_CHECK,
    Clients,
    ListenerPorts,
    ServiceInfra,
    provision,
)
from sandbox.traffic import TrafficGenerator

# canary10 in dev (hooks, 5 virtual minutes at 10 %, a 30 s bake, no termination wait) is about
# 6-7 virtual minutes: at 40x that is ~10 s of wall time, plus start-up, within the 30 s budget,
# while an alarm period (60 virtual s) still spans 1.5 real seconds of traffic.
DEFAULT_TIME_SCALE = SANDBOX_TIME_SCALE  # written once, in orchestrator (the CLI's help shows it)
# User requests per virtual second per service; capped so the real rate stays what 2 cores serve.
DEFAULT_TRAFFIC_RATE = 1.0
MAX_REAL_REQUESTS_PER_SECOND = 120.0
NARRATE_ENV_VAR = "BLUEGREEN_SANDBOX_NARRATE"
# The hooks' MaximumRetryAttempts come from the SAM template beside the sandbox (absent from an
# installed package: AWS's default then).
TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
SYNC_ATTEMPTS = 5  # reconciliations tried before a hook starts (moto can be slow to answer)
# The services have been running before the world starts: this much healthy metric history
# (virtual seconds) covers the longest alarm window (ECS CPU: 2 periods of 5 minutes).
HISTORY_SECONDS = 900.0


class NativeEcsEndpoint(Protocol):
    """What the world needs of the native ECS emulator (``sandbox.ecs_native.NativeEcs``)."""

    url: str

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def task_sets(self, cluster: str, service: str) -> list[dict[str, Any]]: ...


# NativeEcs(moto_url=, clock=, invoke=, elbv2=, cloudwatch=, before_hook=) (the seam's constructor).
NativeEcsFactory = Callable[..., NativeEcsEndpoint]


def default_native_ecs() -> NativeEcsFactory | None:
    """``sandbox.ecs_native.NativeEcs`` when that package is there, else None (no ECS endpoint:
    ECS calls go to moto, as before the second engine)."""
    try:
        from sandbox.ecs_native import NativeEcs
    except ImportError:
        return None
    factory: NativeEcsFactory = NativeEcs
    return factory


@dataclass(frozen=True)
class WorldOptions:
    """Knobs of a world beyond the catalog: speed, traffic, evaluation cadence, narration."""

    time_scale: float = DEFAULT_TIME_SCALE
    traffic_rate: float | None = None  # None: DEFAULT_TRAFFIC_RATE, capped by MAX_REAL_REQUESTS_PER_SECOND
    traffic_path: str = "/browse"  # what simulated users request (smoke checks use the catalog's paths)
    evaluator_tick: float = 10.0  # virtual seconds between alarm evaluations
    narrate: IO[str] | None = None  # where to tell what the world sees (alarms, traffic shares)
    codedeploy_port: int = 0  # 0: a free port
    # Makes the ECS endpoint (None: sandbox.ecs_native.NativeEcs when installed); tests pass a fake.
    native_ecs: NativeEcsFactory | None = None
    # The engine every service of this world is provisioned for (None: the catalog's), as
    # `deploy --engine` overrides it for one run (seam item 1: the same model_copy).
    engine: EngineName | None = None
    # How the event bus delivers (None: once, at once); tests replay and reorder with it.
    event_delivery: Delivery | None = None
    # A template Handler (``hooks.ledger.handler``) -> the function run in its place (tests' recorders).
    event_handlers: Mapping[str, Handler] | None = None


def _on_engine(service: ResolvedService, engine: EngineName | None) -> ResolvedService:
    """The service on ``engine`` instead of the catalog's (None: unchanged)."""
    if engine is None:
        return service
    return dataclasses.replace(service, settings=service.settings.model_copy(update={"engine": engine}))


def _faults_by_service(faults: Any, services: list[str]) -> dict[str, Fault]:
    """One fault for every service (a spec string, a list of specs, a knob mapping or a Fault), or a
    mapping service -> any of those."""
    if faults is None:
        return {}
    if isinstance(faults, list | tuple):
        merged: dict[str, float] = {}
        for spec in faults:
            fault = parse_fault(spec)
            merged.update({k: v for k, v in vars(fault).items() if v})
        faults = merged or None
        if faults is None:
            return {}
    if isinstance(faults, Mapping) and faults and set(faults) <= set(services):
        return {name: parse_fault(spec) for name, spec in faults.items()}
    fault = parse_fault(faults)
    return {} if fault.is_healthy else dict.fromkeys(services, fault)


class World:
    """A running sandbox for some services of one catalog environment."""

    def __init__(
        self,
        catalog: Catalog | str | os.PathLike[str] | None,
        environment: str | None,
        services: list[str],
        faults: Any = None,
        options: WorldOptions | None = None,
        all_services: bool = False,
    ) -> None:
        self.catalog = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        self.environment = environment or self.catalog.default_environment
        if all_services:
            services = self.catalog.services
        if not services:
            raise ValueError("a sandbox world needs at least one service")
        self.options = options or WorldOptions()
        self.services: list[ResolvedService] = [
            _on_engine(self.catalog.resolve(name, self.environment), self.options.engine) for name in services
        ]
        self.faults = _faults_by_service(faults, [s.name for s in self.services])
        self.clock = VirtualClock(self.options.time_scale)
        self.store = MetricStore()
        self.env: dict[str, str] = {}
        self.infra: list[ServiceInfra] = []
        self.routers: dict[str, Router] = {}
        self.log_dir: Path | None = None
        self.log_path: Path | None = None
        self.keep_hook_log = False  # set before stop: hooks.log outlives the world (see _remove_files)
        self.target_health_path: Path | None = None
        self._log_stream: IO[str] | None = None
        self._parts = Components()
        self.fleet: Fleet | None = None
        self.load_balancer: LoadBalancer | None = None
        self.traffic: TrafficGenerator | None = None
        self.evaluator: AlarmEvaluator | None = None
        self.runner: LambdaRunner | None = None
        # The EventBridge rules' Lambda targets (the ledger function): a runner of their own, so
        # ``runner`` keeps the hooks' invocations only.
        self.event_runner: LambdaRunner | None = None
        self.moto_url = ""
        self._clients: Clients | None = None
        self.codedeploy_url = ""
        self.native_ecs: NativeEcsEndpoint | None = None
        self.native_ecs_url = ""
        self._native_clients: list[Any] = []
        # EventBridge: the emulators publish their state changes here; template.yaml's rules route them.
        self.events = EventBus(self.clock, self.options.event_delivery)
        self.event_rules: list[TemplateRule] = []
        self.topics: dict[str, str] = {}  # the catalog's notification topic ARN -> moto's

    @property
    def region(self) -> str:
        return self.services[0].region

    @property
    def traffic_rate(self) -> float:
        if self.options.traffic_rate is not None:
            return self.options.traffic_rate
        cap = MAX_REAL_REQUESTS_PER_SECOND / (self.options.time_scale * len(self.services))
        return min(DEFAULT_TRAFFIC_RATE, cap)

    def fault_of(self, service: str) -> Fault:
        return self.faults.get(service, HEALTHY)

    # --- start / stop ------------------------------------------------------------------------------

    def start(self) -> World:
        """Start every component in order; if one fails, those started are stopped and it raises."""
        self._parts.start(self._components())
        return self

    def stop(self) -> None:
        """Stop every component that started, in reverse order (the environment is restored too)."""
        self._parts.stop()

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _components(self) -> Iterator[Component]:
        """The world's components in start order. Each is made once those before it have started,
        from what they made (moto's URL, the routers' ports, the provisioned ARNs)."""
        from sandbox.codedeploy import CodeDeployEmulator

        yield Step("work folder", self._make_work_folder, self._remove_files)
        environment = ProcessEnvironment()
        yield environment
        # moto (a child process) reads the target states the load balancer's health checks give.
        environment.set({STATES_FILE_ENV: str(self.target_health_path)})
        moto = MotoServer(isolated=True, module="sandbox.moto_patched", reuse=True)
        yield moto
        self.moto_url = moto.url
        self.env = self._environment()
        environment.set(self.env)
        ledger = LedgerResources(self.services, self.region, self.moto_url)
        yield ledger  # its table and topic are made while the rest starts
        runner = self.runner = self._lambda_runner()
        emulator = CodeDeployEmulator(
            aws_endpoint=self.moto_url,
            time_scale=self.options.time_scale,
            hook_invoker=runner,
            clock=self.clock,
            region=self.region,
            port=self.options.codedeploy_port,
            publish=self.events.publish,
        )
        yield emulator
        self.codedeploy_url = emulator.url
        self.env["AWS_ENDPOINT_URL_CODEDEPLOY"] = self.codedeploy_url
        environment.set(self.env)
        native = self._make_native_ecs(runner)
        if native is not None:
            yield Step("native ECS clients", lambda: None, self._close_native_clients)
            yield native
            self.native_ecs, self.native_ecs_url = native, native.url
            # The CLI, the hooks and the AWS CLI reach ECS through it (it passes the rest to moto).
            self.env["AWS_ENDPOINT_URL_ECS"] = self.native_ecs_url
            environment.set(self.env)
        # Stopped before the emulators: running hooks end first, and none starts after.
        yield Step("Lambda runner", self._redirect_hook_logs, self._stop_runner)
        yield Step("event targets' Lambda runner", self._event_runner, self._stop_event_runner)
        # Delivers to the event targets' runner: stops before it (events still waiting are dropped).
        yield Step("event bus", self.events.start, self.events.stop)
        yield Step("clients", self.clients, self._close_clients)
        # Routers bind first: each listener is created in moto with the port its router got.
        yield Step("listener ports", self._bind_routers, self._close_routers)
        yield Step("provisioning", self._provision)
        yield Step("ledger", lambda: self._wire_ledger(ledger))
        clients = self.clients()
        writes = Writes(self.moto_url)  # the pollers reread moto only where it was written to
        self.load_balancer = LoadBalancer(
            self.infra,
            clients.elbv2,
            self.clock,
            self.store,
            states_path=self.target_health_path,
            ruled_listeners=[arn for item in self.infra for arn in item.ruled_listener_arns],
            writes=writes,
        )
        self.fleet = Fleet(
            self.infra,
            clients.ecs,
            self.load_balancer,
            self.clock,
            self.store,
            self.faults,
            native_task_sets=native.task_sets if native is not None else None,
            # the ECS endpoint's task book: ListTasks / DescribeTasks and the service's events
            native_tasks=getattr(native, "tasks", None),
            unhealthy_grace=HEALTH_CHECK.grace,
            writes=writes,
        )
        yield self.fleet  # its first reconcile registers the original tasks, healthy
        yield self.load_balancer  # listener weights first, then its poller and health checks
        yield Step("listeners", self._serve_listeners, lambda: stop_servers(list(self.routers.values())))
        publisher = MetricsPublisher(
            self.store, clients.cloudwatch, self.clock, self._sample_gauges, sample_every=GAUGE_INTERVAL
        )
        yield Step("metric history", lambda: self._publish_history(publisher))
        yield publisher
        alarm_names = [name for item in self.infra for name in item.alarm_names]
        self.evaluator = AlarmEvaluator(
            clients.cloudwatch,
            self.store,
            self.clock,
            alarm_names,
            tick=self.options.evaluator_tick,
            writes=writes,
        )
        yield self.evaluator
        self.traffic = TrafficGenerator(
            {item.name: item.production_port for item in self.infra},
            self.clock,
            rate=self.traffic_rate,
            path=self.options.traffic_path,
        )
        yield self.traffic
        if self.options.narrate is not None:
            yield Narrator(self._sightings(), self.clock, self.options.narrate)

    # --- what the components are made of ---------------------------------------------------------------

    def _make_work_folder(self) -> None:
        self.log_dir = Path(tempfile.mkdtemp(prefix="bluegreen-sandbox-"))
        self.log_path = self.log_dir / "hooks.log"
        self._log_stream = self.log_path.open("a", encoding="utf-8")
        self.target_health_path = self.log_dir / "target-health.json"

    def _lambda_runner(self) -> LambdaRunner:
        account_id = self.services[0].account_id or "123456789012"
        return LambdaRunner(
            handlers_for(self.services),
            self.region,
            account_id,
            log_stream=self._log_stream,
            before_invoke=self._sync_fleet,
            logs_client=lambda: sandbox_client_factory(self.region)("logs", self.moto_url),
            clock=self.clock,
            retry_attempts=retry_attempts_for(self.services, TEMPLATE),
        )

    def _make_native_ecs(self, runner: LambdaRunner) -> NativeEcsEndpoint | None:
        """The native ECS emulator on this world's moto and clock: hooks run through the runner's
        synchronous invocation, after the world's settle step (``_sync_fleet``), as for CodeDeploy."""
        factory = self.options.native_ecs or default_native_ecs()
        if factory is None:
            return None
        make = sandbox_client_factory(self.region)
        elbv2, cloudwatch = make("elbv2", self.moto_url), make("cloudwatch", self.moto_url)
        self._native_clients = [elbv2, cloudwatch]
        return factory(
            moto_url=self.moto_url,
            clock=self.clock,
            invoke=runner.invoke_sync,
            elbv2=elbv2,
            cloudwatch=cloudwatch,
            before_hook=self._sync_fleet,
            publish=self.events.publish,
        )

    def _close_native_clients(self) -> None:
        clients, self._native_clients = self._native_clients, []
        for client in clients:
            client.close()

    def _redirect_hook_logs(self) -> None:
        assert self._log_stream is not None
        redirect_stdout_logging(self._log_stream)

    def _event_runner(self) -> None:
        """The runner of the rules' targets: asynchronous invocations (EventBridge's), retried as
        Lambda retries them, no settle step (they are no deployment hooks)."""
        account_id = self.services[0].account_id or "123456789012"
        self.event_runner = LambdaRunner(
            {}, self.region, account_id, log_stream=self._log_stream, clock=self.clock
        )

    def _stop_event_runner(self) -> None:
        if self.event_runner is not None:
            self.event_runner.join(5.0)
            self.event_runner.close()

    def _stop_runner(self) -> None:
        """Running hooks end (none starts any more), then the runner closes and the hooks' cached
        clients, which point at this world's endpoints, go."""
        assert self.runner is not None
        try:
            self.runner.join(5.0)
            self.runner.close()
        finally:
            _drop_hook_clients()

    def _bind_routers(self) -> None:
        for service in self.services:
            for route in ("production", "test"):
                router = Router(f"{service.name}-{route}", None, self.store, self.clock)
                self.routers[f"{service.name}:{route}"] = router

    def _close_routers(self) -> None:
        for router in self.routers.values():
            router.server_close()

    def _provision(self) -> None:
        ports = {
            s.name: ListenerPorts(
                self.routers[f"{s.name}:production"].port, self.routers[f"{s.name}:test"].port
            )
            for s in self.services
        }
        self.infra = provision(self.clients(), self.catalog, self.services, ports)

    def _wire_ledger(self, ledger: LedgerResources) -> None:
        """Once the ledger's table and topic exist (services.yaml names them for dev and prod),
        template.yaml's EventBridge rules with their Lambda targets (the ledger function) on the bus."""
        self.topics = ledger.wait()
        if ledger.configured:
            self._route_events()

    def _route_events(self) -> None:
        """A rule per template rule whose function's handler is here (a test's stand-in first)."""
        assert self.event_runner is not None
        runner, stand_ins = self.event_runner, self.options.event_handlers or {}
        for rule in template_rules(TEMPLATE, self.environment):
            handler = stand_ins.get(rule.handler) or handler_of(rule.handler)
            if handler is None:  # the function's code is not in this tree
                continue
            runner.add_function(rule.function_name, handler, rule.max_retry_attempts)
            self.events.put_rule(
                rule.name, rule.pattern, functools.partial(runner.invoke_event, rule.function_name)
            )
            self.event_rules.append(rule)

    def settle_events(self, timeout: float = 30.0) -> bool:
        """Wait (real seconds) until every event published so far is delivered and the Lambda
        invocations it started are done (tests read the ledger after this)."""
        deadline = time.monotonic() + timeout
        delivered = self.events.drain(timeout)
        runner = self.event_runner
        idle = runner is None or runner.wait_idle(max(0.0, deadline - time.monotonic()))
        return delivered and idle

    def _serve_listeners(self) -> None:
        for item in self.infra:
            for route, arn in (
                ("production", item.production_listener_arn),
                ("test", item.test_listener_arn),
            ):
                router = self.routers[f"{item.name}:{route}"]
                router.balancer = self.load_balancer
                router.listener_arn = arn
                router.load_balancer_dimension = item.load_balancer_dimension
                router.start()

    def _publish_history(self, publisher: MetricsPublisher) -> None:
        """The services have been running before the world starts: their healthy history."""
        assert self.load_balancer is not None and self.fleet is not None
        self.load_balancer.backfill(HISTORY_SECONDS, self.traffic_rate)
        self.fleet.backfill(HISTORY_SECONDS, self.traffic_rate)
        publisher.publish_history(HISTORY_SECONDS)

    def _sample_gauges(self, now: float) -> None:
        assert self.load_balancer is not None and self.fleet is not None
        self.load_balancer.sample(now)
        self.fleet.sample(now)

    def _sightings(self) -> Sightings:
        """What the narrator tells, from the components that see it."""
        assert self.evaluator and self.load_balancer and self.fleet and self.traffic
        balancer: LoadBalancer = self.load_balancer
        return Sightings(
            services=[item.name for item in self.infra],
            alarm_transitions=self.evaluator.history,
            health_changes=lambda: balancer.health_history,
            replacement_targets=self.fleet.replacement_targets,
            user_requests=self.traffic.snapshot,
        )

    def _sync_fleet(self) -> None:
        """Before a hook runs (CodeDeploy's, and Amazon ECS's through the native emulator's
        ``before_hook``): the fleet runs the task sets moto and the emulator have, the load
        balancer knows where its listeners forward, and, as CodeDeploy's Install waits for the
        replacement task set to be steady, no new target is still ``initial``: its health checks
        have made it healthy or unhealthy (AfterInstall then sees which)."""
        fleet = self.fleet
        if fleet is None:
            return
        for attempt in range(SYNC_ATTEMPTS):  # moto busy (a loaded machine): the hook must not run
            try:  # before the fleet has seen the task set it checks
                fleet.reconcile()
                if self.load_balancer is not None:
                    self.load_balancer.refresh_listeners()
                break
            except Exception:
                fleet.errors += 1
                if attempt + 1 < SYNC_ATTEMPTS and not fleet.stopping:
                    time.sleep(0.2)
        settle_by = self.clock.now() + HEALTH_CHECK.grace + 2 * HEALTH_CHECK.interval
        while fleet.settling() and self.clock.now() < settle_by and not fleet.stopping:
            time.sleep(0.02)
        # a native task whose target the verdict made unhealthy is stopped before the hook looks
        # (a stand-in fleet without native tasks has nothing to check)
        check_native_health = getattr(fleet, "check_native_health", None)
        if check_native_health is not None:
            check_native_health()

    def _remove_files(self) -> None:
        """The world's temporary folder goes, except ``hooks.log`` when ``keep_hook_log`` (a failed
        deployment: the failure names that file)."""
        if self._log_stream is not None:
            self._log_stream.close()
        log_dir = self.log_dir
        if log_dir is None:
            return
        if self.keep_hook_log and self.log_path is not None and self.log_path.exists():
            for path in log_dir.iterdir():
                if path != self.log_path:
                    path.unlink(missing_ok=True)
            return
        shutil.rmtree(log_dir, ignore_errors=True)

    # --- environment -------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **SANDBOX_CREDENTIALS,
            "AWS_EC2_METADATA_DISABLED": "true",
            "BLUEGREEN_CATALOG": str(self.catalog.path),
            # The hooks' own environment, as template.yaml sets it: an ECS hook finds its service by
            # cluster and name, which dev and prod share (hooks.settings.service_for_ecs).
            "BLUEGREEN_ENVIRONMENT": self.environment,
            "BLUEGREEN_LISTENER_HOST": LOOPBACK,
            HOOK_LOG_ENV_VAR: str(self.log_path),  # the CLI names it when a hook failed
            "BLUEGREEN_TIME_SCALE": f"{self.options.time_scale:g}",
            "POWERTOOLS_SERVICE_NAME": "bluegreen-hooks",
            "POWERTOOLS_METRICS_NAMESPACE": "bluegreen",
            "POWERTOOLS_METRICS_DISABLED": "true",  # EMF goes to stdout; the CLI's stdout is the user's
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        return env

    def clients(self) -> Clients:
        """boto3 clients for this world (moto, and the emulator for codedeploy); closed when it stops."""
        if self._clients is not None:
            return self._clients
        make = sandbox_client_factory(self.region)
        made = {name: make(name, self.moto_url) for name in ("ec2", "iam", "ecs", "elbv2", "cloudwatch")}
        made["codedeploy"] = make("codedeploy", self.codedeploy_url)
        if self.native_ecs_url:  # ecs-engine services are created through the ECS endpoint
            made["native_ecs"] = make("ecs", self.native_ecs_url)
        self._clients = Clients(**made)
        return self._clients

    def _close_clients(self) -> None:
        """Their keep-alive connections hold the servers' threads open."""
        clients, self._clients = self._clients, None
        if clients is not None:
            for client in vars(clients).values():
                if client is not None:
                    client.close()


def _drop_hook_clients() -> None:
    """The in-process hooks cache boto3 clients per endpoint, as a warm Lambda container does; the
    world's endpoints are gone, so drop them and let their keep-alive connections close."""
    import gc

    try:
        from hooks.clients import forget_clients
    except ImportError:
        return
    forget_clients()
    gc.collect()


def narrate_stream() -> IO[str] | None:
    """stderr when BLUEGREEN_SANDBOX_NARRATE is set (the demo sets it), else None."""
    return sys.stderr if os.environ.get(NARRATE_ENV_VAR, "").strip() not in ("", "0", "false") else None


@contextmanager
def sandbox_environment(
    catalog: Catalog | str | os.PathLike[str] | None,
    environment: str | None,
    services: list[str],
    time_scale: float | None = None,
    faults: Any = None,
    engine: EngineName | None = None,
) -> Iterator[dict[str, str]]:
    """Start a world for ``services`` and yield the environment variables that point at it.

    The world's temporary folder (``<tmp>/bluegreen-sandbox-*``) is removed at the end, except its
    ``hooks.log`` when the body raised (a deployment that failed, timed out or was interrupted).
    ``time_scale``: None for DEFAULT_TIME_SCALE. ``faults``: None, a spec (``"error_rate=0.3"``), a
    list of specs (``--inject-fault`` given several times), a knob mapping (``{"error_rate": 0.3}``),
    a ``Fault``, or a mapping service -> any of those; it applies to replacement (green) task sets only.
    ``engine``: provision the services for this engine instead of the catalog's (``deploy --engine``).
    """
    options = WorldOptions(
        time_scale=time_scale or DEFAULT_TIME_SCALE, narrate=narrate_stream(), engine=engine
    )
    with World(catalog, environment, services, faults, options) as world:
        try:
            yield dict(world.env)
        except BaseException:  # failed, timed out or interrupted: its hooks.log says what the hooks saw
            world.keep_hook_log = True
            raise
