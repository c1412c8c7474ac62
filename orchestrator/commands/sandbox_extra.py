"""The one door from orchestrator/ into sandbox/: checks the `[sandbox]` extra, then imports by name.

`pip install .` installs the sandbox/ package but not moto; without this check `--sandbox` would
wait for a moto server that can never start (30 s, then "internal error: TimeoutError").
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from orchestrator.errors import BadInputError

# What the `sandbox` extra (pyproject.toml: moto[server]) brings that the base install lacks:
# moto itself, and flask, which moto's server mode runs on.
SANDBOX_MODULES = ("moto", "flask")
INSTALL_HINT = "pip install 'bluegreen[sandbox]' (from a clone: pip install -e '.[sandbox]')"


def missing_modules() -> list[str]:
    """The sandbox extra's modules that cannot be imported here."""
    missing = []
    for name in SANDBOX_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken install counts as missing
            found = False
        if not found:
            missing.append(name)
    return missing


def require(needed_by: str) -> None:
    """Bad input naming the extra to install when it is missing (call before anything starts)."""
    missing = missing_modules()
    if missing:
        raise BadInputError(
            f"{needed_by} needs the sandbox extra ({', '.join(missing)} not installed): {INSTALL_HINT}"
        )


def load(module: str, attribute: str, needed_by: str) -> Any:
    """``sandbox.<module>.<attribute>``, or bad input naming the extra to install (before anything starts)."""
    require(needed_by)
    try:
        return getattr(importlib.import_module(f"sandbox.{module}"), attribute)
    except (ImportError, AttributeError):
        raise BadInputError(f"{needed_by} needs the sandbox package: {INSTALL_HINT}") from None
