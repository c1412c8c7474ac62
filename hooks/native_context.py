"""A hook's view of an Amazon ECS native deployment: the same checks as on CodeDeploy, other reads.

``NativeHookContext`` is a ``HookContext`` whose green target group and listeners come from ECS
(``hooks.native_service``) instead of CodeDeploy's deployment group and target: the checks of
``hooks.handlers`` run unchanged on it. Loaded only when an ECS event arrives, so a CodeDeploy
hook's cold start does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any

from hooks import clients
from hooks.context import HookContext, shared_http, utc_now
from hooks.deployment import DeploymentInfo, Listener, ReplacementTaskSet
from hooks.native_event import NativeEvent, NativeOutcome
from hooks.native_service import (
    NativeService,
    describe_native_service,
    describe_revision,
    green_target_group_arn,
    revision_target_groups,
    rule_listener,
    target_group_name,
)
from hooks.service_view import ServiceView
from hooks.smoke import HttpApi
from hooks.timing import Deadline, VirtualTime

# ECS keeps no deployment description; a freeze override comes from the lifecycle hook's configured
# hookDetails under this key (``freeze-override: <reason>``, as in a CodeDeploy description).
DESCRIPTION_KEY = "description"


def deployment_of(event: NativeEvent, service: ServiceView) -> DeploymentInfo:
    """The deployment as the checks name it: the service deployment ARN (else the execution id)."""
    description = event.hook_details.get(DESCRIPTION_KEY)
    return DeploymentInfo(
        deployment_id=event.resource_arn or event.execution_id,
        application=service.application,
        deployment_group=service.deployment_group,
        description=description if isinstance(description, str) else "",
    )


class NativeHookContext(HookContext):
    """One ECS hook invocation's view of its deployment; AWS reads happen only when a check asks."""

    def __init__(
        self,
        lifecycle_event: str,
        event: NativeEvent,
        service: ServiceView,
        deadline: Deadline,
        virtual: VirtualTime,
        client: Callable[[str], Any] = clients.client,
        http: Callable[[], HttpApi] = shared_http,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(
            lifecycle_event, deployment_of(event, service), service, deadline, virtual, client, http, now
        )
        self.event = event

    @cached_property
    def ecs_service(self) -> NativeService:
        """The ECS service: its load balancer's target group pair and listener rules."""
        return describe_native_service(self.client("ecs"), self.service.cluster, self.service.ecs_service)

    @cached_property
    def target_revision(self) -> dict[str, Any] | None:
        """The target service revision (DescribeServiceRevisions, once)."""
        return describe_revision(self.client("ecs"), self.event.target_revision_arn)

    @cached_property
    def green_target_group_arn(self) -> str:
        """The pair member the target revision's tasks are in."""
        balancer = self.ecs_service.load_balancer
        return green_target_group_arn(balancer, revision_target_groups(self.target_revision))

    def target_task_definition(self) -> str | None:
        """The target service revision's task definition."""
        found = (self.target_revision or {}).get("taskDefinition")
        return found if isinstance(found, str) else None

    @cached_property
    def replacement(self) -> ReplacementTaskSet:
        """Green: the pair member the target revision's tasks are in, and the service's desired count."""
        arn = self.green_target_group_arn
        return ReplacementTaskSet(target_group_name(arn), self.ecs_service.desired_count)

    def route_listener(self, route: str) -> Listener:
        """The listener of the service's ``test`` or ``production`` listener rule."""
        balancer = self.ecs_service.load_balancer
        rule = balancer.test_listener_rule if route == "test" else balancer.production_listener_rule
        return rule_listener(self.elbv2, rule, route)


# A check on the ECS contract: what it found, as ECS's return value will say it.
NativeCheck = Callable[[NativeHookContext], NativeOutcome]
