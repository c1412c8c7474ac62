"""The sandbox's event bus: rules route matching events to their targets on the virtual clock; the
delivery knob replays (same event id) and reorders as EventBridge may; template.yaml's rules are
read in both of SAM's and CloudFormation's forms."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.clock import VirtualClock
from sandbox.events import Delivery, EventBus, envelope, handler_of, template_rules

SCALE = 600.0  # 60 virtual seconds = 0.1 real s
CODEDEPLOY = {
    "source": ["aws.codedeploy"],
    "detail-type": ["CodeDeploy Deployment State-change Notification"],
}


def event(number: int, source: str = "aws.codedeploy") -> dict[str, Any]:
    detail_type = "CodeDeploy Deployment State-change Notification" if source == "aws.codedeploy" else "Other"
    return envelope(
        source, detail_type, {"n": number}, [], region="ap-northeast-2", account="123456789012", at=0.0
    )


class Recorder:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.got.append(event)


@pytest.fixture
def bus_of() -> Iterator[Any]:
    buses: list[EventBus] = []

    def make(delivery: Delivery | None = None) -> EventBus:
        bus = EventBus(VirtualClock(SCALE), delivery).start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.stop()


def test_a_rule_gets_the_events_its_pattern_matches_once_by_default(bus_of: Any) -> None:
    bus, target = bus_of(), Recorder()
    bus.put_rule("ledger", CODEDEPLOY, target)
    bus.publish(event(1))
    bus.publish(event(2, source="aws.ecs"))
    assert bus.drain(5.0)
    assert [e["detail"]["n"] for e in target.got] == [1]
    assert len(bus.published) == 2
    assert [d.rule for d in bus.delivered] == ["ledger"]


def test_copies_replay_the_same_event_id(bus_of: Any) -> None:
    bus, target = bus_of(Delivery(copies=3)), Recorder()
    bus.put_rule("ledger", CODEDEPLOY, target)
    sent = event(1)
    bus.publish(sent)
    assert bus.drain(5.0)
    assert [e["id"] for e in target.got] == [sent["id"]] * 3


def test_delays_deliver_out_of_order_and_nothing_is_lost(bus_of: Any) -> None:
    bus, target = bus_of(Delivery(max_delay_seconds=120.0, seed=7)), Recorder()
    bus.put_rule("ledger", CODEDEPLOY, target)
    for number in range(20):
        bus.publish(event(number))
    assert bus.drain(10.0)
    order = [e["detail"]["n"] for e in target.got]
    assert sorted(order) == list(range(20))
    assert order != list(range(20))  # later events arrived first


def test_a_target_that_raises_does_not_stop_delivery(bus_of: Any) -> None:
    bus, target = bus_of(), Recorder()

    def refuse(event: dict[str, Any]) -> None:
        raise LookupError("the sandbox is stopping")

    bus.put_rule("broken", CODEDEPLOY, refuse)
    bus.put_rule("ledger", CODEDEPLOY, target)
    bus.publish(event(1))
    assert bus.drain(5.0)
    assert len(target.got) == 1
    errors = {d.rule: d.error for d in bus.delivered}
    assert errors == {"broken": "LookupError: the sandbox is stopping", "ledger": None}


class ScriptedClock:
    """A clock whose readings are scripted (the last one repeats): races made deterministic."""

    time_scale = 1.0

    def __init__(self, readings: list[float]) -> None:
        self.readings = readings

    def now(self) -> float:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]

    def wait(self, event: threading.Event, virtual_seconds: float) -> bool:
        return event.wait(0.001)


def test_a_delivery_that_falls_due_between_two_readings_is_handed_over_once() -> None:
    """Not due when the dispatcher looked, due when it computed its wait: it must still be taken
    from the queue before it is handed over (it was handed over unpopped: delivered twice, and
    ``drain`` never saw the bus empty)."""
    knob = Delivery(max_delay_seconds=10.0, seed=3)
    delay = random.Random(knob.seed).uniform(0.0, knob.max_delay_seconds)
    clock = ScriptedClock([0.0, delay - 0.5, delay + 0.5, delay + 1.0])  # publish, look, wait, look
    bus, target = EventBus(clock, knob), Recorder()  # type: ignore[arg-type]
    bus.put_rule("ledger", CODEDEPLOY, target)
    bus.publish(event(1))
    bus.start()
    try:
        assert bus.drain(2.0)
        assert len(target.got) == 1 and len(bus.delivered) == 1
    finally:
        bus.stop()


def test_stop_drops_what_still_waits() -> None:
    bus, target = EventBus(VirtualClock(SCALE), Delivery(max_delay_seconds=6000.0)).start(), Recorder()
    bus.put_rule("ledger", CODEDEPLOY, target)
    bus.publish(event(1))
    bus.stop()
    assert target.got == [] and not bus.drain(0.05)


def test_envelope_has_eventbridges_members() -> None:
    sent = envelope(
        "aws.ecs", "ECS Deployment State Change", {}, ["arn"], region="r", account="a", at=86400.9
    )
    assert set(sent) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert sent["time"] == "1970-01-02T00:00:00Z" and sent["version"] == "0"


# --- template.yaml's rules --------------------------------------------------------------------------

SAM_FORM = """
Parameters:
  Environment: {Type: String}
Resources:
  LedgerFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "bluegreen-${Environment}-ledger"
      Handler: hooks.ledger.handler
      EventInvokeConfig: {MaximumRetryAttempts: 1}
      Events:
        DeploymentStateChanges:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.codedeploy]
              detail-type: [CodeDeploy Deployment State-change Notification]
  Smoke:
    Type: AWS::Serverless::Function
    Properties:
      Handler: hooks.handlers.after_install
"""

CFN_FORM = """
Resources:
  LedgerFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "bluegreen-${Environment}-ledger"
      Handler: hooks.ledger.handler
  LedgerRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        $or:
          - {source: [aws.codedeploy], detail-type: [CodeDeploy Deployment State-change Notification]}
          - {source: [aws.ecs], detail-type: [ECS Deployment State Change]}
      Targets:
        - Id: ledger
          Arn: !GetAtt LedgerFunction.Arn
  OtherRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"source": ["aws.ecs"]}'
      Targets:
        - Id: queue
          Arn: !GetAtt SomeQueue.Arn
"""


def test_rules_are_read_from_sam_function_events(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(SAM_FORM, encoding="utf-8")
    (rule,) = template_rules(template, "dev")
    assert rule.name == "LedgerFunction.DeploymentStateChanges"
    assert rule.function_name == "bluegreen-dev-ledger" and rule.handler == "hooks.ledger.handler"
    assert rule.pattern == CODEDEPLOY and rule.max_retry_attempts == 1


def test_rules_are_read_from_events_rule_resources(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(CFN_FORM, encoding="utf-8")
    (rule,) = template_rules(template, "prod")  # the queue's rule targets no function
    assert rule.name == "LedgerRule" and rule.function_name == "bluegreen-prod-ledger"
    assert len(rule.pattern["$or"]) == 2 and rule.max_retry_attempts == 2


def test_no_template_no_rules(tmp_path: Path) -> None:
    assert template_rules(tmp_path / "absent.yaml", "dev") == []


def test_handler_of_imports_what_a_handler_names() -> None:
    assert handler_of("hooks.handlers.after_install") is not None
    assert handler_of("hooks.nothing_here.handler") is None
    assert handler_of("hooks.handlers.no_such_function") is None
