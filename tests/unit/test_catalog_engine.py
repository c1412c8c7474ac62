"""The catalog's `engine`: an unknown value is one line naming the valid ones (exit 2), in any layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import CatalogError
from orchestrator.vocabulary import EngineName


def _catalog(fixtures_dir: Path, tmp_path: Path, anchor: str, inserted: str) -> Path:
    text = (fixtures_dir / "catalogs" / "good.yaml").read_text()
    assert anchor in text
    path = tmp_path / "catalogs" / "services.yaml"
    path.parent.mkdir()
    (tmp_path / "taskdefs").symlink_to(fixtures_dir / "taskdefs")
    path.write_text(text.replace(anchor, anchor + inserted, 1))
    return path


@pytest.mark.parametrize(
    ("anchor", "inserted", "message"),
    [
        (
            "  cart-service:\n",
            "    engine: ecss\n",
            "services.yaml: services.cart-service: field engine: unknown engine 'ecss' (did you mean ecs?); "
            "valid: codedeploy, ecs",
        ),
        (
            "      strategy: all-at-once\n",
            "      engine: ECS\n",
            "services.yaml: environments.dev.defaults: field engine: "
            "unknown engine 'ECS' (did you mean ecs?); valid: codedeploy, ecs",
        ),
        (
            "  region: ap-northeast-2\n",
            "  engine: native\n",
            "services.yaml: defaults: field engine: unknown engine 'native'; valid: codedeploy, ecs",
        ),
        (
            "  region: ap-northeast-2\n",
            "  engine: 7\n",
            "services.yaml: defaults: field engine: unknown engine 7; valid: codedeploy, ecs",
        ),
    ],
)
def test_unknown_engine_is_one_line_naming_the_valid_ones(
    fixtures_dir: Path, tmp_path: Path, anchor: str, inserted: str, message: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_catalog(fixtures_dir, tmp_path, anchor, inserted))
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_engine_per_environment_override(fixtures_dir: Path, tmp_path: Path) -> None:
    path = _catalog(fixtures_dir, tmp_path, "    overrides:\n      prod:\n", "        engine: ecs\n")
    catalog = load_catalog(path)
    assert catalog.resolve("cart-service", "prod").settings.engine is EngineName.ECS
    assert catalog.resolve("cart-service", "dev").settings.engine is EngineName.CODEDEPLOY


def test_the_example_catalog_runs_two_services_on_ecs_in_dev_only(real_catalog: Catalog) -> None:
    on_ecs = {
        (s.environment, s.name)
        for env in real_catalog.environments
        for s in real_catalog.resolve_all(env)
        if s.settings.engine is EngineName.ECS
    }
    assert on_ecs == {("dev", "inventory-service"), ("dev", "notification-service")}


@pytest.mark.parametrize(("environment", "account"), [("dev", "123456789012"), ("prod", "210987654321")])
def test_the_example_catalog_names_the_ecs_roles_in_each_account(
    real_catalog: Catalog, environment: str, account: str
) -> None:
    for service in real_catalog.resolve_all(environment):
        assert service.account_id == account
        prefix = f"arn:aws:iam::{account}:role/doa-market-{environment}-ecs-"
        assert service.settings.hook_role_arn == prefix + "hook-invoke"
        assert service.settings.infrastructure_role_arn == prefix + "infrastructure"
