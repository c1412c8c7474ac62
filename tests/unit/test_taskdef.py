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
from orchestrator.taskdef import (
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
