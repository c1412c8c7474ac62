"""Strict reading of user files: UTF-8 only, no duplicate YAML keys, no alias bombs (pure)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.files.userfiles import MAX_EXPANDED_NODES, UserFileError, load_yaml, read_utf8


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The classic "billion laughs": each level lists the previous one ``width`` times."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly() -> None:
    text = alias_bomb()
    assert len(text) < 2048
    started = time.perf_counter()
    with pytest.raises(UserFileError, match=f"aliases expand to more than {MAX_EXPANDED_NODES} nodes"):
        load_yaml(text)
    assert time.perf_counter() - started < 0.5


def test_a_few_aliases_are_fine() -> None:
    assert load_yaml(alias_bomb(levels=3, width=3))["a2"] == [[["lol"] * 3] * 3] * 3


def test_merge_keys_may_override_what_they_merge() -> None:
    text = "base: &base {port: 1, size: small}\nsvc:\n  <<: *base\n  port: 2\n"
    assert load_yaml(text)["svc"] == {"port": 2, "size": "small"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "key 'a' is defined twice (line 1 and line 3)"),
        ("s:\n  cart:\n    port: 1\n  cart:\n    port: 2\n", "'cart' is defined twice (line 2 and line 4"),
        ("x:\n  - {k: 1, k: 2}\n", "key 'k' is defined twice"),
        ("x: &x [*x]\n", "refers to itself"),
        ("[" * 1000 + "]" * 1000, "nested more than 100 levels deep at line 1"),
        ("a: [1\n", "line 2"),
    ],
)
def test_bad_yaml_is_one_line_naming_the_place(text: str, message: str) -> None:
    with pytest.raises(UserFileError) as raised:
        load_yaml(text)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_non_utf8_names_the_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(UserFileError, match=r"not UTF-8 text: byte 0xe9 at line 2"):
        read_utf8(path)
