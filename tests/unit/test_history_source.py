"""history/dora --source: where the past deployments are read from (commands/records._choose)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestrator.commands.records import _choose
from orchestrator.errors import BadInputError


def service(name: str, table: str | None) -> SimpleNamespace:
    return SimpleNamespace(name=name, settings=SimpleNamespace(ledger_table=table))


WITH = service("product-service", "doa-market-dev-deployments")
WITHOUT = service("legacy-service", None)


@pytest.mark.parametrize(
    ("source", "services", "chosen"),
    [
        ("auto", [WITH], "ledger"),
        # breaker: a partial ledger would hide legacy-service's deployments: auto reads the APIs
        ("auto", [WITH, WITHOUT], "api"),
        ("auto", [WITHOUT], "api"),
        ("api", [WITH], "api"),
        ("ledger", [WITH], "ledger"),
    ],
)
def test_auto_reads_the_ledger_only_when_every_service_has_one(
    source: str, services: list[SimpleNamespace], chosen: str
) -> None:
    tables = tuple(s.settings.ledger_table for s in services if s.settings.ledger_table)
    assert _choose(source, services, tables, "dev") == chosen


def test_ledger_with_a_service_without_table_is_one_line_of_bad_input() -> None:
    with pytest.raises(BadInputError, match="legacy-service \\(dev\\) has no ledger_table"):
        _choose("ledger", [WITH, WITHOUT], ("doa-market-dev-deployments",), "dev")
