"""sandbox.moto_writes: which requests count as writes, per service, and when a poller reads again."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pytest

from sandbox.moto_writes import EVERY_SERVICE, WriteCounter, WriteWatch, action_of, is_write, signing_name

SIGNED = (
    "AWS4-HMAC-SHA256 Credential=testing/20261130/ap-northeast-2/{service}/aws4_request, SignedHeaders=host"
)


@pytest.mark.parametrize(
    ("authorization", "service"),
    [
        (SIGNED.format(service="ecs"), "ecs"),
        (SIGNED.format(service="elasticloadbalancing"), "elasticloadbalancing"),
        (SIGNED.format(service="monitoring"), "monitoring"),
        ("", None),
        ("Bearer abc", None),
    ],
)
def test_signing_name(authorization: str, service: str | None) -> None:
    assert signing_name(authorization) == service


@pytest.mark.parametrize(
    ("target", "path", "body", "action"),
    [
        ("AmazonEC2ContainerServiceV20141113.CreateTaskSet", "/", b"", "CreateTaskSet"),
        ("", "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", b"", "DescribeAlarms"),
        ("", "/", b"Action=ModifyListener&Version=2015-12-01&ListenerArn=x", "ModifyListener"),
        ("", "/", b"Version=2015-12-01", None),
        ("", "/", b"", None),
    ],
)
def test_action_of(target: str, path: str, body: bytes, action: str | None) -> None:
    assert action_of(target, path, body) == action


@pytest.mark.parametrize(
    ("service", "action", "write"),
    [
        ("ecs", "DescribeServices", False),
        ("ecs", "ListTaskSets", False),
        ("ecs", "CreateTaskSet", True),
        ("ecs", "UpdateServicePrimaryTaskSet", True),
        ("elasticloadbalancing", "DescribeRules", False),
        ("elasticloadbalancing", "ModifyRule", True),
        ("monitoring", "GetMetricData", False),
        ("monitoring", "PutMetricData", False),  # the publisher's: no poller reads it through an alarm
        ("monitoring", "SetAlarmState", True),
        ("monitoring", "PutMetricAlarm", True),
        ("logs", "PutMetricData", True),  # the exception is CloudWatch's alone
        ("ecs", None, True),  # unknown: counted, a needless read at worst
    ],
)
def test_is_write(service: str, action: str | None, write: bool) -> None:
    assert is_write(service, action) is write


def environ(
    method: str, path: str = "/", service: str | None = "elasticloadbalancing", **extra: Any
) -> dict[str, Any]:
    body = extra.pop("body", b"")
    made = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    if service is not None:
        made["HTTP_AUTHORIZATION"] = SIGNED.format(service=service)
    return made


def test_written_reads_a_query_body_and_puts_it_back_for_moto() -> None:
    counter = WriteCounter()
    request = environ("POST", body=b"Action=ModifyListener&ListenerArn=x")
    assert counter.written(request) == "elasticloadbalancing"
    assert request["wsgi.input"].read() == b"Action=ModifyListener&ListenerArn=x"
    assert counter.written(environ("POST", body=b"Action=DescribeListeners")) is None


@pytest.mark.parametrize(
    ("request_environ", "written"),
    [
        (
            environ(
                "POST", service="ecs", HTTP_X_AMZ_TARGET="AmazonEC2ContainerServiceV20141113.DeleteTaskSet"
            ),
            "ecs",
        ),
        (
            environ(
                "POST", service="ecs", HTTP_X_AMZ_TARGET="AmazonEC2ContainerServiceV20141113.DescribeServices"
            ),
            None,
        ),
        (environ("POST", "/service/G/operation/SetAlarmState", service="monitoring"), "monitoring"),
        (environ("POST", "/service/G/operation/PutMetricData", service="monitoring"), None),
        (environ("POST", "/moto-api/reset", service=None), EVERY_SERVICE),  # a reset wipes every service
        (environ("GET", "/moto-api/", service=None), None),
        (environ("POST", "/", service=None, body=b"Action=ModifyListener"), None),  # unsigned: not AWS's
    ],
)
def test_written(request_environ: dict[str, Any], written: str | None) -> None:
    assert WriteCounter().written(request_environ) == written


def test_counter_document_counts_per_service() -> None:
    counter = WriteCounter()
    for service in ("ecs", "ecs", EVERY_SERVICE):
        counter.bump(service)
    assert counter.document() == b'{"ecs": 2, "*": 1}'


class FakeWrites:
    def __init__(self) -> None:
        self.counts: Mapping[str, int] | None = {}

    def token(self, service: str) -> tuple[int, int] | None:
        if self.counts is None:
            return None
        return self.counts.get(service, 0), self.counts.get(EVERY_SERVICE, 0)


def test_watch_reads_again_only_after_a_write_or_a_new_key() -> None:
    writes = FakeWrites()
    watch = WriteWatch(writes, "ecs")  # type: ignore[arg-type]
    first = watch.look("a")
    assert first is not None  # never read: read
    assert watch.look("a") is not None  # a look is not a read: still unread
    watch.read_done(first)
    assert watch.look("a") is None  # nothing written since
    writes.counts = {"elasticloadbalancing": 4}
    assert watch.look("a") is None  # another service's write
    assert watch.look("b") is not None  # what the read depends on changed
    writes.counts = {"ecs": 1}
    ticket = watch.look("a")
    assert ticket is not None  # ECS written to
    watch.read_done(ticket)
    writes.counts = {"ecs": 1, EVERY_SERVICE: 1}
    assert watch.look("a") is not None  # moto reset
    writes.counts = None
    unknown = watch.look("a")
    assert unknown is not None  # the counts unreadable: read
    watch.read_done(unknown)
    writes.counts = {"ecs": 1, EVERY_SERVICE: 1}
    assert watch.look("a") is not None  # ... and a read without a count is remembered as none


def test_watch_without_counts_reads_every_time() -> None:
    watch = WriteWatch(None, "ecs")
    ticket = watch.look()
    assert ticket is not None
    watch.read_done(ticket)
    assert watch.look() is not None
