"""Thin CodeDeploy adapters for alarms as code: list, read in batches and update deployment groups.

Apart from ``orchestrator.aws.codedeploy`` (deployments: the engine's) because the alarm room only
reads and writes a group's alarm and auto-rollback configuration. ``DeploymentGroupsApi`` is the
client surface used (a boto3 codedeploy client, or ``tests.support.fakes.FakeDeploymentGroups``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

from orchestrator.aws.clients import CallPolicy, chunked, cli_call

# BatchGetDeploymentGroups: "deploymentGroupNames ... Maximum number of 25 items" (CodeDeploy API).
BATCH_GET_DEPLOYMENT_GROUPS_MAX = 25

T = TypeVar("T")


class DeploymentGroupsApi(Protocol):
    """The CodeDeploy operations alarms as code calls (keyword arguments and answers as in boto3)."""

    def list_applications(self, **request: Any) -> Mapping[str, Any]: ...

    def list_deployment_groups(self, **request: Any) -> Mapping[str, Any]: ...

    def batch_get_deployment_groups(self, **request: Any) -> Mapping[str, Any]: ...

    def update_deployment_group(self, **request: Any) -> object: ...


def list_applications(codedeploy: DeploymentGroupsApi, call: CallPolicy = cli_call) -> list[str]:
    """Every CodeDeploy application name (ListApplications, all pages)."""
    names: list[str] = []
    request: dict[str, Any] = {}
    while True:
        page = call("listing CodeDeploy applications", partial(codedeploy.list_applications, **request))
        names.extend(page.get("applications", []))
        if not page.get("nextToken"):
            return names
        request["nextToken"] = page["nextToken"]


def list_deployment_groups(
    codedeploy: DeploymentGroupsApi, application: str, call: CallPolicy = cli_call
) -> list[str]:
    """Every deployment group name of one application (ListDeploymentGroups, all pages)."""
    names: list[str] = []
    request: dict[str, Any] = {"applicationName": application}
    while True:
        page = call(
            f"listing deployment groups of {application}",
            partial(codedeploy.list_deployment_groups, **request),
        )
        names.extend(page.get("deploymentGroups", []))
        if not page.get("nextToken"):
            return names
        request["nextToken"] = page["nextToken"]


def batch_get_deployment_groups(
    codedeploy: DeploymentGroupsApi, application: str, names: Sequence[str], call: CallPolicy = cli_call
) -> dict[str, dict[str, Any]]:
    """deploymentGroupsInfo by group name, 25 names a call; names that do not exist are absent."""
    found: dict[str, dict[str, Any]] = {}
    for batch in chunked(list(dict.fromkeys(names)), BATCH_GET_DEPLOYMENT_GROUPS_MAX):
        answer = call(
            f"reading deployment groups of {application}",
            partial(
                codedeploy.batch_get_deployment_groups,
                applicationName=application,
                deploymentGroupNames=batch,
            ),
        )
        for info in answer.get("deploymentGroupsInfo", []):
            found[info["deploymentGroupName"]] = dict(info)
    return found


def update_deployment_group(
    codedeploy: DeploymentGroupsApi, request: Mapping[str, Any], call: CallPolicy = cli_call
) -> None:
    """UpdateDeploymentGroup (only the members the request names change)."""
    where = f"{request.get('applicationName')}/{request.get('currentDeploymentGroupName')}"
    call(f"UpdateDeploymentGroup {where}", lambda: codedeploy.update_deployment_group(**request))
