"""The JSON 1.1 wire: AWS-shaped errors for bad input, injected faults for clients' retries, and a
property-based test that random bodies never break the server."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.codedeploy import CodeDeployEmulator
from sandbox.codedeploy.server import MAX_BODY_BYTES, MAX_JSON_DEPTH
from sandbox.codedeploy.shapes import service_model
from tests.support.emulator import (
    EcsServiceSpec,
    EmulatorFactory,
    appspec_revision,
    client,
    provision_ecs_service,
    raw_call,
    validate_output,
)


@pytest.mark.parametrize(
    ("operation", "body", "code"),
    [
        ("NoSuchOperation", b"{}", "UnknownOperationException"),
        ("", b"{}", "UnknownOperationException"),
        ("GetDeployment", b"{not json", "SerializationException"),
        ("GetDeployment", b"\xff\xfe", "SerializationException"),
        ("GetDeployment", b"[1, 2]", "SerializationException"),
        ("GetDeployment", b"{}", "ValidationException"),
        ("GetDeployment", b'{"deploymentId": 5}', "ValidationException"),
        ("ListDeployments", b'{"includeOnlyStatuses": ["Bogus"]}', "ValidationException"),
        ("CreateApplication", json.dumps({"applicationName": "x" * 101}).encode(), "ValidationException"),
        ("CreateApplication", b'{"applicationName": "has space"}', "ValidationException"),
        (
            "StopDeployment",
            b'{"deploymentId": "d-AAAAAAAAA", "autoRollbackEnabled": "yes"}',
            "ValidationException",
        ),
        ("GetDeployment", b'{"deploymentId": "not-an-id"}', "InvalidDeploymentIdException"),
        ("AddTagsToOnPremisesInstances", b'{"tags": [], "instanceNames": []}', "InvalidOperationException"),
    ],
)
def test_bad_requests_get_aws_shaped_errors(
    emulator: CodeDeployEmulator, operation: str, body: bytes, code: str
) -> None:
    status, response = raw_call(emulator.url, operation, body=body)
    assert status == 400
    assert response["__type"] == code
    assert isinstance(response["message"], str) and response["message"]


def test_unknown_operation_through_botocore_is_a_client_error(emulator: CodeDeployEmulator) -> None:
    codedeploy = client("codedeploy", emulator.url)
    with pytest.raises(codedeploy.exceptions.DeploymentDoesNotExistException):
        codedeploy.get_deployment(deploymentId="d-AAAAAAAAA")


def test_oversized_body_is_refused_and_the_server_keeps_serving(emulator: CodeDeployEmulator) -> None:
    host, port = urllib.parse.urlsplit(emulator.url).hostname, urllib.parse.urlsplit(emulator.url).port
    assert host and port
    with socket.create_connection((host, port), timeout=10) as sock:
        head = (
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: CodeDeploy_20141006.ListApplications\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunks = []
        while chunk := sock.recv(65536):  # the server closes the connection after refusing
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert "SerializationException" in reply
    assert raw_call(emulator.url, "ListApplications", {}) == (200, {"applications": []})


def test_injected_throttling_is_retried_by_a_standard_client(emulator: CodeDeployEmulator) -> None:
    emulator.inject_errors("ListApplications", "ThrottlingException", times=2)
    assert client("codedeploy", emulator.url, retries=3).list_applications()["applications"] == []

    emulator.inject_errors("ListApplications", "ThrottlingException", times=1)
    with pytest.raises(ClientError) as caught:
        client("codedeploy", emulator.url, retries=1).list_applications()
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


def test_answers_are_dated_by_the_emulators_clock(emulator: CodeDeployEmulator) -> None:
    """Every answer's ``Date`` (RFC 7231, as AWS sends on every API answer) is the emulator's virtual
    time, errors included: clients time their waits by it (orchestrator.watching.loop.DeploymentClock).
    botocore reads it only for the ``ttl`` of a retry's ``amz-sdk-request`` header (endpoint.py
    ``_set_ttl``: our clock + read_timeout + the server's skew), which lands in the server's clock."""
    from orchestrator.watching.loop import server_time

    time.sleep(0.2)  # 120 virtual s at 600x: the emulator's clock is ahead of the real one
    dates: list[str] = []
    retry_headers: list[str] = []
    codedeploy = client("codedeploy", emulator.url, retries=2)  # read_timeout=30
    codedeploy.meta.events.register(
        "after-call.codedeploy", lambda http_response, **_: dates.append(http_response.headers["Date"])
    )
    codedeploy.meta.events.register(
        "before-send.codedeploy",
        lambda request, **_: retry_headers.append(request.headers.get("amz-sdk-request", b"").decode()),
    )
    emulator.inject_errors("ListApplications", "ThrottlingException", times=1)
    before = emulator.clock.now()
    assert time.time() + 60 < before
    codedeploy.list_applications()  # the retry's backoff (< 1 real s) is minutes of virtual time
    after = emulator.clock.now()
    # The Date has 1 s resolution and was made between `before` and `after` (a bound on `after`
    # minus a constant failed on a busy machine: 3 real ms of client work are 2 virtual s at 600x).
    assert before - 1.0 <= server_time(dates[0]) <= after
    assert retry_headers[1].startswith("ttl=") and retry_headers[1].endswith("; attempt=2; max=2")
    ttl = datetime.strptime(retry_headers[1][4:20], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    assert before - 2.0 <= ttl - 30 <= after  # the throttled answer's Date + read_timeout


def test_injected_internal_failure_is_a_500(emulator: CodeDeployEmulator) -> None:
    emulator.inject_errors("ListDeploymentConfigs", "InternalFailure", times=1, http_status=500)
    status, body = raw_call(emulator.url, "ListDeploymentConfigs", {})
    assert (status, body["__type"]) == (500, "InternalFailure")
    status, body = raw_call(emulator.url, "ListDeploymentConfigs", {})
    assert status == 200 and "CodeDeployDefault.ECSAllAtOnce" in body["deploymentConfigsList"]


_OPERATIONS = sorted(service_model().operation_names)


def _nested(depth: int, member: str = "applicationName") -> bytes:
    """``{"member": [[[...]]]}``: a known member holding ``depth`` nested lists."""
    return b'{"' + member.encode() + b'": ' + b"[" * depth + b"]" * depth + b"}"


_HEADER_CHARS = st.characters(min_codepoint=33, max_codepoint=126)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _member_dicts(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    """Dictionaries keyed by the operation's real member names with random values (gets past 'unknown')."""
    shape = service_model().operation_model(operation).input_shape
    names = list(shape.members) if shape is not None else ["x"]
    return st.dictionaries(st.sampled_from(names), _json, max_size=len(names))


_bodies = st.one_of(
    st.binary(max_size=200),
    st.integers(1, 3_000).map(_nested),  # the fuzz that found RecursionError answered 500
    st.integers(4_000, 6_000).map(lambda digits: b'{"nextToken": ' + b"7" * digits + b"}"),
    st.integers(1, 3_000).map(lambda depth: b'{"x": ' * depth + b"null" + b"}" * depth),
    _json.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(_OPERATIONS).flatmap(_member_dicts).map(lambda value: json.dumps(value).encode()),
)


@pytest.mark.integration
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.one_of(st.sampled_from(_OPERATIONS), st.text(_HEADER_CHARS, max_size=20)), body=_bodies)
def test_random_bodies_get_aws_shaped_answers(
    emulator: CodeDeployEmulator, operation: str, body: bytes
) -> None:
    status, response = raw_call(emulator.url, operation, body=body)
    assert status in (200, 400), response
    if status == 400:
        assert set(response) == {"__type", "message"}
        assert response["__type"].endswith("Exception")
    assert raw_call(emulator.url, "ListDeploymentConfigs", {})[0] == 200


def test_no_input_shape_nests_deeper_than_the_wire_allows() -> None:
    def depth(shape: Any) -> int:
        if shape.type_name == "structure":
            return 1 + max((depth(member) for member in shape.members.values()), default=0)
        if shape.type_name == "list":
            return 1 + depth(shape.member)
        if shape.type_name == "map":
            return 1 + depth(shape.value)
        return 0

    model = service_model()
    deepest = max(
        depth(model.operation_model(op).input_shape)
        for op in _OPERATIONS
        if model.operation_model(op).input_shape
    )
    assert deepest <= MAX_JSON_DEPTH


@pytest.mark.parametrize(
    "body",
    [
        _nested(5_000),
        _nested(100_000),
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a": ' * 5_000 + b"1" + b"}" * 5_000,
        _nested(MAX_JSON_DEPTH),  # one past the limit once the body's object is counted
        b'{"nextToken": ' + b"1" * 5_000 + b"}",  # past Python's int conversion limit: ValueError
        b'{"applicationName": "\\ud800"}',  # a lone surrogate: sha256_of(AppSpec content) crashed on it
    ],
    ids=[
        "member-5k",
        "member-100k",
        "array-50k",
        "object-5k",
        "just-past-limit",
        "5000-digit-int",
        "surrogate",
    ],
)
def test_unreadable_json_is_a_serialization_exception(emulator: CodeDeployEmulator, body: bytes) -> None:
    status, response = raw_call(emulator.url, "ListApplications", body=body)
    assert (status, response["__type"]) == (400, "SerializationException"), response
    assert raw_call(emulator.url, "ListApplications", {})[0] == 200


def test_nesting_within_the_limit_reaches_shape_validation(emulator: CodeDeployEmulator) -> None:
    status, response = raw_call(emulator.url, "GetApplication", body=_nested(MAX_JSON_DEPTH - 1))
    assert (status, response["__type"]) == (400, "ValidationException"), response


def test_unknown_members_are_ignored_not_echoed(start_emulator: EmulatorFactory, moto_url: str) -> None:
    """AWS's deserializer drops members the model does not define; the emulator stores none."""
    emulator = start_emulator()
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    status, _ = raw_call(
        emulator.url,
        "UpdateDeploymentGroup",
        {
            "applicationName": env.application,
            "currentDeploymentGroupName": env.deployment_group,
            "alarmConfiguration": {"enabled": False, "alarms": [], "bogus": {"deep": [1, 2]}},
        },
    )
    assert status == 200
    status, body = raw_call(
        emulator.url,
        "GetDeploymentGroup",
        {"applicationName": env.application, "deploymentGroupName": env.deployment_group},
    )
    assert status == 200 and validate_output("GetDeploymentGroup", body) == []
    assert "bogus" not in body["deploymentGroupInfo"]["alarmConfiguration"]


def test_string_timestamps_are_refused_not_compared(emulator: CodeDeployEmulator) -> None:
    """JSON 1.1 carries timestamps as epoch seconds; a string used to reach ``start > end`` (500)."""
    status, response = raw_call(
        emulator.url, "ListDeployments", {"createTimeRange": {"start": "yesterday", "end": 5}}
    )
    assert (status, response["__type"]) == (400, "ValidationException"), response


def _appspec_item(**properties: Any) -> dict[str, Any]:
    return {"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}


# AppSpec contents the fuzz found answered 500, and their relatives.
_HOSTILE_APPSPECS_SERIALIZATION = ["\ud800", "Resources: [\udfff]"]
_HOSTILE_APPSPECS = [
    json.dumps({"Resources": [{**_appspec_item(TaskDefinition="td"), "Second": {}}]}),
    "Resources: " + "[" * 5_000 + "]" * 5_000,
    '{"Resources": ' + "[" * 5_000 + "]" * 5_000 + "}",
    "".join(f"{'  ' * i}k{i}:\n" for i in range(120)),
    "d0: &d0 [x, x]\n" + "".join(f"d{i}: &d{i} [*d{i - 1}, *d{i - 1}]\n" for i in range(1, 30)),
    json.dumps({"Resources": [_appspec_item(TaskDefinition="td", LoadBalancerInfo=["app", 80])]}),
    "Resources: [{T: {Type: AWS::ECS::Service, Properties: {TaskDefinition: td, "
    "LoadBalancerInfo: {ContainerName: app, ContainerPort: .inf}}}}]",
]


@pytest.mark.integration
def test_hostile_appspec_content_is_invalid_revision(start_emulator: EmulatorFactory, moto_url: str) -> None:
    emulator = start_emulator()
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    for content in _HOSTILE_APPSPECS:
        status, response = raw_call(
            emulator.url,
            "CreateDeployment",
            {
                "applicationName": env.application,
                "deploymentGroupName": env.deployment_group,
                "revision": appspec_revision(content),
            },
        )
        assert (status, response.get("__type")) == (400, "InvalidRevisionException"), (content[:80], response)
    for content in _HOSTILE_APPSPECS_SERIALIZATION:
        request = {
            "applicationName": env.application,
            "deploymentGroupName": env.deployment_group,
            "revision": appspec_revision(content),
        }
        status, response = raw_call(emulator.url, "CreateDeployment", body=json.dumps(request).encode())
        assert (status, response.get("__type")) == (400, "SerializationException"), (content, response)


def _appspec_variant(value: Any, where: str) -> str:
    """A valid ECS AppSpec with one part replaced by a random value."""
    props: dict[str, Any] = {
        "TaskDefinition": "td",
        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
    }
    doc: dict[str, Any] = {
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": props}}]
    }
    if where == "Resources":
        doc["Resources"] = value
    elif where == "item":
        doc["Resources"][0]["Second"] = value
    elif where == "Hooks":
        doc["Hooks"] = value
    elif where == "LoadBalancerInfo.ContainerPort":
        props["LoadBalancerInfo"]["ContainerPort"] = value
    else:
        props[where] = value
    return json.dumps(doc)


_appspec_contents = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    _json.map(json.dumps),
    st.builds(
        _appspec_variant,
        _json,
        st.sampled_from(
            [
                "Resources",
                "item",
                "Hooks",
                "TaskDefinition",
                "LoadBalancerInfo",
                "LoadBalancerInfo.ContainerPort",
                "NetworkConfiguration",
                "CapacityProviderStrategy",
                "PlatformVersion",
            ]
        ),
    ),
    st.integers(1, 5_000).map(lambda depth: "Resources: " + "[" * depth + "]" * depth),
    st.integers(4_000, 6_000).map(lambda digits: "Resources: " + "9" * digits),
    st.integers(1, 200).map(lambda depth: "".join(f"{'  ' * i}k{i}:\n" for i in range(depth))),
    st.integers(2, 40).map(
        lambda levels: (
            "d0: &d0 [x, x]\n"
            + "".join(f"d{i}: &d{i} [*d{i - 1}, *d{i - 1}]\n" for i in range(1, levels))
            + f"Resources: [{{T: {{Type: AWS::ECS::Service, Properties: *d{levels - 1}}}}}]\n"
        )
    ),
)


@pytest.mark.integration
def test_random_appspec_content_gets_aws_shaped_answers(
    start_emulator: EmulatorFactory, moto_url: str
) -> None:
    """CreateDeployment parses client-supplied AppSpec content: whatever it is, the answer is 200 or 4xx."""
    emulator = start_emulator()
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())

    @settings(max_examples=150, deadline=None)
    @given(content=_appspec_contents)
    def run(content: str) -> None:
        status, response = raw_call(
            emulator.url,
            "CreateDeployment",
            {
                "applicationName": env.application,
                "deploymentGroupName": env.deployment_group,
                "revision": appspec_revision(content),
            },
        )
        assert status in (200, 400), (content[:200], response)
        if status == 400:
            assert set(response) == {"__type", "message"}
            assert response["__type"].endswith("Exception")

    run()
