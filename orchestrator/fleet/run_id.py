"""Fleet run ids: ``fr-20261130t0730z-3f9a`` (when it started, UTC to the minute, and 4 hex digits).

A run id travels with every deployment of the run (CodeDeploy: in the deployment's description,
which holds 100 characters beside the request token and the provenance note; ECS: a tag value) and
names the run's record in SSM, so it is short (22 characters), lower case and needs no quoting in
a shell, a tag or a parameter name. Pure.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.errors import BadInputError

PREFIX = "fr-"
_STAMP = "%Y%m%dt%H%Mz"
RUN_ID = re.compile(r"fr-(?P<stamp>[0-9]{8}t[0-9]{4}z)-(?P<suffix>[0-9a-f]{4})")
EXAMPLE = "fr-20261130t0730z-3f9a"


@dataclass(frozen=True)
class RunId:
    """A parsed fleet run id: its text, when the run started (UTC, to the minute) and its suffix."""

    text: str
    started: datetime
    suffix: str

    def __str__(self) -> str:
        return self.text


def new_run_id(environment: str, now: datetime, *, entropy: bytes | None = None) -> str:
    """A new run id for a fleet run in ``environment`` starting at ``now`` (naive means UTC).

    The environment is not spelled in the id (`--env` names it; the run's record lives under it):
    it is mixed into the 4 random hex digits with ``entropy`` (random unless a test gives it)."""
    started = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    noise = secrets.token_bytes(8) if entropy is None else entropy
    suffix = hashlib.blake2s(environment.encode() + b"\0" + noise, digest_size=2).hexdigest()
    return f"{PREFIX}{started.strftime(_STAMP).lower()}-{suffix}"


def parse_run_id(text: str) -> RunId:
    """``text`` as a RunId; BadInputError (one line, the expected form) when it is not one."""
    given = text.strip()
    match = RUN_ID.fullmatch(given.lower())
    started = _started(match.group("stamp")) if match else None
    if match is None or started is None:
        shown = given[:40] + ("..." if len(given) > 40 else "")
        raise BadInputError(
            f"{shown!r} is not a fleet run id; expected fr-YYYYMMDDtHHMMz-XXXX, e.g. {EXAMPLE} "
            "(`bluegreen fleet deploy` prints it)"
        )
    return RunId(text=match.group(0), started=started, suffix=match.group("suffix"))


def _started(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:  # 20261340t2561z: the right shape, no such time
        return None
