"""nextToken paging of the List* operations (pure).

AWS's API reference says only "if a large amount of information is returned, an identifier is also
returned" (ListApplications, ListDeploymentGroups, ListDeploymentConfigs, ListDeployments,
ListDeploymentTargets) and documents no page size and no maxResults; 100 is our choice, the size
AWS's own CodeDeploy list limits use (BatchGetApplications takes 100 names). Clients must follow
nextToken whatever the size: botocore's paginators (paginators-1.json) and the AWS CLI do.

Tokens are opaque (base64 of a signed JSON), name the operation and the request's filters they were
issued for, and resume *after* the last item returned (keyset, not offset), so items created or
deleted between pages neither repeat nor shift the rest. A token that was not issued by this
emulator for the same operation and filters is InvalidNextTokenException, as AWS answers for "the
next token was specified in an invalid format".
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from sandbox.codedeploy.errors import ApiError

PAGE_SIZE = 100
_SECRET = secrets.token_bytes(32)  # per process: tokens are not forgeable, nor valid after a restart

SortKey = tuple[Any, ...]


def invalid_token() -> ApiError:
    return ApiError("InvalidNextTokenException", "The next token was specified in an invalid format.")


def _signature(payload: bytes) -> str:
    return hmac.new(_SECRET, payload, hashlib.sha256).hexdigest()[:32]


def encode_token(scope: dict[str, Any], after: SortKey) -> str:
    payload = json.dumps({"scope": scope, "after": list(after)}, sort_keys=True, separators=(",", ":"))
    signed = json.dumps({"p": payload, "s": _signature(payload.encode())}, separators=(",", ":"))
    return base64.urlsafe_b64encode(signed.encode()).decode()


def decode_token(token: str, scope: dict[str, Any]) -> SortKey:
    """The sort key to resume after; InvalidNextTokenException unless issued here for ``scope``."""
    try:
        signed = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        payload = signed["p"]
        valid = hmac.compare_digest(signed["s"], _signature(payload.encode()))
        body = json.loads(payload) if valid else None
    except (ValueError, TypeError, KeyError, AttributeError):
        raise invalid_token() from None
    if body is None or body["scope"] != json.loads(json.dumps(scope, sort_keys=True)):
        raise invalid_token()
    return tuple(body["after"])


def page(
    keyed: Sequence[tuple[SortKey, str]], token: str | None, scope: dict[str, Any], size: int = PAGE_SIZE
) -> tuple[list[str], str | None]:
    """One page of ``keyed`` ((sort key, item) pairs sorted by key) and the token for the next one."""
    keys = [key for key, _ in keyed]
    start = bisect.bisect_right(keys, decode_token(token, scope)) if token else 0
    chunk = keyed[start : start + size]
    more = start + size < len(keyed)
    return [item for _, item in chunk], (encode_token(scope, chunk[-1][0]) if more and chunk else None)


def by_name(names: Sequence[str]) -> list[tuple[SortKey, str]]:
    """Names in the order the List* operations return them (sorted), keyed for ``page``."""
    return [((name,), name) for name in sorted(names)]
