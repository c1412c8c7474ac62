"""Rollback drills' rules (pure): who may be drilled, how long a rollback may take, and the verdict.

`bluegreen drill SERVICE --env ENV` redeploys the live revision and forces a failure in the middle of
it; the drill passes when the engine stops the deployment and traffic is back on the original
(blue) within the bound the configuration implies. This module decides everything a drill decides
without AWS: the refusal rules (production needs --force), the bound, and the verdict line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

# Environments a catalog without `production:` marks as production by their name alone.
PRODUCTION_NAMES = frozenset({"prod", "production", "prd", "live"})

# How often each engine reads the deployment's alarms. CodeDeploy documents none ("monitors the
# alarms"; AWS CodeDeploy User Guide, "Monitoring deployments with CloudWatch alarms"); the sandbox's
# emulator polls every 60 s. Amazon ECS's deployment alarms: also not documented; the sandbox's ECS
# endpoint chose 60 s (ARCHITECTURE.md, issue 11's closing note). Both are assumptions, named here.
ENGINE_ALARM_POLL_SECONDS = {"codedeploy": 60.0, "ecs": 60.0}
# From the engine's decision to traffic back on the original: a CodeDeploy rollback deployment
# reroutes all at once (no traffic shifting) after re-creating nothing; ECS moves the listener rule
# back within the same service deployment. One minute covers both, with their status updates.
ROLLBACK_REROUTE_SECONDS = 60.0


class Fault(StrEnum):
    """What the drill breaks on purpose."""

    ALARM = "alarm"  # one of the service's alarms set to ALARM mid-canary (CloudWatch SetAlarmState)
    HOOK = "hook"  # a lifecycle hook's verdict forced to Failed


def is_production(environment: str, production: bool | None) -> bool:
    """An environment is production when the catalog says so (`production: true`), or, when the
    catalog says nothing, when its name is one people use for production."""
    if production is not None:
        return production
    return environment.lower() in PRODUCTION_NAMES


def refusal(environment: str, production: bool | None, force: bool) -> str | None:
    """Why a drill may not run here (None: it may): production is refused without --force."""
    if is_production(environment, production) and not force:
        return (
            f"{environment} is a production environment: a drill there breaks a release on purpose; "
            "run it in another environment, or add --force to drill production anyway"
        )
    return None


def parse_fault(text: str) -> Fault:
    try:
        return Fault(text.strip().lower())
    except ValueError:
        valid = ", ".join(fault.value for fault in Fault)
        raise ValueError(f"--fault {text!r}: valid faults are {valid}") from None


@dataclass(frozen=True)
class Bound:
    """How long from the forced failure to traffic back on the original, and how it adds up."""

    detect_seconds: float
    reroute_seconds: float
    why: str

    @property
    def seconds(self) -> float:
        return self.detect_seconds + self.reroute_seconds


def alarm_bound(
    engine: str,
    alarm_period: float,
    evaluation_periods: int,
    drill_poll: float,
    *,
    forced: bool = True,
    reassert_gap: float | None = None,
) -> Bound:
    """The bound for an alarm drill.

    A forced ALARM lasts until CloudWatch next evaluates the alarm (at most one period: "the alarm
    returns to its actual state", SetAlarmState API reference); the drill re-asserts it every
    ``reassert_gap`` at most (its polls' ``drill_poll`` when not given), so it is missing at most that
    long of every period. The engine sees it at its first alarm poll after the drill set it, or, when
    that poll fell into such a gap, at the next one: two engine polls; and the drill sees the end at
    its next poll (``drill_poll``). A real breach (``forced=False``) first needs the alarm's own
    evaluation: ``evaluation_periods`` periods of bad datapoints.
    """
    poll = ENGINE_ALARM_POLL_SECONDS.get(engine, 60.0)
    gap = drill_poll if reassert_gap is None else reassert_gap
    misses = 1 if gap < alarm_period else 2  # gaps shorter than a period: one poll may miss
    detect = poll * (1 + misses) + drill_poll
    why = f"{engine}'s alarm poll {poll:g} s x {1 + misses} + the drill's poll {drill_poll:.3g} s"
    if reassert_gap is not None:
        why += f" (ALARM re-asserted every {reassert_gap:.2g} s at most)"
    if not forced:
        detect += alarm_period * evaluation_periods
        why += f" + {evaluation_periods} x {alarm_period:g} s alarm period"
    return Bound(detect, ROLLBACK_REROUTE_SECONDS, f"{why} + {ROLLBACK_REROUTE_SECONDS:g} s to reroute")


# A hook drill fails the AfterAllowTraffic hook: it runs once production traffic is all on green, so
# the rollback has all of it to move back. The hook answers Failed as its first act (one read: the
# deployment's description, or nothing on ECS), so the engine learns it within a Lambda invocation;
# 30 s covers a cold start and the report (an assumption, like the alarm poll above).
HOOK_ANSWER_SECONDS = 30.0

# The marker a hook drill leaves where the hooks already read a deployment's words: CodeDeploy's
# deployment description, Amazon ECS's lifecycle hooks' hookDetails ``description`` (ECS keeps no
# description). On ECS hookDetails stays in the service's configuration after the drill, so the marker
# names the task definition the drill deployed: a later deployment of another revision that does not
# send its own lifecycleHooks (a console redeploy) is not failed by it.
DRILL_MARKER = "drill-fault:"
_MARKER = re.compile(r"drill-fault:\s*(?P<fault>[a-z]+)(?:\s+for\s+(?P<target>[^\s;]+))?", re.IGNORECASE)


class Marked(NamedTuple):
    """A drill marker read back: the fault, and the task definition it is for (None: this deployment)."""

    fault: Fault
    task_definition: str | None


def fault_marker(fault: Fault, task_definition: str | None = None) -> str:
    """``drill-fault: hook`` (CodeDeploy: in the description of the drill's own deployment), or
    ``drill-fault: hook for <task definition ARN>`` (ECS: in hookDetails, which outlives it)."""
    target = f" for {task_definition}" if task_definition else ""
    return f"{DRILL_MARKER} {fault.value}{target}"


def marked_fault(text: str | None) -> Marked | None:
    """The drill marker in a description, if any (an unknown fault word is no marker)."""
    found = _MARKER.search(text or "")
    if found is None:
        return None
    try:
        fault = Fault(found.group("fault").lower())
    except ValueError:
        return None
    return Marked(fault, found.group("target"))


def hook_bound(drill_poll: float, hook_answer: float = HOOK_ANSWER_SECONDS) -> Bound:
    """The bound for a hook drill, from the poll that saw the AfterAllowTraffic hook start: the hook
    answers Failed at once (``hook_answer``), the engine rolls back on a failed hook (CodeDeploy:
    DEPLOYMENT_FAILURE; ECS: always), and the drill sees it at its next poll."""
    detect = hook_answer + drill_poll
    why = f"the hook's answer {hook_answer:g} s + the drill's poll {drill_poll:.3g} s"
    return Bound(detect, ROLLBACK_REROUTE_SECONDS, f"{why} + {ROLLBACK_REROUTE_SECONDS:g} s to reroute")


@dataclass(frozen=True)
class Observed:
    """What the drill saw: when it broke the release, and when (if) traffic was back on the original."""

    deployment_id: str
    status: str
    rolled_back: bool
    injected_at: float | None  # deployment seconds since the watch started; None: never injected
    back_on_blue_at: float | None  # the poll that saw the deployment ended and rolled back
    wiring_problem: str | None = None  # what the engine's configuration lacks, if anything


@dataclass(frozen=True)
class Verdict:
    passed: bool
    seconds_to_rollback: float | None
    line: str


def verdict(observed: Observed, bound: Bound) -> Verdict:
    """Pass when the deployment was rolled back and traffic was back on blue within the bound."""
    deployment = observed.deployment_id
    wiring = f": {observed.wiring_problem}" if observed.wiring_problem else ""
    if observed.injected_at is None:
        return Verdict(
            False,
            None,
            f"drill failed: deployment {deployment} ended {observed.status} before the fault could be "
            f"injected (it never shifted production traffic){wiring}",
        )
    if not observed.rolled_back or observed.back_on_blue_at is None:
        return Verdict(
            False,
            None,
            f"drill FAILED: deployment {deployment} was not rolled back (status {observed.status}){wiring}",
        )
    took = observed.back_on_blue_at - observed.injected_at
    if took > bound.seconds:
        return Verdict(
            False,
            took,
            f"drill FAILED: deployment {deployment} rolled back {took:.0f} s after the fault, beyond the "
            f"{bound.seconds:.0f} s bound ({bound.why}){wiring}",
        )
    return Verdict(
        True,
        took,
        f"drill passed: {deployment} stopped and back on blue {took:.0f} s after the fault "
        f"(bound {bound.seconds:.0f} s: {bound.why})",
    )
