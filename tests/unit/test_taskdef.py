"""Task definitions: image references, files with ${VAR} placeholders, the running one with a new image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from orchestrator.catalog import Catalog
from orchestrator.errors import BadInputError, TaskDefinitionError
from orchestrator.files.taskdef import (
    READ_ONLY_KEYS,
    container_image,
    from_current,
    load_task_definition,
    validate_image,
)

NEW_IMAGE = "registry.example.com/shop/cart-service:2.0.0"


@pytest.mark.parametrize(
    "ref",
    [
        "nginx",
        "nginx:1.27",
        "library/nginx:latest",
        "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market/product-service:1.4.2",
        "localhost:5000/team/app:v1",
        "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
        "registry.example.com/a/b/c/d:tag_with.dots-and-dashes",
        "app@sha256:" + "a" * 64,
        "ghcr.io/org/app:1.0@sha256:" + "0123456789abcdef" * 4,
        "my_app__v2",
        "[::1]:5000/app:1",
    ],
)
def test_valid_image_references(ref: str) -> None:
    assert validate_image(ref) == ref


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("", ""),
        ("Product-Service:1.0", "lower case"),
        ("registry.example.com/Team/app:1", "lower case"),
        (" nginx:1", "whitespace"),
        ("nginx:", ""),
        ("nginx:-bad", ""),
        ("nginx:" + "t" * 129, ""),
        ("app@sha256:abc", ""),
        ("app@@sha256:" + "a" * 64, ""),
        ("registry.example.com//app", ""),
        ("app/", ""),
        ("-app", ""),
        ("http://registry.example.com/app:1", ""),
        ("app:1 2", ""),
    ],
)
def test_invalid_image_references_say_what_a_valid_one_looks_like(ref: str, why: str) -> None:
    with pytest.raises(TaskDefinitionError) as raised:
        validate_image(ref)
    message = str(raised.value)
    assert isinstance(raised.value, BadInputError)  # exit 2
    assert "REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]" in message
    assert why in message
    assert "\n" not in message


def test_image_name_longer_than_255_characters() -> None:
    with pytest.raises(TaskDefinitionError, match="longer than 255"):
        validate_image("registry.example.com/" + "a" * 250 + ":1")


def test_load_fills_placeholders_from_catalog_image_and_environment(taskdef_catalog: Catalog) -> None:
    service = taskdef_catalog.resolve("cart-service")
    kwargs = load_task_definition(service, NEW_IMAGE, environ={"GREETING": "hi", "LOG_LEVEL": "from-env"})
    assert kwargs["family"] == "shop-cart-service"
    assert (kwargs["cpu"], kwargs["memory"]) == ("256", "512")
    [app, router] = kwargs["containerDefinitions"]
    assert app["name"] == "cart-service"
    assert app["image"] == NEW_IMAGE  # --image wins over the catalog's image
    assert app["portMappings"] == [{"containerPort": 4001, "protocol": "tcp"}]
    assert app["environment"] == [
        {"name": "NODE_ENV", "value": "dev"},
        {"name": "GREETING", "value": "hi"},  # the environment fills what the catalog does not
        {"name": "LOG_LEVEL", "value": "debug"},  # the catalog's vars win over the environment
    ]
    assert router["image"] == "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    _assert_register_request(kwargs)


def test_load_uses_defaults_and_the_catalog_image_without_image(taskdef_catalog: Catalog) -> None:
    kwargs = load_task_definition(taskdef_catalog.resolve("cart-service"), environ={})
    app = kwargs["containerDefinitions"][0]
    assert app["image"] == "registry.example.com/shop/cart-service:1.0.0"
    assert {"name": "GREETING", "value": 'hello "world"'} in app["environment"]


def test_values_with_quotes_stay_valid_json(taskdef_catalog: Catalog) -> None:
    kwargs = load_task_definition(
        taskdef_catalog.resolve("cart-service"), environ={"GREETING": 'say "hi" \\o/'}
    )
    assert {"name": "GREETING", "value": 'say "hi" \\o/'} in kwargs["containerDefinitions"][0]["environment"]


def test_missing_variables_are_named_with_the_file(taskdef_catalog: Catalog) -> None:
    with pytest.raises(TaskDefinitionError) as raised:
        load_task_definition(taskdef_catalog.resolve("missing-var-service"), NEW_IMAGE, environ={})
    message = str(raised.value)
    assert "../taskdefs/missing-var.json" in message
    assert "missing-var-service" in message
    assert "${DATABASE_SECRET_ARN}, ${BLUEGREEN_TEST_UNSET_REGION}" in message
    assert "\n" not in message


def test_missing_variable_from_the_environment_is_enough(taskdef_catalog: Catalog) -> None:
    environ = {
        "DATABASE_SECRET_ARN": "arn:aws:secretsmanager:x",
        "BLUEGREEN_TEST_UNSET_REGION": "ap-northeast-2",
    }
    kwargs = load_task_definition(taskdef_catalog.resolve("missing-var-service"), NEW_IMAGE, environ=environ)
    assert kwargs["containerDefinitions"][0]["secrets"][0]["valueFrom"] == "arn:aws:secretsmanager:x"


@pytest.mark.parametrize(
    ("service", "image", "message"),
    [
        ("broken-json-service", NEW_IMAGE, "not valid JSON after filling placeholders"),
        ("wrong-container-service", NEW_IMAGE, "no container named 'wrong-container-service'"),
        ("wrong-container-service", NEW_IMAGE, "the task definition has 'app', 'sidecar'"),
        ("cart-service", "Not A Valid Image", "is not a valid image reference"),
        ("current-service", NEW_IMAGE, "task_definition: current"),
    ],
)
def test_bad_task_definition_inputs(taskdef_catalog: Catalog, service: str, image: str, message: str) -> None:
    with pytest.raises(TaskDefinitionError) as raised:
        load_task_definition(taskdef_catalog.resolve(service), image, environ={})
    assert message in str(raised.value)


def test_file_removed_after_the_catalog_was_loaded(taskdef_catalog: Catalog, tmp_path: Path) -> None:
    from dataclasses import replace

    service = replace(taskdef_catalog.resolve("cart-service"), task_definition_path=tmp_path / "gone.json")
    with pytest.raises(TaskDefinitionError, match="not found"):
        load_task_definition(service, NEW_IMAGE, environ={})


def test_describe_output_saved_as_a_file_is_accepted(taskdef_catalog: Catalog, tmp_path: Path) -> None:
    from dataclasses import replace

    described = json.loads((_fixtures() / "described.json").read_text())
    described["taskDefinition"]["containerDefinitions"][0]["image"] = "${IMAGE}"
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(described))
    service = replace(taskdef_catalog.resolve("cart-service"), task_definition_path=path)
    kwargs = load_task_definition(service, NEW_IMAGE, environ={})
    assert not READ_ONLY_KEYS & set(kwargs)
    assert container_image(kwargs, "cart-service") == NEW_IMAGE


def test_real_catalog_task_definitions_load(real_catalog: Catalog) -> None:
    for environment in ("dev", "prod"):
        for service in real_catalog.resolve_all(environment):
            kwargs = load_task_definition(service, environ={})
            assert container_image(kwargs, service.name) == service.settings.image
            _assert_register_request(kwargs)


def test_from_current_replaces_only_the_image_and_drops_read_only_keys() -> None:
    described = json.loads((_fixtures() / "described.json").read_text())["taskDefinition"]
    original = json.dumps(described, sort_keys=True)
    kwargs = from_current(described, "cart-service", NEW_IMAGE)
    assert json.dumps(described, sort_keys=True) == original  # the input is not modified
    assert set(kwargs) == set(described) - READ_ONLY_KEYS
    assert container_image(kwargs, "cart-service") == NEW_IMAGE
    assert (
        container_image(kwargs, "log-router") == "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    )
    assert (
        kwargs["containerDefinitions"][0]["portMappings"]
        == described["containerDefinitions"][0]["portMappings"]
    )
    _assert_register_request(kwargs)


@pytest.mark.parametrize(
    ("container", "image", "message"),
    [
        ("checkout-service", NEW_IMAGE, "no container named 'checkout-service'"),
        ("cart-service", "registry.example.com/Cart:1", "is not a valid image reference"),
    ],
)
def test_from_current_errors(container: str, image: str, message: str) -> None:
    described = json.loads((_fixtures() / "described.json").read_text())["taskDefinition"]
    with pytest.raises(TaskDefinitionError) as raised:
        from_current(described, container, image)
    assert message in str(raised.value)
    if "no container" in message:
        assert "task-definition/cart-service:7" in str(raised.value)


def test_read_only_keys_are_exactly_what_register_does_not_accept() -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    described = set(model.shape_for("TaskDefinition").members)
    accepted = set(model.operation_model("RegisterTaskDefinition").input_shape.members)
    assert described - accepted == READ_ONLY_KEYS


def _fixtures() -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures" / "taskdefs"


def _assert_register_request(kwargs: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    report = ParamValidator().validate(kwargs, model.operation_model("RegisterTaskDefinition").input_shape)
    assert not report.has_errors(), report.generate_report()


# One field broken at a time in a valid RegisterTaskDefinition document: botocore refuses each, and
# shape_problem names the field first (before any call). Mutations: (path to parent, key, value).
SHAPE_BREAKS = [
    pytest.param((), "cpu", {"a": 1}, "field cpu: expected a string, got an object", id="cpu-object"),
    pytest.param((), "memory", 512, "field memory: expected a string", id="memory-number"),
    pytest.param((), "networkMode", "bridged", "field networkMode: 'bridged' is not one of", id="enum"),
    pytest.param((), "family", None, "field family: expected a string, got null", id="family-null"),
    pytest.param((), "containerDefinitions", {}, "field containerDefinitions: expected a list", id="cd-map"),
    pytest.param((), "requiresCompatibilities", "FARGATE", "expected a list, got a string", id="compat-str"),
    pytest.param(
        (), "famly", "x", "field famly: not a RegisterTaskDefinition field (did you mean family?)", id="typo"
    ),
    pytest.param(
        ("containerDefinitions", 0),
        "essential",
        "yes",
        "containerDefinitions[0].essential: expected true or false",
        id="bool",
    ),
    pytest.param(
        ("containerDefinitions", 0),
        "memory",
        "512",
        "containerDefinitions[0].memory: expected an integer",
        id="int-str",
    ),
    pytest.param(
        ("containerDefinitions", 0),
        "memory",
        True,
        "containerDefinitions[0].memory: expected an integer, got true/false",
        id="int-bool",
    ),
    pytest.param(
        ("containerDefinitions", 0, "portMappings", 0),
        "containerPort",
        "80",
        "portMappings[0].containerPort: expected an integer",
        id="port-str",
    ),
    pytest.param(
        ("containerDefinitions", 0, "portMappings", 0),
        "protocl",
        "tcp",
        "not a RegisterTaskDefinition field (did you mean protocol?)",
        id="nested-typo",
    ),
    pytest.param(
        ("containerDefinitions", 0, "environment", 0),
        "value",
        1,
        "environment[0].value: expected a string",
        id="env-value",
    ),
]


@pytest.mark.parametrize(("parent", "key", "value", "message"), SHAPE_BREAKS)
def test_task_definition_types_are_checked_against_botocores_shape(
    real_catalog: Catalog, parent: tuple[Any, ...], key: str, value: Any, message: str
) -> None:
    from orchestrator.files.taskdef_shape import shape_problem

    document = load_task_definition(real_catalog.resolve("product-service"), environ={})
    assert shape_problem(document) is None
    target: Any = document
    for part in parent:
        target = target[part]
    target[key] = value
    problem = shape_problem(document)
    assert problem is not None and message in problem, problem
    if key == "networkMode" or isinstance(value, bool):
        return  # botocore checks no enums and takes a bool as an int; ECS itself refuses both
    model = botocore.session.get_session().get_service_model("ecs")
    report = ParamValidator().validate(document, model.operation_model("RegisterTaskDefinition").input_shape)
    assert report.has_errors()  # botocore agrees: this document would fail at the call


def test_a_missing_required_field_is_named() -> None:
    from orchestrator.files.taskdef_shape import shape_problem

    assert shape_problem({"containerDefinitions": []}) == "field family: required by RegisterTaskDefinition"


def test_a_bad_type_in_a_file_is_bad_input_naming_the_file(taskdef_catalog: Catalog, tmp_path: Path) -> None:
    from dataclasses import replace

    path = tmp_path / "mine.json"
    document = json.loads((_fixtures() / "described.json").read_text())["taskDefinition"]
    document["cpu"] = {"a": 1}
    path.write_text(json.dumps(document))
    service = replace(taskdef_catalog.resolve("cart-service"), task_definition_path=path)
    with pytest.raises(TaskDefinitionError) as raised:
        load_task_definition(service, NEW_IMAGE, environ={}, shown_as="mine.json")
    assert str(raised.value).startswith("mine.json (--task-definition): field cpu: expected a string")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7",
        "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/a_b-C:1",
        "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/x:1234567890",
    ],
)
def test_task_definition_arns_of_aws_form(arn: str) -> None:
    from orchestrator.files.taskdef import validate_task_definition_arn

    assert validate_task_definition_arn(arn) == arn


@pytest.mark.parametrize(
    "arn",
    [
        "arn:nonsense",
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service",  # no revision
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:0",
        "arn:aws:ecs:ap-northeast-2:1234:task-definition/product-service:7",
        "arn:aws:ecs:ap-northeast-2:123456789012:service/product-service:7",
        "arn:aws:lambda:ap-northeast-2:123456789012:task-definition/product-service:7",
        "arn:azure:ecs:ap-northeast-2:123456789012:task-definition/product-service:7",
        "arn:aws:ecs:AP-NORTHEAST-2:123456789012:task-definition/product-service:7",
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product.service:7",
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:\uff17",
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7\n",
    ],
)
def test_malformed_task_definition_arns_are_refused(arn: str) -> None:
    from orchestrator.files.taskdef import validate_task_definition_arn

    with pytest.raises(
        TaskDefinitionError, match="is not a task definition ARN; expected arn:aws:ecs:REGION"
    ):
        validate_task_definition_arn(arn)
