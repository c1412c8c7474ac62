"""The sandbox's EventBridge schedules: template.yaml's rate schedules read as EventBridge reads them,
run on the virtual clock, and the canary analysis' schedule found in the shipped template."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.clock import VirtualClock
from sandbox.events import TemplateSchedule, rate_seconds, template_schedules
from sandbox.schedules import SCHEDULED_EVENT, Scheduler

REPO = Path(__file__).resolve().parents[2]

SAM_FORM = """
Resources:
  AuditFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "bluegreen-${Environment}-alarm-audit"
      Handler: hooks.audit.handler
      Events:
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Input: !Sub '{"environment": "${Environment}"}'
        Off:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: false
        Computed:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: !If [DrillsOn, true, false]
  AnalysisFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "bluegreen-${Environment}-canary-analysis"
      Handler: hooks.analysis.handler
      EventInvokeConfig: {MaximumRetryAttempts: 0}
  NightlyRule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: cron(0 3 * * ? *)
      Targets:
        - {Id: a, Arn: !GetAtt AnalysisFunction.Arn}
  MinuteRule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(1 minute)
      Targets:
        - {Id: a, Arn: !GetAtt AnalysisFunction.Arn}
"""


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60.0),
        ("rate(5 minutes)", 300.0),
        ("rate(1 hour)", 3600.0),
        ("rate(2 days)", 172800.0),
        ("cron(0 3 * * ? *)", None),
    ],
)
def test_rate_seconds(expression: str, seconds: float | None) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression", ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "every minute"]
)
def test_rate_seconds_refuses_what_eventbridge_refuses(expression: str) -> None:
    with pytest.raises(ValueError):
        rate_seconds(expression)


def test_schedules_are_read_from_sam_events_and_rules(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(SAM_FORM, encoding="utf-8")

    found = {s.name: s for s in template_schedules(template, "dev")}

    assert sorted(found) == ["AuditFunction.Hourly", "MinuteRule", "NightlyRule"]  # disabled ones left out
    hourly = found["AuditFunction.Hourly"]
    assert (hourly.every_seconds, hourly.payload) == (3600.0, {"environment": "dev"})
    assert (hourly.function_name, hourly.handler) == ("bluegreen-dev-alarm-audit", "hooks.audit.handler")
    minute = found["MinuteRule"]
    assert (minute.every_seconds, minute.payload, minute.max_retry_attempts) == (60.0, None, 0)
    assert found["NightlyRule"].every_seconds is None


def test_the_shipped_template_schedules_the_canary_analysis_every_minute() -> None:
    [analysis] = [
        s for s in template_schedules(REPO / "template.yaml", "prod") if s.handler == "hooks.analysis.handler"
    ]

    assert analysis.function_name == "bluegreen-prod-canary-analysis"
    assert (analysis.every_seconds, analysis.payload, analysis.max_retry_attempts) == (60.0, None, 0)


def test_a_schedule_fires_every_period_on_the_virtual_clock_with_a_scheduled_event() -> None:
    clock = VirtualClock(240)  # a virtual minute is 0.25 s
    scheduler = Scheduler(clock, "ap-northeast-2", "123456789012")
    got: list[dict[str, Any]] = []
    enough = threading.Event()

    def target(event: dict[str, Any]) -> None:
        got.append(event)
        if len(got) >= 3:
            enough.set()

    schedule = TemplateSchedule("MinuteRule", "rate(1 minute)", 60.0, None, "fn", "hooks.analysis.handler", 0)
    cron = TemplateSchedule("NightlyRule", "cron(0 3 * * ? *)", None, None, "fn", "hooks.analysis.handler", 0)
    assert scheduler.add(schedule, target) and not scheduler.add(cron, target)
    started = clock.now()
    scheduler.start()
    try:
        assert enough.wait(10)
    finally:
        scheduler.stop()

    fired = scheduler.fired("MinuteRule")
    # on the period grid from the start, never early; a late firing does not move the next one
    assert all(b > a for a, b in itertools.pairwise(fired)) and len(fired) >= 3
    assert all(at >= started + 60 * (n + 1) - 0.5 for n, at in enumerate(fired))
    event = got[0]
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", SCHEDULED_EVENT, {})
    assert event["resources"] == ["arn:aws:events:ap-northeast-2:123456789012:rule/MinuteRule"]
    assert event["time"].endswith("Z")


def test_a_schedule_with_input_hands_its_target_the_input_and_a_stopped_scheduler_fires_no_more() -> None:
    clock = VirtualClock(600)
    scheduler = Scheduler(clock, "ap-northeast-2", "123456789012")
    got: list[dict[str, Any]] = []
    schedule = TemplateSchedule("Hourly", "rate(1 minute)", 60.0, {"environment": "dev"}, "fn", "h", 2)
    scheduler.add(schedule, got.append)
    scheduler.start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop()
    count = len(got)
    time.sleep(0.3)  # three virtual minutes

    assert got[0] == {"environment": "dev"} and len(got) == count
