"""The in-process hooks log into the world's hooks.log whatever stream their handler held before."""

from __future__ import annotations

import io
import logging

from hooks.runtime import SERVICE
from sandbox.lambda_runner import HOOKS_LOGGER, redirect_stdout_logging


def test_the_hooks_logger_follows_the_world_even_from_a_swapped_stdout() -> None:
    assert SERVICE == HOOKS_LOGGER
    stale = io.StringIO()  # e.g. the stdout pytest's capture had installed when the logger was made
    logger = logging.getLogger(HOOKS_LOGGER)
    handler = logging.StreamHandler(stale)
    logger.addHandler(handler)
    other = logging.getLogger("someone-else")
    foreign = logging.StreamHandler(io.StringIO())
    other.addHandler(foreign)
    try:
        target = io.StringIO()
        redirect_stdout_logging(target)
        assert handler.stream is target
        assert foreign.stream is not target  # another library's open stream is left alone
    finally:
        logger.removeHandler(handler)
        other.removeHandler(foreign)


def test_the_ledger_lambdas_logger_follows_the_world_too() -> None:
    from hooks.ledger import SERVICE as LEDGER_SERVICE
    from sandbox.lambda_runner import LEDGER_LOGGER

    assert LEDGER_SERVICE == LEDGER_LOGGER
    handler = logging.StreamHandler(io.StringIO())  # a stdout swapped since the logger was made
    logger = logging.getLogger(LEDGER_LOGGER)
    logger.addHandler(handler)
    try:
        target = io.StringIO()
        redirect_stdout_logging(target)
        assert handler.stream is target
    finally:
        logger.removeHandler(handler)
