"""CodeDeploy's description: the request token first, then --force's note, then who deployed which
commit, then the summary, all within CodeDeploy's 100 characters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.catalog import load_catalog
from orchestrator.commands.rollback import ROLLBACK_MARK
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.codedeploy_plan import _description
from orchestrator.engines.guardrails import DESCRIPTION_LIMIT, GuardrailViolation
from orchestrator.insight.provenance import from_description
from orchestrator.insight.records import Provenance
from orchestrator.strategies import parse_strategy

SHA = "0123456789abcdef0123456789abcdef01234567"
T = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _inputs(
    service: str, strategy: str, provenance: Provenance | None, reason: str = "deploy"
) -> DeployInputs:
    resolved = load_catalog().resolve(service, "dev")
    return DeployInputs(
        service=resolved,
        strategy=parse_strategy(strategy),
        request_token="0123456789ab",
        provenance=provenance,
        reason=reason,
    )


@pytest.mark.parametrize(
    ("service", "strategy", "provenance", "reason", "description"),
    [
        pytest.param(
            "auth-service",
            "canary10",
            None,
            "deploy",
            "bg:0123456789ab; bluegreen deploy auth-service canary10",
            id="no-provenance-as-before",
        ),
        pytest.param(
            "auth-service",
            "canary10",
            Provenance("alice", SHA, T),
            "deploy",
            "bg:0123456789ab; by alice@0123456789ab at 20261101T1000Z; "
            "bluegreen deploy auth-service canary10",
            id="everything-fits",
        ),
        pytest.param(
            "auth-service",
            "canary10",
            Provenance("alicebob1", SHA, T),
            "deploy",
            "bg:0123456789ab; by alicebob1@0123456789ab at 20261101T1000Z; "
            "bluegreen deploy auth-service canary10",
            id="exactly-100-characters-fit-whole",
        ),
        pytest.param(
            "notification-service",
            "linear10-3m",
            Provenance("github-actions[bot]", SHA, T),
            "deploy",
            "bg:0123456789ab; by github-actions[bot]@0123456789ab at 20261101T1000Z",
            id="deploy-note-outranks-summary",
        ),
        pytest.param(
            "notification-service",
            "linear10-3m",
            Provenance("alice", SHA, T),
            "rollback",
            "bg:0123456789ab; by alice@0123456789ab; bluegreen rollback notification-service linear10-3m",
            id="rollback-summary-keeps-its-mark-note-loses-its-time",
        ),
        pytest.param(
            "notification-service",
            "linear10-3m",
            Provenance("github-actions[bot]", SHA, T),
            "rollback",
            "bg:0123456789ab; bluegreen rollback notification-service linear10-3m",
            id="rollback-summary-outranks-the-note",
        ),
    ],
)
def test_description(
    service: str, strategy: str, provenance: Provenance | None, reason: str, description: str
) -> None:
    made = _description(_inputs(service, strategy, provenance, reason), [])
    assert made == description and len(made) <= DESCRIPTION_LIMIT


def test_a_long_force_note_keeps_the_token_and_the_note_goes_where_it_fits() -> None:
    violations = [
        GuardrailViolation("allowed_strategy_kinds", "x"),
        GuardrailViolation("require_alarms", "y"),
    ]
    inputs = _inputs("auth-service", "all-at-once", Provenance("alice", SHA, T))
    made = _description(
        DeployInputs(**{**inputs.__dict__, "force": True}),  # type: ignore[arg-type]
        violations,
    )
    assert made.startswith(
        "bg:0123456789ab; bluegreen --force overrode guardrails: allowed_strategy_kinds,require_alarms"
    )
    assert len(made) <= DESCRIPTION_LIMIT


def test_a_rollback_description_keeps_the_ping_pong_mark_and_reads_back() -> None:
    made = _description(_inputs("auth-service", "canary10", Provenance("alice", SHA, T), "rollback"), [])
    assert ROLLBACK_MARK in made
    assert from_description(made) == Provenance("alice", SHA[:12], T, "description")


def test_a_force_note_too_long_for_the_description_is_cut_at_100_characters() -> None:
    # breaker: without the final cut, token + a 100-character --force note made 117 characters
    violations = [GuardrailViolation(f"rule_number_{n}", "x") for n in range(12)]
    inputs = _inputs("auth-service", "all-at-once", Provenance("alice", SHA, T))
    made = _description(DeployInputs(**{**inputs.__dict__, "force": True}), violations)
    assert made.startswith("bg:0123456789ab; bluegreen --force overrode guardrails: rule_number_0,")
    assert len(made) == DESCRIPTION_LIMIT
