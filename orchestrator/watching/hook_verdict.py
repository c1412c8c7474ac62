"""A failed hook's own reason, read back from the verdict line it logged (pure: no boto3).

Every hook invocation logs one structured verdict line (powertools Logger, JSON): ``verdict``
(Succeeded/Failed), ``deployment_id``, ``lifecycle_event``, ``reason`` and ``evidence`` (the failed
checks). In AWS it lands in CloudWatch Logs ``/aws/lambda/<function>``; the sandbox's Lambda runner
delivers it to moto's CloudWatch Logs the same way. The CLI reads the group (``logs_api``) and
this module picks the verdict that explains a failed lifecycle event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.vocabulary import LifecycleStatus
from orchestrator.watching.lifecycles import lifecycle_of

VERDICT_KEYS = ("verdict", "deployment_id", "lifecycle_event", "reason")
FAILED = LifecycleStatus.FAILED.value


@dataclass(frozen=True)
class Verdict:
    """One hook invocation's verdict, as its log line says it."""

    deployment_id: str
    lifecycle_event: str
    verdict: str
    reason: str
    timestamp: int = 0  # ms since the epoch, from the log event
    evidence: tuple[str, ...] = ()  # the failed checks, "name: detail" each (the line's ``evidence``)
    stage: str | None = None  # Amazon ECS's lifecycle stage the hook ran at (``lifecycle_stage``)


@dataclass(frozen=True)
class HookFailure:
    """What the CLI prints about a lifecycle event whose hook failed."""

    lifecycle_event: str
    function: str | None
    reason: str | None  # the hook's own reason; None when it could not be read
    unavailable: str | None = None  # why the reason could not be read
    log_file: str | None = None  # the sandbox's hook log

    def to_json(self) -> dict[str, Any]:
        """The ``hookFailure`` of a report (keys: orchestrator.documents.HookFailure)."""
        from orchestrator import documents

        return dict(documents.to_json(documents.hook_failure(self)))

    def lines(self) -> list[str]:
        """Text lines for a person: the hook's reason (or why it is unknown), the log file."""
        who = f"{self.lifecycle_event} hook" + (f" ({self.function})" if self.function else "")
        out = [f"{who} failed: {self.reason}" if self.reason else f"{who} failed"]
        if self.reason is None and self.unavailable:
            out.append(f"its reason is unavailable: {self.unavailable}")
        if self.log_file:
            out.append(f"hook log: {self.log_file}")
        return out


def parse_verdict(message: str, timestamp: int = 0) -> Verdict | None:
    """The verdict in one log line, or None when the line is not a verdict line."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        document = json.loads(message[start:])
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    values = [document.get(key) for key in VERDICT_KEYS]
    if not all(isinstance(value, str) and value for value in values):
        return None
    verdict, deployment_id, lifecycle_event, reason = (str(value) for value in values)
    stage = document.get("lifecycle_stage")
    return Verdict(
        deployment_id,
        lifecycle_event,
        verdict,
        reason,
        timestamp,
        evidence_lines(document.get("evidence")),
        stage if isinstance(stage, str) and stage else None,
    )


def evidence_lines(evidence: Any) -> tuple[str, ...]:
    """The failed checks a verdict line lists (``{"name", "passed", "detail", ...}`` each, as
    hooks/outcome.py's ``CheckResult.as_dict`` writes them) as "name: detail" lines."""
    if not isinstance(evidence, list):
        return ()
    found = []
    for check in evidence:
        if isinstance(check, dict) and isinstance(check.get("detail"), str):
            name = check.get("name")
            found.append(f"{name}: {check['detail']}" if isinstance(name, str) and name else check["detail"])
        elif isinstance(check, str) and check:
            found.append(check)
    return tuple(found)


def failed_hook_events(lifecycle: Iterable[tuple[str, str]], hooks: Mapping[str, str]) -> list[str]:
    """Lifecycle events that failed and have a hook, in lifecycle order."""
    return [name for name, status in lifecycle if status == FAILED and name in hooks]


@dataclass(frozen=True)
class SuspectHook:
    """A hook that may explain a failed lifecycle step."""

    event: str  # the catalog's hook event (CodeDeploy's name), the key of its ``hooks``
    step: str  # where the hook runs: the event itself, or Amazon ECS's native hook stage
    sure: bool  # the step that failed is the hook's own (else the hook only may have run during it)


def suspect_hooks(lifecycle: Iterable[tuple[str, str]], hooks: Mapping[str, str]) -> list[SuspectHook]:
    """The hooks (of ``hooks``, keyed by CodeDeploy's event names) that may have failed the failed
    lifecycle steps, in lifecycle order: on CodeDeploy the failed event's own hook; on Amazon ECS the
    hook at the failed native stage, then (not sure) a hook ECS runs around it (PRE_PRODUCTION_
    TRAFFIC_SHIFT's, which is no lifecycle stage of its own)."""
    steps = list(lifecycle)
    model = lifecycle_of(name for name, _ in steps)
    found: list[SuspectHook] = []
    for name, status in steps:
        if status != FAILED:
            continue
        own = model.hook_event_at(name)
        if own is not None and own in hooks:
            found.append(SuspectHook(own, name, True))
        found += [
            SuspectHook(event, model.hook_steps[event], False)
            for event in model.hooks_around.get(name, ())
            if event in hooks
        ]
    if found or not model.rolls_back_in_place or not any(status == FAILED for _, status in steps):
        return found
    # ECS walks the stages back while it rolls back within the deployment (it runs the
    # TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT hooks again): the stage it ends at is not where
    # it failed. Any of the hooks may have: each is blamed only with its own Failed verdict.
    return [
        SuspectHook(event, model.hook_steps[event], False) for event in model.hook_steps if event in hooks
    ]


def reason_for(
    verdicts: Sequence[Verdict], deployment_id: str, lifecycle_event: str, *aliases: str
) -> str | None:
    """The latest Failed verdict of this deployment's lifecycle event (Lambda may retry); a hook on
    Amazon ECS may name its native stage instead (``aliases``)."""
    names = {lifecycle_event, *aliases}
    matching = [
        v
        for v in verdicts
        if v.deployment_id == deployment_id and v.lifecycle_event in names and v.verdict == FAILED
    ]
    if not matching:
        return None
    return max(matching, key=lambda v: v.timestamp).reason


def filter_term(deployment_id: str) -> str:
    """A CloudWatch Logs filter pattern matching lines that contain the deployment id: a quoted
    term (ids contain '-', which an unquoted term may not), the one form moto matches too.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"""
    return '"' + deployment_id.replace('"', "") + '"'
