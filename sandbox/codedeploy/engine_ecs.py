"""ECS blue/green on moto: the replacement task set, the test listener, the production listener's
weights step by step, the Ready wait, the primary switch and the termination wait.

moto 5.2.5 limits planned around: CreateTaskSet with a ``scale`` launches tasks, and launching crashes
inside moto (HTTP 500) for an awsvpc task definition (a network interface without ``private_dns_name``)
and, at any scale (even 0 %), for container definitions without ``memory`` (the usual Fargate shape:
moto sums the containers' memory). Without ``scale`` moto launches nothing and creates the task set at
ECS's default 100 %, which is also what CodeDeploy asks for. So the replacement task set is created
without ``scale``, and the emulator reports the service's desiredCount as its desired/running counts in
GetDeploymentTarget's taskSetsInfo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.codedeploy import lifecycle, resources
from sandbox.codedeploy.appspec import network_configuration_for_ecs, render_ecs_appspec, sha256_of
from sandbox.codedeploy.engine import DeploymentRun
from sandbox.codedeploy.errors import EngineAbort
from sandbox.codedeploy.lifecycle import EndCause
from sandbox.codedeploy.model import DeploymentStatus, LifecycleEvent, Target
from sandbox.codedeploy.traffic import split_weights
from sandbox.codedeploy.vocabulary import (
    ALLOW_TEST_TRAFFIC,
    ALLOW_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    BEFORE_BLOCK_TRAFFIC,
    BLOCK_TRAFFIC,
    INSTALL,
)


def _abort(message: str, code: str) -> EngineAbort:
    return EngineAbort(EndCause.AWS_ERROR, message, code)


def _target_group_of(task_set: dict[str, Any]) -> str | None:
    balancers = task_set.get("loadBalancers") or []
    return balancers[0].get("targetGroupArn") if balancers else None


def _serving(task_sets: list[dict[str, Any]], target_group_arn: str) -> dict[str, Any] | None:
    """The original task set: the one behind the original target group (PRIMARY first), else PRIMARY."""
    ordered = sorted(task_sets, key=lambda t: t.get("status") != "PRIMARY")
    behind = [t for t in ordered if _target_group_of(t) == target_group_arn]
    primary = [t for t in ordered if t.get("status") == "PRIMARY"]
    found = behind or primary
    return found[0] if found else None


class EcsRun(DeploymentRun):
    """One ECS blue/green deployment."""

    platform = "ECS"

    def prepare(self) -> Target:
        spec = self.group_spec
        clients = self.ctx.clients
        ecs_service = (spec.get("ecsServices") or [{}])[0]
        self.cluster, self.service_name = (
            ecs_service.get("clusterName", ""),
            ecs_service.get("serviceName", ""),
        )
        try:
            service = resources.describe_service(clients["ecs"], self.cluster, self.service_name)
        except Exception as err:
            raise _abort(f"The ECS service could not be read: {err}", "INVALID_ECS_SERVICE") from None
        if service is None:
            raise _abort(
                f"The ECS service {self.service_name} in cluster {self.cluster} does not exist.",
                "INVALID_ECS_SERVICE",
            )
        self.service = service
        pair = ((spec.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}])[0]
        names = [g["name"] for g in pair.get("targetGroups") or []]
        self.prod_listener = ((pair.get("prodTrafficRoute") or {}).get("listenerArns") or [""])[0]
        self.test_listener = ((pair.get("testTrafficRoute") or {}).get("listenerArns") or [None])[0]
        try:
            arns = resources.target_group_arns(clients["elbv2"], names)
            weights = resources.listener_weights(clients["elbv2"], self.prod_listener)
        except Exception as err:
            raise _abort(
                f"The load balancer configuration could not be read: {err}", "ELASTIC_LOAD_BALANCING_INVALID"
            ) from None
        if len(arns) != 2:
            raise _abort("The deployment group needs two target groups.", "ELASTIC_LOAD_BALANCING_INVALID")
        # The original is the target group production forwards to now; the other one gets the replacement.
        by_weight = sorted(names, key=lambda n: (-weights.get(arns[n], 0), names.index(n)))
        self.original_tg, self.replacement_tg = by_weight[0], by_weight[1]
        self.original_arn, self.replacement_arn = arns[self.original_tg], arns[self.replacement_tg]
        self.original_task_set = _serving(service.get("taskSets") or [], self.original_arn)
        self.replacement_task_set: dict[str, Any] | None = None
        self.primary_switched = False
        self.desired = int(service.get("desiredCount") or 0)
        now = self.ctx.clock.now()
        target = Target(
            target_id=f"{self.cluster}:{self.service_name}",
            target_arn=service["serviceArn"],
            kind="ECSTarget",
            lifecycle_events=[LifecycleEvent(name) for name in lifecycle.ECS_EVENTS],
            last_updated=now,
        )
        if self.original_task_set is not None:
            target.task_sets.append(
                self._task_set_info(self.original_task_set, self.original_tg, "Blue", 100.0)
            )
        return target

    def _task_set_info(
        self, task_set: dict[str, Any], tg_name: str, label: str, weight: float
    ) -> dict[str, Any]:
        return {
            "identifer": task_set["id"],  # sic: CodeDeploy's member name
            "desiredCount": self.desired,
            "pendingCount": 0,
            "runningCount": self.desired,
            "status": task_set.get("status", "ACTIVE"),
            "trafficWeight": weight,
            "targetGroup": {"name": tg_name},
            "taskSetLabel": label,
        }

    def _show_weights(self, replacement_percent: float) -> None:
        with self.ctx.store.lock:
            target = self.dep.target
            assert target is not None
            for info in target.task_sets:
                green = info["taskSetLabel"] == "Green"
                info["trafficWeight"] = float(replacement_percent if green else 100 - replacement_percent)
            self.touch()

    def action(self, event: str) -> Callable[[], None] | None:
        return {
            INSTALL: self.install,
            ALLOW_TEST_TRAFFIC: self.allow_test_traffic,
            ALLOW_TRAFFIC: self.allow_traffic,
            BEFORE_BLOCK_TRAFFIC: self.switch_primary,
            BLOCK_TRAFFIC: self.terminate_original,
        }.get(event)

    def before_event(self, event: str) -> None:
        if event == BEFORE_ALLOW_TRAFFIC:
            self.ready_wait()

    def install(self) -> None:
        """The replacement task set, behind the replacement target group, with 0 % of traffic."""
        ecs, elbv2, ecs_spec = self.ctx.clients["ecs"], self.ctx.clients["elbv2"], self.appspec.ecs
        assert ecs_spec is not None
        for stale in self.service.get("taskSets") or []:
            # left behind the replacement target group by a deployment that ended without rollback
            if (
                stale is not self.original_task_set
                and stale.get("status") != "PRIMARY"
                and _target_group_of(stale) != self.original_arn
            ):
                resources.delete_task_set(ecs, self.cluster, self.service_name, stale["taskSetArn"])
        original = self.original_task_set or {}
        request: dict[str, Any] = {
            "taskDefinition": ecs_spec.task_definition,
            "externalId": self.dep.id,
            "loadBalancers": [
                {
                    "targetGroupArn": self.replacement_arn,
                    "containerName": ecs_spec.container_name,
                    "containerPort": ecs_spec.container_port,
                }
            ],
            # No scale: ECS's default (100 %), as CodeDeploy creates the replacement. moto 5.2.5 then
            # launches no task (see the module docstring), so it never crashes on the task definition.
        }
        network = (
            network_configuration_for_ecs(ecs_spec.network_configuration)
            or self.service.get("networkConfiguration")
            or original.get("networkConfiguration")
        )
        if network:
            request["networkConfiguration"] = network
        if ecs_spec.capacity_provider_strategy:
            request["capacityProviderStrategy"] = ecs_spec.capacity_provider_strategy
        else:
            request["launchType"] = self.service.get("launchType") or original.get("launchType") or "FARGATE"
        if ecs_spec.platform_version:
            request["platformVersion"] = ecs_spec.platform_version
        try:
            task_set = resources.create_task_set(ecs, self.cluster, self.service_name, request)
        except Exception as err:
            raise _abort(
                f"The replacement task set could not be created: {err}", "ECS_UPDATE_ERROR"
            ) from None
        self.replacement_task_set = task_set
        with self.ctx.store.lock:
            assert self.dep.target is not None
            self.dep.target.task_sets.append(self._task_set_info(task_set, self.replacement_tg, "Green", 0.0))
            self.touch()
        # CodeDeploy keeps a 0-weight forward to the replacement group on the production listener.
        weights = split_weights(self.original_arn, self.replacement_arn, 0)
        resources.set_listener_weights(elbv2, self.prod_listener, weights)
        if self.test_listener:
            resources.set_listener_weights(elbv2, self.test_listener, weights)

    def allow_test_traffic(self) -> None:
        if self.test_listener:
            weights = split_weights(self.original_arn, self.replacement_arn, 100)
            resources.set_listener_weights(self.ctx.clients["elbv2"], self.test_listener, weights)

    def ready_wait(self) -> None:
        """deploymentReadyOption STOP_DEPLOYMENT: status Ready until ContinueDeployment or the timeout."""
        seconds = lifecycle.ready_wait_seconds(self.group_spec.get("blueGreenDeploymentConfiguration"))
        if seconds is None:
            return
        self._set_status(DeploymentStatus.READY)
        continued = self.wait_for(seconds, lambda: self.dep.continue_ready)
        if not continued:
            raise EngineAbort(
                EndCause.READY_TIMEOUT,
                "The deployment timed out while waiting for traffic to be rerouted (deploymentReadyOption).",
            )
        self._set_status(DeploymentStatus.IN_PROGRESS)

    def allow_traffic(self) -> None:
        """Move the production listener's weights step by step as the deployment config says."""
        self.shift_traffic(self._shift_production)

    def _shift_production(self, percent: int) -> None:
        weights = split_weights(self.original_arn, self.replacement_arn, percent)
        resources.set_listener_weights(self.ctx.clients["elbv2"], self.prod_listener, weights)
        self._show_weights(percent)

    def switch_primary(self) -> None:
        ecs = self.ctx.clients["ecs"]
        assert self.replacement_task_set is not None
        resources.set_primary_task_set(
            ecs, self.cluster, self.service_name, self.replacement_task_set["taskSetArn"]
        )
        self.primary_switched = True
        with self.ctx.store.lock:
            assert self.dep.target is not None
            for info in self.dep.target.task_sets:
                info["status"] = "PRIMARY" if info["taskSetLabel"] == "Green" else "ACTIVE"
            self.touch()

    def terminate_original(self) -> None:
        """Keep the original task set for terminationWaitTimeInMinutes, then delete it."""
        bg = self.group_spec.get("blueGreenDeploymentConfiguration")
        with self.ctx.store.lock:
            self.dep.termination_wait_started = True
        self.wait_for(lifecycle.termination_wait_seconds(bg), lambda: self.dep.skip_termination_wait)
        if self.original_task_set is not None:
            resources.delete_task_set(
                self.ctx.clients["ecs"], self.cluster, self.service_name, self.original_task_set["taskSetArn"]
            )
        with self.ctx.store.lock:
            assert self.dep.target is not None
            self.dep.target.task_sets = [i for i in self.dep.target.task_sets if i["taskSetLabel"] == "Green"]
            self.touch()

    def restore_steps(self) -> dict[str, Callable[[], None]]:
        elbv2, ecs = self.ctx.clients["elbv2"], self.ctx.clients["ecs"]
        weights = split_weights(self.original_arn, self.replacement_arn, 0)

        def test_listener_back() -> None:
            if self.test_listener:
                resources.set_listener_weights(elbv2, self.test_listener, weights)

        def production_back() -> None:
            resources.set_listener_weights(elbv2, self.prod_listener, weights)
            self._show_weights(0)

        def primary_back() -> None:
            if self.primary_switched and self.original_task_set is not None:
                resources.set_primary_task_set(
                    ecs, self.cluster, self.service_name, self.original_task_set["taskSetArn"]
                )

        def replacement_removed() -> None:
            if self.replacement_task_set is not None:
                resources.delete_task_set(
                    ecs, self.cluster, self.service_name, self.replacement_task_set["taskSetArn"]
                )

        return {
            ALLOW_TEST_TRAFFIC: test_listener_back,
            ALLOW_TRAFFIC: production_back,
            BEFORE_BLOCK_TRAFFIC: primary_back,
            BLOCK_TRAFFIC: replacement_removed,
        }

    def restored(self) -> None:
        with self.ctx.store.lock:
            if self.dep.target is not None:
                self.dep.target.task_sets = [
                    i for i in self.dep.target.task_sets if i["taskSetLabel"] == "Blue"
                ]
                for info in self.dep.target.task_sets:
                    info["trafficWeight"], info["status"] = 100.0, "PRIMARY"
                self.touch()

    def has_changes(self) -> bool:
        return self.replacement_task_set is not None

    def rollback_revision(self) -> dict[str, Any]:
        ecs_spec = self.appspec.ecs
        if self.original_task_set is None or ecs_spec is None:
            return self.dep.revision
        content = render_ecs_appspec(
            self.original_task_set["taskDefinition"], ecs_spec.container_name, ecs_spec.container_port
        )
        return {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": sha256_of(content)},
        }

    def rollback_target(self, deployment_id: str) -> Target:
        now = self.ctx.clock.now()
        task_sets: list[dict[str, Any]] = []
        if self.original_task_set is not None:
            info = self._task_set_info(self.original_task_set, self.original_tg, "Blue", 100.0)
            info["status"] = "PRIMARY"
            task_sets.append(info)
        return Target(
            target_id=f"{self.cluster}:{self.service_name}",
            target_arn=self.service["serviceArn"],
            kind="ECSTarget",
            lifecycle_events=[LifecycleEvent(name) for name in lifecycle.ECS_EVENTS],
            last_updated=now,
            task_sets=task_sets,
        )
