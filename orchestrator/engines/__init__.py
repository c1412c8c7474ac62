"""Deployment engines behind one interface (``base.Engine``); ``engine_for`` chooses one, once.

Imports nothing heavy: the Lambda package carries ``orchestrator/`` and must not load boto3 here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.catalog import ResolvedService
    from orchestrator.engines.base import Engine


def engine_for(owner: ResolvedService | str, clients: Any) -> Engine:
    """The engine of ``owner``: a catalog service (the engine that runs its deployments) or a
    deployment id (the engine whose deployment it is, known by the id's form).

    CodeDeploy is the only engine today; the catalog's per-service choice and ECS's service
    deployment ARNs come with the second.
    """
    from orchestrator.engines.codedeploy import CodeDeployEngine

    return CodeDeployEngine(clients)
