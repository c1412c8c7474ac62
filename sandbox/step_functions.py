"""AWS Step Functions in the sandbox: moto's ASL interpreter, its Lambda Task states routed to the
world's in-process Lambda runner.

moto 5.2 runs a state machine's executions when its ``stepfunctions.execute_state_machine`` setting
is on (otherwise an execution only records that it started). It runs them in the process that
serves the Step Functions API, so this moto is a thread server in *this* process (the world's own
moto is a child process, see ``sandbox.world``), on a free loopback port, with that setting on.

A Task state that invokes Lambda (``arn:aws:states:::lambda:invoke``, or a function ARN) reaches
Lambda through a boto3 client that moto's interpreter makes in
``moto/stepfunctions/parser/asl/component/state/exec/state_task/lambda_eval_utils.py``
(``boto_client_for(region, "lambda", ...)``), aimed at ``localhost:$MOTO_PORT`` (5000 by
default), where moto's own Lambda would run the function in Docker. Here that one name is
replaced, while the sandbox runs, by a client whose ``invoke`` runs the function on the world's
``LambdaRunner`` (``invoke_sync``: the handler in-process, its logs to CloudWatch Logs as a real
invocation's), answering as Lambda's Invoke does: ``StatusCode`` 200 and the JSON payload, or
``FunctionError`` "Unhandled" with ``{errorType, errorMessage}``, which Step Functions turns into
the Task's error (the exception's class) and cause. Every other service the interpreter calls
goes to moto as before. Nothing else in moto changes.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from sandbox.lambda_runner import FunctionError, LambdaRunner, function_name_of
from sandbox.moto_server import LOOPBACK

_INTERPRETER_LAMBDA = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
_lock = threading.Lock()


class RunnerLambdaClient:
    """The Lambda client moto's interpreter gets: Invoke runs the function on the runner."""

    def __init__(self, runner: LambdaRunner) -> None:
        self.runner = runner

    def invoke(self, FunctionName: str, Payload: Any = None, **_: Any) -> dict[str, Any]:
        event = json.loads(Payload) if isinstance(Payload, str | bytes) and Payload else (Payload or {})
        try:
            answer = self.runner.invoke_sync(function_name_of(FunctionName), event)
        except FunctionError as err:
            body = {"errorType": err.error_type, "errorMessage": err.error_message}
            return _invoke_answer(body, function_error="Unhandled")
        return _invoke_answer(answer)


def _invoke_answer(body: Any, function_error: str | None = None) -> dict[str, Any]:
    """Lambda's Invoke answer as botocore hands it back (the payload a stream)."""
    answer: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": "$LATEST",
        "Payload": io.BytesIO(json.dumps(body).encode("utf-8")),
    }
    if function_error is not None:
        answer["FunctionError"] = function_error
    return answer


class StepFunctions:
    """moto's Step Functions (executions run) on 127.0.0.1; Lambda tasks run on ``runner``.

    ``start()`` returns the endpoint URL (``AWS_ENDPOINT_URL_SFN``); one at a time per process."""

    def __init__(self, runner: LambdaRunner) -> None:
        self.runner = runner
        self.url = ""
        self._server: Any = None
        self._restore: Callable[[], None] | None = None

    def start(self) -> str:
        import importlib

        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # The interpreter logs every failed state with its whole parse tree (kilobytes a line); a
        # failure is in the execution's answer (DescribeExecution, GetExecutionHistory) instead.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        module = importlib.import_module(_INTERPRETER_LAMBDA)
        with _lock:
            original = module.boto_client_for
            previous = dict(default_user_config.get("stepfunctions", {}))
            client = RunnerLambdaClient(self.runner)

            def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
                if service == "lambda":
                    return client
                return original(region=region, service=service, state_credentials=state_credentials)

            module.boto_client_for = boto_client_for
            default_user_config["stepfunctions"] = {**previous, "execute_state_machine": True}

            def restore() -> None:
                module.boto_client_for = original
                default_user_config["stepfunctions"] = previous  # type: ignore[typeddict-item]

            self._restore = restore
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        with _lock:
            if self._restore is not None:
                self._restore()
                self._restore = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
