"""Per-environment guardrails: prod refuses all-at-once, missing alarms and auto rollback off; dev allows."""

from __future__ import annotations

import pytest

from orchestrator.catalog import Catalog
from orchestrator.engines.guardrails import (
    DESCRIPTION_LIMIT,
    GuardrailViolation,
    auto_rollback_events,
    check_guardrails,
    force_note,
    refusal_message,
)
from orchestrator.errors import GuardrailError
from orchestrator.strategies import parse_strategy

ALARMS = [
    "product-service-5xx-errors",
    "product-service-high-latency",
    "product-service-unhealthy-hosts",
    "product-service-high-cpu",
]


@pytest.mark.parametrize(
    ("environment", "strategy", "alarms_enabled", "alarms", "auto_rollback", "rules"),
    [
        # prod: canary or linear only, alarms required (at least 3), auto rollback required
        ("prod", "canary10", True, ALARMS, True, []),
        ("prod", "linear10-3m", True, ALARMS[:3], True, []),
        ("prod", "canary:25:3", True, ALARMS, True, []),
        ("prod", "all-at-once", True, ALARMS, True, ["allowed_strategy_kinds"]),
        ("prod", "canary10", False, ALARMS, True, ["require_alarms"]),
        ("prod", "canary10", True, ALARMS[:2], True, ["alarm_policy.min_alarms"]),
        ("prod", "canary10", True, [], True, ["alarm_policy.min_alarms"]),
        ("prod", "canary10", True, ALARMS, False, ["require_auto_rollback"]),
        (
            "prod",
            "all-at-once",
            False,
            [],
            False,
            ["allowed_strategy_kinds", "require_alarms", "alarm_policy.min_alarms", "require_auto_rollback"],
        ),
        # dev: every kind, no alarms needed; auto rollback still required
        ("dev", "all-at-once", False, [], True, []),
        ("dev", "canary10", True, ALARMS, True, []),
        ("dev", "linear10", False, [], True, []),
        ("dev", "all-at-once", False, [], False, ["require_auto_rollback"]),
    ],
)
def test_guardrails_table(
    real_catalog: Catalog,
    environment: str,
    strategy: str,
    alarms_enabled: bool,
    alarms: list[str],
    auto_rollback: bool,
    rules: list[str],
) -> None:
    service = real_catalog.resolve("product-service", environment)
    violations = check_guardrails(service, parse_strategy(strategy), alarms_enabled, alarms, auto_rollback)
    assert [v.rule for v in violations] == rules


def test_duplicate_or_empty_alarm_names_do_not_count_twice(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "prod")
    alarms = [ALARMS[0], ALARMS[0], "", ALARMS[1]]
    [violation] = check_guardrails(service, parse_strategy("canary10"), True, alarms, True)
    assert violation.rule == "alarm_policy.min_alarms"
    assert "at least 3 alarm(s)" in violation.message and "it has 2" in violation.message


def test_violation_messages_say_what_failed(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "prod")
    violations = check_guardrails(service, parse_strategy("all-at-once"), False, [], False)
    messages = {v.rule: v.message for v in violations}
    assert messages["allowed_strategy_kinds"] == (
        "prod allows only canary or linear deployments, not all-at-once"
    )
    assert "deployment group product-service" in messages["require_alarms"]
    assert "bluegreen alarms sync" in messages["require_alarms"]
    assert "automatic rollback" in messages["require_auto_rollback"]


def test_strategy_kind_message_names_a_custom_strategy(good_catalog: Catalog) -> None:
    service = good_catalog.resolve("cart-service", "prod")
    [violation] = check_guardrails(service, parse_strategy("all-at-once"), True, ALARMS, True)
    assert violation.message.endswith("not all-at-once")
    linear_only = service.settings.model_copy(
        update={
            "guardrails": service.settings.guardrails.model_copy(
                update={"allowed_strategy_kinds": ["linear"]}
            )
        }
    )
    from dataclasses import replace

    [violation] = check_guardrails(
        replace(service, settings=linear_only), parse_strategy("canary:25:3"), True, ALARMS, True
    )
    assert violation.message == "prod allows only linear deployments, not canary (canary:25:3)"


def test_refusal_is_one_line_naming_rules_and_force(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "prod")
    violations = check_guardrails(service, parse_strategy("all-at-once"), True, ALARMS, True)
    error = GuardrailError(refusal_message(service, violations))
    assert error.exit_code == 2
    message = str(error)
    assert "\n" not in message
    assert "prod guardrails for product-service" in message
    assert "allowed_strategy_kinds" in message and "--force" in message


@pytest.mark.parametrize(
    ("violations", "note"),
    [
        ([], ""),
        (
            [GuardrailViolation("allowed_strategy_kinds", "x")],
            "bluegreen --force overrode guardrails: allowed_strategy_kinds",
        ),
        (
            [GuardrailViolation("require_alarms", "x"), GuardrailViolation("require_alarms", "y")],
            "bluegreen --force overrode guardrails: require_alarms",
        ),
    ],
)
def test_force_note(violations: list[GuardrailViolation], note: str) -> None:
    assert force_note(violations) == note


def test_force_note_fits_the_deployment_description_limit() -> None:
    every_rule = [
        GuardrailViolation(rule, "m")
        for rule in (
            "allowed_strategy_kinds",
            "require_alarms",
            "alarm_policy.min_alarms",
            "require_auto_rollback",
        )
    ]
    note = force_note(every_rule)
    assert len(note) <= DESCRIPTION_LIMIT
    assert note.startswith("bluegreen --force overrode guardrails: allowed_strategy_kinds,require_alarms")


@pytest.mark.parametrize(
    ("config", "events"),
    [
        (None, set()),
        ({"enabled": False, "events": ["DEPLOYMENT_FAILURE"]}, set()),
        ({"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}, {"DEPLOYMENT_FAILURE"}),
        (
            {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
            {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"},
        ),
    ],
)
def test_auto_rollback_events(config: dict[str, object] | None, events: set[str]) -> None:
    assert auto_rollback_events(config) == events  # type: ignore[arg-type]
