"""Which AWS failures are retried, and how: pure tables over botocore's own exception types."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import exceptions as bex
from botocore.retries.standard import ThrottledRetryableChecker

from orchestrator.aws import clients as aws
from orchestrator.aws.clients import backoff_seconds, is_throttling, is_transient, retry_throttled
from orchestrator.engines.codedeploy_plan import (
    CreateDecision,
    CreateFailure,
    Then,
    classify_create_failure,
    decide_after_create_failure,
)
from orchestrator.errors import AwsError, BadInputError
from orchestrator.watching.loop import keep_watching_after


def client_error(code: str, status: int = 400, operation: str = "CreateDeployment") -> bex.ClientError:
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return bex.ClientError(response, operation)


def wrapped(err: BaseException) -> AwsError:
    """What the adapters raise: an AwsError whose cause is the botocore error."""
    try:
        raise AwsError("call failed") from err
    except AwsError as raised:
        return raised


def test_throttling_codes_are_the_ones_botocore_standard_mode_retries() -> None:
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) >= aws.THROTTLING_CODES
    # The codes the services bluegreen calls answer with when throttled:
    # JSON 1.1 (ECS, CodeDeploy) and query protocol (ELBv2, CloudWatch).
    assert {"ThrottlingException", "Throttling"} <= aws.THROTTLING_CODES


@pytest.mark.parametrize(
    ("err", "throttling", "transient"),
    [
        (client_error("ThrottlingException"), True, True),
        (client_error("Throttling"), True, True),
        (wrapped(client_error("ThrottlingException")), True, True),
        (client_error("InternalFailure", 500), False, True),
        (client_error("AccessDeniedException"), False, False),
        (client_error("DeploymentLimitExceededException"), False, False),
        (client_error("LimitExceededException"), False, False),  # a CodeDeploy quota, not a rate
        (bex.ReadTimeoutError(endpoint_url="http://x"), False, True),
        (bex.EndpointConnectionError(endpoint_url="http://x"), False, True),
        (BadInputError("no such deployment"), False, False),
        (wrapped(client_error("AccessDenied")), False, False),
    ],
)
def test_throttling_and_transient_failures(err: BaseException, throttling: bool, transient: bool) -> None:
    assert (is_throttling(err), is_transient(err)) == (throttling, transient)


@pytest.mark.parametrize(
    ("attempt", "draw", "expected"),
    [(1, 0.0, 0.25), (1, 1.0, 0.5), (2, 0.5, 0.75), (3, 1.0, 2.0), (6, 0.0, 5.0), (10, 1.0, 10.0)],
)
def test_backoff_doubles_with_half_jitter_up_to_the_cap(attempt: int, draw: float, expected: float) -> None:
    assert backoff_seconds(attempt, draw=draw) == pytest.approx(expected)


def test_retry_throttled_sends_again_only_what_was_throttled() -> None:
    outcomes: list[BaseException | str] = [
        client_error("ThrottlingException"),
        wrapped(client_error("Throttling")),
    ]
    outcomes.append("ok")
    slept: list[float] = []

    def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    assert retry_throttled(call, attempts=3, sleep=slept.append) == "ok"
    assert len(slept) == 2


@pytest.mark.parametrize(
    "err",
    [
        client_error("InternalFailure", 500),
        bex.ReadTimeoutError(endpoint_url="http://x"),
        client_error("Invalid"),
    ],
)
def test_retry_throttled_never_repeats_other_failures(err: BaseException) -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise err

    with pytest.raises(type(err)):
        retry_throttled(call, attempts=5, sleep=lambda _: None)
    assert len(calls) == 1


def test_retry_throttled_gives_up_after_its_attempts() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise client_error("ThrottlingException")

    with pytest.raises(bex.ClientError):
        retry_throttled(call, attempts=4, sleep=lambda _: None)
    assert len(calls) == 4


# --- CreateDeployment: what each failure means and what follows it -------------------------------------


def test_create_failures_are_classified() -> None:
    from orchestrator.aws.codedeploy import AmbiguousCallError

    assert classify_create_failure(AmbiguousCallError("timeout")) is CreateFailure.AMBIGUOUS
    assert classify_create_failure(wrapped(client_error("ThrottlingException"))) is CreateFailure.THROTTLED
    busy = wrapped(client_error("DeploymentLimitExceededException"))
    assert classify_create_failure(busy) is CreateFailure.GROUP_BUSY
    assert classify_create_failure(wrapped(client_error("InvalidRoleException"))) is CreateFailure.REFUSED
    assert classify_create_failure(BadInputError("group missing")) is CreateFailure.REFUSED


R, B, F = Then.RETRY, Then.REFUSE_BUSY, Then.FAIL


@pytest.mark.parametrize(
    ("failure", "ambiguous_seen", "throttled", "ambiguous", "expected"),
    [
        # throttled: not applied; retried without a search, up to 10 times
        (CreateFailure.THROTTLED, False, 1, 0, CreateDecision(False, R)),
        (CreateFailure.THROTTLED, False, 9, 0, CreateDecision(False, R)),
        (CreateFailure.THROTTLED, False, 10, 0, CreateDecision(False, F)),
        # ... but after an ambiguous attempt the token is searched first
        (CreateFailure.THROTTLED, True, 1, 1, CreateDecision(True, R)),
        # ambiguous: search, then retry (3 ambiguous attempts at most)
        (CreateFailure.AMBIGUOUS, True, 0, 1, CreateDecision(True, R)),
        (CreateFailure.AMBIGUOUS, True, 5, 2, CreateDecision(True, R)),
        (CreateFailure.AMBIGUOUS, True, 0, 3, CreateDecision(True, F)),
        # the group is busy: the documented refusal (ours? only if an attempt was ambiguous)
        (CreateFailure.GROUP_BUSY, False, 0, 0, CreateDecision(False, B)),
        (CreateFailure.GROUP_BUSY, False, 3, 0, CreateDecision(False, B)),
        (CreateFailure.GROUP_BUSY, True, 0, 1, CreateDecision(True, B)),
        # any other answer is definite
        (CreateFailure.REFUSED, False, 0, 0, CreateDecision(False, F)),
        (CreateFailure.REFUSED, True, 0, 1, CreateDecision(True, F)),
    ],
)
def test_decision_after_a_failed_create(
    failure: CreateFailure, ambiguous_seen: bool, throttled: int, ambiguous: int, expected: CreateDecision
) -> None:
    assert decide_after_create_failure(failure, ambiguous_seen, throttled, ambiguous) == expected


# --- the watch: a failed read is data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("err", "failed_in_a_row", "keep"),
    [
        (wrapped(client_error("ThrottlingException", operation="GetDeployment")), 1, True),
        (wrapped(client_error("ThrottlingException", operation="GetDeployment")), 7, True),
        (wrapped(client_error("ThrottlingException", operation="GetDeployment")), 8, False),
        (wrapped(client_error("InternalFailure", 500, "GetDeploymentTarget")), 3, True),
        (wrapped(bex.ReadTimeoutError(endpoint_url="http://x")), 1, True),
        (wrapped(client_error("AccessDeniedException", operation="GetDeployment")), 1, False),
        (BadInputError("no deployment d-X"), 1, False),
    ],
)
def test_watch_goes_on_after_transient_failed_polls(
    err: BaseException, failed_in_a_row: int, keep: bool
) -> None:
    assert keep_watching_after(err, failed_in_a_row, limit=8) is keep


@pytest.mark.parametrize("code", sorted(aws.THROTTLING_CODES))
def test_every_throttling_code_is_described_as_throttling(code: str) -> None:
    from botocore.exceptions import ClientError

    from orchestrator.aws.clients import describe_aws_error

    err = ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, "GetDeployment")
    assert describe_aws_error(err, "GetDeployment d-1") == (
        "GetDeployment d-1: throttled by AWS after retries; try again in a minute"
    )
