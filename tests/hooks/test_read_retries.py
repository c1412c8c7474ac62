"""The hooks' reads under throttling: retried within the deadline, never past it; paged lists read whole."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from hooks import clients
from hooks.clients import aws_call, calls_end_by, read_retry_wait
from hooks.deployment import list_deployment_targets
from orchestrator.errors import AwsError


@pytest.mark.parametrize(
    ("attempt", "retryable", "left", "draw", "wait"),
    [
        (1, True, 10.0, 0.0, 0.05),  # half of the 0.1 s backoff is fixed ...
        (1, True, 10.0, 1.0, 0.1),  # ... half is jitter
        (3, True, 10.0, 0.5, 0.3),  # 0.4 s ceiling
        (9, True, 10.0, 1.0, 2.0),  # capped at 2 s
        (30, True, 60.0, 0.0, 1.0),  # no attempt cap while time is left
        (5, True, 0.5, 1.0, 0.4),  # cut to leave time for one more request (2 x 50 ms)
        (1, True, 0.1, 0.5, None),  # no room for another request: give up
        (1, True, -1.0, 0.5, None),  # deadline passed
        (1, False, 10.0, 0.5, None),  # not throttling / 5xx / connection: never retried
        (7, True, None, 1.0, 2.0),  # no deadline: at most 8 attempts ...
        (8, True, None, 1.0, None),  # ... then give up
    ],
)
def test_read_retry_wait(
    attempt: int, retryable: bool, left: float | None, draw: float, wait: float | None
) -> None:
    got = read_retry_wait(attempt, retryable, left, draw)
    assert got == (None if wait is None else pytest.approx(wait))


def _throttled(operation: str = "DescribeTargetHealth") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


class Flaky:
    """Fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return {"ok": True}


def test_a_throttled_read_is_retried_while_the_deadline_leaves_time() -> None:
    """Botocore's 4 attempts used to give up here: the 5th is what answers."""
    call, slept = Flaky(6, _throttled()), []
    with calls_end_by(time.monotonic() + 30.0):
        assert aws_call("elbv2 DescribeTargetHealth", call, sleep=slept.append) == {"ok": True}
    assert call.calls == 7 and len(slept) == 6 and all(0 < s <= 2.0 for s in slept)


def test_connection_failures_are_retried_too() -> None:
    call = Flaky(2, EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    with calls_end_by(time.monotonic() + 30.0):
        assert aws_call("x", call, sleep=lambda s: None) == {"ok": True}


def test_a_read_gives_up_at_the_deadline_and_says_how_often_it_tried() -> None:
    call = Flaky(10_000, _throttled())
    started = time.monotonic()
    with (
        calls_end_by(started + 0.6),
        pytest.raises(AwsError, match=r"Throttling: Rate exceeded \(\d+ attempts\)"),
    ):
        aws_call("elbv2 DescribeTargetHealth", call)
    assert time.monotonic() - started < 0.6  # every wait bounded by the time left
    assert call.calls > 1


def test_without_a_deadline_a_read_makes_at_most_8_attempts() -> None:
    call = Flaky(10_000, _throttled())
    with pytest.raises(AwsError, match=r"\(8 attempts\)"):
        aws_call("x", call, sleep=lambda s: None)
    assert call.calls == clients.READ_ATTEMPTS_WITHOUT_DEADLINE


def test_other_errors_are_not_retried_and_not_found_still_maps() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetDeployment")
    call = Flaky(1, denied)
    with calls_end_by(time.monotonic() + 30.0), pytest.raises(AwsError, match=r"AccessDenied: no$"):
        aws_call("codedeploy GetDeployment", call)
    assert call.calls == 1
    missing = ClientError({"Error": {"Code": "DeploymentDoesNotExistException", "Message": "m"}}, "Get")
    with pytest.raises(LookupError, match="gone: m"):
        aws_call(
            "x",
            Flaky(1, missing),
            not_found={"DeploymentDoesNotExistException": lambda m: LookupError(f"gone: {m}")},
        )


def _codedeploy() -> Any:
    import boto3

    return boto3.client(
        "codedeploy", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_list_deployment_targets_reads_every_page() -> None:
    """CodeDeploy pages ListDeploymentTargets (nextToken); a page may even be empty. Stubbed with
    botocore's own model, so the requests and answers have CodeDeploy's shapes."""
    from botocore.stub import Stubber

    codedeploy = _codedeploy()
    with Stubber(codedeploy) as stub:
        stub.add_response(
            "list_deployment_targets", {"targetIds": [], "nextToken": "t1"}, {"deploymentId": "d-1"}
        )
        stub.add_response(
            "list_deployment_targets",
            {"targetIds": ["cluster:svc"], "nextToken": "t2"},
            {"deploymentId": "d-1", "nextToken": "t1"},
        )
        stub.add_response(
            "list_deployment_targets", {"targetIds": ["other"]}, {"deploymentId": "d-1", "nextToken": "t2"}
        )
        assert list_deployment_targets(codedeploy, "d-1") == ["cluster:svc", "other"]
        stub.assert_no_pending_responses()
