"""`deploy --sandbox --engine`: the sandbox's world provisions the service on the engine asked for,
not the catalog's (the override is one run's, as on AWS it is the service's deployment controller
that differs). In-process, like the other `--sandbox` runs the CLI tests drive."""

from __future__ import annotations

import json

import pytest

from orchestrator.cli import main

pytestmark = pytest.mark.integration

# Which engine the world provisions for is not about timing: 100x, not the default 40x.
SCALE = 100.0


@pytest.mark.parametrize(
    ("service", "engine"),
    [
        ("product-service", "ecs"),  # codedeploy in the shipped catalog's dev
        ("inventory-service", "codedeploy"),  # ecs in the shipped catalog's dev
    ],
)
def test_sandbox_deploys_on_the_engine_asked_for(
    capsys: pytest.CaptureFixture[str], service: str, engine: str
) -> None:
    capsys.readouterr()
    code = main(
        [
            "deploy",
            service,
            "--sandbox",
            "--engine",
            engine,
            "--strategy",
            "all-at-once",
            "--time-scale",
            f"{SCALE:g}",
            "--output",
            "json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    document = json.loads(captured.out)
    assert document["engine"] == engine and document["status"] == "Succeeded", document
