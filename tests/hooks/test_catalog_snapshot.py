"""The catalog resolved at build time (hooks/catalog_snapshot.json): used only when it says exactly
what loading services.yaml would, and then the same services as loading it."""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from hooks.catalog_snapshot import build_snapshot, fresh_records, placeholder_variables, snapshot_path
from hooks.service_view import ServiceView, record_of
from orchestrator.catalog import load_catalog

VARIABLES = ["BLUEGREEN_LISTENER_HOST", "ECR_REGISTRY", "IMAGE_TAG"]


@pytest.fixture
def package(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package root as the build leaves it: services.yaml, task-definitions/, the snapshot."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "package"
    root.mkdir()
    shutil.copy2(repo_root / "services.yaml", root / "services.yaml")
    shutil.copytree(repo_root / "task-definitions", root / "task-definitions")
    (root / "hooks").mkdir()
    snapshot_path(root).write_text(json.dumps(build_snapshot(root / "services.yaml")))
    return root


def test_the_catalog_names_its_placeholder_variables(repo_root: Path) -> None:
    assert set(VARIABLES) <= set(placeholder_variables((repo_root / "services.yaml").read_text()))


def test_a_fresh_snapshot_gives_the_services_loading_the_catalog_gives(package: Path) -> None:
    records = fresh_records(package / "services.yaml", environ={}, root=package)

    assert records is not None
    loaded = load_catalog(package / "services.yaml")
    expected = [record_of(s) for env in loaded.environments for s in loaded.resolve_all(env)]
    assert [ServiceView.from_record(r) for r in records] == [ServiceView.from_record(r) for r in expected]
    assert len(records) == len(loaded.services) * len(loaded.environments)


def _unchanged(root: Path) -> Path:
    return root / "services.yaml"


def _edit_catalog(root: Path) -> Path:
    with (root / "services.yaml").open("a") as file:
        file.write("# edited after the build\n")
    return root / "services.yaml"


def _another_copy(root: Path) -> Path:
    other = root.parent / "elsewhere"
    shutil.copytree(root, other, ignore=shutil.ignore_patterns("hooks"))
    return other / "services.yaml"


def _remove_task_definition(root: Path) -> Path:
    (root / "task-definitions" / "product-service.json").unlink()
    return root / "services.yaml"


def _snapshot(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def apply(root: Path) -> Path:
        change(snapshot_path(root))
        return root / "services.yaml"

    return apply


def _reformat(path: Path) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": 2}))


def _drop_key(path: Path) -> None:
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "files"}))


@pytest.mark.parametrize(
    ("change", "environ"),
    [
        pytest.param(_edit_catalog, {}, id="catalog edited"),
        pytest.param(_another_copy, {}, id="BLUEGREEN_CATALOG at another copy"),
        pytest.param(_remove_task_definition, {}, id="a named file gone"),
        pytest.param(_unchanged, {"BLUEGREEN_LISTENER_HOST": "127.0.0.1"}, id="a placeholder's variable set"),
        pytest.param(_unchanged, {"IMAGE_TAG": ""}, id="a variable set empty"),
        pytest.param(_snapshot(Path.unlink), {}, id="no snapshot"),
        pytest.param(_snapshot(lambda p: p.write_text("{")), {}, id="snapshot unreadable"),
        pytest.param(_snapshot(_reformat), {}, id="another format"),
        pytest.param(_snapshot(_drop_key), {}, id="a key missing"),
    ],
)
def test_a_snapshot_that_may_differ_is_not_used(
    package: Path, change: Callable[[Path], Path], environ: dict[str, str]
) -> None:
    assert fresh_records(package / "services.yaml", environ={}, root=package) is not None
    catalog = change(package)

    assert fresh_records(catalog, environ=environ, root=package) is None


def test_the_build_resolves_without_the_placeholders_variables(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the Lambda's environment (template.yaml) leaves them: a build machine's IMAGE_TAG or
    # BLUEGREEN_LISTENER_HOST must not end up in the hooks' settings, nor make the snapshot stale.
    monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", "build-host.example")
    snapshot = build_snapshot(package / "services.yaml")

    assert all(value is None for value in snapshot["environment"].values())
    assert "build-host.example" not in json.dumps(snapshot["services"])
    monkeypatch.delenv("BLUEGREEN_LISTENER_HOST")
    assert fresh_records(package / "services.yaml", root=package) is not None


def test_no_snapshot_for_settings_json_would_change(package: Path) -> None:
    # A YAML date in a smoke check's `equals` is a date for the catalog, a string after JSON.
    catalog = package / "services.yaml"
    doc = yaml.safe_load(catalog.read_text())
    check = doc["services"]["product-service"]["smoke"]["checks"][0]
    check["json_field"] = {"path": "released", "equals": datetime.date(2024, 1, 2)}
    catalog.write_text(yaml.safe_dump(doc))

    with pytest.raises(ValueError, match="JSON"):
        build_snapshot(catalog)
