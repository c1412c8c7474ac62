"""Everything a hook's checks may use, resolved lazily: the deployment, its service, its listeners."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hooks import clients
from hooks.deployment import (
    DeploymentInfo,
    Listener,
    ReplacementTaskSet,
    TrafficRoutes,
    get_replacement_task_set,
    get_traffic_routes,
    load_balancer_dns_name,
    route_listener,
)
from hooks.service_view import ServiceView
from hooks.smoke import HttpApi, SmokeTarget, Urllib3Http
from hooks.timing import Deadline, VirtualTime
from orchestrator.errors import BadInputError

if TYPE_CHECKING:
    from orchestrator.aws.cloudwatch import CloudWatchApi
    from orchestrator.aws.elbv2 import Elbv2Api

_http_lock = threading.Lock()
_http: HttpApi | None = None


def shared_http() -> HttpApi:
    """One urllib3 pool per container (made on first use)."""
    global _http
    with _http_lock:
        if _http is None:
            _http = Urllib3Http()
        return _http


def utc_now() -> datetime:
    return datetime.now(UTC)


class HookContext:
    """One hook execution's view of its deployment; AWS reads happen only when a check asks."""

    def __init__(
        self,
        lifecycle_event: str,
        deployment: DeploymentInfo,
        service: ServiceView,
        deadline: Deadline,
        virtual: VirtualTime,
        client: Callable[[str], Any] = clients.client,
        http: Callable[[], HttpApi] = shared_http,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.lifecycle_event = lifecycle_event
        self.deployment = deployment
        self.service = service
        self.deadline = deadline
        self.virtual = virtual
        self.client = client
        self._http = http
        self.now = now

    @property
    def http(self) -> HttpApi:
        return self._http()

    @property
    def elbv2(self) -> Elbv2Api:
        """The ELBv2 client the checks read listeners and target health with."""
        elbv2: Elbv2Api = self.client("elbv2")
        return elbv2

    @property
    def cloudwatch(self) -> CloudWatchApi:
        """The CloudWatch client the checks read alarm states with."""
        cloudwatch: CloudWatchApi = self.client("cloudwatch")
        return cloudwatch

    @cached_property
    def routes(self) -> TrafficRoutes:
        """The deployment group's listeners and target group pair."""
        return get_traffic_routes(
            self.client("codedeploy"), self.deployment.application, self.deployment.deployment_group
        )

    @cached_property
    def replacement(self) -> ReplacementTaskSet:
        """The green task set: its target group and desired count."""
        return get_replacement_task_set(
            self.client("codedeploy"), self.elbv2, self.deployment.deployment_id, self.routes
        )

    def target_task_definition(self) -> str | None:
        """The task definition the deployment moves to, when a check must match it (CodeDeploy: not
        read; a drill's marker is in the deployment's own description)."""
        return None

    def route_listener(self, route: str) -> Listener:
        """The ``test`` or ``production`` listener: the deployment group's first of that route."""
        listeners = self.routes.test_listeners if route == "test" else self.routes.production_listeners
        return route_listener(self.elbv2, listeners, route)

    def smoke_target(self, route: str) -> SmokeTarget:
        """Where smoke checks go through the ``test`` or ``production`` listener: its port, on the
        listener's own load balancer (``hooks.smoke_hosts``); a refused host raises."""
        from hooks import smoke_hosts

        elbv2 = self.elbv2
        listener = self.route_listener(route)
        balancer = load_balancer_dns_name(elbv2, listener.load_balancer_arn)
        override = self.service.listener_host or None
        names = {smoke_hosts.normalize_host(name) for name in (balancer, override) if name}
        addresses = {
            name: smoke_hosts.resolve_addresses(name, listener.port, self.deadline.remaining())
            for name in sorted(names)
        }
        decision = smoke_hosts.decide_smoke_host(balancer, override, addresses)
        if not decision.allowed:
            raise SmokeHostRefusedError(f"{decision.reason} ({route} listener, port {listener.port})")
        return SmokeTarget(
            scheme=self.service.listener_scheme,
            host=decision.host,
            port=listener.port,
            allowed_host=decision.host,
            listener=route,
            # connect to an address the decision vetted: DNS cannot answer differently in between
            address=min(addresses.get(decision.host) or {decision.host}),
        )


class SmokeHostRefusedError(BadInputError):
    """The smoke host is not the deployment group's load balancer, or is link-local or metadata."""
