"""`bluegreen drill`'s bad input: refused before any AWS call, one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main

CATALOG = str(Path(__file__).resolve().parents[2] / "services.yaml")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--env", "prod"], "prod is a production environment"),
        (["--env", "dev", "--fault", "latency"], "valid faults are alarm, hook"),
        (["--env", "dev", "--alarm", "nope"], "--alarm 'nope' is not one of product-service's alarms"),
        (["--env", "dev", "--strategy", "all-at-once"], "a drill breaks the release while traffic shifts"),
    ],
)
def test_refused_with_one_line_exit_2(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail (exit 4)
    code = main(["drill", "product-service", "--catalog", CATALOG, *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err and len(err.strip().splitlines()) == 1, err
