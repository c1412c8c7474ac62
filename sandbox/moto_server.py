"""moto in server mode on loopback: in a thread (fast, shares this process's moto state) or in a
child process (isolated state, nothing left behind when it stops).

A child of ``sandbox.moto_patched`` started with ``reuse=True`` (what a world does) is pooled: when
it stops, it is reset (POST /moto-api/reset: every backend of every account and region, then the
sandbox's own state, ``sandbox.moto_patched``) and parked for the next one started in this process
with the same environment, instead of paying moto's start again (~3 CPU-s: its import, the botocore
models it loads, its backends). At most ``POOL_SIZE`` children wait (a full pool kills the one
parked longest ago); one that fails its reset is killed. Two servers alive at once never share a
child. A parked child is still this process's child and exits with it (``sandbox.moto_patched``'s
parent watch); the per-world setting it read from its environment (the target-health states file,
``STATES_FILE_ENV``) is set on reuse through ``/moto-api/sandbox/target-health``.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sandbox.load_balancer.target_health import STATES_FILE_ENV
from sandbox.moto_writes import TARGET_HEALTH_PATH

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


PATCHED_MODULE = "sandbox.moto_patched"
POOL_SIZE = 2  # idle children kept per process
# Variables that differ between a parked child's start and a later one but that moto never reads:
# pytest's own, and the per-world states file (sent to a reused child instead).
_ENV_IGNORED = frozenset({"PYTEST_CURRENT_TEST", STATES_FILE_ENV})


def _post(url: str, body: bytes = b"", timeout: float = 10.0) -> None:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=timeout):
        pass


class _Child:
    """A running child process of moto and what it was started with."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, key: tuple[Any, ...]) -> None:
        self.process, self.url, self.key = process, url, key

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        # SIGKILL: the child keeps nothing worth a clean exit (state in memory, output to
        # /dev/null), and a SIGTERM'd moto spends 0.6-1 s tearing its interpreter down.
        self.process.kill()
        self.process.wait(timeout=10)


class MotoPool:
    """Idle, reset moto children of this process, by what they were started with (bounded)."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._idle: list[_Child] = []
        self._lock = threading.Lock()

    def take(self, key: tuple[Any, ...]) -> _Child | None:
        """An idle child started with ``key``, now no longer in the pool (None: none)."""
        with self._lock:
            for child in list(self._idle):
                if child.key == key:
                    self._idle.remove(child)
                    if child.alive():
                        return child
        return None

    def give(self, child: _Child) -> bool:
        """Park ``child`` (already reset); when the pool is full, the child parked longest ago is
        killed (the latest environment is the likeliest to come again). False: not parked."""
        with self._lock:
            if not self.size or not child.alive():
                return False
            self._idle.append(child)
            evicted, self._idle = self._idle[: -self.size], self._idle[-self.size :]
        for old in evicted:
            old.kill()
        return True

    def idle_pids(self) -> set[int]:
        with self._lock:
            return {child.process.pid for child in self._idle}

    def clear(self) -> None:
        """Kill every idle child (at exit; or a test that wants a cold start)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()


POOL = MotoPool()
atexit.register(POOL.clear)


def _start_key(module: str, env: dict[str, str]) -> tuple[Any, ...]:
    return (sys.executable, module, tuple(sorted((k, v) for k, v in env.items() if k not in _ENV_IGNORED)))


class MotoServer:
    """Starts moto on 127.0.0.1; use as a context manager yielding the endpoint URL.

    ``isolated=True`` runs it in a child process, so its state is its own; the default thread mode
    shares moto's module-level state with everything else in this process (reset it between uses).
    """

    def __init__(
        self, isolated: bool = False, port: int = 0, module: str = "moto.server", reuse: bool = False
    ) -> None:
        self.isolated = isolated
        self._port = port
        self._module = module  # isolated mode: the module run with -m (sandbox.moto_patched adds a fix)
        # isolated sandbox.moto_patched on any port: a pooled child (see the module's docstring)
        self._reuse = reuse and isolated and not port and module == PATCHED_MODULE
        self._thread_server: object | None = None
        self._child: _Child | None = None
        self.url = ""

    @property
    def pid(self) -> int | None:
        """The child's process id (isolated mode, while it runs)."""
        return self._child.process.pid if self._child is not None else None

    def start(self) -> str:
        if self.isolated:
            env = {**os.environ, **SANDBOX_CREDENTIALS}
            key = _start_key(self._module, env)
            child = POOL.take(key) if self._reuse else None
            if child is not None:
                try:
                    _post(f"{child.url}{TARGET_HEALTH_PATH}", env.get(STATES_FILE_ENV, "").encode())
                except (urllib.error.URLError, ConnectionError, OSError):
                    child.kill()
                    child = None
            if child is None:
                child = self._spawn(env, key)
            self._child, self.url = child, child.url
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

    def _spawn(self, env: dict[str, str], key: tuple[Any, ...]) -> _Child:
        port = self._port or free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", self._module, "-H", LOOPBACK, "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        child = _Child(process, f"http://{LOOPBACK}:{port}", key)
        try:
            # moto's import is ~1.5 CPU-s; at load 18-22 on 2 cores (eight developers' test runs
            # at once) the child took 15-35 s to answer: a bound, not a time we expect.
            _wait_until_up(child.url, timeout=90.0)
        except TimeoutError:
            child.kill()
            raise
        return child

    def reset(self) -> None:
        """Forget every resource moto holds (POST /moto-api/reset)."""
        _post(f"{self.url}/moto-api/reset")

    def stop(self) -> None:
        if self._thread_server is not None:
            self._thread_server.stop()  # type: ignore[attr-defined]
            self._thread_server = None
        child, self._child = self._child, None
        if child is None:
            return
        if self._reuse and child.alive():
            try:
                # moto's backends, then the sandbox's (the states file: none until the next world's)
                self.reset()
                _post(f"{child.url}{TARGET_HEALTH_PATH}")
            except (urllib.error.URLError, ConnectionError, OSError):
                pass  # a child that cannot be reset is not reused
            else:
                if POOL.give(child):
                    return
        child.kill()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
