"""Why a hook failed, for deploy/watch/rollback and status: the hook's own verdict line, read from
CloudWatch Logs (``logs:FilterLogEvents`` on ``/aws/lambda/<function>``), and, with ``--sandbox``,
where the hook log file is. Reading the reason never fails the command."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from orchestrator.commands.sandbox_extra import hook_log
from orchestrator.commands.session import Session
from orchestrator.errors import BluegreenError
from orchestrator.vocabulary import ECS_HOOK_EVENTS
from orchestrator.watching.hook_verdict import (
    HookFailure,
    SuspectHook,
    reason_for,
    suspect_hooks,
)

# The verdict line is logged right after the report; CloudWatch Logs shows it seconds later (and
# the sandbox's runner a moment later): a few short tries before saying it is not there.
READ_ATTEMPTS = 3
READ_INTERVAL_SECONDS = 1.0
WINDOW_BEFORE_SECONDS = 3600.0


def hook_failure(
    session: Session,
    clients: Any,
    deployment_id: str,
    service: str | None,
    environment: str | None,
    lifecycle: Iterable[tuple[str, str]],
    since: float,
    sleep: Callable[[float], None] = time.sleep,
) -> HookFailure | None:
    """The first failed lifecycle event (CodeDeploy) or stage (Amazon ECS) with a hook, and its
    reason (None when no hook failed). ``since`` is a wall-clock time (epoch s) at or before the
    deployment's start."""
    hooks = _hooks_of(session, service, environment)
    events = [(name, status) for name, status in lifecycle]
    suspects = suspect_hooks(events, hooks) or suspect_hooks(events, _ALL_HOOKABLE)
    log_file = hook_log()
    first: HookFailure | None = None  # the failed step's own hook, when no hook's verdict is found
    for suspect in suspects:
        function = hooks.get(suspect.event)
        if function is None:
            failure = HookFailure(
                suspect.step, None, None, "the catalog names no hook function for it", log_file
            )
        else:
            reason, unavailable = _read_reason(clients, function, deployment_id, suspect, since, sleep)
            failure = HookFailure(suspect.step, function, reason, unavailable, log_file)
            if reason is not None:
                return failure
        # A hook that only may have run during the failed step (ECS's pre-shift hook) explains the
        # failure only with its own Failed verdict: an alarm may as well have stopped the shift.
        if suspect.sure and first is None:
            first = failure
    return first


def _read_reason(
    clients: Any,
    function: str,
    deployment_id: str,
    suspect: SuspectHook,
    since: float,
    sleep: Callable[[float], None],
) -> tuple[str | None, str | None]:
    from orchestrator.aws.logs import read_verdicts

    start_ms = int((min(since, time.time()) - WINDOW_BEFORE_SECONDS) * 1000)
    for attempt in range(READ_ATTEMPTS):
        try:
            # No end: nothing is logged ahead of now, and the lines carry the service's clock (the
            # sandbox stamps its virtual time, ahead of this machine's).
            read = read_verdicts(clients.client("logs"), function, deployment_id, start_ms, None)
        except Exception as err:  # making the client (region, credentials...): the reason is extra,
            return None, f"cannot read CloudWatch Logs: {err}"  # never a reason to fail the command
        if read.unavailable:
            return None, read.unavailable
        reason = reason_for(read.verdicts, deployment_id, suspect.event, suspect.step)
        if reason is not None:
            return reason, None
        # Only the failed step's own hook is worth waiting for: a hook that only may have run there
        # logged its verdict before it returned, and ECS rolled the deployment back after that.
        if attempt + 1 < READ_ATTEMPTS and suspect.sure:
            sleep(READ_INTERVAL_SECONDS)
    return None, f"no verdict line for {deployment_id} in log group /aws/lambda/{function} yet"


_ALL_HOOKABLE = dict.fromkeys(ECS_HOOK_EVENTS, "")


def _hooks_of(session: Session, service: str | None, environment: str | None) -> dict[str, str]:
    if service is None:
        return {}
    try:
        resolved = session.catalog.resolve(service, environment)
    except BluegreenError:
        return {}
    return dict(resolved.settings.hooks)
