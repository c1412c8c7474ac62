"""Per-environment guardrails: which deployments an environment refuses (pure: no boto3).

For the CLI engineer:
- Call ``check_guardrails(service, strategy, alarms_enabled, alarm_names,
  auto_rollback_on_failure_and_alarm)`` before anything changes in AWS. Pass the deployment
  group's real settings when you have them (GetDeploymentGroup: ``alarmConfiguration.enabled``,
  ``alarmConfiguration.alarms[].name``, ``autoRollbackConfiguration``), else what the deployment
  will send (``create_deployment`` overrides auto rollback with DEPLOYMENT_FAILURE and
  DEPLOYMENT_STOP_ON_ALARM). ``auto_rollback_events(config)`` reads the latter from the API shape.
- No violations: go on. Violations without ``--force``: raise
  ``GuardrailError(refusal_message(violations))`` (exit 2). With ``--force``: go on and put
  ``force_note(violations)`` into CreateDeployment's ``description`` (it fits CodeDeploy's limit).

Additions beyond the shared interface: ``refusal_message``, ``auto_rollback_events``,
``REQUIRED_ROLLBACK_EVENTS``, ``DESCRIPTION_LIMIT``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.catalog import ResolvedService
from orchestrator.strategies import Strategy
from orchestrator.vocabulary import ROLLBACK_ON

# Rolling back needs both: a failed lifecycle event and an alarm going off during the deployment.
REQUIRED_ROLLBACK_EVENTS = frozenset(ROLLBACK_ON)
# CodeDeploy's documented quota for a deployment description has been 100 characters; keep the
# note within it so the same text works everywhere (the full list goes to our own output).
DESCRIPTION_LIMIT = 100


@dataclass(frozen=True)
class GuardrailViolation:
    """One guardrail a deployment breaks: the rule's catalog name and a sentence for a person."""

    rule: str
    message: str


def auto_rollback_events(auto_rollback_configuration: Mapping[str, Any] | None) -> frozenset[str]:
    """The events that trigger a rollback, from CodeDeploy's autoRollbackConfiguration shape."""
    if not auto_rollback_configuration or not auto_rollback_configuration.get("enabled"):
        return frozenset()
    return frozenset(auto_rollback_configuration.get("events") or ())


def strategy_violations(service: ResolvedService, strategy: Strategy) -> list[GuardrailViolation]:
    """The guardrails that the strategy alone breaks: decidable before any AWS read."""
    allowed = list(service.settings.guardrails.allowed_strategy_kinds)
    if strategy.kind.value in allowed:
        return []
    return [
        GuardrailViolation(
            "allowed_strategy_kinds",
            f"{service.environment} allows only {' or '.join(allowed)} deployments, not {strategy.kind.value}"
            + ("" if strategy.name == strategy.kind.value else f" ({strategy.name})"),
        )
    ]


def check_guardrails(
    service: ResolvedService,
    strategy: Strategy,
    alarms_enabled: bool,
    alarm_names: Sequence[str],
    auto_rollback_on_failure_and_alarm: bool,
) -> list[GuardrailViolation]:
    """Every guardrail of the service's environment that this deployment breaks (empty: allowed)."""
    guardrails = service.settings.guardrails
    policy = service.settings.alarm_policy
    env = service.environment
    violations = strategy_violations(service, strategy)
    alarms = [name for name in dict.fromkeys(alarm_names) if name]
    if guardrails.require_alarms and not alarms_enabled:
        violations.append(
            GuardrailViolation(
                "require_alarms",
                f"{env} requires alarm monitoring on deployment group {service.settings.deployment_group}; "
                "it is disabled (run `bluegreen alarms sync`)",
            )
        )
    # The alarm count is a deploy guardrail only where alarms are required; elsewhere min_alarms is
    # the alarm audit's business, so a dev group without alarms can still be deployed.
    needed = max(1, policy.min_alarms)
    if guardrails.require_alarms and len(alarms) < needed:
        violations.append(
            GuardrailViolation(
                "alarm_policy.min_alarms",
                f"{env} requires at least {needed} alarm(s) on the deployment group; it has "
                f"{len(alarms)}{': ' + ', '.join(alarms) if alarms else ''}",
            )
        )
    if guardrails.require_auto_rollback and not auto_rollback_on_failure_and_alarm:
        violations.append(
            GuardrailViolation(
                "require_auto_rollback",
                f"{env} requires automatic rollback on deployment failure and on alarm; it is off",
            )
        )
    return violations


def refusal_message(service: ResolvedService, violations: Sequence[GuardrailViolation]) -> str:
    """One line saying why the environment refuses the deployment and how to override it."""
    reasons = "; ".join(f"{v.rule}: {v.message}" for v in violations)
    return (
        f"refused by {service.environment} guardrails for {service.name}: {reasons} "
        "(fix it, or pass --force to override; the override is recorded in the deployment)"
    )


def force_note(violations: Sequence[GuardrailViolation]) -> str:
    """The text recorded in the deployment description when --force overrides guardrails."""
    if not violations:
        return ""
    rules = ",".join(dict.fromkeys(v.rule for v in violations))
    note = f"bluegreen --force overrode guardrails: {rules}"
    if len(note) > DESCRIPTION_LIMIT:
        note = note[: DESCRIPTION_LIMIT - 3] + "..."
    return note
