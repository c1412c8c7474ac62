"""Task definitions to register: from a catalog JSON file or from the running one (pure: no boto3).

For the CLI engineer:
- ``validate_image(ref)`` checks ``--image`` before anything else happens (TaskDefinitionError,
  exit 2, says what a valid reference looks like). Call it first so bad input changes nothing.
- ``load_task_definition(service, image)`` when ``service.task_definition_path`` is set: reads the
  JSON file, fills ``${VAR}`` / ``${VAR:-default}`` (catalog values, then ``--image`` as IMAGE,
  then the process environment), and returns RegisterTaskDefinition kwargs.
- ``from_current(described["taskDefinition"], container_name, image)`` when the catalog says
  ``task_definition: current``: DescribeTaskDefinition's document with the container's image
  replaced, as RegisterTaskDefinition kwargs. (Tags come back separately from
  DescribeTaskDefinition(include=["TAGS"]); add ``tags=...`` yourself if you want them kept.)
- Both check that the container the AppSpec routes to (``container_name``) exists.

Additions beyond the shared interface: ``READ_ONLY_KEYS``, ``container_image(kwargs, name)``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from orchestrator.catalog import ResolvedService, expand_placeholders
from orchestrator.errors import CatalogError, TaskDefinitionError
from orchestrator.files.taskdef_shape import shape_problem
from orchestrator.files.userfiles import UserFileError, read_utf8

# Keys DescribeTaskDefinition returns that RegisterTaskDefinition does not accept (botocore's ECS
# model: TaskDefinition members that are not RegisterTaskDefinitionRequest members).
READ_ONLY_KEYS = frozenset(
    {
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
    }
)

# Docker's image reference grammar (distribution/reference), written out piece by piece:
#   [registry-host[:port]/]path-component[/path-component...][:tag][@algorithm:hex]
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_NAME_MAX = 255  # the grammar's limit on the repository name (domain included)
_EXAMPLE = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market/product-service:1.4.2"


def validate_image(ref: str) -> str:
    """Return ``ref`` if it is a valid image reference; TaskDefinitionError saying why not otherwise."""
    match = _REFERENCE.fullmatch(ref)
    if match is None:
        hint = ""
        if ref != ref.strip():
            hint = " (it has surrounding whitespace)"
        elif any(ch.isupper() for ch in ref.split("@")[0].rsplit(":", 1)[0].split("/", 1)[-1]):
            hint = " (repository paths must be lower case)"
        raise TaskDefinitionError(
            f"image {ref!r} is not a valid image reference{hint}; "
            f"expected REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], e.g. {_EXAMPLE}"
        )
    if len(match.group("name")) > _NAME_MAX:
        raise TaskDefinitionError(
            f"image {ref[:40]}...: the repository name is longer than {_NAME_MAX} characters"
        )
    return ref


# AWS's ARN format (docs: "Amazon Resource Names (ARNs)", ECS resource types): the partitions that
# host ECS, a region, a 12-digit account, and task-definition/FAMILY:REVISION, where a family is "up
# to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens" (RegisterTaskDefinition).
_TASK_DEFINITION_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:ecs:[a-z]{2}(?:-[a-z]+)+-[0-9]+:[0-9]{12}:"
    r"task-definition/[A-Za-z0-9_-]{1,255}:[1-9][0-9]{0,9}",
    re.ASCII,
)
_ARN_EXAMPLE = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7"


def validate_task_definition_arn(arn: str) -> str:
    """Return ``arn`` if it has the form of a task definition revision's ARN; TaskDefinitionError if not."""
    if not _TASK_DEFINITION_ARN.fullmatch(arn):
        raise TaskDefinitionError(
            f"--task-definition {arn[:120]!r} is not a task definition ARN; expected "
            f"arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION, e.g. {_ARN_EXAMPLE}"
        )
    return arn


def _json_escaped(values: Mapping[str, str]) -> dict[str, str]:
    # Placeholders sit inside JSON strings, so a value with a quote or a backslash must be escaped
    # to keep the file valid JSON; digits and plain names are unchanged by this.
    return {key: json.dumps(value)[1:-1] for key, value in values.items()}


def _display(service: ResolvedService) -> str:
    # The path as the catalog wrote it (relative to services.yaml), which is what the user edits.
    return f"{service.settings.task_definition} (service {service.name}, {service.environment})"


def load_task_definition(
    service: ResolvedService,
    image: str | None = None,
    environ: Mapping[str, str] | None = None,
    shown_as: str | None = None,
) -> dict[str, Any]:
    """RegisterTaskDefinition kwargs from the service's task definition file, placeholders filled.

    ``shown_as`` names the file in errors when it is not the catalog's (``--task-definition FILE``).
    """
    path = service.task_definition_path
    if path is None:
        raise TaskDefinitionError(
            f"service {service.name} ({service.environment}) takes its task definition from the running "
            "service (task_definition: current); pass --image to deploy a new image"
        )
    where = f"{shown_as} (--task-definition)" if shown_as else _display(service)
    try:
        text = read_utf8(path)
    except FileNotFoundError:
        raise TaskDefinitionError(f"{where}: task definition file {path} not found") from None
    except IsADirectoryError:
        raise TaskDefinitionError(f"{where}: is a directory, not a JSON file") from None
    except OSError as err:
        raise TaskDefinitionError(f"{where}: cannot read it ({err.strerror})") from None
    except UserFileError as err:
        raise TaskDefinitionError(f"{where}: {err}") from None
    values = service.placeholder_values()
    if image is not None:
        values["IMAGE"] = validate_image(image)
    env = os.environ if environ is None else environ
    try:
        expanded = expand_placeholders(text, _json_escaped(values), _json_escaped(env), where=where)
    except CatalogError as err:
        raise TaskDefinitionError(str(err)) from None
    try:
        document = json.loads(expanded)
    except json.JSONDecodeError as err:
        raise TaskDefinitionError(
            f"{where}: not valid JSON after filling placeholders: {err.msg} at line {err.lineno}, "
            f"column {err.colno}"
        ) from None
    if not isinstance(document, dict):
        raise TaskDefinitionError(
            f"{where}: the top level must be a JSON object (RegisterTaskDefinition input)"
        )
    # A file saved from `aws ecs describe-task-definition` wraps the document; accept both shapes.
    if set(document) == {"taskDefinition"} or ("taskDefinition" in document and "family" not in document):
        inner = document["taskDefinition"]
        if not isinstance(inner, dict):
            raise TaskDefinitionError(f"{where}: taskDefinition must be a JSON object")
        document = inner
    kwargs = {key: value for key, value in document.items() if key not in READ_ONLY_KEYS}
    problem = shape_problem(kwargs)
    if problem:
        raise TaskDefinitionError(f"{where}: {problem}")
    _check_containers(kwargs, service.settings.container_name, where)
    for container in kwargs["containerDefinitions"]:
        container_image = container.get("image")
        if isinstance(container_image, str):
            try:
                validate_image(container_image)
            except TaskDefinitionError as err:
                raise TaskDefinitionError(f"{where}: container {container.get('name')!r}: {err}") from None
    _check_memory(kwargs, where)
    return kwargs


def _check_memory(kwargs: Mapping[str, Any], where: str) -> None:
    # ECS (ContainerDefinition.memory): "you must specify a non-zero integer for one or both of memory
    # or memoryReservation in a container definition" unless the task sets a task-level memory.
    if kwargs.get("memory"):
        return
    for container in kwargs["containerDefinitions"]:
        if not (container.get("memory") or container.get("memoryReservation")):
            raise TaskDefinitionError(
                f"{where}: container {container.get('name')!r} needs memory or memoryReservation "
                "(or set the task-level memory)"
            )


def _check_containers(kwargs: Mapping[str, Any], container_name: str, where: str) -> dict[str, Any]:
    if not kwargs.get("family"):
        raise TaskDefinitionError(f"{where}: field family is missing")
    containers = kwargs.get("containerDefinitions")
    if not isinstance(containers, list) or not containers:
        raise TaskDefinitionError(f"{where}: field containerDefinitions must be a non-empty list")
    for container in containers:
        if isinstance(container, dict) and container.get("name") == container_name:
            return container
    names = ", ".join(repr(c.get("name")) for c in containers if isinstance(c, dict))
    raise TaskDefinitionError(
        f"{where}: no container named {container_name!r} (the catalog's container_name); "
        f"the task definition has {names or 'no named containers'}"
    )


def from_current(described: Mapping[str, Any], container_name: str, image: str) -> dict[str, Any]:
    """RegisterTaskDefinition kwargs from DescribeTaskDefinition's taskDefinition, with a new image."""
    validate_image(image)
    kwargs = {key: copy.deepcopy(value) for key, value in described.items() if key not in READ_ONLY_KEYS}
    where = f"task definition {described.get('taskDefinitionArn') or described.get('family') or '(unnamed)'}"
    container = _check_containers(kwargs, container_name, where)
    container["image"] = image
    return kwargs


def container_image(kwargs: Mapping[str, Any], container_name: str) -> str | None:
    """The image of one container in RegisterTaskDefinition kwargs (None if it has none)."""
    for container in kwargs.get("containerDefinitions") or []:
        if container.get("name") == container_name:
            image = container.get("image")
            return image if isinstance(image, str) else None
    return None
