"""Deployment engines behind one interface (``base.Engine``); ``engine_for`` chooses one, once.

Imports nothing heavy: the Lambda package carries ``orchestrator/`` and must not load boto3 here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.catalog import ResolvedService
    from orchestrator.engines.base import Engine


def engine_for(service: ResolvedService | None, clients: Any) -> Engine:
    """The engine that runs ``service``'s deployments (None: a deployment known only by its id).

    CodeDeploy is the only engine today; the catalog's per-service choice comes with the second.
    """
    from orchestrator.engines.codedeploy import CodeDeployEngine

    return CodeDeployEngine(clients)
