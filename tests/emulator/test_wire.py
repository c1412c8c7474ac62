"""The JSON 1.1 wire: AWS-shaped errors for bad input, injected faults for clients' retries, and a
property-based test that random bodies never break the server."""

from __future__ import annotations

import json
import socket
import urllib.parse
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.codedeploy import CodeDeployEmulator
from sandbox.codedeploy.server import MAX_BODY_BYTES
from sandbox.codedeploy.shapes import service_model
from tests.support.emulator import client, raw_call


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


def test_injected_internal_failure_is_a_500(emulator: CodeDeployEmulator) -> None:
    emulator.inject_errors("ListDeploymentConfigs", "InternalFailure", times=1, http_status=500)
    status, body = raw_call(emulator.url, "ListDeploymentConfigs", {})
    assert (status, body["__type"]) == (500, "InternalFailure")
    status, body = raw_call(emulator.url, "ListDeploymentConfigs", {})
    assert status == 200 and "CodeDeployDefault.ECSAllAtOnce" in body["deploymentConfigsList"]


_OPERATIONS = sorted(service_model().operation_names)
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
