"""Deployment engines behind one interface (``base.Engine``); ``engine_for`` chooses one, once.

Imports nothing heavy: the Lambda package carries ``orchestrator/`` and must not load boto3 here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from orchestrator.vocabulary import EngineName

if TYPE_CHECKING:
    from orchestrator.catalog import ResolvedService
    from orchestrator.engines.base import Engine


# A CodeDeploy deployment id, and an ECS service deployment's ARN
# (arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>; partitions aws,
# aws-cn, aws-us-gov, ...). Service, cluster and id: letters, digits, - and _ (ECS's names).
CODEDEPLOY_DEPLOYMENT_ID = re.compile(r"d-[A-Z0-9]{9}")
SERVICE_DEPLOYMENT_ARN = re.compile(
    r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service-deployment/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+"
)


def engine_name_of(deployment_id: str) -> EngineName | None:
    """The engine whose deployment ``deployment_id`` names, by its form (None: neither form)."""
    if CODEDEPLOY_DEPLOYMENT_ID.fullmatch(deployment_id):
        return EngineName.CODEDEPLOY
    if SERVICE_DEPLOYMENT_ARN.fullmatch(deployment_id):
        return EngineName.ECS
    return None


def engine_for(owner: ResolvedService | str, clients: Any) -> Engine:
    """The engine of ``owner``: a catalog service (the engine its settings name: the catalog's
    ``engine``, or ``deploy --engine`` for one run) or a deployment id (the engine whose
    deployment it is, known by the id's form: ``d-...`` CodeDeploy, a service deployment ARN ECS).
    """
    if isinstance(owner, str):
        name = engine_name_of(owner) or EngineName.CODEDEPLOY
    else:
        name = EngineName(owner.settings.engine)
    if name is EngineName.ECS:
        from orchestrator.engines.ecs import EcsEngine

        return EcsEngine(clients)
    from orchestrator.engines.codedeploy import CodeDeployEngine

    return CodeDeployEngine(clients)
