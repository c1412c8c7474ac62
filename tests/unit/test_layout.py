"""The source tree's shape (ARCHITECTURE.md's map): orchestrator/ is rooms, not one flat folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Issue 10: a concept with more than three modules gets its own folder; the top level stays small.
MAX_TOP_LEVEL_MODULES = 12


def test_orchestrator_has_at_most_twelve_top_level_modules() -> None:
    modules = sorted(path.name for path in (ROOT / "orchestrator").glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_every_room_is_a_package() -> None:
    rooms = [
        path for path in (ROOT / "orchestrator").iterdir() if path.is_dir() and path.name != "__pycache__"
    ]
    assert {room.name for room in rooms} >= {"alarms", "aws", "commands", "engines", "files", "watching"}
    for room in rooms:
        assert (room / "__init__.py").is_file(), room
