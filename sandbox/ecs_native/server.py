"""The ECS endpoint: ECS's JSON 1.1 protocol on loopback, in front of moto.

``X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>``. The service-deployment operations
are answered here (input checked against botocore's ECS model first, answers checked strictly
against the output shape); CreateService / UpdateService / DescribeServices go to moto and come back
with what moto drops for native services; every other request passes to moto unchanged (method,
path, headers, body), its answer too, except the ``Date`` header, which is the sandbox's virtual
time as on the CodeDeploy emulator's answers.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import re
import urllib.parse
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from sandbox.codedeploy.errors import ApiError
from sandbox.codedeploy.server import MAX_BODY_BYTES, CodeDeployHttpServer, parse_body
from sandbox.ecs_native import api, shapes
from sandbox.ecs_native import tasks as native_tasks
from sandbox.ecs_native.api import ApiContext, Params
from sandbox.ecs_native.vocabulary import TARGET_PREFIX

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
_REGION_IN_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
# Hop-by-hop headers (RFC 7230 6.1) are the proxy's own, never forwarded.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
}

Reply = tuple[int, list[tuple[str, str]], bytes]


def region_of(headers: Any) -> str:
    """The region a request was signed for (SigV4's credential scope), as moto reads it."""
    found = _REGION_IN_SCOPE.search(headers.get("Authorization") or "")
    return found.group(1) if found else DEFAULT_REGION


class Dispatcher:
    """Turns one request into a reply: ours, moto's with ours on top, or moto's as it is."""

    def __init__(
        self, ctx: ApiContext, moto_url: str, resolve_task_definition: Callable[[str, str], str | None]
    ) -> None:
        self.ctx = ctx
        parsed = urllib.parse.urlsplit(moto_url)
        self._moto = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self._resolve = resolve_task_definition
        self._operations = set(shapes.service_model().operation_names)

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        target = headers.get("X-Amz-Target") or ""
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        region = region_of(headers)
        try:
            if method == "POST" and operation in api.OPERATIONS:
                return _json(200, self._own(operation, body, region))
            if method == "POST" and operation in ("CreateService", "UpdateService", "DescribeServices"):
                return self._intercepted(operation, method, path, headers, body, region)
            if (
                method == "POST"
                and operation in ("ListTasks", "DescribeTasks")
                and self.ctx.tasks is not None
            ):
                reply = self._tasks(operation, path, headers, body)
                if reply is not None:
                    return reply
        except ApiError as err:
            return _json(err.http_status, err.body())
        except Exception:
            log.exception("internal error on %s", operation)
            return _json(
                500, {"__type": "ServerException", "message": "The ECS emulator hit an internal error."}
            )
        return self._moto_reply(method, path, headers, body)

    # --- ours ---------------------------------------------------------------------------------------

    def _own(self, operation: str, body: bytes, region: str) -> Params:
        params = self._checked(operation, body)
        answer = api.OPERATIONS[operation](self.ctx, params, region)
        problems = shapes.output_problems(operation, answer)
        if problems:  # an emulator bug: loud, never a malformed answer
            raise RuntimeError(f"{operation} answer does not fit botocore's model: {problems[:5]}")
        return answer

    def _checked(self, operation: str, body: bytes) -> Params:
        params = parse_body(body)
        problems = shapes.input_problems(operation, params)
        if problems:
            shown = "; ".join(problems[:5])
            raise ApiError(
                "InvalidParameterException", f"{len(problems)} validation error(s) detected: {shown}"
            )
        return shapes.known_input(operation, params)

    # --- moto's, with ours on top ------------------------------------------------------------------

    def _intercepted(
        self, operation: str, method: str, path: str, headers: Any, body: bytes, region: str
    ) -> Reply:
        params = self._checked(operation, body)
        plan: api.UpdatePlan | None = None
        native = False
        if operation == "CreateService":
            native = api.before_create_service(self.ctx, params)
        elif operation == "UpdateService":
            plan = api.before_update_service(self.ctx, params, region)
        status, reply_headers, raw = self._moto_reply(method, path, headers, body)
        if status != 200:
            return status, reply_headers, raw
        answer = json.loads(raw)
        if operation == "CreateService" and native:
            answer = api.after_create_service(self.ctx, params, answer)
        elif operation == "UpdateService" and plan is not None:
            definition = params.get("taskDefinition")
            resolved = self._resolve(definition, region) if definition else None
            answer = api.after_update_service(self.ctx, params, answer, plan, resolved)
            if plan.migrating:
                self._drop_task_sets(plan, region)
        elif operation == "DescribeServices":
            answer = api.overlay_services(self.ctx, answer)
        self._check_overlay(answer)
        return _json(200, answer)

    def _drop_task_sets(self, plan: api.UpdatePlan, region: str) -> None:
        """A migrated service's task sets are its first revision now (moto would keep running them)."""
        ecs = self.ctx.moto_ecs(region)
        for arn in plan.task_sets:
            ecs.delete_task_set(cluster=plan.key[0], service=plan.key[1], taskSet=arn, force=True)

    @staticmethod
    def _check_overlay(answer: Params) -> None:
        services = answer.get("services") or ([answer["service"]] if "service" in answer else [])
        for service in services:
            for member in (
                "deploymentConfiguration",
                "loadBalancers",
                "currentServiceRevisions",
                "deployments",
                "events",
            ):
                if member in service:
                    problems = shapes.member_problems("Service", member, service[member])
                    if problems:
                        raise RuntimeError(f"Service.{member} does not fit botocore's model: {problems[:5]}")

    # --- native services' tasks ----------------------------------------------------------------------

    def _tasks(self, operation: str, path: str, headers: Any, body: bytes) -> Reply | None:
        """ListTasks / DescribeTasks about native services' tasks, from the task book (moto runs none of
        them); None: a request about other tasks, for moto. A DescribeTasks naming both kinds asks moto
        for the others and merges its answer."""
        params = self._checked(operation, body)
        book = self.ctx.tasks
        cluster = params.get("cluster") or "default"
        if operation == "ListTasks":
            if not book.serves(cluster, params.get("serviceName"), params.get("startedBy")):
                return None
            return _json(200, self._answer(operation, native_tasks.list_tasks(book, params)))
        found, unknown = book.describe(params.get("tasks") or [])
        if not found:
            return None
        answer: Params = {"tasks": found, "failures": []}
        if unknown:
            theirs = self._moto_json(path, headers, {**params, "tasks": unknown})
            answer["tasks"] += theirs.get("tasks") or []
            answer["failures"] += theirs.get("failures") or []
            # AWS names each task it does not know in failures (reason MISSING); moto leaves them out
            said = {t.get("taskArn") for t in answer["tasks"]} | {f.get("arn") for f in answer["failures"]}
            answer["failures"] += [
                {"arn": task, "reason": "MISSING"}
                for task in unknown
                if task not in said and not any(str(s).endswith(f"/{task}") for s in said if s)
            ]
        return _json(200, self._answer(operation, answer))

    def _answer(self, operation: str, answer: Params) -> Params:
        problems = shapes.output_problems(operation, answer)
        if problems:  # an emulator bug: loud, never a malformed answer
            raise RuntimeError(f"{operation} answer does not fit botocore's model: {problems[:5]}")
        return answer

    def _moto_json(self, path: str, headers: Any, params: Params) -> Params:
        """moto's answer to the same operation with other parameters (its length recomputed)."""
        kept = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        status, _, raw = self._moto_reply("POST", path, kept, json.dumps(params).encode())
        if status != 200:
            raise ApiError(
                "ServerException", f"moto answered {status} to a DescribeTasks for other tasks.", 500
            )
        return dict(json.loads(raw))

    # --- moto's as it is ----------------------------------------------------------------------------

    def _moto_reply(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        connection = http.client.HTTPConnection(*self._moto, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            raw = response.read()
            kept = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in _HOP_BY_HOP | {"content-length", "date", "server"}
            ]
            return response.status, kept, raw
        finally:
            connection.close()


def _json(status: int, body: Params) -> Reply:
    payload = json.dumps(body).encode()
    return (
        status,
        [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))],
        payload,
    )


def _handler_class(dispatcher: Dispatcher) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # see sandbox/codedeploy/server.py: 45 ms per call without it
        timeout = 60
        server_version = "EcsNativeEmulator"

        def date_time_string(self, timestamp: float | None = None) -> str:
            """``Date`` by the sandbox's virtual clock, as the CodeDeploy emulator's answers."""
            now = dispatcher.ctx.clock.now() if timestamp is None else timestamp
            return email.utils.formatdate(now, usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _serve(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                error = ApiError(
                    "SerializationException", f"The request body must be at most {MAX_BODY_BYTES} bytes.", 413
                )
                self._send(
                    (
                        413,
                        [("Content-Type", "application/x-amz-json-1.1")],
                        json.dumps(error.body()).encode(),
                    ),
                    close=True,
                )
                return
            body = self.rfile.read(length) if length else b""
            self._send(dispatcher.handle(self.command, self.path, self.headers, body))

        def _send(self, reply: Reply, close: bool = False) -> None:
            status, headers, payload = reply
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        do_POST = _serve
        do_GET = _serve
        do_PUT = _serve
        do_DELETE = _serve

    return Handler


def make_server(dispatcher: Dispatcher, host: str, port: int) -> CodeDeployHttpServer:
    return CodeDeployHttpServer((host, port), _handler_class(dispatcher))
