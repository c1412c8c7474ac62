"""Who deployed which commit: CI variables, overrides, git, $USER; the description note and back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from orchestrator.insight.provenance import description_note, from_description, from_environment, run_git
from orchestrator.insight.records import Provenance

SHA = "0123456789abcdef0123456789abcdef01234567"
T = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _git(answers: dict[str, str]) -> object:
    """A git runner answering by its first argument (None: not a repository / no git)."""
    return lambda args: answers.get(args[0])


NO_GIT: dict[str, str] = {}
GIT = {"rev-parse": "f" * 40, "show": "2026-10-31T09:00:00+09:00", "config": "Git User"}


@pytest.mark.parametrize(
    ("environ", "git", "expected"),
    [
        pytest.param(
            {"GITHUB_ACTOR": "octocat", "GITHUB_SHA": SHA, "USER": "runner"},
            {"show": "2026-11-01T19:00:00+09:00"},
            Provenance("octocat", SHA, T, "github-actions"),
            id="github-actions-time-from-git",
        ),
        pytest.param(
            {"GITLAB_USER_LOGIN": "gl", "CI_COMMIT_SHA": SHA, "CI_COMMIT_TIMESTAMP": "2026-11-01T10:00:00Z"},
            NO_GIT,
            Provenance("gl", SHA, T, "gitlab-ci"),
            id="gitlab-ci",
        ),
        pytest.param(
            {
                "GITHUB_ACTOR": "octocat",
                "GITHUB_SHA": "a" * 40,
                "BLUEGREEN_DEPLOYER": "alice",
                "BLUEGREEN_COMMIT": SHA,
                "BLUEGREEN_COMMIT_TIME": "2026-11-01T10:00Z",
            },
            GIT,
            Provenance("alice", SHA, T, "environment"),
            id="overrides-win-over-ci-and-git",
        ),
        pytest.param(
            {"USER": "bob"},
            GIT,
            Provenance("Git User", "f" * 40, datetime(2026, 10, 31, 0, 0, tzinfo=UTC), "git"),
            id="git-committer-date-in-utc",
        ),
        pytest.param({"USER": "bob"}, NO_GIT, Provenance("bob", None, None, "environment"), id="no-git-user"),
        pytest.param({}, NO_GIT, Provenance(), id="nothing-known"),
        pytest.param(
            {
                "GITLAB_USER_LOGIN": "gl",
                "CI_COMMIT_SHA": SHA,
                "CI_COMMIT_TIMESTAMP": "2026-10-01T10:00:00Z",
                "BLUEGREEN_COMMIT_TIME": "2026-11-01T10:00Z",
            },
            NO_GIT,
            Provenance("gl", SHA, T, "gitlab-ci"),
            id="commit-time-override-wins-over-ci",
        ),
        pytest.param(
            {"BLUEGREEN_COMMIT": SHA, "BLUEGREEN_COMMIT_TIME": "not a time", "USER": "bob"},
            NO_GIT,
            Provenance("bob", SHA, None, "environment"),
            id="bad-time-is-unknown",
        ),
    ],
)
def test_from_environment(environ: dict[str, str], git: dict[str, str], expected: Provenance) -> None:
    assert from_environment(environ, _git(git)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("provenance", "note"),
    [
        (Provenance("alice", SHA, T), "by alice@0123456789ab at 20261101T1000Z"),
        (Provenance("alice", SHA), "by alice@0123456789ab"),
        (Provenance("alice"), "by alice"),
        (Provenance(None, SHA, T), "by unknown@0123456789ab at 20261101T1000Z"),
        (Provenance("Jane Q; Doe@x", SHA), "by Jane-Q-Doe-x@0123456789ab"),
        (Provenance("a" * 40, SHA), f"by {'a' * 24}@0123456789ab"),
        (Provenance("alice", "not-a-sha", T), "by alice"),
        (Provenance("alice", SHA.upper(), T), "by alice@0123456789ab at 20261101T1000Z"),
        (
            Provenance("alice", SHA, T.astimezone(timezone(timedelta(hours=9)))),
            "by alice@0123456789ab at 20261101T1000Z",
        ),
        (Provenance(), ""),
    ],
)
def test_description_note(provenance: Provenance, note: str) -> None:
    assert description_note(provenance) == note


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "bg:0123456789ab; by alice@0123456789ab at 20261101T1000Z; bluegreen deploy s all-at-once",
            Provenance("alice", "0123456789ab", T, "description"),
        ),
        ("bg:0123456789ab; by alice@0123456789ab", Provenance("alice", "0123456789ab", None, "description")),
        ("bg:0123456789ab; by unknown@0123456789ab", Provenance(None, "0123456789ab", None, "description")),
        ("bg:0123456789ab; bluegreen deploy s all-at-once", Provenance()),
        ("deployed by hand", Provenance()),
        (None, Provenance()),
    ],
)
def test_from_description(description: str | None, expected: Provenance) -> None:
    assert from_description(description) == expected


def test_the_note_reads_back() -> None:
    p = Provenance("github-actions[bot]", SHA, T)
    back = from_description(f"bg:0123456789ab; {description_note(p)}")
    assert (back.deployer, back.commit, back.commit_time) == ("github-actions[bot]", SHA[:12], T)


def test_run_git_without_git_or_repository(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(str(tmp_path))
    assert run_git(["rev-parse", "HEAD"]) is None  # not a repository
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run_git(["rev-parse", "HEAD"]) is None  # no git at all


def test_lead_time_starts_at_the_committer_date_not_the_author_date() -> None:
    def git(args: list[str]) -> str | None:
        return {
            "rev-parse HEAD": SHA,
            "show -s --format=%cI " + SHA: "2026-11-01T10:00:00Z",  # committer: merged to the branch
            "show -s --format=%aI " + SHA: "2026-10-01T10:00:00Z",  # author: written a month before
        }.get(" ".join(args))

    assert from_environment({"USER": "bob"}, git).commit_time == T


def test_a_commit_time_without_offset_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        environ = {"BLUEGREEN_COMMIT": SHA, "BLUEGREEN_COMMIT_TIME": "2026-11-01T10:00:00"}
        assert from_environment(environ, _git(NO_GIT)).commit_time == T  # type: ignore[arg-type]
    finally:
        monkeypatch.undo()
        time.tzset()
