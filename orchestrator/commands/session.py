"""What every command needs: the catalog, AWS clients, where output goes, interrupt handling."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from types import FrameType
from typing import Any, TextIO

from orchestrator.commands.options import GlobalOptions


class Session:
    """Lazily loads the catalog and makes clients; knows whether output is for a person or a machine."""

    def __init__(self, options: GlobalOptions, stdout: TextIO | None = None) -> None:
        self.options = options
        self.stdout = stdout or sys.stdout
        self._clients: dict[str | None, Any] = {}
        self._engines: dict[tuple[str, str | None], Any] = {}

    @property
    def json(self) -> bool:
        return self.options.output == "json"

    @property
    def is_tty(self) -> bool:
        return bool(getattr(self.stdout, "isatty", lambda: False)())

    @cached_property
    def catalog(self) -> Any:
        from orchestrator.catalog import load_catalog

        return load_catalog(self.options.catalog)

    def resolve(self, service: str) -> Any:
        """The catalog's ResolvedService for ``service`` in --env (or the default environment)."""
        return self.catalog.resolve(service, self.options.env)

    def clients(self, region: str | None = None) -> Any:
        """AwsClients for --region, else ``region`` (the service's), else boto3's default."""
        from orchestrator.aws.clients import AwsClients

        chosen = self.options.region or region
        if chosen not in self._clients:
            self._clients[chosen] = AwsClients(region=chosen, profile=self.options.profile)
        return self._clients[chosen]

    def engine(self, service: Any) -> Any:
        """The engine that runs ``service``: one per engine and region for the whole command, so a
        fleet's look at many deployments is one batched call per engine (Engine.snapshots)."""
        from orchestrator.engines import engine_for

        key = (str(service.settings.engine), service.region)
        if key not in self._engines:
            self._engines[key] = engine_for(service, self.clients(service.region))
        return self._engines[key]

    @property
    def engines(self) -> list[Any]:
        """Every engine ``engine`` made so far (their call counts, their clocks)."""
        return list(self._engines.values())

    def default_region(self) -> str | None:
        """The region of the catalog's default (or --env) environment, when a catalog is at hand."""
        if self.options.region:
            return self.options.region
        try:
            services = self.catalog.resolve_all(self.options.env)
        except Exception:  # no catalog here is fine for commands that take a deployment id
            return None
        return services[0].region if services else None

    def print(self, text: str = "") -> None:
        """A progress line for a person, printed as it happens (never in --output json; a command's
        result is printed once, by cli.main)."""
        if not self.json:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def warn(self, text: str) -> None:
        """A warning for a person, on stderr whatever the output mode (stdout stays the document)."""
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def console(self) -> Any:
        from rich.console import Console

        return Console(file=self.stdout)

    def style(self, text: str, colour: str) -> str:
        """``text`` coloured for a terminal, plain otherwise."""
        if not self.is_tty:
            return text
        codes = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
        return f"\x1b[{codes[colour]}m{text}\x1b[0m"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) behaves like Ctrl-C while watching: KeyboardInterrupt."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. a test runner thread): nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
