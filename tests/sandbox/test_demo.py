"""make demo shows each rehearsal as it happens, not all at once when it is over."""

from __future__ import annotations

import sys
import time

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
