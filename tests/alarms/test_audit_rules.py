"""The audit rules as a specification: one deployment group, one change from healthy, what is found."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.alarms.rules import (
    AlarmState,
    AlarmStateValue,
    AuditReport,
    DeploymentGroupState,
    GroupExpectation,
    Rule,
    audit_findings,
    audit_group,
)
from orchestrator.catalog import AlarmPolicy

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NAMES = ("svc-5xx-errors", "svc-high-cpu")
POLICY = AlarmPolicy(min_alarms=2, stuck_insufficient_data_minutes=60, require_actions=True)
TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:alarms"


def request(name: str, threshold: float = 80.0) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "AlarmDescription": "d",
        "ActionsEnabled": True,
        "AlarmActions": [TOPIC],
        "Namespace": "AWS/ECS",
        "MetricName": "CPUUtilization",
        "Statistic": "Average",
        "Dimensions": [
            {"Name": "ClusterName", "Value": "c"},
            {"Name": "ServiceName", "Value": "{target_group_blue}"},
        ],
        "Period": 300,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "missing",
    }


def described(name: str, **changes: Any) -> dict[str, Any]:
    alarm = {
        **request(name),
        "Dimensions": [
            {"Name": "ClusterName", "Value": "c"},
            {"Name": "ServiceName", "Value": "targetgroup/x/1"},
        ],
        "StateValue": "OK",
        "StateUpdatedTimestamp": NOW - timedelta(days=1),
        "OKActions": [],
        "InsufficientDataActions": [],
    }
    alarm.update(changes)
    return alarm


HEALTHY_GROUP = DeploymentGroupState(
    application="app",
    name="svc",
    alarms_enabled=True,
    alarm_names=NAMES,
    ignore_poll_alarm_failure=False,
    auto_rollback_enabled=True,
    auto_rollback_events=frozenset({"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}),
)
EXPECTED = GroupExpectation(
    service="svc", policy=POLICY, alarm_names=NAMES, requests={n: request(n) for n in NAMES}
)
UNMANAGED = GroupExpectation(service=None, policy=POLICY)


def alarms(**overrides: dict[str, Any] | None) -> dict[str, AlarmState]:
    out = {}
    for name in NAMES:
        key = name.replace("-", "_")
        if key in overrides and overrides[key] is None:
            continue
        out[name] = AlarmState.from_api(described(name, **(overrides.get(key) or {})))
    return out


def found(
    group: DeploymentGroupState, expected: GroupExpectation, state: dict[str, AlarmState]
) -> set[tuple]:
    return {(f.rule, f.alarm, f.fixable) for f in audit_group(group, expected, state, NOW)}


def test_a_healthy_group_has_no_findings() -> None:
    assert found(HEALTHY_GROUP, EXPECTED, alarms()) == set()


@pytest.mark.parametrize(
    ("group_change", "expected", "findings"),
    [
        ({"alarms_enabled": False}, EXPECTED, {(Rule.ALARMS_DISABLED, None, True)}),
        ({"alarms_enabled": False}, UNMANAGED, {(Rule.ALARMS_DISABLED, None, False)}),
        ({"ignore_poll_alarm_failure": True}, EXPECTED, {(Rule.POLL_FAILURE_IGNORED, None, True)}),
        ({"ignore_poll_alarm_failure": True}, UNMANAGED, {(Rule.POLL_FAILURE_IGNORED, None, False)}),
        # Disabled already says it all: the poll setting of a configuration that is off is moot.
        (
            {"alarms_enabled": False, "ignore_poll_alarm_failure": True},
            EXPECTED,
            {(Rule.ALARMS_DISABLED, None, True)},
        ),
        (
            {"alarm_names": NAMES[:1]},
            EXPECTED,
            {(Rule.TOO_FEW_ALARMS, None, True), (Rule.ALARM_NOT_ATTACHED, "svc-high-cpu", True)},
        ),
        ({"alarm_names": NAMES[:1]}, UNMANAGED, {(Rule.TOO_FEW_ALARMS, None, False)}),
        ({"auto_rollback_enabled": False}, EXPECTED, {(Rule.NO_ROLLBACK_ON_ALARM, None, True)}),
        (
            {"auto_rollback_events": frozenset({"DEPLOYMENT_FAILURE"})},
            EXPECTED,
            {(Rule.NO_ROLLBACK_ON_ALARM, None, True)},
        ),
        (
            {"alarm_names": (*NAMES, "x-1")},
            EXPECTED,
            {(Rule.ALARM_MISSING, "x-1", True)},
        ),
        ({"alarm_names": (*NAMES, "x-1")}, UNMANAGED, {(Rule.ALARM_MISSING, "x-1", False)}),
    ],
    ids=[
        "config-disabled",
        "config-disabled-unmanaged",
        "poll-failure-ignored",
        "poll-failure-ignored-unmanaged",
        "disabled-and-poll-failure-ignored",
        "too-few-and-not-attached",
        "too-few-unmanaged",
        "rollback-off",
        "rollback-without-stop-on-alarm",
        "named-alarm-missing",
        "named-alarm-missing-unmanaged",
    ],
)
def test_group_rules(group_change: dict[str, Any], expected: GroupExpectation, findings: set[tuple]) -> None:
    assert found(replace(HEALTHY_GROUP, **group_change), expected, alarms()) == findings


def test_more_than_codedeploy_limit_of_ten_alarms_is_found() -> None:
    many = tuple(f"extra-{i}" for i in range(9))
    group = replace(HEALTHY_GROUP, alarm_names=(*NAMES, *many))
    state = {**alarms(), **{n: AlarmState.from_api(described(n)) for n in many}}
    assert found(group, UNMANAGED, state) == {(Rule.TOO_MANY_ALARMS, None, False)}
    assert found(replace(group, alarm_names=(*NAMES, *many[:8])), UNMANAGED, state) == set()  # exactly 10


@pytest.mark.parametrize(
    ("alarm_change", "findings"),
    [
        ({"svc_high_cpu": None}, {(Rule.ALARM_MISSING, "svc-high-cpu", True)}),
        (
            {
                "svc_high_cpu": {
                    "StateValue": "INSUFFICIENT_DATA",
                    "StateUpdatedTimestamp": NOW - timedelta(minutes=61),
                }
            },
            {(Rule.STUCK_INSUFFICIENT_DATA, "svc-high-cpu", False)},
        ),
        (
            {
                "svc_high_cpu": {
                    "StateValue": "INSUFFICIENT_DATA",
                    "StateUpdatedTimestamp": NOW - timedelta(minutes=59),
                }
            },
            set(),
        ),
        ({"svc_high_cpu": {"StateValue": "ALARM", "StateUpdatedTimestamp": NOW - timedelta(days=3)}}, set()),
        ({"svc_high_cpu": {"AlarmActions": []}}, {(Rule.ACTIONS_MISSING, "svc-high-cpu", True)}),
        ({"svc_high_cpu": {"ActionsEnabled": False}}, {(Rule.ACTIONS_MISSING, "svc-high-cpu", True)}),
        ({"svc_high_cpu": {"Threshold": 95.0}}, {(Rule.DRIFT, "svc-high-cpu", True)}),
        ({"svc_high_cpu": {"Period": 60}}, {(Rule.DRIFT, "svc-high-cpu", True)}),
        ({"svc_high_cpu": {"Statistic": "Maximum"}}, {(Rule.DRIFT, "svc-high-cpu", True)}),
        ({"svc_high_cpu": {"EvaluationPeriods": 3}}, {(Rule.DRIFT, "svc-high-cpu", True)}),
        # Dimension values the audit cannot resolve (ARN suffixes) are not drift; known ones are.
        (
            {
                "svc_high_cpu": {
                    "Dimensions": [
                        {"Name": "ClusterName", "Value": "c"},
                        {"Name": "ServiceName", "Value": "z"},
                    ]
                }
            },
            set(),
        ),
        (
            {"svc_high_cpu": {"Dimensions": [{"Name": "ClusterName", "Value": "other"}]}},
            {(Rule.DRIFT, "svc-high-cpu", True)},
        ),
    ],
    ids=[
        "missing",
        "stuck-61-min",
        "insufficient-59-min-not-yet",
        "in-alarm-is-not-stuck",
        "no-actions",
        "actions-disabled",
        "threshold-drift",
        "period-drift",
        "statistic-drift",
        "evaluation-periods-drift",
        "unresolved-dimension-ignored",
        "known-dimension-drift",
    ],
)
def test_alarm_rules(alarm_change: dict[str, Any], findings: set[tuple]) -> None:
    assert found(HEALTHY_GROUP, EXPECTED, alarms(**alarm_change)) == findings


def test_actions_missing_is_not_fixable_when_definitions_give_none() -> None:
    bare = {n: {**request(n), "AlarmActions": []} for n in NAMES}
    expected = replace(EXPECTED, requests=bare)
    result = audit_group(HEALTHY_GROUP, expected, alarms(svc_high_cpu={"AlarmActions": []}), NOW)
    assert [(f.rule, f.fixable) for f in result] == [(Rule.ACTIONS_MISSING, False)]
    assert "definitions give none" in result[0].message


def test_actions_are_not_required_where_the_policy_does_not_require_them() -> None:
    lenient = replace(EXPECTED, policy=AlarmPolicy(min_alarms=2, require_actions=False))
    bare = {n: {**request(n), "AlarmActions": []} for n in NAMES}
    state = alarms(svc_high_cpu={"AlarmActions": []}, svc_5xx_errors={"AlarmActions": []})
    assert found(HEALTHY_GROUP, replace(lenient, requests=bare), state) == set()


def test_drift_message_names_the_fields() -> None:
    result = audit_group(
        HEALTHY_GROUP, EXPECTED, alarms(svc_5xx_errors={"Threshold": 1.0, "Period": 60}), NOW
    )
    assert result[0].message == "differs from its definition: Period: 60 -> 300; Threshold: 1.0 -> 80.0"


def test_groups_without_a_catalog_service_use_the_application_default() -> None:
    other = replace(HEALTHY_GROUP, name="legacy", alarms_enabled=False)
    findings = audit_findings(
        [HEALTHY_GROUP, other], {("app", "svc"): EXPECTED}, {"app": UNMANAGED}, alarms(), NOW
    )
    assert [(f.deployment_group, f.rule, f.fixable, f.service) for f in findings] == [
        ("legacy", Rule.ALARMS_DISABLED, False, None)
    ]


def test_report_counts_every_rule_and_serialises_stable_keys() -> None:
    findings = audit_group(replace(HEALTHY_GROUP, alarms_enabled=False), EXPECTED, alarms(), NOW)
    report = AuditReport("dev", ("app",), 1, 2, tuple(findings))
    document = report.to_dict()
    assert document["byRule"] == {rule.value: int(rule is Rule.ALARMS_DISABLED) for rule in Rule}
    assert document["violations"] == 1 and document["fixable"] == 1 and not report.clean
    assert document["findings"][0] == {
        "rule": "alarm-configuration-disabled",
        "application": "app",
        "deploymentGroup": "svc",
        "alarm": None,
        "service": "svc",
        "message": "alarm configuration is disabled: alarms cannot stop a deployment",
        "fixable": True,
        "unfixableReason": None,
    }


def test_report_counts_only_the_findings_sync_can_fix_as_fixable() -> None:
    other = replace(HEALTHY_GROUP, name="legacy", alarms_enabled=False)  # no catalog service: unfixable
    managed = replace(HEALTHY_GROUP, alarms_enabled=False)  # the catalog's: sync enables it
    findings = audit_findings([managed, other], {("app", "svc"): EXPECTED}, {"app": UNMANAGED}, alarms(), NOW)
    document = AuditReport("dev", ("app",), 2, 2, tuple(findings)).to_dict()
    assert (document["violations"], document["fixable"]) == (2, 1)


def test_alarm_state_parses_describe_alarms() -> None:
    state = AlarmState.from_api(described("a", StateValue="INSUFFICIENT_DATA"))
    assert state.state is AlarmStateValue.INSUFFICIENT_DATA and state.alarm_actions == (TOPIC,)


@pytest.mark.parametrize(
    ("group_change", "expected", "alarm_change", "reasons"),
    [
        ({}, UNMANAGED, {"svc_high_cpu": None}, {"no catalog service deploys to this deployment group"}),
        (
            {},
            EXPECTED,
            {
                "svc_high_cpu": {
                    "StateValue": "INSUFFICIENT_DATA",
                    "StateUpdatedTimestamp": NOW - timedelta(hours=3),
                }
            },
            {"sync cannot make a metric report data"},
        ),
        (
            {"alarm_names": NAMES[:1]},
            replace(EXPECTED, alarm_names=NAMES[:1]),
            {},
            {"the catalog lists fewer alarms than the environment's minimum"},
        ),
        ({"alarms_enabled": False}, EXPECTED, {}, set()),  # fixable: no reason
    ],
    ids=["unmanaged-group", "stuck", "catalog-below-minimum", "fixable"],
)
def test_a_finding_sync_cannot_fix_says_why(
    group_change: dict[str, Any],
    expected: GroupExpectation,
    alarm_change: dict[str, Any],
    reasons: set[str],
) -> None:
    findings = audit_group(replace(HEALTHY_GROUP, **group_change), expected, alarms(**alarm_change), NOW)
    assert findings
    said = {f.unfixable_reason.split(",")[0].split(":")[0] for f in findings if f.unfixable_reason}
    assert said == reasons
    assert all((f.unfixable_reason is None) == f.fixable for f in findings)


def test_the_alarm_rooms_pure_modules_import_no_aws_sdk() -> None:
    """definitions, metric_math and rules decide; only sync, audit and repair reach AWS (through
    orchestrator.aws)."""
    import subprocess
    import sys

    pure = ", ".join(f"orchestrator.alarms.{name}" for name in ("definitions", "metric_math", "rules"))
    code = (
        f"import sys, {pure}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore'}), "
        "sorted(m for m in sys.modules if m.startswith('orchestrator.aws')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"
