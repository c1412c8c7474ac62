"""Write a file without following a symbolic link (``bluegreen render``'s AppSpecs, ``timeline --out``).

A link planted at ``appspecs/x.dev.yaml`` (or at ``--out``, or ``appspecs/`` itself being a link)
used to make ``render`` overwrite whatever it pointed to, outside the repository. Here the text goes
to a temporary file opened with O_EXCL | O_NOFOLLOW in the target's own directory and is renamed
over the target (rename replaces a name, never what a link points to), and a target or a directory
inside ``within`` that is a link is refused outright.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from orchestrator.errors import BadInputError


def write_text_no_follow(path: Path, text: str, within: Path | None = None) -> None:
    """Write ``text`` to ``path`` (UTF-8) atomically; BadInputError if a link is in the way.

    ``within``: a directory we create files under (the catalog's folder); every directory from it
    down to ``path``'s parent must be a real directory, created if missing.
    """
    write_bytes_no_follow(path, text.encode("utf-8"), within)


def write_bytes_no_follow(path: Path, data: bytes, within: Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically (a PNG, or text as UTF-8); as ``write_text_no_follow``."""
    _make_parents(path.parent, within)
    if path.is_symlink():
        raise BadInputError(f"refusing to write {path}: it is a symbolic link (remove it or choose --out)")
    if path.is_dir():
        raise BadInputError(f"cannot write {path}: it is a directory")
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(temporary, flags, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise BadInputError(f"cannot write {path}: {err.strerror}") from None


def _make_parents(directory: Path, within: Path | None) -> None:
    if within is None:
        _make_directory(directory)
        return
    try:
        relative = directory.relative_to(within)
    except ValueError:
        raise BadInputError(f"refusing to write outside {within}: {directory}") from None
    current = within
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            raise BadInputError(
                f"refusing to write under {current}: it is a symbolic link (make it a real directory)"
            )
        _make_directory(current)


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInputError(f"cannot create {directory}: {err.strerror}") from None
