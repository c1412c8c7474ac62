"""Reading a hook's verdict line back (orchestrator.watching.hook_verdict) and the logs adapter's errors."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orchestrator.aws.logs import read_verdicts
from orchestrator.watching.hook_verdict import (
    HookFailure,
    Verdict,
    failed_hook_events,
    filter_term,
    parse_verdict,
    reason_for,
)

D = "d-ABCDEF123"


def line(**fields: Any) -> str:
    base = {
        "level": "WARNING",
        "message": "AfterAllowTestTraffic Failed: health: ...",
        "verdict": "Failed",
        "deployment_id": D,
        "lifecycle_event": "AfterAllowTestTraffic",
        "reason": "health: GET /health via the test listener: status 500, expected 200 (3 attempts)",
        "evidence": [{"name": "health", "passed": False}],
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            line(),
            Verdict(
                D,
                "AfterAllowTestTraffic",
                "Failed",
                "health: GET /health via the test listener: status 500, expected 200 (3 attempts)",
                7,
            ),
        ),
        (
            line(verdict="Succeeded", reason="all checks passed"),
            Verdict(D, "AfterAllowTestTraffic", "Succeeded", "all checks passed", 7),
        ),
        # Lambda's text prefix before the JSON (a runtime that adds one) is tolerated
        (
            "2026-11-29T10:00:00Z\t" + line(),
            Verdict(
                D,
                "AfterAllowTestTraffic",
                "Failed",
                "health: GET /health via the test listener: status 500, expected 200 (3 attempts)",
                7,
            ),
        ),
        (line(verdict=None), None),  # not a verdict line: another log line of the same invocation
        (line(reason=""), None),
        (line(deployment_id=7), None),
        ("START RequestId: 1234 Version: $LATEST", None),
        ("{not json", None),
        ("[1, 2]", None),
        ("", None),
    ],
)
def test_parse_verdict(message: str, expected: Verdict | None) -> None:
    assert parse_verdict(message, 7) == expected


HOOKS = {"AfterInstall": "fn-ai", "AfterAllowTestTraffic": "fn-aatt"}


@pytest.mark.parametrize(
    ("lifecycle", "failed"),
    [
        ([("BeforeInstall", "Succeeded"), ("AfterInstall", "Failed")], ["AfterInstall"]),
        ([("AfterInstall", "Succeeded"), ("AfterAllowTestTraffic", "Failed")], ["AfterAllowTestTraffic"]),
        ([("Install", "Failed")], []),  # not a hook: nothing to read
        ([("BeforeInstall", "Failed")], []),  # no hook configured for it
        ([("AfterInstall", "Succeeded")], []),
        ([], []),
    ],
)
def test_failed_hook_events(lifecycle: list[tuple[str, str]], failed: list[str]) -> None:
    assert failed_hook_events(lifecycle, HOOKS) == failed


def test_reason_for_takes_the_latest_failed_verdict_of_that_deployment_and_event() -> None:
    verdicts = [
        Verdict(D, "AfterAllowTestTraffic", "Failed", "first try", 1),
        Verdict(D, "AfterAllowTestTraffic", "Failed", "Lambda's retry", 5),
        Verdict(D, "AfterAllowTestTraffic", "Succeeded", "not this", 9),
        Verdict("d-OTHER0000", "AfterAllowTestTraffic", "Failed", "other deployment", 9),
        Verdict(D, "AfterInstall", "Failed", "other event", 9),
    ]
    assert reason_for(verdicts, D, "AfterAllowTestTraffic") == "Lambda's retry"
    assert reason_for(verdicts, D, "BeforeInstall") is None


def test_filter_term_is_a_quoted_term() -> None:
    assert filter_term(D) == '"d-ABCDEF123"'


@pytest.mark.parametrize(
    ("failure", "lines", "document"),
    [
        (
            HookFailure("AfterInstall", "fn-ai", "green-target-health: 0 healthy", None, "/tmp/x/hooks.log"),
            [
                "AfterInstall hook (fn-ai) failed: green-target-health: 0 healthy",
                "hook log: /tmp/x/hooks.log",
            ],
            {
                "lifecycleEvent": "AfterInstall",
                "function": "fn-ai",
                "reason": "green-target-health: 0 healthy",
                "logFile": "/tmp/x/hooks.log",
            },
        ),
        (
            HookFailure("AfterInstall", "fn-ai", None, "log group /aws/lambda/fn-ai does not exist"),
            [
                "AfterInstall hook (fn-ai) failed",
                "its reason is unavailable: log group /aws/lambda/fn-ai does not exist",
            ],
            {
                "lifecycleEvent": "AfterInstall",
                "function": "fn-ai",
                "reason": None,
                "reasonUnavailable": "log group /aws/lambda/fn-ai does not exist",
            },
        ),
    ],
)
def test_hook_failure_lines_and_json(
    failure: HookFailure, lines: list[str], document: dict[str, Any]
) -> None:
    assert failure.lines() == lines
    assert failure.to_json() == document


def _logs() -> Any:
    return boto3.client(
        "logs", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_read_verdicts_pages_and_filters_by_the_deployment_id() -> None:
    logs = _logs()
    expected = {
        "logGroupName": "/aws/lambda/fn",
        "filterPattern": '"d-ABCDEF123"',
        "startTime": 1,
        "endTime": 2,
    }
    with Stubber(logs) as stub:
        # AWS may answer an empty page with a nextToken while it scans
        stub.add_response("filter_log_events", {"events": [], "nextToken": "t1"}, expected)
        stub.add_response(
            "filter_log_events",
            {"events": [{"message": "START", "timestamp": 3}, {"message": line(), "timestamp": 4}]},
            {**expected, "nextToken": "t1"},
        )
        read = read_verdicts(logs, "fn", D, 1, 2)
    assert read.unavailable is None
    assert [v.reason for v in read.verdicts] == [
        "health: GET /health via the test listener: status 500, expected 200 (3 attempts)"
    ]


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("ResourceNotFoundException", "log group /aws/lambda/fn does not exist"),
        ("AccessDeniedException", "no permission for logs:FilterLogEvents on /aws/lambda/fn"),
        ("ThrottlingException", "FilterLogEvents /aws/lambda/fn: throttled by AWS after retries; try again"),
    ],
)
def test_read_verdicts_says_why_when_it_cannot_read(code: str, why: str) -> None:
    logs = _logs()
    with Stubber(logs) as stub:
        stub.add_client_error("filter_log_events", code, "no")
        read = read_verdicts(logs, "fn", D, 1, 2)
    assert read.verdicts == [] and read.unavailable is not None and read.unavailable.startswith(why)


def test_a_failed_event_the_catalog_names_no_hook_for_is_still_reported() -> None:
    # No service (status DEPLOYMENT_ID) or a hook missing from the catalog: the failed lifecycle
    # event is named all the same, with why its reason cannot be read; no log is read.
    from orchestrator.commands.hook_reason import hook_failure

    lifecycle = [("BeforeInstall", "Succeeded"), ("AfterInstall", "Failed"), ("AllowTestTraffic", "Skipped")]
    found = hook_failure(None, None, D, None, None, lifecycle, since=0.0, sleep=lambda _: None)  # type: ignore[arg-type]
    assert found is not None
    assert (found.lifecycle_event, found.function, found.reason) == ("AfterInstall", None, None)
    assert found.unavailable == "the catalog names no hook function for it"
    assert hook_failure(None, None, D, None, None, lifecycle[:1], since=0.0) is None  # type: ignore[arg-type]


# --- hook_failure over the logs fake (tests/support/fakes.py): retries, paging, what is unavailable ---


@pytest.fixture
def dev_session(repo_root: Any) -> Any:
    from types import SimpleNamespace

    from orchestrator.catalog import load_catalog

    return SimpleNamespace(catalog=load_catalog(repo_root / "services.yaml"))


FAILED_AT_TEST_TRAFFIC = [("AfterInstall", "Succeeded"), ("AfterAllowTestTraffic", "Failed")]


def hook_function(session: Any) -> str:
    return str(session.catalog.resolve("product-service", "dev").settings.hooks["AfterAllowTestTraffic"])


def test_the_verdict_logged_late_is_found_on_a_later_read(dev_session: Any) -> None:
    import time

    from orchestrator.commands.hook_reason import hook_failure
    from tests.support.fakes import FakeClients

    fakes = FakeClients()
    fakes.logs.page_size = 1  # the other deployment's line and the verdict come on separate pages
    group = fakes.logs.events[f"/aws/lambda/{hook_function(dev_session)}"] = []
    now_ms = int(time.time() * 1000)
    group.append({"message": line(deployment_id="d-OTHER0001"), "timestamp": now_ms})

    def sleep(_: float) -> None:  # CloudWatch Logs shows the line between the first and second read
        group.append({"message": "START " + D, "timestamp": now_ms})
        group.append({"message": line(), "timestamp": now_ms})

    found = hook_failure(
        dev_session,
        fakes,
        D,
        "product-service",
        "dev",
        FAILED_AT_TEST_TRAFFIC,
        since=time.time(),
        sleep=sleep,
    )

    assert found is not None and found.unavailable is None
    assert found.reason == "health: GET /health via the test listener: status 500, expected 200 (3 attempts)"
    assert fakes.counter.calls["cloudwatch-logs:FilterLogEvents"] == 1 + 2  # empty read, then two pages


@pytest.mark.parametrize(
    ("log_group_exists", "unavailable"),
    [
        (False, "log group /aws/lambda/{function} does not exist"),
        (True, "no verdict line for d-ABCDEF123 in log group /aws/lambda/{function} yet"),
    ],
)
def test_without_a_verdict_line_the_reason_says_why(
    dev_session: Any, log_group_exists: bool, unavailable: str
) -> None:
    from orchestrator.commands.hook_reason import READ_ATTEMPTS, hook_failure
    from tests.support.fakes import FakeClients

    fakes, function = FakeClients(), hook_function(dev_session)
    if log_group_exists:
        fakes.logs.events[f"/aws/lambda/{function}"] = []
    slept: list[float] = []

    found = hook_failure(
        dev_session, fakes, D, "product-service", "dev", FAILED_AT_TEST_TRAFFIC, since=0.0, sleep=slept.append
    )

    assert found is not None and found.reason is None and found.function == function
    assert found.unavailable == unavailable.format(function=function)
    assert len(slept) == (READ_ATTEMPTS - 1 if log_group_exists else 0)  # a missing group is not retried
