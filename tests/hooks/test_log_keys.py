"""A hook invocation's log keys end with it: powertools shares thread-local keys between Loggers."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from hooks import handlers
from tests.support.hooks import FakeLambdaContext


def test_a_hook_leaves_no_log_keys_behind_on_its_thread() -> None:
    # No execution id: the hook logs one error and returns without any AWS call.
    result = handlers.after_install({"DeploymentId": "d-ABCDEFGHI"}, FakeLambdaContext())
    assert result["reported"] is False
    other = Logger(service="another-function")
    assert other.thread_safe_get_current_keys() == {}
