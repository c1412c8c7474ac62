"""The one door from orchestrator/ into sandbox/: checks the `[sandbox]` extra, then imports by name,
and the one module of orchestrator/ that knows a sandbox name (the hook log's variable).

`pip install .` installs the sandbox/ package but not moto; without this check `--sandbox` would
wait for a moto server that can never start (30 s, then "internal error: TimeoutError").
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

from orchestrator.errors import BadInputError

# What the `sandbox` extra (pyproject.toml: moto[server]) brings that the base install lacks:
# moto itself, and flask, which moto's server mode runs on.
SANDBOX_MODULES = ("moto", "flask")
INSTALL_HINT = "pip install 'bluegreen[sandbox]' (from a clone: pip install -e '.[sandbox]')"
# Set by the sandbox's world (sandbox/world.py) for a `--sandbox` run: the file its in-process hooks
# log to, which the CLI names when a hook failed.
HOOK_LOG_ENV_VAR = "BLUEGREEN_SANDBOX_HOOK_LOG"


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


def hook_log() -> str | None:
    """The sandbox's hook log file while this process runs a `--sandbox` deployment, else None."""
    return os.environ.get(HOOK_LOG_ENV_VAR) or None


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
