"""A fleet run's inputs: the images file (`--images`), `--image-tag`, and fleet run ids."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from orchestrator.catalog import Catalog
from orchestrator.errors import BadInputError
from orchestrator.fleet.images import images_for, load_images, with_tag
from orchestrator.fleet.run_id import RUN_ID, new_run_id, parse_run_id

ECR = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market"
SERVICES = ["order-service", "payment-service", "auth-service"]


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "images.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_images_file_maps_services_to_images_or_tags(tmp_path: Path) -> None:
    path = _file(tmp_path, f"order-service: {ECR}/order-service:1.4.2\npayment-service: :1.4.3\n")
    assert load_images(path, SERVICES) == {
        "order-service": f"{ECR}/order-service:1.4.2",
        "payment-service": ":1.4.3",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "order-service: :1.0\npayment-service: :1.0\norder-service: :1.1\n",
            "images.yaml: key 'order-service' is defined twice (line 1 and line 3); keep one",
            id="a service named twice",
        ),
        pytest.param(
            "oder-service: :1.0\n",
            "images.yaml: no service 'oder-service' in the catalog (did you mean order-service?)",
            id="an unknown service",
        ),
        pytest.param(
            "order-service: Registry.example.com/Order:1\n",
            "images.yaml: order-service: image 'Registry.example.com/Order:1' is not a valid image reference "
            "(repository paths must be lower case); expected REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]",
            id="an invalid image, as deploy --image says it",
        ),
        pytest.param(
            "order-service: ':-bad'\n",
            "images.yaml: order-service: '-bad' is not a valid image tag",
            id="an invalid tag",
        ),
        pytest.param(
            "order-service: 3\n",
            "images.yaml: order-service: give an image reference or ':TAG'",
            id="a number",
        ),
        pytest.param(
            "order-service: 1.4.2\n",
            "images.yaml: order-service: '1.4.2' is a tag, not an image; write ':1.4.2'",
            id="a bare tag (Docker would read a repository 1.4.2 on Docker Hub)",
        ),
        pytest.param("order-service:\n", "images.yaml: order-service: give an image", id="nothing"),
        pytest.param("", "images.yaml: names no service", id="an empty file"),
        pytest.param("- order-service\n", "images.yaml: must map services to images", id="a list"),
        pytest.param("order-service: [\n", "images.yaml: ", id="not YAML"),
    ],
)
def test_a_bad_images_file_is_one_line_of_bad_input(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInputError) as raised:
        load_images(_file(tmp_path, text), SERVICES)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_missing_images_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"^--images .*nowhere\.yaml: no such file$"):
        load_images(tmp_path / "nowhere.yaml")


def test_without_the_catalog_names_any_service_is_taken(tmp_path: Path) -> None:
    assert load_images(_file(tmp_path, "anything: :2\n")) == {"anything": ":2"}


@pytest.mark.parametrize(
    ("image", "tag", "expected"),
    [
        (f"{ECR}/order-service:latest", "1.4.2", f"{ECR}/order-service:1.4.2"),
        (f"{ECR}/order-service", "1.4.2", f"{ECR}/order-service:1.4.2"),
        ("localhost:5000/shop/cart:1", "2", "localhost:5000/shop/cart:2"),  # the port stays
        ("localhost:5000/shop/cart", "2", "localhost:5000/shop/cart:2"),
        (f"{ECR}/order-service:1@sha256:{'a' * 64}", "2", f"{ECR}/order-service:2"),  # digest dropped
    ],
)
def test_with_tag_replaces_only_the_tag(image: str, tag: str, expected: str) -> None:
    assert with_tag(image, tag) == expected


def test_images_for_a_run(real_catalog: Catalog) -> None:
    services = [real_catalog.resolve(name, "dev") for name in SERVICES]
    entries = {"order-service": "registry.example.com/order:9", "payment-service": ":1.4.3"}
    repository = {service.name: str(service.settings.image).rsplit(":", 1)[0] for service in services}
    assert repository["payment-service"].endswith("/doa-market/payment-service")
    images = images_for(services, entries, None)
    assert images["order-service"] == "registry.example.com/order:9"
    assert images["payment-service"] == f"{repository['payment-service']}:1.4.3"
    assert images["auth-service"] is None  # the catalog's own
    tagged = images_for(services, None, "2.0.0")
    assert tagged == {name: f"{repository[name]}:2.0.0" for name in SERVICES}
    assert images_for(services, None, None) == dict.fromkeys(SERVICES)


def test_images_for_refuses_both_flags_and_a_bad_tag(real_catalog: Catalog) -> None:
    services = [real_catalog.resolve("order-service", "dev")]
    with pytest.raises(BadInputError, match="cannot be used together"):
        images_for(services, {}, "1.0")
    with pytest.raises(BadInputError, match=r"^--image-tag: 'v 1' is not a valid image tag"):
        images_for(services, None, "v 1")


def test_a_tag_needs_a_catalog_image(good_catalog: Catalog) -> None:
    service = good_catalog.resolve("cart-service", "dev")
    without = dataclasses.replace(service, settings=service.settings.model_copy(update={"image": None}))
    with pytest.raises(
        BadInputError, match=r"^cart-service \(dev\) has no image in the catalog to give tag :1"
    ):
        images_for([without], None, "1")


# --- run ids ------------------------------------------------------------------------------------------
def test_a_new_run_id_is_short_and_parses_back() -> None:
    now = datetime(2026, 11, 30, 7, 30, 59, tzinfo=UTC)
    run_id = new_run_id("dev", now, entropy=b"fixed")
    assert RUN_ID.fullmatch(run_id) and run_id.startswith("fr-20261130t0730z-") and len(run_id) == 22
    parsed = parse_run_id(run_id)
    assert (str(parsed), parsed.started) == (run_id, now.replace(second=0))
    assert new_run_id("dev", now, entropy=b"fixed") == run_id  # the same noise, the same id
    assert new_run_id("prod", now, entropy=b"fixed") != run_id  # the environment is mixed in
    assert new_run_id("dev", now) != new_run_id("dev", now)  # random unless given (1 in 65,536)


def test_a_run_id_is_in_utc() -> None:
    seoul = timezone(timedelta(hours=9))
    run_id = new_run_id("dev", datetime(2026, 11, 30, 16, 30, tzinfo=seoul), entropy=b"x")
    assert run_id.startswith("fr-20261130t0730z-")
    assert new_run_id("dev", datetime(2026, 11, 30, 7, 30), entropy=b"x").startswith("fr-20261130t0730z-")


@pytest.mark.parametrize("text", ["FR-20261130T0730Z-3F9A", "  fr-20261130t0730z-3f9a\n"])
def test_parse_run_id_forgives_case_and_spaces(text: str) -> None:
    assert parse_run_id(text).text == "fr-20261130t0730z-3f9a"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "d-ABCDEFGHI",  # a deployment id, not a run id
        "fr-20261130t0730z",
        "fr-20261130t0730z-3f9",
        "fr-20261130t0730z-3f9g",
        "fr-20261340t0730z-3f9a",  # no 40th of the 13th month
        "fr-20261130t2561z-3f9a",
        "fr-20261130t0730z-3f9a-x",
    ],
)
def test_parse_run_id_refuses_what_is_not_one(text: str) -> None:
    with pytest.raises(BadInputError, match=r"is not a fleet run id; expected fr-YYYYMMDDtHHMMz-XXXX, e.g. "):
        parse_run_id(text)
