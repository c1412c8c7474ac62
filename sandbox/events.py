"""The sandbox's EventBridge: a default event bus with rules, fed by the emulators.

The CodeDeploy emulator and the ECS endpoint ``publish`` AWS's state-change events (the envelope
``envelope`` builds: version, id, detail-type, source, account, time, region, resources, detail);
``EventBus`` matches each against its rules' event patterns (``sandbox.event_patterns``: the
patterns are read from template.yaml by ``template_rules``, so the sandbox tests the shipped ones)
and hands it to each matching rule's target, a Lambda function invoked asynchronously through the
world's ``LambdaRunner``, as EventBridge invokes Lambda targets.

Delivery runs on the bus's own thread, on the world's virtual clock. ``Delivery`` is the test knob
for what EventBridge does not promise: it delivers at least once and in no particular order ("Amazon
EventBridge ... delivers events at least once"; "events might be delivered out of order",
AWS, "Amazon EventBridge event bus" / "Event retry policy and using dead-letter queues"). With
``copies=2`` every event reaches every target twice (same event id), and with ``max_delay_seconds``
each copy waits a seeded random virtual delay, so a later state can arrive before an earlier one.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.event_patterns import check_pattern, matches
from sandbox.template_file import load_template

log = logging.getLogger(__name__)

Event = dict[str, Any]
Target = Callable[[Event], None]
Publish = Callable[[Event], None]
"""What an emulator is given: ``publish(event)`` puts one event on the bus (never blocks, never raises)."""

_POLL_REAL_SECONDS = 0.05  # how often an idle dispatcher looks again (real seconds)


def iso_time(virtual_epoch: float) -> str:
    """An event's ``time``: ISO-8601 UTC to the second, as AWS's examples write it."""
    return datetime.fromtimestamp(int(virtual_epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    resources: list[str],
    *,
    region: str,
    account: str,
    at: float,
) -> Event:
    """An event as EventBridge delivers it (AWS, "Amazon EventBridge events": the envelope's fields)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso_time(at),
        "region": region,
        "resources": list(resources),
        "detail": dict(detail),
    }


@dataclass(frozen=True)
class Delivery:
    """How the bus delivers: ``copies`` of each event per target (at least once), each after a seeded
    random virtual delay of up to ``max_delay_seconds`` (unordered). The default is one prompt copy."""

    copies: int = 1
    max_delay_seconds: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.copies < 1 or self.max_delay_seconds < 0:
            raise ValueError(f"copies must be >= 1 and max_delay_seconds >= 0: {self}")


@dataclass(frozen=True)
class Delivered:
    """One delivery of one event to one rule's target (``error``: the target raised)."""

    rule: str
    event: Event
    at: float  # virtual time
    error: str | None = None


@dataclass
class _Rule:
    name: str
    pattern: dict[str, Any]
    target: Target


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    rule: _Rule = field(compare=False)
    event: Event = field(compare=False)


class EventBus:
    """A default event bus: ``put_rule``, ``publish``; ``start``/``stop`` its delivery thread."""

    def __init__(self, clock: VirtualClock, delivery: Delivery | None = None) -> None:
        self.clock = clock
        self.delivery = delivery or Delivery()
        self._random = random.Random(self.delivery.seed)
        self._rules: list[_Rule] = []
        self._pending: list[_Pending] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._busy = 0  # deliveries being handed to a target right now
        self._thread: threading.Thread | None = None
        self.published: list[Event] = []
        self.delivered: list[Delivered] = []

    # --- rules and events ---------------------------------------------------------------------------

    def put_rule(self, name: str, pattern: Mapping[str, Any], target: Target) -> None:
        """A rule and its one target (PutRule + PutTargets); the pattern is checked as EventBridge does."""
        check_pattern(pattern)
        with self._lock:
            self._rules.append(_Rule(name, json.loads(json.dumps(pattern)), target))

    def rule_names(self) -> list[str]:
        with self._lock:
            return [rule.name for rule in self._rules]

    def publish(self, event: Event) -> None:
        """PutEvents of one event: each matching rule's target gets it per ``Delivery``."""
        with self._lock:
            self.published.append(event)
            now = self.clock.now()
            for rule in self._rules:
                if not matches(rule.pattern, event):
                    continue
                for _ in range(self.delivery.copies):
                    delay = self._random.uniform(0.0, self.delivery.max_delay_seconds)
                    heapq.heappush(self._pending, _Pending(now + delay, next(self._seq), rule, event))
        self._wake.set()

    # --- delivery -----------------------------------------------------------------------------------

    def start(self) -> EventBus:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="event-bus", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop delivering; events still waiting are dropped (the world is going away)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def drain(self, real_timeout: float = 30.0) -> bool:
        """Wait (real seconds) until every event published so far has been handed to its targets."""
        deadline = time.monotonic() + real_timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and not self._busy:
                    return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            ready, first = self._take_due()
            if ready is not None:
                self._hand_over(ready)
            elif first is None:
                self._wake.wait(_POLL_REAL_SECONDS)
                self._wake.clear()
            else:  # a publish (wake) may bring an earlier one
                self._clock_wait(first.due)

    def _take_due(self) -> tuple[_Pending | None, _Pending | None]:
        """(the earliest delivery, popped and counted busy, when it is due; else None, the earliest)."""
        with self._lock:
            if not self._pending:
                return None, None
            if self._pending[0].due > self.clock.now():
                return None, self._pending[0]
            self._busy += 1
            return heapq.heappop(self._pending), None

    def _clock_wait(self, due: float) -> None:
        self.clock.wait(self._wake, due - self.clock.now())
        self._wake.clear()

    def _hand_over(self, pending: _Pending) -> None:
        error = None
        try:
            pending.rule.target(pending.event)
        except Exception as err:  # a target that refuses (the world stopping) is the target's business
            error = f"{type(err).__name__}: {err}"
            log.warning("event %s to rule %s: %s", pending.event.get("id"), pending.rule.name, error)
        with self._lock:
            self.delivered.append(Delivered(pending.rule.name, pending.event, self.clock.now(), error))
            self._busy -= 1


# --- the rules template.yaml ships -----------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRule:
    """An EventBridge rule of the SAM template whose target is one of its Lambda functions."""

    name: str  # the rule's logical id (or the function's id + the event's name for a SAM event)
    pattern: dict[str, Any]
    function_name: str  # FunctionName with ${Environment} filled in (the logical id without one)
    handler: str  # the function's Handler, e.g. hooks.ledger.handler
    max_retry_attempts: int = 2  # its EventInvokeConfig's (AWS's default 2)


_SAM_EVENT_RULES = ("EventBridgeRule", "CloudWatchEvent")


def template_rules(template: Path, environment: str) -> list[TemplateRule]:
    """The template's EventBridge rules that target its Lambda functions: SAM function events of type
    EventBridgeRule / CloudWatchEvent, and AWS::Events::Rule resources whose Targets name a function
    by ``!GetAtt F.Arn`` or ``!Ref F``. [] without a template."""
    if not template.is_file():
        return []
    resources = load_template(template).get("Resources") or {}
    functions = {
        logical_id: body.get("Properties") or {}
        for logical_id, body in resources.items()
        if body.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    }

    def rule(name: str, pattern: Any, function_id: str) -> TemplateRule:
        props = functions[function_id]
        found = json.loads(pattern) if isinstance(pattern, str) else pattern
        check_pattern(found)
        function_name = _substitute(str(props.get("FunctionName") or function_id), environment)
        retries = int((props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2))
        return TemplateRule(name, found, function_name, str(props.get("Handler") or ""), retries)

    out: list[TemplateRule] = []
    for function_id, props in functions.items():
        for event_name, event in (props.get("Events") or {}).items():
            if event.get("Type") in _SAM_EVENT_RULES:
                out.append(
                    rule(
                        f"{function_id}.{event_name}",
                        (event.get("Properties") or {}).get("Pattern"),
                        function_id,
                    )
                )
    for logical_id, body in resources.items():
        if body.get("Type") != "AWS::Events::Rule":
            continue
        props = body.get("Properties") or {}
        for target in props.get("Targets") or []:
            function_id = _function_of(target.get("Arn"))
            if function_id is not None and function_id in functions:
                out.append(rule(logical_id, props.get("EventPattern"), function_id))
    return out


def _function_of(arn: Any) -> str | None:
    """The logical id a target's Arn names: ``!GetAtt F.Arn``, ``Fn::GetAtt: [F, Arn]`` or ``!Ref F``."""
    if isinstance(arn, Mapping):
        arn = arn.get("Fn::GetAtt") or arn.get("Ref")
    if isinstance(arn, list):
        return str(arn[0]) if arn else None
    return str(arn).split(".")[0] if arn else None


def _substitute(text: str, environment: str) -> str:
    return text.replace("${Environment}", environment)


def handler_of(dotted: str) -> Callable[[dict[str, Any], Any], Any] | None:
    """The function a Handler names (``hooks.ledger.handler``), None when it cannot be imported."""
    module, _, name = dotted.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return found if callable(found) else None
