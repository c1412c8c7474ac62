"""AWS errors after botocore's retries: throttling and 5xx are retried, then exit 4 with one line.

A loopback endpoint answers CodeDeploy's JSON protocol; botocore's backoff is made instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator.aws.clients import _MAX_ATTEMPTS
from tests.support.cli import recording_endpoint, run_cli, shown

THROTTLED = (400, b'{"__type": "ThrottlingException", "message": "Rate exceeded"}')
UNAVAILABLE = (503, b'{"__type": "ServiceUnavailableException", "message": "try later"}')
DEPLOYMENT = {
    "deploymentId": "d-ABCDEFGHI",
    "status": "Succeeded",
    "applicationName": "doa-market-dev",
    "deploymentGroupName": "product-service",
    "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
}


@pytest.fixture(autouse=True)
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def answers(failures: int, failure: tuple[int, bytes]) -> Callable[[int, str | None], tuple[int, bytes]]:
    def answer(index: int, target: str | None) -> tuple[int, bytes]:
        if index <= failures:
            return failure
        if target and target.endswith(".GetDeployment"):
            return 200, json.dumps({"deploymentInfo": DEPLOYMENT}).encode()
        if target and target.endswith(".ListDeploymentTargets"):
            return 200, b'{"targetIds": []}'
        return 400, b'{"__type": "ValidationException", "message": "not scripted"}'

    return answer


@pytest.mark.parametrize("failure", [THROTTLED, UNAVAILABLE], ids=["throttled", "5xx"])
def test_transient_errors_are_retried(monkeypatch: pytest.MonkeyPatch, failure: tuple[int, bytes]) -> None:
    with recording_endpoint(answers(2, failure)) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        result = run_cli("status", "d-ABCDEFGHI", "-o", "json")
        targets = [request[2] for request in endpoint.requests]
    assert result.code == 0, shown(result)
    assert result.json()["status"] == "Succeeded"
    assert targets[:3] == ["CodeDeploy_20141006.GetDeployment"] * 3


def test_throttled_past_the_retries_is_exit_4_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_endpoint(answers(10_000, THROTTLED)) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        result = run_cli("status", "d-ABCDEFGHI")
        attempts = len(endpoint.requests)
    assert result.code == 4, shown(result)
    assert attempts == _MAX_ATTEMPTS
    assert result.stderr.count("\n") == 1 and "throttled by AWS after retries" in result.stderr
    assert "Traceback" not in result.stderr
