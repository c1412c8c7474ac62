"""What a run of deploys left in a sandbox world: deployments per request token, orphan revisions.

Read straight from moto and the CodeDeploy emulator (the world's own clients, never through a
throttling proxy), after the fact, so it counts what AWS would hold whatever the CLI reported:

- a *duplicate* is a request token (``bg:<12 hex>`` at the start of the description bluegreen
  writes) carried by more than one deployment that a user created (rollback deployments, created
  by ``codeDeployRollback``, copy nothing of ours);
- an *orphan* is an ACTIVE task definition revision registered after ``baseline`` that no
  deployment's AppSpec names: a revision bluegreen registered for a deployment that never came.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from orchestrator.engines.codedeploy_plan import TOKEN_PREFIX

_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"([0-9a-f]{12})")
# The AppSpec's TaskDefinition, in YAML (bluegreen's) or JSON (also YAML).
_TASK_DEFINITION = re.compile(r"TaskDefinition[\"']?\s*:\s*[\"']?(arn:aws:ecs:[^\s\"',]+)")


@dataclass(frozen=True)
class Ledger:
    """Deployments by request token and the revisions no deployment uses."""

    tokens: Counter[str]
    orphans: tuple[str, ...]
    deployments: int

    @property
    def duplicated(self) -> int:
        """Request tokens that made more than one deployment."""
        return sum(1 for count in self.tokens.values() if count > 1)


def active_revisions(ecs: Any) -> set[str]:
    """Every ACTIVE task definition revision (all families, every page)."""
    pages = ecs.get_paginator("list_task_definitions").paginate(status="ACTIVE")
    return {arn for page in pages for arn in page["taskDefinitionArns"]}


def _deployments(codedeploy: Any, application: str, group: str) -> list[dict[str, Any]]:
    ids: list[str] = []
    kwargs: dict[str, Any] = {"applicationName": application, "deploymentGroupName": group}
    while True:
        page = codedeploy.list_deployments(**kwargs)
        ids.extend(page.get("deployments", []))
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    infos: list[dict[str, Any]] = []
    for start in range(0, len(ids), 25):  # BatchGetDeployments takes 25 ids at most
        infos.extend(
            codedeploy.batch_get_deployments(deploymentIds=ids[start : start + 25])["deploymentsInfo"]
        )
    return infos


def _appspec(codedeploy: Any, application: str, info: dict[str, Any]) -> str:
    """A deployment's AppSpec text: GetApplicationRevision by its sha256, as deployment info
    leaves the content out (botocore's GetDeployment documentation)."""
    digest = ((info.get("revision") or {}).get("appSpecContent") or {}).get("sha256")
    if not digest:
        return ""
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}
    answer = codedeploy.get_application_revision(applicationName=application, revision=revision)
    return str(answer["revision"]["appSpecContent"].get("content", ""))


def read_ledger(codedeploy: Any, ecs: Any, groups: list[tuple[str, str]], baseline: set[str]) -> Ledger:
    """The ledger of ``groups`` ((application, deployment group) pairs) since ``baseline``."""
    tokens: Counter[str] = Counter()
    used: set[str] = set()
    count = 0
    for application, group in groups:
        for info in _deployments(codedeploy, application, group):
            count += 1
            used.update(_TASK_DEFINITION.findall(_appspec(codedeploy, application, info)))
            match = _TOKEN.match(str(info.get("description", "")))
            if match and info.get("creator", "user") == "user":
                tokens[match.group(1)] += 1
    orphans = tuple(sorted(active_revisions(ecs) - baseline - used))
    return Ledger(tokens=tokens, orphans=orphans, deployments=count)
