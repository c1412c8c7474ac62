"""Who started a deployment and from which commit (pure: git is read through an injected runner).

``deploy`` reads it once (``from_environment``), writes a short note into the CodeDeploy deployment's
description (``description_note``) and the ledger's row; ``history`` reads the note back
(``from_description``). Amazon ECS's native deployments have no description: there the ledger is
the only place provenance lives.

Where it comes from, the first that knows winning field by field:
1. ``BLUEGREEN_DEPLOYER`` / ``BLUEGREEN_COMMIT`` / ``BLUEGREEN_COMMIT_TIME``: set on purpose, so they
   override everything (a pipeline that builds one commit and deploys from another checkout);
2. CI's own variables: GitHub Actions (``GITHUB_ACTOR``, ``GITHUB_SHA``), GitLab CI
   (``GITLAB_USER_LOGIN``, ``CI_COMMIT_SHA``, ``CI_COMMIT_TIMESTAMP``);
3. git: ``rev-parse HEAD`` and the commit's committer date (the moment the change was made part of
   the branch: DORA's lead time starts there), ``config user.name``;
4. ``$USER`` for the deployer.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from orchestrator.insight.records import Provenance

GitRunner = Callable[[list[str]], str | None]

GIT_TIMEOUT_SECONDS = 2.0
SHORT_SHA = 12  # what the description keeps of a commit (git's own abbreviations are 7-12)
DEPLOYER_LIMIT = 24  # the description has 100 characters for everything (guardrails.DESCRIPTION_LIMIT)
# The note's commit time: UTC to the minute, compact (the description is short).
NOTE_TIME_FORMAT = "%Y%m%dT%H%MZ"

_NOTE = re.compile(
    r"(?:^|; )by (?P<deployer>[^;@]+?)"
    r"(?:@(?P<commit>[0-9a-f]{7,40}))?"
    r"(?: at (?P<time>\d{8}T\d{4}Z))?"
    r"(?=;|$)"
)
_UNSAFE = re.compile(r"[;@\s]+")


def run_git(arguments: list[str]) -> str | None:
    """``git ARGS`` in the current directory: its stripped output, or None (no git, not a
    repository, an error, or slower than 2 s)."""
    try:
        done = subprocess.run(
            ["git", *arguments],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    output = done.stdout.strip()
    return output if done.returncode == 0 and output else None


def parse_commit_time(text: str | None) -> datetime | None:
    """An ISO-8601 time (``2026-11-01T10:00:00+09:00``, ``...Z``) as UTC; None when it does not parse."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_environment(environ: Mapping[str, str], git: GitRunner) -> Provenance:
    """Who is deploying which commit, from the overrides, CI's variables, git and $USER."""
    ci_actor, ci_commit, ci_time, ci_source = _ci(environ)
    commit = environ.get("BLUEGREEN_COMMIT") or ci_commit
    source = "environment" if environ.get("BLUEGREEN_COMMIT") else ci_source
    if commit is None:
        commit = git(["rev-parse", "HEAD"])
        source = "git" if commit else source
    commit_time = parse_commit_time(environ.get("BLUEGREEN_COMMIT_TIME")) or parse_commit_time(ci_time)
    if commit_time is None and commit is not None:
        commit_time = parse_commit_time(git(["show", "-s", "--format=%cI", commit]))
    deployer = (
        environ.get("BLUEGREEN_DEPLOYER")
        or ci_actor
        or git(["config", "user.name"])
        or environ.get("USER")
        or environ.get("USERNAME")
    )
    if source is None and deployer is not None:
        source = "environment"
    return Provenance(
        deployer=deployer or None, commit=commit or None, commit_time=commit_time, source=source
    )


def _ci(environ: Mapping[str, str]) -> tuple[str | None, str | None, str | None, str | None]:
    """(actor, commit, commit time, source) from GitHub Actions' or GitLab CI's variables."""
    if environ.get("GITHUB_SHA") or environ.get("GITHUB_ACTOR"):
        # GitHub documents no commit time variable: git (the checkout) supplies it.
        return environ.get("GITHUB_ACTOR"), environ.get("GITHUB_SHA"), None, "github-actions"
    if environ.get("CI_COMMIT_SHA") or environ.get("GITLAB_USER_LOGIN"):
        return (
            environ.get("GITLAB_USER_LOGIN"),
            environ.get("CI_COMMIT_SHA"),
            environ.get("CI_COMMIT_TIMESTAMP"),
            "gitlab-ci",
        )
    return None, None, None, None


def description_note(p: Provenance, *, with_time: bool = True) -> str:
    """``by alice@0123456789ab at 20261101T1000Z`` (what fits of it in a CodeDeploy description);
    "" when nothing is known."""
    if p.deployer is None and p.commit is None:
        return ""
    deployer = _UNSAFE.sub("-", p.deployer or "unknown").strip("-")[:DEPLOYER_LIMIT] or "unknown"
    note = f"by {deployer}"
    commit = (p.commit or "").lower()
    if re.fullmatch(r"[0-9a-f]{7,40}", commit):
        note += f"@{commit[:SHORT_SHA]}"
        if with_time and p.commit_time is not None:
            note += f" at {p.commit_time.astimezone(UTC).strftime(NOTE_TIME_FORMAT)}"
    return note


def from_description(description: str | None) -> Provenance:
    """The provenance ``description_note`` wrote into a description (empty when there is none)."""
    found = _NOTE.search(description or "")
    if found is None:
        return Provenance()
    deployer = found.group("deployer")
    time = found.group("time")
    commit_time = datetime.strptime(time, NOTE_TIME_FORMAT).replace(tzinfo=UTC) if time else None
    return Provenance(
        deployer=None if deployer == "unknown" else deployer,
        commit=found.group("commit"),
        commit_time=commit_time,
        source="description",
    )
