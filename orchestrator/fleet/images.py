"""What each service of a fleet run deploys: `--images FILE` and `--image-tag TAG`. Pure.

An images file is YAML, one entry per service: a full image reference, or ``:TAG`` to deploy the
catalog's image of that service with another tag::

    order-service: 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market/order-service:1.4.2
    payment-service: ":1.4.2"

Read with the project's strict loader (a service named twice is refused with both lines), checked
before anything else: an unknown service (did-you-mean) or an image `deploy --image` would refuse is
bad input, one line naming the file and the service. Services of the catalog the run does not
deploy may be listed (one file for every release of the market); they are not used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestrator.catalog import ResolvedService, did_you_mean
from orchestrator.errors import BadInputError, TaskDefinitionError
from orchestrator.files.taskdef import validate_image
from orchestrator.files.userfiles import UserFileError, load_yaml, read_utf8

# An image tag as Docker's reference grammar (distribution/reference) writes it: a word character,
# then up to 127 word characters, dots or hyphens (files/taskdef.py's _TAG is the same rule).
TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)


def load_images(path: str | os.PathLike[str], services: Sequence[str] | None = None) -> dict[str, str]:
    """The file's entries (service -> image reference or ``:TAG``), each checked; with ``services``
    (the catalog's), a name that is none of them is refused. BadInputError, one line, otherwise."""
    file = Path(path)
    raw = _read(file)
    if raw is None:
        raise BadInputError(f"{file.name}: names no service; write one `service: image` entry per line")
    if not isinstance(raw, Mapping):
        raise BadInputError(f"{file.name}: must map services to images (`order-service: REPO:TAG` lines)")
    entries: dict[str, str] = {}
    for service, image in raw.items():
        name = str(service)
        if services is not None and name not in services:
            raise BadInputError(
                f"{file.name}: no service {name!r} in the catalog{did_you_mean(name, list(services))}"
            )
        entries[name] = _checked(file.name, name, image)
    return entries


def _read(file: Path) -> object:
    try:
        return load_yaml(read_utf8(file))
    except FileNotFoundError:
        raise BadInputError(f"--images {file}: no such file") from None
    except IsADirectoryError:
        raise BadInputError(f"--images {file}: is a directory, not an images file") from None
    except OSError as err:
        raise BadInputError(f"--images {file}: cannot read it ({err.strerror})") from None
    except UserFileError as err:  # a service named twice: "key 'x' is defined twice (line 2 and line 5)"
        raise BadInputError(f"{file.name}: {err}") from None


def _checked(file_name: str, service: str, image: object) -> str:
    where = f"{file_name}: {service}"
    if not isinstance(image, str) or not image:
        raise BadInputError(f"{where}: give an image reference or ':TAG' (a string), got {image!r}")
    if image.startswith(":"):
        return ":" + validate_tag(image[1:], where)
    if image[0].isdigit() and TAG.fullmatch(image):  # valid for Docker (repository "1.4.2", :latest)
        raise BadInputError(
            f"{where}: {image!r} is a tag, not an image; write ':{image}' for the catalog's image "
            "with that tag, or the full image reference"
        )
    try:
        return validate_image(image)
    except TaskDefinitionError as err:
        raise BadInputError(f"{where}: {err}") from None


def validate_tag(tag: str, where: str = "--image-tag") -> str:
    """``tag`` when it is a valid image tag; BadInputError naming ``where`` otherwise."""
    if not TAG.fullmatch(tag):
        raise BadInputError(
            f"{where}: {tag!r} is not a valid image tag (letters, digits, '_', '.', '-'; "
            "at most 128, not starting with '.' or '-'), e.g. 1.4.2"
        )
    return tag


def with_tag(image: str, tag: str) -> str:
    """``image`` with its tag (and digest) replaced by ``tag``: the registry and repository kept."""
    name = image.split("@", 1)[0]
    if name.rfind(":") > name.rfind("/"):  # a tag, not a registry's port (host:5000/repo)
        name = name[: name.rfind(":")]
    return validate_image(f"{name}:{validate_tag(tag)}")


def images_for(
    services: Sequence[ResolvedService], entries: Mapping[str, str] | None, image_tag: str | None
) -> dict[str, str | None]:
    """Each service's image for this run: its file entry, else ``--image-tag`` on the catalog's
    image, else None (the catalog's own). A tag needs an image in the catalog to apply it to."""
    if entries is not None and image_tag is not None:
        raise BadInputError(
            "--image-tag and --images cannot be used together; write ':TAG' entries in the file"
        )
    images: dict[str, str | None] = {}
    for service in services:
        entry = (entries or {}).get(service.name)
        if entry is None and image_tag is not None:
            entry = ":" + validate_tag(image_tag)
        images[service.name] = _applied(service, entry)
    return images


def _applied(service: ResolvedService, entry: str | None) -> str | None:
    if entry is None or not entry.startswith(":"):
        return entry
    if not service.settings.image:
        raise BadInputError(
            f"{service.name} ({service.environment}) has no image in the catalog to give tag {entry}; "
            f"give its full image reference instead"
        )
    return with_tag(service.settings.image, entry[1:])
