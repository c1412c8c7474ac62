"""Thin adapters to the AWS resources CodeDeploy touches, served by moto: ECS task sets, ELBv2
listener weights, CloudWatch alarm states, Lambda aliases. Each takes a boto3 client."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from sandbox.codedeploy.vocabulary import ALARM_STATE
from sandbox.moto_server import sandbox_client_factory


class MotoClients:
    """boto3 clients for moto at ``endpoint`` (moto's fake credentials, few retries), made on first use."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint
        self.region = region
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._make: Callable[[str, str], Any] | None = None

    def __getitem__(self, name: str) -> Any:
        with self._lock:
            if name not in self._clients:
                if self._make is None:
                    self._make = sandbox_client_factory(self.region)
                self._clients[name] = self._make(name, self.endpoint)
            return self._clients[name]


# --- ECS -------------------------------------------------------------------------------------------


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any] | None:
    """The ECS service (with its taskSets), or None when it does not exist or is not ACTIVE."""
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services") or []
    active = [s for s in found if s.get("status") == "ACTIVE"]
    return active[0] if active else None


def create_task_set(ecs: Any, cluster: str, service: str, request: dict[str, Any]) -> dict[str, Any]:
    """CreateTaskSet; returns the task set."""
    return dict(ecs.create_task_set(cluster=cluster, service=service, **request)["taskSet"])


def set_primary_task_set(ecs: Any, cluster: str, service: str, task_set_arn: str) -> None:
    ecs.update_service_primary_task_set(cluster=cluster, service=service, primaryTaskSet=task_set_arn)


def delete_task_set(ecs: Any, cluster: str, service: str, task_set_arn: str) -> None:
    """DeleteTaskSet, forced (CodeDeploy removes it whatever its scale); gone already is fine."""
    with contextlib.suppress(ecs.exceptions.TaskSetNotFoundException):
        ecs.delete_task_set(cluster=cluster, service=service, taskSet=task_set_arn, force=True)


# --- ELBv2 -----------------------------------------------------------------------------------------


def target_group_arns(elbv2: Any, names: list[str]) -> dict[str, str]:
    """Target group name -> ARN."""
    groups = elbv2.describe_target_groups(Names=names)["TargetGroups"]
    return {g["TargetGroupName"]: g["TargetGroupArn"] for g in groups}


def listener_weights(elbv2: Any, listener_arn: str) -> dict[str, int]:
    """The listener's default forward action as target group ARN -> weight."""
    listener = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
    weights: dict[str, int] = {}
    for action in listener.get("DefaultActions") or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            for group in groups:
                weights[group["TargetGroupArn"]] = int(group.get("Weight", 1))
        elif action.get("TargetGroupArn"):
            weights[action["TargetGroupArn"]] = 1
    return weights


def set_listener_weights(elbv2: Any, listener_arn: str, weights: dict[str, int]) -> None:
    """ModifyListener: one forward action over the target groups with these weights."""
    groups = [{"TargetGroupArn": arn, "Weight": int(weight)} for arn, weight in weights.items()]
    elbv2.modify_listener(
        ListenerArn=listener_arn,
        DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
    )


# --- CloudWatch ------------------------------------------------------------------------------------


def alarms_in_alarm(cloudwatch: Any, names: list[str]) -> list[str]:
    """Names of the given alarms whose state is ALARM."""
    if not names:
        return []
    found: list[str] = []
    for start in range(0, len(names), 100):
        response = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])
        for kind in ("MetricAlarms", "CompositeAlarms"):
            found += [a["AlarmName"] for a in response.get(kind, []) if a.get("StateValue") == ALARM_STATE]
    return found


# --- Lambda ----------------------------------------------------------------------------------------


def get_alias(lambda_client: Any, function: str, alias: str) -> dict[str, Any]:
    return dict(lambda_client.get_alias(FunctionName=function, Name=alias))


def route_alias(
    lambda_client: Any, function: str, alias: str, current: str, target: str, percent: int
) -> None:
    """Point the alias at ``current`` with ``percent`` % on ``target`` (at 100 %: on ``target`` alone)."""
    if percent >= 100:
        lambda_client.update_alias(
            FunctionName=function,
            Name=alias,
            FunctionVersion=target,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
    elif percent <= 0:
        lambda_client.update_alias(
            FunctionName=function,
            Name=alias,
            FunctionVersion=current,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
    else:
        lambda_client.update_alias(
            FunctionName=function,
            Name=alias,
            FunctionVersion=current,
            RoutingConfig={"AdditionalVersionWeights": {target: percent / 100.0}},
        )
