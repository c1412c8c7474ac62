"""Test support for the ledger Lambda: the ECS fake's briefs as ECS lists them."""

from __future__ import annotations

from typing import Any

from tests.support.fakes import FakeEcs


class LedgerEcs(FakeEcs):
    """FakeEcs whose ListServiceDeployments briefs carry ``startedAt`` and ``finishedAt`` when the
    service deployment has them, as ECS's do (botocore's ECS model, ServiceDeploymentBrief)."""

    def list_service_deployments(
        self, service: str, cluster: str = "default", **request: Any
    ) -> dict[str, Any]:
        page = super().list_service_deployments(service, cluster, **request)
        for brief in page["serviceDeployments"]:
            stored = self.service_deployments[brief["serviceDeploymentArn"]]
            brief.update({k: stored[k] for k in ("startedAt", "finishedAt") if stored.get(k) is not None})
        return page
