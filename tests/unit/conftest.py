"""Fixtures for the unit tests of the pure modules (catalog, strategies, appspec, taskdef, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.catalog import Catalog, load_catalog

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def real_catalog(repo_root: Path) -> Catalog:
    """The example catalog (services.yaml at the repository root)."""
    return load_catalog(repo_root / "services.yaml")


@pytest.fixture(scope="session")
def good_catalog() -> Catalog:
    return load_catalog(FIXTURES / "catalogs" / "good.yaml")


@pytest.fixture(scope="session")
def taskdef_catalog() -> Catalog:
    return load_catalog(FIXTURES / "catalogs" / "taskdefs.yaml")
