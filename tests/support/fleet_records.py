"""A fleet run's record as the runner might write it, for the SSM record's size tests (unit and
sandbox): the plan's waves and each service's engine, image, wave and expected seconds."""

from __future__ import annotations

import hashlib
from typing import Any

RUN = "fr-20261130t0730z-3f9a"
# the example market's 16 services (services.yaml)
MARKET = [
    "auth",
    "user",
    "product",
    "order",
    "payment",
    "shipping",
    "seller",
    "settlement",
    "coupon",
    "inventory",
    "notification",
    "review",
    "search",
    "admin",
    "file",
    "stats",
]
REGISTRY = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market"


def fleet_run_document(services: int = 16, by_digest: bool = True) -> dict[str, Any]:
    """``services`` services (the market's 16, then numbered copies) in waves of 4; images named by
    digest (``@sha256:`` + 64 hex) or by tag."""
    names = [f"{MARKET[i % 16]}-service{i // 16 or ''}" for i in range(services)]

    def image(name: str) -> str:
        if by_digest:
            return f"{REGISTRY}/{name}@sha256:{hashlib.sha256(name.encode()).hexdigest()}"
        return f"{REGISTRY}/{name}:20261130-0730-3f9a1c2"

    return {
        "runId": RUN,
        "environment": "dev",
        "strategy": "canary10",
        "maxParallel": 4,
        "options": {"stopOnFailure": True, "continueOnFailure": False, "queueWaitMinutes": 30},
        "waves": [names[i : i + 4] for i in range(0, services, 4)],
        "services": {
            name: {"engine": "codedeploy", "image": image(name), "wave": i // 4 + 1, "expectedSeconds": 420.0}
            for i, name in enumerate(names)
        },
    }
