"""The alarm audit's rules: pure functions over fetched deployment groups and alarms.

No boto3 and no clock: ``audit_findings`` takes plain data (parsed from BatchGetDeploymentGroups and
DescribeAlarms by ``DeploymentGroupState.from_api`` / ``AlarmState.from_api``), what the catalog and
the definitions expect of each group, and ``now``. The CLI (``bluegreen alarms audit``) and the
scheduled Lambda (``hooks/audit.py``) both run it through ``orchestrator.alarms.audit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from orchestrator.alarms.definitions import CODEDEPLOY_MAX_ALARMS_PER_GROUP, alarm_diff
from orchestrator.catalog import AlarmPolicy

# CloudWatch's StateValue, named apart from this module's AlarmState (an alarm as the audit sees it).
from orchestrator.vocabulary import AlarmState as AlarmStateValue
from orchestrator.vocabulary import AutoRollbackEvent

# The auto-rollback event that makes CodeDeploy roll back when a configured alarm fires.
STOP_ON_ALARM = AutoRollbackEvent.DEPLOYMENT_STOP_ON_ALARM.value


class Rule(StrEnum):
    """What the audit checks; the value is the rule id in reports and metric dimensions."""

    ALARMS_DISABLED = "alarm-configuration-disabled"
    POLL_FAILURE_IGNORED = "alarm-poll-failure-ignored"
    TOO_FEW_ALARMS = "too-few-alarms"
    TOO_MANY_ALARMS = "alarm-limit-exceeded"
    ALARM_MISSING = "alarm-missing"
    ALARM_NOT_ATTACHED = "alarm-not-attached"
    STUCK_INSUFFICIENT_DATA = "alarm-stuck-insufficient-data"
    ACTIONS_MISSING = "alarm-actions-missing"
    DRIFT = "alarm-drift"
    NO_ROLLBACK_ON_ALARM = "auto-rollback-on-alarm-disabled"

    @property
    def about_alarm(self) -> bool:
        """True when a finding of this rule names one alarm (not just the deployment group)."""
        return self in _ALARM_RULES


_ALARM_RULES = frozenset(
    {
        Rule.ALARM_MISSING,
        Rule.ALARM_NOT_ATTACHED,
        Rule.STUCK_INSUFFICIENT_DATA,
        Rule.ACTIONS_MISSING,
        Rule.DRIFT,
    }
)


@dataclass(frozen=True)
class DeploymentGroupState:
    """What the audit needs of one deployment group (from BatchGetDeploymentGroups)."""

    application: str
    name: str
    alarms_enabled: bool
    alarm_names: tuple[str, ...]
    ignore_poll_alarm_failure: bool
    auto_rollback_enabled: bool
    auto_rollback_events: frozenset[str]

    @classmethod
    def from_api(cls, info: Mapping[str, Any]) -> DeploymentGroupState:
        """Parse one ``deploymentGroupsInfo`` item; absent configurations count as disabled."""
        alarm_config = info.get("alarmConfiguration") or {}
        rollback = info.get("autoRollbackConfiguration") or {}
        return cls(
            application=str(info.get("applicationName", "")),
            name=str(info.get("deploymentGroupName", "")),
            alarms_enabled=bool(alarm_config.get("enabled", False)),
            alarm_names=tuple(str(a.get("name", "")) for a in alarm_config.get("alarms") or []),
            ignore_poll_alarm_failure=bool(alarm_config.get("ignorePollAlarmFailure", False)),
            auto_rollback_enabled=bool(rollback.get("enabled", False)),
            auto_rollback_events=frozenset(rollback.get("events") or []),
        )


@dataclass(frozen=True)
class AlarmState:
    """What the audit needs of one CloudWatch alarm (from DescribeAlarms)."""

    name: str
    state: AlarmStateValue
    state_updated: datetime
    actions_enabled: bool
    alarm_actions: tuple[str, ...]
    config: Mapping[str, Any] = field(compare=False)

    @classmethod
    def from_api(cls, alarm: Mapping[str, Any]) -> AlarmState:
        """Parse one MetricAlarm or CompositeAlarm of a DescribeAlarms answer."""
        return cls(
            name=str(alarm["AlarmName"]),
            state=AlarmStateValue(alarm.get("StateValue", AlarmStateValue.INSUFFICIENT_DATA)),
            state_updated=alarm["StateUpdatedTimestamp"],
            actions_enabled=bool(alarm.get("ActionsEnabled", True)),
            alarm_actions=tuple(alarm.get("AlarmActions") or []),
            config=dict(alarm),
        )


@dataclass(frozen=True)
class GroupExpectation:
    """What the catalog and the definitions want of one deployment group.

    ``service`` is None for a group in a catalog application that no catalog service names: the
    audit still checks it against the environment's policy, but has no definitions to compare and
    sync cannot repair it.
    """

    service: str | None
    policy: AlarmPolicy
    alarm_names: tuple[str, ...] = ()
    # PutMetricAlarm requests rendered from the definitions (dimension ARN suffixes unresolved).
    requests: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def managed(self) -> bool:
        return self.service is not None


@dataclass(frozen=True)
class Finding:
    """One violation: which rule, where, what, and whether `bluegreen alarms sync` repairs it."""

    rule: Rule
    application: str
    deployment_group: str
    alarm: str | None
    message: str
    fixable: bool
    service: str | None = None

    @property
    def unfixable_reason(self) -> str | None:
        """Why `bluegreen alarms sync` (and so `audit --fix`) cannot repair this; None when it can."""
        if self.fixable:
            return None
        if self.service is None:
            return "no catalog service deploys to this deployment group, so sync leaves it alone"
        return _WHY_NOT_FIXABLE.get(self.rule, "sync does not repair this rule")


_WHY_NOT_FIXABLE = {
    Rule.STUCK_INSUFFICIENT_DATA: "sync cannot make a metric report data: is the service publishing it?",
    Rule.ACTIONS_MISSING: "the definitions give this environment no alarm actions: add them in alarms/",
    Rule.TOO_FEW_ALARMS: "the catalog lists fewer alarms than the environment's minimum: define more",
}


@dataclass(frozen=True)
class AuditReport:
    """Every finding of one audit, and what was looked at."""

    environment: str
    applications: tuple[str, ...]
    groups_checked: int
    alarms_checked: int
    findings: tuple[Finding, ...]
    # What the audit could not check (e.g. dimension values without ELBv2 access); not violations.
    notes: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.findings

    def counts_by_rule(self) -> dict[str, int]:
        """Findings per rule id, every rule present (zeros included) for stable metrics."""
        counts = {rule.value: 0 for rule in Rule}
        for finding in self.findings:
            counts[finding.rule.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The report as printed and logged (keys: orchestrator.documents.AuditReport)."""
        from orchestrator import documents

        return dict(documents.to_json(documents.audit_report(self)))


def audit_group(
    group: DeploymentGroupState,
    expected: GroupExpectation,
    alarms: Mapping[str, AlarmState],
    now: datetime,
) -> list[Finding]:
    """Every finding for one deployment group, in rule order."""
    findings: list[Finding] = []

    def add(rule: Rule, message: str, fixable: bool, alarm: str | None = None) -> None:
        # A finding sync can repair only exists for groups the catalog manages.
        findings.append(
            Finding(rule, group.application, group.name, alarm, message, fixable, expected.service)
        )

    managed = expected.managed
    if not group.alarms_enabled:
        message = "alarm configuration is disabled: alarms cannot stop a deployment"
        add(Rule.ALARMS_DISABLED, message, managed)
    elif group.ignore_poll_alarm_failure:
        message = (
            "ignorePollAlarmFailure is true: when CodeDeploy cannot read the alarms, "
            "deployments go on unguarded"
        )
        add(Rule.POLL_FAILURE_IGNORED, message, managed)
    policy = expected.policy
    if len(group.alarm_names) < policy.min_alarms:
        add(
            Rule.TOO_FEW_ALARMS,
            f"{len(group.alarm_names)} alarm(s) configured; "
            f"the environment requires at least {policy.min_alarms}",
            managed and len(expected.alarm_names) >= policy.min_alarms,
        )
    if len(group.alarm_names) > CODEDEPLOY_MAX_ALARMS_PER_GROUP:
        add(
            Rule.TOO_MANY_ALARMS,
            f"{len(group.alarm_names)} alarms configured; CodeDeploy allows "
            f"{CODEDEPLOY_MAX_ALARMS_PER_GROUP} per deployment group",
            managed,
        )
    if not (group.auto_rollback_enabled and STOP_ON_ALARM in group.auto_rollback_events):
        add(
            Rule.NO_ROLLBACK_ON_ALARM,
            f"auto rollback on {STOP_ON_ALARM} is off: a firing alarm stops but does not roll back",
            managed,
        )
    for name in expected.alarm_names:
        if name not in group.alarm_names:
            message = "defined for this service but not in the group's alarms"
            add(Rule.ALARM_NOT_ATTACHED, message, True, name)
    for name in dict.fromkeys(group.alarm_names):
        _audit_alarm(name, alarms.get(name), expected, add, now)
    return findings


_Add = Callable[[Rule, str, bool, str | None], None]


def _audit_alarm(
    name: str, alarm: AlarmState | None, expected: GroupExpectation, add: _Add, now: datetime
) -> None:
    policy = expected.policy
    request = expected.requests.get(name)
    if alarm is None:
        # sync recreates a defined alarm, and detaches one the catalog does not list.
        message = "named in the deployment group but does not exist in CloudWatch"
        add(Rule.ALARM_MISSING, message, expected.managed, name)
        return
    stuck_for = now - alarm.state_updated
    limit = timedelta(minutes=policy.stuck_insufficient_data_minutes)
    if alarm.state is AlarmStateValue.INSUFFICIENT_DATA and stuck_for > limit:
        add(
            Rule.STUCK_INSUFFICIENT_DATA,
            f"INSUFFICIENT_DATA for {int(stuck_for.total_seconds() // 60)} min "
            f"(limit {policy.stuck_insufficient_data_minutes}): is the metric still published?",
            False,
            name,
        )
    if policy.require_actions and not (alarm.actions_enabled and alarm.alarm_actions):
        defined = bool(request and request.get("AlarmActions") and request.get("ActionsEnabled", True))
        add(
            Rule.ACTIONS_MISSING,
            "no alarm actions (or actions disabled); the environment requires them"
            + ("" if defined else "; the definitions give none for this environment"),
            defined,
            name,
        )
    if request is not None:
        changes = alarm_diff(alarm.config, request, ignore_unresolved=True)
        if policy.require_actions:
            # Reported once, by the actions rule, not again as drift.
            changes = [c for c in changes if not c.path.startswith(("AlarmActions", "ActionsEnabled"))]
        if changes:
            add(Rule.DRIFT, "differs from its definition: " + "; ".join(str(c) for c in changes), True, name)


def audit_findings(
    groups: Iterable[DeploymentGroupState],
    expectations: Mapping[tuple[str, str], GroupExpectation],
    default: Mapping[str, GroupExpectation],
    alarms: Mapping[str, AlarmState],
    now: datetime,
) -> list[Finding]:
    """Findings for every group: its catalog expectation, else its application's default policy."""
    findings: list[Finding] = []
    for group in groups:
        expected = expectations.get((group.application, group.name)) or default[group.application]
        findings.extend(audit_group(group, expected, alarms, now))
    return findings
