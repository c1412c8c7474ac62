"""A CodeDeploy deployment carries its fleet run in its description: right after the request token,
so it survives whatever else must give way inside CodeDeploy's 100 characters, and it reads back
(codedeploy_plan._description, fleet_note, fleet_run_of)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from orchestrator.catalog import load_catalog
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.codedeploy import CodeDeployEngine
from orchestrator.engines.codedeploy_plan import FLEET_RUN_LIMIT, _description, fleet_run_of
from orchestrator.engines.guardrails import DESCRIPTION_LIMIT, GuardrailViolation
from orchestrator.errors import BadInputError
from orchestrator.insight.provenance import from_description
from orchestrator.insight.records import Provenance
from orchestrator.strategies import parse_strategy

SHA = "0123456789abcdef0123456789abcdef01234567"
T = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
RUN = "fr-20261130t0730z-3f9a"


def _inputs(
    service: str, strategy: str, provenance: Provenance | None, fleet_run: str | None
) -> DeployInputs:
    return DeployInputs(
        service=load_catalog().resolve(service, "dev"),
        strategy=parse_strategy(strategy),
        request_token="0123456789ab",
        provenance=provenance,
        fleet_run=fleet_run,
    )


@pytest.mark.parametrize(
    ("service", "strategy", "provenance", "description"),
    [
        pytest.param(
            "auth-service",
            "canary10",
            None,
            f"bg:0123456789ab; fleet {RUN}; bluegreen deploy auth-service canary10",
            id="fleet-and-summary",
        ),
        pytest.param(
            "auth-service",
            "canary10",
            Provenance("al", SHA, T),
            f"bg:0123456789ab; fleet {RUN}; by al@0123456789ab at 20261101T1000Z",
            id="the-summary-drops-first",
        ),
        pytest.param(
            "auth-service",
            "canary10",
            Provenance("alice12345", None, None),
            f"bg:0123456789ab; fleet {RUN}; by alice12345; bluegreen deploy auth-service canary10",
            id="exactly-100-characters-fit-whole",
        ),
        pytest.param(
            "auth-service",
            "canary10",
            Provenance("alice123456", None, None),
            f"bg:0123456789ab; fleet {RUN}; by alice123456",
            id="one-more-character-drops-the-summary",
        ),
        pytest.param(
            "notification-service",
            "linear10-3m",
            Provenance("github-actions[bot]", SHA, T),
            f"bg:0123456789ab; fleet {RUN}; by github-actions[bot]@0123456789ab at 20261101T1000Z",
            id="the-whole-note-at-exactly-100",
        ),
        pytest.param(
            "notification-service",
            "linear10-3m",
            Provenance("abcdefghijklmnopqrstuvwx", SHA, T),
            f"bg:0123456789ab; fleet {RUN}; by abcdefghijklmnopqrstuvwx@0123456789ab",
            id="then-the-commit-time-drops",
        ),
    ],
)
def test_the_fleet_run_follows_the_token_and_the_rest_gives_way(
    service: str, strategy: str, provenance: Provenance | None, description: str
) -> None:
    made = _description(_inputs(service, strategy, provenance, RUN), [])
    assert made == description and len(made) <= DESCRIPTION_LIMIT
    assert fleet_run_of(made) == RUN
    if provenance is not None:
        assert from_description(made).deployer == provenance.deployer


def test_at_the_limit_the_force_note_is_cut_never_the_token_nor_the_fleet_run() -> None:
    violations = [
        GuardrailViolation("allowed_strategy_kinds", "x"),
        GuardrailViolation("require_alarms", "y"),
        GuardrailViolation("minimum_bake_minutes", "z"),
    ]
    longest = "f" * FLEET_RUN_LIMIT
    inputs = dataclasses.replace(
        _inputs("auth-service", "all-at-once", Provenance("al", SHA, T), longest), force=True
    )

    made = _description(inputs, violations)

    # token (15) + fleet note (46) leave the note 35 characters: it is cut, the provenance left out
    assert made == f"bg:0123456789ab; fleet {longest}; bluegreen --force overrode guardrai"
    assert len(made) == DESCRIPTION_LIMIT
    assert fleet_run_of(made) == longest


def test_without_a_fleet_run_the_description_is_as_before() -> None:
    made = _description(_inputs("auth-service", "canary10", None, None), [])
    assert made == "bg:0123456789ab; bluegreen deploy auth-service canary10"
    assert fleet_run_of(made) is None


@pytest.mark.parametrize(
    ("description", "run"),
    [
        (f"bg:0123456789ab; fleet {RUN}", RUN),
        (f"bg:0123456789ab; fleet {RUN}; by al", RUN),
        ("bg:0123456789ab; bluegreen deploy fleet-service canary10", None),
        ("fleet of ships", None),
        (None, None),
    ],
)
def test_the_fleet_run_reads_back(description: str | None, run: str | None) -> None:
    assert fleet_run_of(description) == run


@pytest.mark.parametrize("bad", ["", "fr 1", "fr;1", "-fr", "f" * (FLEET_RUN_LIMIT + 1)])
def test_a_run_id_the_description_cannot_carry_is_refused_before_any_read(bad: str) -> None:
    inputs = _inputs("auth-service", "canary10", None, bad)
    with pytest.raises(BadInputError, match="fleet run id"):
        CodeDeployEngine(clients=None).plan(inputs, offline=True)
