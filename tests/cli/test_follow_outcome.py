"""How a followed deployment's ending becomes an exit code and a one-line error (commands/follow.py),
as a table over the watch's result: pure, no AWS."""

from __future__ import annotations

import pytest

from orchestrator.commands.follow import Subject, _error, outcome_of
from orchestrator.watching.loop import WatchResult
from orchestrator.watching.snapshots import snapshot_from


def _result(status: str, timed_out: bool = False, **info: object) -> WatchResult:
    snapshot = snapshot_from({"deploymentId": "d-1", "status": status, **info})
    return WatchResult("d-1", snapshot, [], not timed_out, timed_out, 60.0, 3, 6, 6)


def _subject(ephemeral: bool = False) -> Subject:
    return Subject("d-1", "svc", "dev", "canary10", None, (), 600.0, ephemeral=ephemeral)


@pytest.mark.parametrize(
    ("result", "ephemeral", "code", "says", "never"),
    [
        (_result("Succeeded"), False, None, "", ""),
        (_result("InProgress", timed_out=True), False, 3, "bluegreen watch d-1", "sandbox stopped"),
        # deployed into this run's sandbox: nothing keeps running, so no re-attach hint
        (_result("InProgress", timed_out=True), True, 3, "sandbox stopped with this run", "bluegreen watch"),
        (
            _result("Failed", rollbackInfo={"rollbackDeploymentId": "d-2"}),
            False,
            1,
            "rolled back by d-2",
            "",
        ),
        (_result("Stopped"), False, 1, "deployment d-1 Stopped", ""),
    ],
    ids=["succeeded", "timeout", "sandbox-timeout", "rolled-back", "stopped"],
)
def test_the_error_a_followed_deployment_ends_with(
    result: WatchResult, ephemeral: bool, code: int | None, says: str, never: str
) -> None:
    error = _error(_subject(ephemeral), result, outcome_of(result, "done"))
    if code is None:
        assert error is None
        return
    assert error is not None and error.exit_code == code
    assert says in str(error)
    assert not never or never not in str(error)
