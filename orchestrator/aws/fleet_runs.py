"""The fleet run record in SSM Parameter Store: what `fleet watch RUN_ID` and `fleet deploy --resume
RUN_ID` read instead of local state.

One String parameter per run, ``/bluegreen/{project}/{environment}/fleet-runs/{run_id}``, whose value
is the run's document as JSON (the plan: services, waves, images, strategy, options; the fleet
runner decides its keys). Which deployments the run started is not here: they carry the run id
themselves (CodeDeploy's description, ECS's task definition tag; ``Engine.fleet_deployments``).

Size (AWS's limits, botocore's SSM model, PutParameterRequest.Value and ParameterTier): "Standard
parameters have a value limit of 4 KB. Advanced parameters have a value limit of 8 KB"; advanced ones
"incur a charge" and "can't revert" to standard. The 16 services of the example market with
images named by digest (ECR URI @sha256:...) come to 4,212 bytes of JSON, over Standard's limit
(by tag: 3,412; tests/unit/test_fleet_runs_store.py measures both), so: the JSON as is when it fits
4 KB; else zlib-compressed and base64-encoded behind ``zlib+b64:`` (those 16 by digest: 1,577
bytes) on the free Standard tier; Advanced only when even that passes 4 KB (about 50 services by
digest), and past 8 KB (about 80) a one-line error. The tier is always named, so an account whose
default tier is Advanced or Intelligent-Tiering is not charged for a record that fits Standard
(and Intelligent-Tiering reportedly answers a value over 4096 as Standard does: aws/aws-sdk-net#3157).
A record once written Advanced is written Advanced again: SSM refuses the way back.

A JSON document never contains ``{{`` outside its strings (an object's first key is quoted), so the
value never looks like a parameter reference, which Parameter Store refuses ("You can't include values
wrapped in double brackets {{}}", the same model's documentation).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.aws.clients import CallPolicy, cli_call, error_code
from orchestrator.errors import BadInputError

PARAMETER_NAME = "/bluegreen/{project}/{environment}/fleet-runs/{run_id}"
# "Standard parameters have a value limit of 4 KB. Advanced parameters have a value limit of 8 KB."
STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192
STANDARD, ADVANCED = "Standard", "Advanced"  # botocore's SSM model, ParameterTier
COMPRESSED = "zlib+b64:"
# A parameter name's characters: "a-zA-Z0-9_.-" between the slashes (Parameter Store's naming rules).
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")


class SsmApi(Protocol):
    """The SSM calls the record needs (boto3's names and keyword arguments)."""

    def put_parameter(self, **request: Any) -> Mapping[str, Any]: ...

    def get_parameter(self, **request: Any) -> Mapping[str, Any]: ...


class FleetRunTooLargeError(BadInputError):
    """A fleet run's document does not fit a parameter even compressed on the Advanced tier."""


@dataclass(frozen=True)
class Encoded:
    """A document as the parameter's value, and the tier that holds it."""

    value: str
    tier: str


def encode(document: Mapping[str, Any]) -> Encoded:
    """The JSON as is on Standard when it fits 4 KB; compressed on Standard, then on Advanced."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)
    if _size(text) <= STANDARD_LIMIT:
        return Encoded(text, STANDARD)
    packed = COMPRESSED + base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")
    if _size(packed) <= STANDARD_LIMIT:
        return Encoded(packed, STANDARD)
    if _size(packed) <= ADVANCED_LIMIT:
        return Encoded(packed, ADVANCED)
    raise FleetRunTooLargeError(
        f"the fleet run's record is {_size(packed)} bytes compressed, over Parameter Store's "
        f"{ADVANCED_LIMIT} (Advanced tier); deploy fewer services per fleet run"
    )


def decode(value: str) -> dict[str, Any]:
    """The document ``encode`` wrote."""
    if value.startswith(COMPRESSED):
        value = zlib.decompress(base64.b64decode(value[len(COMPRESSED) :])).decode()
    document = json.loads(value)
    if not isinstance(document, dict):
        raise ValueError("a fleet run record is a JSON object")
    return document


def _size(value: str) -> int:
    return len(value.encode())


class FleetRunStore:
    """The fleet runs of one project, one SSM parameter each (``ssm_client``: boto3's or a fake)."""

    def __init__(self, ssm_client: SsmApi, project: str, call: CallPolicy = cli_call) -> None:
        self.ssm = ssm_client
        self.project = project
        self.call = call

    def name(self, run_id: str, environment: str) -> str:
        """The run's parameter name; BadInputError when a part cannot be in one."""
        parts = {"project": self.project, "environment": environment, "run_id": run_id}
        for what, part in parts.items():
            if not _SEGMENT.fullmatch(part):
                raise BadInputError(
                    f"{what} {part!r} cannot name an SSM parameter (letters, digits, '_', '.', '-')"
                )
        return PARAMETER_NAME.format(**parts)

    def put(self, run_id: str, environment: str, document: dict[str, Any]) -> None:
        """Write the run's record (again: it replaces the earlier one)."""
        name = self.name(run_id, environment)
        encoded = encode(document)
        request = {
            "Name": name,
            "Value": encoded.value,
            "Type": "String",
            "Tier": encoded.tier,
            "Overwrite": True,
            "Description": f"bluegreen fleet run {run_id} ({environment})",
        }
        self.call(f"PutParameter {name}", lambda: self._put(request))

    def _put(self, request: dict[str, Any]) -> None:
        """PutParameter; a record that once needed Advanced stays there: AWS refuses the way back
        ("you can't revert an advanced parameter to a standard parameter", ParameterTier)."""
        from botocore.exceptions import ClientError

        try:
            self.ssm.put_parameter(**request)
        except ClientError as err:
            downgrade = "downgrade" in str(err) or "revert" in str(err)
            if error_code(err) != "ValidationException" or request["Tier"] != STANDARD or not downgrade:
                raise
            self.ssm.put_parameter(**{**request, "Tier": ADVANCED})

    def get(self, run_id: str, environment: str) -> dict[str, Any]:
        """The run's record; BadInputError when the environment has no such run."""
        from botocore.exceptions import ClientError

        name = self.name(run_id, environment)

        def read() -> Mapping[str, Any] | None:
            try:
                return self.ssm.get_parameter(Name=name)
            except ClientError as err:
                if error_code(err) == "ParameterNotFound":
                    return None
                raise

        found = self.call(f"GetParameter {name}", read)
        if found is None:
            raise BadInputError(
                f"no fleet run {run_id} in {environment} (SSM parameter {name} not found); check the run "
                "id `bluegreen fleet deploy` printed and --env"
            )
        value = str((found.get("Parameter") or {}).get("Value") or "")
        try:
            return decode(value)
        except (ValueError, zlib.error) as err:
            raise BadInputError(f"SSM parameter {name} is not a bluegreen fleet run record ({err})") from None
