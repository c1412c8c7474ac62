"""A catalog kept outside the repository finds its alarm definitions without $BLUEGREEN_ALARMS:
alarms/ beside it, or its own `alarms_dir:` (relative to it); the variable still overrides both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.alarms.definitions import load_definitions
from orchestrator.catalog import load_catalog
from orchestrator.errors import AlarmDefinitionError

REPO = Path(__file__).resolve().parents[2]


def copied_catalog(tmp_path: Path, alarms_key: str | None) -> Path:
    """services.yaml (and the task definitions it names) copied to tmp_path/team/, maybe with alarms_dir."""
    team = tmp_path / "team"
    team.mkdir()
    shutil.copytree(REPO / "task-definitions", team / "task-definitions")
    text = (REPO / "services.yaml").read_text(encoding="utf-8")
    if alarms_key is not None:
        text += f"\nalarms_dir: {alarms_key}\n"
    (team / "services.yaml").write_text(text, encoding="utf-8")
    return team / "services.yaml"


@pytest.mark.parametrize(
    ("alarms_key", "folder", "variable", "found_in"),
    [
        (None, "team/alarms", None, "team/alarms"),  # beside the catalog
        ("../shared/alarms", "shared/alarms", None, "shared/alarms"),  # the catalog's key
        ("../shared/alarms", "shared/alarms", "elsewhere", "elsewhere"),  # the variable wins
    ],
)
def test_alarm_definitions_resolve_relative_to_the_catalog(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    alarms_key: str | None,
    folder: str,
    variable: str | None,
    found_in: str,
) -> None:
    path = copied_catalog(tmp_path, alarms_key)
    for directory in {folder, found_in}:
        shutil.copytree(REPO / "alarms", tmp_path / directory)
    if variable is not None:
        monkeypatch.setenv("BLUEGREEN_ALARMS", str(tmp_path / variable))
    monkeypatch.chdir(REPO)  # the repository's own alarms/ is NOT what is found
    definitions = load_definitions(load_catalog(path))
    assert definitions.root.resolve() == (tmp_path / found_in).resolve()


def test_missing_definitions_say_every_way_to_point_at_them(tmp_path: Path) -> None:
    path = copied_catalog(tmp_path, None)
    with pytest.raises(AlarmDefinitionError) as raised:
        load_definitions(load_catalog(path))
    message = str(raised.value)
    assert "put alarms/ beside services.yaml" in message
    assert "alarms_dir: PATH" in message and "BLUEGREEN_ALARMS" in message
    assert "\n" not in message
