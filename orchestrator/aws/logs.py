"""Thin CloudWatch Logs adapter: the verdict lines a hook function logged for one deployment.

``LogsApi`` is the client surface it uses (a boto3 logs client, or ``tests.support.fakes.FakeLogs``).

A failed read is a result, not an error: the CLI prints the plain status and says why the hook's
reason is unavailable (no log group, AccessDenied, throttled), and never fails the command for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.aws.clients import describe_aws_error, error_code
from orchestrator.watching.hook_verdict import Verdict, filter_term, parse_verdict

# FilterLogEvents may answer empty pages with a nextToken while it scans (AWS documents it); a
# handful of pages bounds the read.
MAX_PAGES = 10


class LogsApi(Protocol):
    """The CloudWatch Logs operation bluegreen calls (keyword arguments and answer as in boto3)."""

    def filter_log_events(self, **request: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class VerdictRead:
    """The verdicts found, or why none could be read."""

    verdicts: list[Verdict] = field(default_factory=list)
    unavailable: str | None = None
    no_group: bool = False  # the log group does not exist (Lambda makes it at the first invocation)


def log_group_of(function_name: str) -> str:
    """The log group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function_name}"


def read_verdicts(
    logs: LogsApi, function_name: str, deployment_id: str, start_ms: int, end_ms: int | None
) -> VerdictRead:
    """FilterLogEvents on the function's log group, lines containing the deployment id, in the window
    (``end_ms`` None: up to the latest line)."""
    from botocore.exceptions import BotoCoreError, ClientError

    group = log_group_of(function_name)
    request: dict[str, Any] = {
        "logGroupName": group,
        "filterPattern": filter_term(deployment_id),
        "startTime": max(0, start_ms),
    }
    if end_ms is not None:
        request["endTime"] = max(0, end_ms)
    verdicts: list[Verdict] = []
    try:
        for _ in range(MAX_PAGES):
            page = logs.filter_log_events(**request)
            for event in page.get("events", []):
                found = parse_verdict(str(event.get("message", "")), int(event.get("timestamp", 0)))
                if found is not None:
                    verdicts.append(found)
            token = page.get("nextToken")
            if not token:
                break
            request["nextToken"] = token
    except ClientError as err:
        return VerdictRead(verdicts, _why(err, group), error_code(err) == "ResourceNotFoundException")
    except BotoCoreError as err:
        return VerdictRead(verdicts, describe_aws_error(err, f"FilterLogEvents {group}"))
    return VerdictRead(verdicts)


def _why(err: Exception, group: str) -> str:
    code = error_code(err)
    if code == "ResourceNotFoundException":
        return f"log group {group} does not exist"
    if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
        return f"no permission for logs:FilterLogEvents on {group}"
    return describe_aws_error(err, f"FilterLogEvents {group}")
