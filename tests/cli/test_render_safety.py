"""`bluegreen render` never writes through a symbolic link, and catalog names cannot leave the repo."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.cli import run_cli, shown

APPSPEC = "product-service.dev.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped catalog (and its task definitions) in a folder, and a victim beside it."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO_ROOT / "services.yaml", root / "services.yaml")
    shutil.copytree(REPO_ROOT / "task-definitions", root / "task-definitions")
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(root / "services.yaml"))
    (tmp_path / "victim.txt").write_text("precious\n")
    return root


def _victim(repo: Path) -> Path:
    return repo.parent / "victim.txt"


def _assert_refused(repo: Path, args: list[str], names: str) -> None:
    result = run_cli(*args)
    assert result.code == 2, shown(result)
    assert result.stderr.count("\n") == 1 and names in result.stderr, shown(result)
    assert _victim(repo).read_text() == "precious\n"


def test_render_writes_the_appspec_and_leaves_no_temporary_file(repo: Path) -> None:
    result = run_cli("render", "product-service")
    assert result.code == 0, shown(result)
    assert (repo / "appspecs" / APPSPEC).read_text().startswith("version: 0.0")
    assert sorted(p.name for p in (repo / "appspecs").iterdir()) == [APPSPEC]


def test_render_overwrites_its_own_file_in_place(repo: Path) -> None:
    (repo / "appspecs").mkdir()
    (repo / "appspecs" / APPSPEC).write_text("old\n")
    assert run_cli("render", "product-service").code == 0
    assert (repo / "appspecs" / APPSPEC).read_text().startswith("version: 0.0")


def test_a_link_at_the_appspec_path_is_refused(repo: Path) -> None:
    (repo / "appspecs").mkdir()
    os.symlink(_victim(repo), repo / "appspecs" / APPSPEC)
    _assert_refused(repo, ["render", "product-service"], "symbolic link")
    assert (repo / "appspecs" / APPSPEC).is_symlink()


def test_a_linked_appspecs_folder_is_refused(repo: Path) -> None:
    outside = repo.parent / "elsewhere"
    outside.mkdir()
    os.symlink(outside, repo / "appspecs")
    _assert_refused(repo, ["render", "product-service"], "symbolic link")
    assert list(outside.iterdir()) == []


def test_a_link_given_as_out_is_refused(repo: Path) -> None:
    link = repo / "out.yaml"
    os.symlink(_victim(repo), link)
    _assert_refused(repo, ["render", "product-service", "--out", str(link)], "symbolic link")


def test_a_dangling_link_given_as_out_is_refused(repo: Path) -> None:
    link = repo / "out.yaml"
    os.symlink(repo.parent / "created-by-render.txt", link)
    _assert_refused(repo, ["render", "product-service", "--out", str(link)], "symbolic link")
    assert not (repo.parent / "created-by-render.txt").exists()


def test_out_dash_still_prints_to_stdout(repo: Path) -> None:
    result = run_cli("render", "product-service", "--out", "-")
    assert result.code == 0 and result.stdout.startswith("version: 0.0"), shown(result)
    assert not (repo / "appspecs").exists()


SERVICE = "  product-service:\n"
ENV = ("  dev:\n", "default_environment: dev\n")


@pytest.mark.parametrize(
    ("edits", "args"),
    [
        pytest.param({SERVICE: "  ../../victim:\n"}, ["../../victim"], id="service-climbs-out"),
        pytest.param(
            {ENV[0]: "  ../dev:\n", ENV[1]: "default_environment: ../dev\n"},
            ["product-service", "--env", "../dev"],
            id="env-climbs-out",
        ),
        pytest.param({SERVICE: "  Product_Service:\n"}, ["Product_Service"], id="not-lower-case"),
    ],
)
def test_names_that_could_leave_the_folder_are_refused_on_load(
    repo: Path, edits: dict[str, str], args: list[str]
) -> None:
    catalog = repo / "services.yaml"
    text = catalog.read_text()
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new, 1)
    catalog.write_text(text)
    _assert_refused(repo, ["render", *args], "must be lower-case letters, digits and hyphens")
    assert not (repo / "appspecs").exists()
    assert sorted(p.name for p in repo.parent.iterdir()) == ["repo", "victim.txt"]
