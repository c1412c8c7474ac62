"""`pip install .` without `[sandbox]`: --sandbox and `sandbox serve` say which extra to install, at once."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli

CATALOG = str(Path(__file__).resolve().parents[2] / "services.yaml")


@pytest.fixture
def without_moto(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """moto as absent as after `pip install .` (None in sys.modules: find_spec and import both miss it);
    the sandbox's entry points record a start instead of starting anything."""
    import sandbox.serve
    import sandbox.world

    started: list[str] = []

    def start(*args: Any, **kwargs: Any) -> Any:
        started.append("sandbox")
        raise RuntimeError("the sandbox was started without moto")

    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.setattr(sandbox.world, "sandbox_environment", start)
    monkeypatch.setattr(sandbox.serve, "serve", start)
    return started


@pytest.mark.parametrize(
    ("args", "who"),
    [
        (("deploy", "product-service", "--sandbox"), "--sandbox"),
        (("deploy", "product-service", "--sandbox", "--output", "json"), "--sandbox"),
        (("sandbox", "serve", "--env", "prod"), "bluegreen sandbox serve"),
    ],
)
def test_missing_sandbox_extra_is_one_line_exit_2_at_once(
    without_moto: list[str], args: tuple[str, ...], who: str
) -> None:
    started = time.monotonic()
    result = run_cli("--catalog", CATALOG, *args)
    assert time.monotonic() - started < 5
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: {who} needs the sandbox extra (moto not installed): "
        "pip install 'bluegreen[sandbox]' (from a clone: pip install -e '.[sandbox]')"
    ]
    assert without_moto == []


def test_installed_extra_is_not_reported_missing() -> None:
    from orchestrator.commands.sandbox_extra import missing_modules

    assert missing_modules() == []


def test_only_the_door_knows_a_sandbox_name() -> None:
    """orchestrator/ and hooks/ spell no BLUEGREEN_SANDBOX_* variable outside sandbox_extra.py."""
    import ast
    import io
    import tokenize

    repo = Path(__file__).resolve().parents[2]
    door = repo / "orchestrator" / "commands" / "sandbox_extra.py"
    spelled = {}
    for path in [*(repo / "orchestrator").rglob("*.py"), *(repo / "hooks").rglob("*.py")]:
        for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if token.type != tokenize.STRING:
                continue
            try:
                value = ast.literal_eval(token.string)
            except (ValueError, SyntaxError):
                continue  # an f-string
            if isinstance(value, str) and value.startswith("BLUEGREEN_SANDBOX_"):
                spelled[str(path.relative_to(repo))] = value
    assert spelled == {str(door.relative_to(repo)): "BLUEGREEN_SANDBOX_HOOK_LOG"}
