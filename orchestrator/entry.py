"""The process entry point (`bluegreen`, `python -m orchestrator`): SIGTERM is Ctrl-C from the start.

A cancelled CI job sends SIGTERM. Until a handler is installed its default action kills the process
without a word (exit 143 in a shell). Importing the CLI (typer, click, the commands) takes 0.1 s on
an idle machine and much more on a busy one, and a handler installed inside ``cli.main`` left that
window open: a SIGTERM there ended the run silently. So the handler goes in first, here, in a module
that imports only the standard library; ``cli.main`` turns the KeyboardInterrupt it raises into exit
130 with the message that says how to re-attach. (What arrives before the interpreter runs this
module's first line still gets the default action: no process can catch a signal before it runs.)
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Install the SIGTERM handler, then import and run the CLI; 130 for an interrupt anywhere."""
    try:
        # Inside the try: a SIGTERM may land while signal.signal is still returning (the handler is
        # in, its old value being turned into an enum), and its KeyboardInterrupt must be caught too
        # (seen: exit -2, the interpreter ending on an uncaught KeyboardInterrupt).
        signal.signal(signal.SIGTERM, _interrupt)
        from orchestrator.cli import main as cli_main

        return cli_main()
    except KeyboardInterrupt:  # while the CLI was still loading (cli.main reports its own)
        sys.stderr.write(STARTING + "\n")
        return 130


STARTING = "interrupted while bluegreen was starting; nothing was sent to AWS (run the command again)"
