"""Helpers for CLI tests: run ``bluegreen`` in-process through ``cli.main``, a loopback endpoint that
records every AWS request (to prove "no AWS call"), and stubbed clients for Stubber flows."""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from orchestrator.aws.clients import CallCounter
from orchestrator.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cli"
TOKEN = re.compile(r"bg:[0-9a-f]{12}")


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured output of one ``bluegreen`` run."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str) -> CliResult:
    """Run ``bluegreen ARGS`` in this process, as the console script does (through ``main``).

    With ``--output json`` the document on stdout is checked against `bluegreen schema` (the schema
    itself, `bluegreen schema`, is not one of the documents).
    """
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    result = CliResult(code, out.getvalue(), err.getvalue())
    if _asks_json(args) and "schema" not in args and result.stdout.startswith("{"):
        from tests.support.schema import check_document

        check_document(result.json())
    return result


def _asks_json(args: tuple[str, ...]) -> bool:
    pairs = itertools.pairwise(args)
    return any(flag in ("-o", "--output") and value == "json" for flag, value in pairs) or any(
        arg in ("-ojson", "--output=json") for arg in args
    )


def normalise(text: str) -> str:
    """Output with the random request token replaced, for golden comparisons."""
    return TOKEN.sub("bg:TOKEN", text)


class _Recorder(BaseHTTPRequestHandler):
    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target")
        requests = self.server.requests  # type: ignore[attr-defined]
        requests.append((self.command, self.path, target, body))
        status, answer = self.server.answer(len(requests), target)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = _record

    def log_message(self, *args: Any) -> None:
        return None


@dataclass
class Recorder:
    """A running recording endpoint: its URL and the requests it saw (method, path, target, body)."""

    url: str
    requests: list[tuple[str, str, str | None, bytes]]


Answer = Callable[[int, str | None], tuple[int, bytes]]


def _internal_failure(_index: int, _target: str | None) -> tuple[int, bytes]:
    return 500, b'{"__type": "InternalFailure", "message": "recording endpoint"}'


@contextmanager
def recording_endpoint(answer: Answer = _internal_failure) -> Iterator[Recorder]:
    """An HTTP server on 127.0.0.1 that records every request and answers it with ``answer``.

    ``answer(n, target)`` gets the request's number (1-based) and X-Amz-Target; by default every
    request fails with a 500. Point AWS_ENDPOINT_URL at it to prove a command made no AWS call.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.answer = answer  # type: ignore[attr-defined]
    requests: list[tuple[str, str, str | None, bytes]] = []
    server.requests = requests  # type: ignore[attr-defined]
    # shutdown() waits for serve_forever's next poll: socketserver's default 0.5 s cost ~0.45 s of
    # teardown per test (34 tests in test_bad_input, 26 in test_json_failures).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Recorder(f"http://{host}:{port}", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class StubbedClients:
    """Stands in for AwsClients: real botocore clients (no network) wrapped in Stubbers."""

    def __init__(self, region: str = "ap-northeast-2") -> None:
        import boto3
        from botocore.stub import Stubber

        session = boto3.session.Session(region_name=region)
        self.counter = CallCounter()
        self._clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        for name in ("codedeploy", "ecs"):
            client = session.client(name)
            client.meta.events.register("before-call.*.*", self.counter)
            self._clients[name] = client
            stubber = Stubber(client)
            stubber.activate()
            self.stubbers[name] = stubber
        # The ledger (services.yaml names one in dev and prod): `deploy` and `rollback` record who
        # started a deployment there. Its writes are accepted (answered {}) and kept, uncounted, so
        # the deploy flows scripted on the Stubbers above need no DynamoDB script of their own.
        self.ledger_requests: list[tuple[str, dict[str, Any]]] = []
        dynamodb = session.client("dynamodb")
        dynamodb.meta.events.register("before-call.dynamodb.*", self._ledger_answer)
        self._clients["dynamodb"] = dynamodb

    def _ledger_answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        self.ledger_requests.append((model.name, params.get("body") or {}))
        return AWSResponse("https://dynamodb.invalid", 200, {}, None), {}

    def fresh(self) -> StubbedClients:
        """These clients with new, empty Stubbers and a zeroed counter (botocore's models load once)."""
        from botocore.stub import Stubber

        for name, stubber in self.stubbers.items():
            stubber.deactivate()
            self.stubbers[name] = Stubber(self._clients[name])
            self.stubbers[name].activate()
        self.counter.calls.clear()
        return self

    def client(self, name: str, *, single_attempt: bool = False) -> Any:
        return self._clients[name]

    def assert_no_pending(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def shown(result: CliResult) -> str:
    """The whole run in one string, for assertion messages."""
    return f"exit {result.code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


# --- end to end against the CodeDeploy emulator --------------------------------------------------------


@dataclass(frozen=True)
class E2eWorld:
    """A provisioned ECS service (moto) + deployment group (emulator) and a catalog that names them."""

    moto_url: str
    codedeploy_url: str
    catalog: Path
    environment: Any  # tests.support.emulator.EcsEnvironment

    def codedeploy(self) -> Any:
        from tests.support.emulator import client

        return client("codedeploy", self.codedeploy_url)

    def deployments(self) -> list[str]:
        """Every deployment of the group (any status)."""
        response = self.codedeploy().list_deployments(
            applicationName=self.environment.application,
            deploymentGroupName=self.environment.deployment_group,
        )
        return list(response["deployments"])

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        return dict(self.codedeploy().get_deployment(deploymentId=deployment_id)["deploymentInfo"])


def write_e2e_catalog(
    directory: Path,
    environment: Any,
    hooks: dict[str, str] | None = None,
    ready_wait_minutes: int | None = None,
    task_definition: str | None = None,
) -> Path:
    """Fill tests/fixtures/cli/e2e-catalog.yaml.tmpl for ``environment``; returns the catalog path."""
    text = (FIXTURES / "e2e-catalog.yaml.tmpl").read_text(encoding="utf-8")
    values = {
        "CLUSTER": environment.cluster,
        "SERVICE": environment.service,
        "APPLICATION": environment.application,
        "GROUP": environment.deployment_group,
        "TASK_DEFINITION": task_definition or str(FIXTURES / "e2e-taskdef.json"),
        "HOOKS": json.dumps(hooks or {}),
        "READY_ACTION": "STOP_DEPLOYMENT" if ready_wait_minutes is not None else "CONTINUE_DEPLOYMENT",
        "READY_WAIT": str(ready_wait_minutes or 0),
    }
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    path = directory / "services.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class FakeClock:
    """Real-seconds clock that only moves when ``sleep`` is called (for the watch loop)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def wait_for(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; returns it (AssertionError after ``timeout`` real seconds)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def default_sigint() -> None:
    """Popen's preexec_fn for a child a test interrupts with SIGINT: Ctrl-C as a terminal gives it,
    even when the tests were started from a background shell, whose children start with SIGINT
    ignored (Python then never raises KeyboardInterrupt): the tests are about Ctrl-C, not about how
    pytest was launched."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
