"""make demo shows each rehearsal as it happens, not all at once when it is over."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from sandbox.demo import stream


def test_stream_shows_lines_as_they_come(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[float, str]] = []

    class Terminal:
        def write(self, text: str) -> None:
            shown.append((time.monotonic(), text))

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", Terminal())
    script = "import sys, time; print('first', flush=True); time.sleep(1.0); print('second', file=sys.stderr)"
    started = time.monotonic()
    code, output = stream([sys.executable, "-c", script], {})
    ended = time.monotonic()
    assert code == 0 and output == "first\nsecond\n"
    assert [text for _, text in shown] == ["first\n", "second\n"]
    assert shown[0][0] - started < ended - started - 0.5  # "first" was on screen during the sleep


def test_demo_ends_by_saying_how_to_run_bluegreen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # make demo builds .venv but does not put it on PATH: `bluegreen` alone is "command not found".
    import sandbox.demo as demo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "run", lambda scenario, number: True)
    monkeypatch.setattr(demo.sys, "executable", str(tmp_path / ".venv" / "bin" / "python"))
    assert demo.main() == 0
    last = capsys.readouterr().out.strip().splitlines()[-2:]
    assert ". .venv/bin/activate" in last[0]
    assert ".venv/bin/bluegreen deploy" in last[1]


def test_readme_says_to_activate_the_venv_before_the_first_bluegreen_command() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    first_command = readme.index("$ bluegreen ")
    assert ". .venv/bin/activate" in readme[:first_command]
