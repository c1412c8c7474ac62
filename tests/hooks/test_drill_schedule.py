"""The scheduled drill Lambda (hooks/drill_schedule.py): the CLI's refusals hold, before any AWS call."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks.drill_schedule import run
from orchestrator.errors import BadInputError

CATALOG = str(Path(__file__).resolve().parents[2] / "services.yaml")


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"environment": "dev"}, "names no service"),
        ({"environment": "prod", "service": "product-service"}, "prod is a production environment"),
        ({"environment": "dev", "service": "product-service", "fault": "latency"}, "valid faults are"),
    ],
)
def test_refused_before_any_aws_call(
    event: dict[str, str], words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUEGREEN_CATALOG", CATALOG)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail otherwise
    with pytest.raises(BadInputError, match=words):
        run(event)
