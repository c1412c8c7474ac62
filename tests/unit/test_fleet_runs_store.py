"""The fleet run record in SSM Parameter Store (orchestrator/aws/fleet_runs.py): the exact
PutParameter / GetParameter requests (botocore's Stubber), the value within AWS's 4 KB / 8 KB
limits (plain, compressed, Advanced only when needed), and one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orchestrator.aws.fleet_runs import (
    ADVANCED,
    ADVANCED_LIMIT,
    COMPRESSED,
    STANDARD,
    STANDARD_LIMIT,
    FleetRunStore,
    FleetRunTooLargeError,
    decode,
    encode,
)
from orchestrator.errors import AwsError, BadInputError
from tests.support.fleet_records import RUN
from tests.support.fleet_records import fleet_run_document as document

NAME = f"/bluegreen/doa-market/dev/fleet-runs/{RUN}"


@pytest.mark.parametrize(
    ("services", "by_digest", "compressed", "tier"),
    [
        pytest.param(4, True, False, STANDARD, id="a-few-services-plain"),
        pytest.param(16, False, False, STANDARD, id="the-market-by-tag-plain"),
        pytest.param(16, True, True, STANDARD, id="the-market-by-digest-compressed"),
        pytest.param(32, True, True, STANDARD, id="32-by-digest-compressed"),
        pytest.param(64, True, True, ADVANCED, id="64-by-digest-needs-advanced"),
    ],
)
def test_the_record_stays_on_the_standard_tier_as_long_as_it_can(
    services: int, by_digest: bool, compressed: bool, tier: str
) -> None:
    made = document(services, by_digest)
    encoded = encode(made)
    assert encoded.value.startswith(COMPRESSED) is compressed
    assert encoded.tier == tier
    assert len(encoded.value.encode()) <= (STANDARD_LIMIT if tier == STANDARD else ADVANCED_LIMIT)
    assert decode(encoded.value) == made


def test_the_markets_16_images_by_digest_do_not_fit_4_kb_as_plain_json() -> None:
    # what the compression is for (the figures in fleet_runs.py's docstring)
    import json

    plain = json.dumps(document(16, True), separators=(",", ":"), sort_keys=True)
    assert len(plain) == 4212 > STANDARD_LIMIT
    assert len(encode(document(16, True)).value) == 1577


def test_a_record_too_large_even_for_advanced_is_one_line_of_bad_input() -> None:
    with pytest.raises(FleetRunTooLargeError, match="over Parameter Store's 8192"):
        encode(document(128, True))


@pytest.fixture
def ssm() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ssm", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_put_writes_one_string_parameter_per_run_naming_its_tier(ssm: Any) -> None:
    client, stub = ssm
    made = document(16, True)
    stub.add_response(
        "put_parameter",
        {"Version": 1, "Tier": "Standard"},
        {
            "Name": NAME,
            "Value": encode(made).value,
            "Type": "String",
            "Tier": "Standard",
            "Overwrite": True,
            "Description": f"bluegreen fleet run {RUN} (dev)",
        },
    )
    FleetRunStore(client, "doa-market").put(RUN, "dev", made)


def test_a_record_once_advanced_is_written_advanced_again(ssm: Any) -> None:
    client, stub = ssm
    made = document(4, True)
    request = {
        "Name": NAME,
        "Value": encode(made).value,
        "Type": "String",
        "Tier": "Standard",
        "Overwrite": True,
        "Description": f"bluegreen fleet run {RUN} (dev)",
    }
    # SSM's answer, as go-to-k/cdk-real-drift#408 quotes it
    message = (
        "You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier."
    )
    stub.add_client_error("put_parameter", "ValidationException", message, expected_params=request)
    stub.add_response("put_parameter", {"Version": 2, "Tier": "Advanced"}, {**request, "Tier": "Advanced"})
    FleetRunStore(client, "doa-market").put(RUN, "dev", made)


def test_get_reads_the_record_back(ssm: Any) -> None:
    client, stub = ssm
    made = document(16, True)
    stub.add_response(
        "get_parameter",
        {"Parameter": {"Name": NAME, "Type": "String", "Value": encode(made).value, "Version": 1}},
        {"Name": NAME},
    )
    assert FleetRunStore(client, "doa-market").get(RUN, "dev") == made


def test_an_unknown_run_is_bad_input_naming_it(ssm: Any) -> None:
    client, stub = ssm
    stub.add_client_error("get_parameter", "ParameterNotFound", "not found", expected_params={"Name": NAME})
    with pytest.raises(BadInputError, match=f"no fleet run {RUN} in dev"):
        FleetRunStore(client, "doa-market").get(RUN, "dev")


def test_access_denied_is_an_aws_error(ssm: Any) -> None:
    client, stub = ssm
    stub.add_client_error("get_parameter", "AccessDeniedException", "no", expected_params={"Name": NAME})
    with pytest.raises(AwsError, match="access denied"):
        FleetRunStore(client, "doa-market").get(RUN, "dev")


def test_a_parameter_that_is_not_a_record_is_bad_input(ssm: Any) -> None:
    client, stub = ssm
    stub.add_response(
        "get_parameter", {"Parameter": {"Name": NAME, "Type": "String", "Value": "[1, 2]"}}, {"Name": NAME}
    )
    with pytest.raises(BadInputError, match="not a bluegreen fleet run record"):
        FleetRunStore(client, "doa-market").get(RUN, "dev")


@pytest.mark.parametrize(("run_id", "environment"), [("fr/../x", "dev"), (RUN, "d e v"), ("", "dev")])
def test_a_name_ssm_cannot_hold_is_refused_before_any_call(run_id: str, environment: str) -> None:
    with pytest.raises(BadInputError, match="cannot name an SSM parameter"):
        FleetRunStore(object(), "doa-market").get(run_id, environment)  # type: ignore[arg-type]
