"""One botocore loader per process, so every session reads each service model once.

botocore caches parsed models per loader and makes a loader per session. moto's server builds a
boto3 session per backend as it starts (about 43 of them), a test process one per World, CLI run and
moto backend, and each parsed the same large JSON files again (ec2's alone is megabytes). The models
are read-only data, shared exactly as the clients of one session already share them; a distinct
AWS_DATA_PATH still gets its own loader, and sessions that register their own loader (the hooks'
narrowed one) keep it. Used by the sandbox's moto child (``sandbox.moto_patched``) and the tests'
conftest; never by the CLI or the hooks in AWS.
"""

from __future__ import annotations

import functools
from typing import Any


class _SearchPaths(list):  # type: ignore[type-arg]
    """A shared loader's search paths: boto3 appends its data folder for every boto3 Session it
    makes (boto3/session.py ``_setup_loader``); on one shared loader that would grow without end."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


def share_botocore_models() -> None:
    """Every botocore session made from now on in this process reads models through one loader."""
    import botocore.loaders
    import botocore.session

    @functools.cache
    def shared_loader(search_path_string: str | None = None) -> Any:
        loader = botocore.loaders.create_loader(search_path_string)
        loader._search_paths = _SearchPaths(loader.search_paths)
        return loader

    botocore.session.create_loader = shared_loader  # type: ignore[attr-defined]
