"""moto in server mode on loopback: in a thread (fast, shares this process's moto state) or in a
child process (isolated state, nothing left behind when it stops)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"

# Credentials moto accepts; never real ones. Region is whatever the catalog says.
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def sandbox_client_factory(region: str) -> Callable[[str, str], Any]:
    """``make(service_name, endpoint_url)``: boto3 clients with the sandbox's fake credentials, for the
    local servers (short retries: a loopback server that fails three times is broken, not busy)."""
    import boto3
    from botocore.config import Config

    session: Any = boto3.session.Session(
        aws_access_key_id=SANDBOX_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=SANDBOX_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=SANDBOX_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=30)

    def make(service_name: str, endpoint_url: str) -> Any:
        return session.client(service_name, endpoint_url=endpoint_url, config=config)

    return make


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1.0):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto server at {url} did not come up within {timeout}s") from None
            time.sleep(0.05)


class MotoServer:
    """Starts moto on 127.0.0.1; use as a context manager yielding the endpoint URL.

    ``isolated=True`` runs it in a child process, so its state is its own; the default thread mode
    shares moto's module-level state with everything else in this process (reset it between uses).
    """

    def __init__(self, isolated: bool = False, port: int = 0, module: str = "moto.server") -> None:
        self.isolated = isolated
        self._port = port
        self._module = module  # isolated mode: the module run with -m (sandbox.moto_patched adds a fix)
        self._thread_server: object | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        if self.isolated:
            port = self._port or free_port()
            env = {**os.environ, **SANDBOX_CREDENTIALS}
            self._process = subprocess.Popen(
                [sys.executable, "-m", self._module, "-H", LOOPBACK, "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            self.url = f"http://{LOOPBACK}:{port}"
            try:
                # moto's import is ~1.5 CPU-s; at load 18-22 on 2 cores (eight developers' test runs
                # at once) the child took 15-35 s to answer: a bound, not a time we expect.
                _wait_until_up(self.url, timeout=90.0)
            except TimeoutError:
                self.stop()
                raise
        else:
            import logging

            from moto.server import ThreadedMotoServer

            # werkzeug logs every request to stderr; the sandbox's output is for people.
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            server = ThreadedMotoServer(ip_address=LOOPBACK, port=self._port, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            self._thread_server = server
            self.url = f"http://{host}:{port}"
        return self.url

    def reset(self) -> None:
        """Forget every resource moto holds (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self._thread_server is not None:
            self._thread_server.stop()  # type: ignore[attr-defined]
            self._thread_server = None
        if self._process is not None:
            # SIGKILL: the child keeps nothing worth a clean exit (state in memory, output to
            # /dev/null), and a SIGTERM'd moto spends 0.6-1 s tearing its interpreter down.
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
