"""Amazon ECS invokes a lifecycle hook synchronously and reads its return value: the Lambda runner's
``invoke_sync``.

AWS: "If your function doesn't return a valid hookStatus, or if it fails, Amazon ECS rolls back the
deployment" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html),
and Lambda never retries a synchronous invocation itself
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-sync.html): one attempt, the error raised.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest

from sandbox.clock import VirtualClock
from sandbox.lambda_runner import FunctionError, LambdaRunner

ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:hook"
ENVELOPE = {
    "executionId": "e-1",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "resourceArn": "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/s/1",
    "executionDetails": {"serviceArn": "arn:aws:ecs:ap-northeast-2:123456789012:service/c/s"},
}


def _runner(handler: Any, retries: int = 2, **kwargs: Any) -> LambdaRunner:
    return LambdaRunner(
        {"hook": handler},
        "ap-northeast-2",
        "123456789012",
        clock=VirtualClock(600.0),
        retry_attempts={"hook": retries},  # the asynchronous retries must not apply
        **kwargs,
    )


class _Unserializable:
    pass


def _raises(event: dict[str, Any], context: Any) -> Any:
    raise RuntimeError("smoke check failed")


@pytest.mark.parametrize(
    ("returns", "expected"),
    [
        ({"hookStatus": "SUCCEEDED"}, {"hookStatus": "SUCCEEDED"}),
        (
            {"hookStatus": "IN_PROGRESS", "callBackDelay": 30, "hookDetails": {"bakeUntil": 1.5}},
            {"hookStatus": "IN_PROGRESS", "callBackDelay": 30, "hookDetails": {"bakeUntil": 1.5}},
        ),
        ({"hookStatus": "FAILED"}, {"hookStatus": "FAILED"}),  # a verdict, not a function error
        (("a", "tuple"), {}),  # JSON, but no object: no hookStatus (ECS rolls back)
        (None, {}),  # the handler returned nothing
    ],
)
def test_invoke_sync_returns_what_the_handler_returns_as_json(returns: Any, expected: dict[str, Any]) -> None:
    runner = _runner(lambda event, context: returns)
    assert runner.invoke_sync("hook", ENVELOPE) == expected
    assert [(i.function_name, i.error, i.attempt) for i in runner.invocations] == [("hook", None, 1)]


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (_raises, "RuntimeError", "smoke check failed"),
        (lambda event, context: {"when": _Unserializable()}, "Runtime.MarshalError", "Unable to marshal"),
        (lambda event, context: time.sleep(2.0), "Sandbox.Timedout", "Task timed out after 0.20 seconds"),
    ],
)
def test_a_function_error_raises_once_and_is_not_retried(handler: Any, error_type: str, message: str) -> None:
    runner = _runner(handler, retries=2)
    started = time.monotonic()
    with pytest.raises(FunctionError) as raised:
        runner.invoke_sync(ARN, ENVELOPE, timeout_seconds=0.2)
    assert time.monotonic() - started < 1.5  # the deadline, not the handler's 2 s
    assert (raised.value.function_name, raised.value.error_type) == ("hook", error_type)
    assert message in raised.value.error_message
    runner.join(3.0)
    assert len(runner.invocations) <= 1  # never a second attempt
    time.sleep(0.3)  # an asynchronous retry would come 60 virtual s (0.1 real s) later
    assert len(runner.invocations) <= 1


def test_the_function_gets_the_envelope_and_its_deadline() -> None:
    seen: dict[str, Any] = {}

    def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        seen.update(event=event, name=context.function_name, remaining=context.get_remaining_time_in_millis())
        return {"hookStatus": "SUCCEEDED"}

    assert _runner(handler).invoke_sync(ARN, ENVELOPE) == {"hookStatus": "SUCCEEDED"}
    assert seen["event"] == ENVELOPE and seen["name"] == "hook"
    assert 119_000 < seen["remaining"] <= 120_000  # the hooks' Lambda timeout (real seconds)


def test_an_unknown_function_and_a_stopping_world_are_refused() -> None:
    ran: list[str] = []
    runner = _runner(lambda event, context: ran.append("ran"))
    with pytest.raises(LookupError, match="no Lambda function 'other'"):
        runner.invoke_sync("arn:aws:lambda:ap-northeast-2:123456789012:function:other", ENVELOPE)
    runner.join(1.0)
    with pytest.raises(LookupError, match="stopping"):
        runner.invoke_sync("hook", ENVELOPE)
    assert ran == []


def test_join_waits_for_a_running_synchronous_invocation() -> None:
    release, running = threading.Event(), threading.Event()

    def slow(event: dict[str, Any], context: Any) -> dict[str, str]:
        running.set()
        release.wait(5)
        return {"hookStatus": "SUCCEEDED"}

    runner = _runner(slow)
    answers: list[dict[str, Any]] = []
    caller = threading.Thread(target=lambda: answers.append(runner.invoke_sync("hook", ENVELOPE)))
    caller.start()
    assert running.wait(5)
    threading.Timer(0.2, release.set).start()
    runner.join(5.0)  # the world's stop waits for it, as for an asynchronous one
    assert [t for t in runner._threads if t.is_alive()] == []
    caller.join(5)
    assert answers == [{"hookStatus": "SUCCEEDED"}]


class RecordingLogs:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, list[dict[str, Any]]]] = []

    def create_log_group(self, **kwargs: Any) -> None:
        pass

    def create_log_stream(self, **kwargs: Any) -> None:
        pass

    def put_log_events(self, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]) -> None:
        self.events.append((logGroupName, logStreamName, logEvents))

    def close(self) -> None:
        pass


def test_the_invocation_s_log_lines_go_to_cloudwatch_logs() -> None:
    from hooks.runtime import logger

    def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        logger.append_keys(function_request_id=context.aws_request_id)
        try:
            logger.info("green answered the smoke checks")
        finally:
            logger.remove_keys(["function_request_id"])
        return {"hookStatus": "SUCCEEDED"}

    logs = RecordingLogs()
    runner = _runner(handler, log_stream=io.StringIO(), logs_client=lambda: logs)
    try:
        runner.invoke_sync("hook", ENVELOPE)
    finally:
        runner.close()
    assert len(logs.events) == 1
    group, stream, events = logs.events[0]
    assert group == "/aws/lambda/hook" and "[$LATEST]" in stream
    assert ["green answered the smoke checks" in event["message"] for event in events] == [True]
