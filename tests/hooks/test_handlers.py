"""Each hook handler against moto (ELBv2, CloudWatch, EC2), a CodeDeploy fake on loopback and real
HTTP apps: the cases a full emulator deployment cannot set up (bad events, unknown deployments,
rejected or never-accepted reports, fine-grained smoke behaviour). The same guarantees inside real
deployments run by the CodeDeploy emulator are in test_hooks_on_emulator.py.

Every test asserts what CodeDeploy recorded (``hook_status_reports``), not only what the handler
returned.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import handlers
from hooks.runtime import HookReportError
from tests.hooks.conftest import ALARMS, GREEN, HookWorld, LogRecords
from tests.support.hooks import FakeLambdaContext, Route, SmokeApp, load_event

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

HANDLERS: list[tuple[Handler, str]] = [
    (handlers.before_install, "BeforeInstall"),
    (handlers.after_install, "AfterInstall"),
    (handlers.after_allow_test_traffic, "AfterAllowTestTraffic"),
    (handlers.before_allow_traffic, "BeforeAllowTraffic"),
    (handlers.after_allow_traffic, "AfterAllowTraffic"),
]
IDS = [event for _, event in HANDLERS]


def only_report(world: HookWorld, execution_id: str) -> dict[str, Any]:
    reports = world.codedeploy.reports_for(execution_id)
    assert len(reports) == 1, reports
    return reports[0]


# --- success ---------------------------------------------------------------------------------------


def test_smoke_goes_through_the_test_listener_and_retries_during_warm_up(hook_world: HookWorld) -> None:
    # The first two answers fail (green still warming up), the third passes: Succeeded, 3 attempts.
    hook_world.test_app.answer_in_turn(
        "/health", [Route(503, b""), Route(503, b""), Route(200, b'{"status": "ok"}')]
    )

    result, execution_id, _ = hook_world.invoke(handlers.after_allow_test_traffic, "AfterAllowTestTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Succeeded", result
    assert result["checks"][0]["attempts"] == 3
    assert hook_world.production_app.requests == []  # nothing went through the production listener


def test_logs_carry_the_deployment_id_even_when_hooks_run_at_once(
    hook_world: HookWorld, hook_logs: LogRecords
) -> None:
    # The sandbox runs hooks of several deployments in one process: log keys are per invocation.
    deployments = [hook_world.deploy() for _ in range(4)]
    threads = [
        threading.Thread(
            target=hook_world.invoke, args=(handlers.after_allow_traffic, "AfterAllowTraffic", d)
        )
        for d in deployments
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    verdicts = [line for line in hook_logs.lines if line["message"].startswith("AfterAllowTraffic Succeeded")]
    assert sorted(line["correlation_id"] for line in verdicts) == sorted(deployments)
    assert {line["service_name"] for line in verdicts} == {"product-service"}
    assert len(hook_world.codedeploy.hook_status_reports) == 4


def test_tracing_on_creates_a_tracer_and_the_hook_still_reports(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hooks import runtime

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setattr(runtime, "_tracer", None)

    result, execution_id, _ = hook_world.invoke(handlers.before_install, "BeforeInstall")

    assert only_report(hook_world, execution_id)["status"] == "Succeeded", result
    assert runtime.tracer() is not None


def test_metrics_disabled_leaves_nothing_for_the_next_invocation(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox sets POWERTOOLS_METRICS_DISABLED; powertools then keeps what it did not print.
    from hooks.runtime import metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Dimension 'LifecycleEvent' has already been added" would raise
        for _ in range(2):
            hook_world.invoke(handlers.before_install, "BeforeInstall")
    assert metrics.metric_set == {} and metrics.dimension_set == {}
    assert len(hook_world.codedeploy.hook_status_reports) == 2


# --- smoke failure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "lifecycle_event", "app"),
    [
        (handlers.after_allow_test_traffic, "AfterAllowTestTraffic", "test_app"),
        (handlers.after_allow_traffic, "AfterAllowTraffic", "production_app"),
    ],
    ids=["AfterAllowTestTraffic", "AfterAllowTraffic"],
)
def test_smoke_failure_reports_failed(
    hook_world: HookWorld, handler: Handler, lifecycle_event: str, app: str
) -> None:
    getattr(hook_world, app).routes["/health"] = Route(500, b'{"status": "down"}')

    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event)

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "status 500" in result["reason"]
    health = result["checks"][0]
    assert health["attempts"] == 5  # the catalog's max_attempts, all inside the warm-up window


def test_smoke_json_field_mismatch_fails(hook_world: HookWorld) -> None:
    hook_world.test_app.routes["/health"] = Route(200, b'{"status": "degraded"}')

    result, execution_id, _ = hook_world.invoke(handlers.after_allow_test_traffic, "AfterAllowTestTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "'degraded', expected 'ok'" in result["reason"]


def test_smoke_over_latency_budget_fails(hook_world: HookWorld) -> None:
    # product-service's /health budget is 800 ms.
    hook_world.test_app.routes["/health"] = Route(200, b'{"status": "ok"}', delay_s=0.9)

    result, execution_id, _ = hook_world.invoke(handlers.after_allow_test_traffic, "AfterAllowTestTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "over the budget of 800 ms" in result["reason"]


@pytest.mark.parametrize(
    ("listener_host", "why"),
    [
        (
            "127.0.0.2",
            "it resolves to 127.0.0.2, not an address of the deployment group's load balancer "
            "doa-market-dev-alb-1.ap-northeast-2.elb.amazonaws.com (127.0.0.1)",
        ),
        ("169.254.169.254", "it is a metadata endpoint"),
        ("169.254.170.2", "it is a metadata endpoint"),
        ("fe80::1", "it is a link-local address"),
        ("elsewhere.invalid", "it does not resolve"),
    ],
)
def test_smoke_refuses_a_host_that_is_not_the_groups_load_balancer(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch, listener_host: str, why: str
) -> None:
    # A server that is not green answers on 127.0.0.2 at the test listener's port; the catalog's
    # listener_host points there. Only the load balancer of the group's listeners may be called.
    rogue = SmokeApp(host="127.0.0.2", port=hook_world.test_app.port).start()
    try:
        rogue.healthy()
        monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", listener_host)

        result, execution_id, _ = hook_world.invoke(
            handlers.after_allow_test_traffic, "AfterAllowTestTraffic"
        )
    finally:
        rogue.stop()

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert result["reason"] == (
        f"smoke host {listener_host} refused: {why} (test listener, port {hook_world.test_app.port})"
    )
    assert rogue.requests == [] and hook_world.test_app.requests == []


def test_smoke_calls_the_load_balancers_dns_name_at_the_address_it_vetted(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo_root: Path
) -> None:
    # No listener_host: the ALB's DNS name (moto's, which only the test's DNS resolves, to 127.0.0.1).
    # The request connects to the vetted address with the name in the Host header: urllib3 never
    # resolves the name again (it could not here; nor could a rebinding DNS change the answer).
    path = _catalog_copy(repo_root, tmp_path, lambda doc: doc["environments"]["dev"].pop("listener_host"))
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(path))

    result, execution_id, _ = hook_world.invoke(handlers.after_allow_test_traffic, "AfterAllowTestTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Succeeded", result
    assert hook_world.test_app.requests


def test_smoke_does_not_follow_redirects(hook_world: HookWorld) -> None:
    hook_world.test_app.routes["/health"] = Route(302, b"", headers={"Location": "http://example.com/health"})

    result, execution_id, _ = hook_world.invoke(handlers.after_allow_test_traffic, "AfterAllowTestTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "status 302" in result["reason"]


# --- alarms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "lifecycle_event"),
    [
        (handlers.before_allow_traffic, "BeforeAllowTraffic"),
        (handlers.after_allow_traffic, "AfterAllowTraffic"),
    ],
    ids=["BeforeAllowTraffic", "AfterAllowTraffic"],
)
def test_alarm_in_alarm_reports_failed(hook_world: HookWorld, handler: Handler, lifecycle_event: str) -> None:
    hook_world.aws.set_alarm(ALARMS[0], "ALARM")

    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event)

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert f"in ALARM: {ALARMS[0]}" in result["reason"]


def test_alarm_during_the_bake_fails_after_allow_traffic(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dev bakes 30 catalog seconds; at scale 10 that is 3 real seconds. The alarm fires after 1 s.
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", "10")
    timer = threading.Timer(1.0, hook_world.aws.set_alarm, args=(ALARMS[1], "ALARM"))
    timer.start()
    try:
        started = time.monotonic()
        result, execution_id, _ = hook_world.invoke(handlers.after_allow_traffic, "AfterAllowTraffic")
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    bake = result["checks"][-1]
    assert bake["name"] == "bake" and ALARMS[1] in bake["detail"]
    assert 1.0 <= elapsed < 3.0  # caught at a poll after the alarm, before the bake would have ended


def test_insufficient_data_counts_as_alarm_when_the_policy_says_so(
    hook_world: HookWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> None:
    catalog = _catalog_copy(
        repo_root,
        tmp_path,
        lambda doc: _dev_defaults(doc).update(alarm_policy={"min_alarms": 2, "insufficient_data": "alarm"}),
    )
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(catalog))
    hook_world.aws.set_alarm(ALARMS[2], "INSUFFICIENT_DATA")

    result, execution_id, _ = hook_world.invoke(handlers.before_allow_traffic, "BeforeAllowTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert f"{ALARMS[2]} (INSUFFICIENT_DATA)" in result["reason"]


# --- green target health ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "lifecycle_event"),
    [(handlers.after_install, "AfterInstall"), (handlers.before_allow_traffic, "BeforeAllowTraffic")],
    ids=["AfterInstall", "BeforeAllowTraffic"],
)
def test_unhealthy_green_target_reports_failed(
    hook_world: HookWorld, handler: Handler, lifecycle_event: str
) -> None:
    instance = hook_world.aws.register_stopped_instance(GREEN)

    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event)

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert f"{instance}" in result["reason"] and "(unused)" in result["reason"]


def test_fewer_healthy_targets_than_desired_fails(hook_world: HookWorld) -> None:
    hook_world.green_desired = 3  # the green task set wants 3; one target is registered

    result, execution_id, _ = hook_world.invoke(handlers.after_install, "AfterInstall")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "1 healthy target(s), need at least 3" in result["reason"]


def test_green_comes_from_the_listener_when_codedeploy_shows_no_task_set(hook_world: HookWorld) -> None:
    # No Green task set in GetDeploymentTarget: the pair member the production listener does not
    # forward to (green; production forwards to blue) is checked.
    deployment_id = hook_world.deploy(green=False)
    hook_world.aws.register_stopped_instance(GREEN)

    result, execution_id, _ = hook_world.invoke(handlers.after_install, "AfterInstall", deployment_id)

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert result["reason"].startswith(f"green-target-health: {GREEN}:")


# --- freeze windows ---------------------------------------------------------------------------------


def _catalog_copy(repo_root: Path, tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    """services.yaml (and the task definitions it names) copied to tmp_path with a change applied."""
    doc = yaml.safe_load((repo_root / "services.yaml").read_text())
    change(doc)
    (tmp_path / "task-definitions").mkdir()
    for file in (repo_root / "task-definitions").iterdir():
        (tmp_path / "task-definitions" / file.name).write_bytes(file.read_bytes())
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _dev_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = doc["environments"]["dev"]["defaults"]
    return defaults


@pytest.fixture
def frozen_catalog(
    hook_world: HookWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> Path:
    """dev frozen all day, every day (start == end is a whole day)."""
    path = _catalog_copy(
        repo_root,
        tmp_path,
        lambda doc: _dev_defaults(doc).update(
            freeze_windows=[{"name": "release-freeze", "start": "00:00", "end": "00:00"}]
        ),
    )
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(path))
    return path


def test_before_install_refuses_inside_a_freeze_window(hook_world: HookWorld, frozen_catalog: Path) -> None:
    result, execution_id, _ = hook_world.invoke(handlers.before_install, "BeforeInstall")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "freeze window release-freeze" in result["reason"] and "freeze-override" in result["reason"]


def test_before_install_passes_a_freeze_with_an_override(hook_world: HookWorld, frozen_catalog: Path) -> None:
    deployment_id = hook_world.deploy(description="hotfix INC-42\nfreeze-override: payment outage INC-42")

    result, execution_id, _ = hook_world.invoke(handlers.before_install, "BeforeInstall", deployment_id)

    assert only_report(hook_world, execution_id)["status"] == "Succeeded"
    assert "overridden: payment outage INC-42" in result["checks"][0]["detail"]


# --- a handler raising -------------------------------------------------------------------------------


def test_exception_in_a_check_reports_failed_and_logs_one_error(
    hook_world: HookWorld, hook_logs: LogRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every handler's exception path is exercised on the emulator; this pins the log record.
    def boom(*_: Any, **__: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(handlers, "target_healths", boom)

    result, execution_id, _ = hook_world.invoke(handlers.after_install, "AfterInstall")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert result["reason"] == "unexpected KeyError: 'surprise'"
    [error] = hook_logs.errors()
    assert error.error == {"type": "KeyError", "message": "'surprise'"}  # type: ignore[attr-defined]
    assert error.exc_info is not None


# --- deadlines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS, ids=IDS)
def test_deadline_nearly_spent_reports_failed_before_it(
    hook_world: HookWorld, handler: Handler, lifecycle_event: str
) -> None:
    # 0.4 s left is less than the safety margin (0.5 s): no check starts, Failed is reported at once.
    result, execution_id, context = hook_world.invoke(handler, lifecycle_event, timeout_s=0.4)

    report = only_report(hook_world, execution_id)
    assert report["status"] == "Failed"
    assert report["at"] < context.end
    assert "no time left" in result["reason"]


@pytest.mark.parametrize(
    ("handler", "lifecycle_event", "app"),
    [
        (handlers.after_allow_test_traffic, "AfterAllowTestTraffic", "test_app"),
        (handlers.after_allow_traffic, "AfterAllowTraffic", "production_app"),
    ],
    ids=["AfterAllowTestTraffic", "AfterAllowTraffic"],
)
def test_hanging_smoke_target_is_cut_off_by_the_deadline(
    hook_world: HookWorld, handler: Handler, lifecycle_event: str, app: str
) -> None:
    getattr(hook_world, app).routes["/health"] = Route(200, b'{"status": "ok"}', delay_s=8.0)

    started = time.monotonic()
    result, execution_id, context = hook_world.invoke(handler, lifecycle_event, timeout_s=3.0)

    report = only_report(hook_world, execution_id)
    assert report["status"] == "Failed"
    assert report["at"] < context.end
    assert time.monotonic() - started < 5.0  # the app's 8 s answer was not waited for
    assert result["checks"] == [] or not result["checks"][0]["passed"]


def test_a_bake_that_does_not_fit_fails_at_once(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", "1")  # 30 real seconds of bake in a 5 s invocation

    result, execution_id, context = hook_world.invoke(
        handlers.after_allow_traffic, "AfterAllowTraffic", timeout_s=5
    )

    report = only_report(hook_world, execution_id)
    assert report["status"] == "Failed" and report["at"] < context.end
    assert "bake of 30 s does not fit" in result["reason"]


# --- reporting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS[:2], ids=IDS[:2])
@pytest.mark.parametrize("error", ["ThrottlingException", "InternalFailure"])
def test_reporting_throttled_twice_then_accepted(
    hook_world: HookWorld, handler: Handler, lifecycle_event: str, error: str
) -> None:
    status = 400 if error == "ThrottlingException" else 500
    hook_world.codedeploy.inject_errors(
        "PutLifecycleEventHookExecutionStatus", error, times=2, http_status=status
    )

    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event)

    assert only_report(hook_world, execution_id)["status"] == "Succeeded"
    assert hook_world.puts() == 3  # the reporting client makes one attempt per call: tenacity did these
    assert result["reportAttempts"] == 3


def test_reporting_that_never_gets_through_raises_for_lambda_to_retry(hook_world: HookWorld) -> None:
    hook_world.codedeploy.inject_errors(
        "PutLifecycleEventHookExecutionStatus", "ThrottlingException", times=50
    )
    deployment_id = hook_world.deploy()
    execution_id = hook_world.codedeploy.start_hook(deployment_id, "BeforeInstall")

    with pytest.raises(HookReportError):
        hook_world.invoke(handlers.before_install, "BeforeInstall", deployment_id, execution_id, timeout_s=3)
    assert hook_world.codedeploy.reports_for(execution_id) == []

    # Lambda's retry of the same event: the verdict decided the first time is reported, not re-decided.
    hook_world.codedeploy._errors.clear()
    hook_world.aws.set_alarm(ALARMS[0], "ALARM")  # would not matter to BeforeInstall anyway
    result, _, _ = hook_world.invoke(handlers.before_install, "BeforeInstall", deployment_id, execution_id)
    assert only_report(hook_world, execution_id)["status"] == "Succeeded"
    assert result["reason"] == "verdict decided by an earlier invocation"


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS[2:3], ids=IDS[2:3])
def test_same_execution_invoked_twice_reports_once(
    hook_world: HookWorld, handler: Handler, lifecycle_event: str
) -> None:
    first, execution_id, _ = hook_world.invoke(handler, lifecycle_event)
    deployment_id = first["deploymentId"]

    second, _, _ = hook_world.invoke(handler, lifecycle_event, deployment_id, execution_id)

    assert only_report(hook_world, execution_id)["status"] == "Succeeded"
    assert hook_world.puts() == 1
    assert second["status"] == "reported" and second["reported"] is True


def test_already_completed_counts_as_reported(hook_world: HookWorld) -> None:
    # Another container reported first: CodeDeploy answers LifecycleEventAlreadyCompletedException.
    deployment_id = hook_world.deploy()
    execution_id = hook_world.codedeploy.start_hook(deployment_id, "AfterInstall")
    hook_world.codedeploy.executions[execution_id].status = "Succeeded"

    result, _, _ = hook_world.invoke(handlers.after_install, "AfterInstall", deployment_id, execution_id)

    assert result["report"] == "already-completed" and result["reported"] is True
    assert hook_world.codedeploy.reports_for(execution_id) == []


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS, ids=IDS)
def test_event_without_execution_id_logs_one_error(
    hook_world: HookWorld, hook_logs: LogRecords, handler: Handler, lifecycle_event: str
) -> None:
    deployment_id = hook_world.deploy()
    event = load_event("missing-execution-id.json", deployment_id=deployment_id)

    result = handler(event, FakeLambdaContext(30))

    assert result["reported"] is False
    assert hook_world.puts() == 0  # nothing to report against
    [error] = hook_logs.errors()
    assert "LifecycleEventHookExecutionId" in error.getMessage()


@pytest.mark.parametrize("fixture", ["empty.json"])
def test_empty_event_logs_one_error(hook_world: HookWorld, hook_logs: LogRecords, fixture: str) -> None:
    result = handlers.after_install(load_event(fixture), FakeLambdaContext(30))

    assert result["reported"] is False and hook_world.puts() == 0
    assert len(hook_logs.errors()) == 1


NO_DEPLOYMENT_ID = [
    *[(handler, event, "missing-deployment-id.json") for handler, event in HANDLERS],
    *[
        (handlers.before_install, "BeforeInstall", fixture)
        for fixture in ("empty-deployment-id.json", "null-deployment-id.json")
    ],
]


@pytest.mark.parametrize(("handler", "lifecycle_event", "fixture"), NO_DEPLOYMENT_ID)
def test_event_without_deployment_id_reports_failed_by_execution_id(
    hook_world: HookWorld, hook_logs: LogRecords, handler: Handler, lifecycle_event: str, fixture: str
) -> None:
    deployment_id = hook_world.deploy()
    execution_id = hook_world.codedeploy.start_hook(deployment_id, lifecycle_event)
    event = load_event(fixture, execution_id=execution_id)

    result = handler(event, FakeLambdaContext(30))

    report = only_report(hook_world, execution_id)
    assert report["status"] == "Failed"
    assert report["sentDeploymentId"] is None  # deploymentId is optional in the API: left out, not ""
    assert result["reason"] == "hook event has no DeploymentId"
    [error] = hook_logs.errors()
    assert error.error["type"] == "HookInputError"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS, ids=IDS)
def test_deployment_that_does_not_exist(
    hook_world: HookWorld, hook_logs: LogRecords, handler: Handler, lifecycle_event: str
) -> None:
    # CodeDeploy knows neither the deployment nor the execution: Failed is attempted, CodeDeploy
    # rejects it (nothing waits on it), one error is logged, and the handler does not raise.
    result, _, _ = hook_world.invoke(handler, lifecycle_event, "d-NOTREAL00", f"exec-{uuid.uuid4()}")

    assert result["status"] == "Failed" and result["report"] == "rejected"
    assert hook_world.puts() == 1 and hook_world.codedeploy.hook_status_reports == []
    [error] = hook_logs.errors()
    assert error.error["type"] == "DeploymentNotFoundError"  # type: ignore[attr-defined]
    assert "DeploymentDoesNotExistException" in error.error["report"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS, ids=IDS)
def test_service_not_in_the_catalog(
    hook_world: HookWorld, hook_logs: LogRecords, handler: Handler, lifecycle_event: str
) -> None:
    deployment_id = hook_world.deploy(group="unknown-service")

    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event, deployment_id)

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert (
        "no service has application 'doa-market-dev' and deployment group 'unknown-service'"
        in result["reason"]
    )
    [error] = hook_logs.errors()
    assert error.error["type"] == "UnknownServiceError"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    ["services: [unclosed", "version: 1\nproject: doa-market\n", "- just\n- a list\n"],
    ids=["bad-yaml", "missing-fields", "not-a-mapping"],
)
def test_malformed_catalog(
    hook_world: HookWorld, hook_logs: LogRecords, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    bad = tmp_path / "services.yaml"
    bad.write_text(text)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(bad))

    result, execution_id, _ = hook_world.invoke(handlers.before_allow_traffic, "BeforeAllowTraffic")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert result["reason"].startswith("services.yaml")
    [error] = hook_logs.errors()
    assert error.error["type"] == "CatalogError"  # type: ignore[attr-defined]


def test_missing_catalog_file(
    hook_world: HookWorld, hook_logs: LogRecords, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(tmp_path / "nowhere.yaml"))

    result, execution_id, _ = hook_world.invoke(handlers.after_install, "AfterInstall")

    assert only_report(hook_world, execution_id)["status"] == "Failed"
    assert "not found" in result["reason"]
    assert len(hook_logs.errors()) == 1


# --- permissions: what each hook calls is what its role in template.yaml grants ---------------------

IAM_PREFIX = {"codedeploy": "codedeploy", "elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch"}


@pytest.fixture
def aws_actions(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """The IAM actions of every AWS call the hooks make (clients made while the test runs record)."""
    from hooks import clients

    actions: set[str] = set()
    make = clients._make

    def recording(service_name: str, max_attempts: int, read_timeout: int) -> Any:
        client = make(service_name, max_attempts, read_timeout)
        prefix = IAM_PREFIX[service_name]

        def record(model: Any, **_: Any) -> None:
            actions.add(f"{prefix}:{model.name}")

        client.meta.events.register("before-call", record)
        return client

    clients.forget_clients()
    monkeypatch.setattr(clients, "_make", recording)
    yield actions
    clients.forget_clients()


def granted_actions(repo_root: Path, lifecycle_event: str) -> set[str]:
    """The AWS API actions (logs and X-Ray aside) the function's role grants in template.yaml."""
    from samtranslator.yaml_helper import yaml_parse

    resources = yaml_parse((repo_root / "template.yaml").read_text())["Resources"]
    role = resources[f"{lifecycle_event}Function"]["Properties"]["Role"]["Fn::GetAtt"][0]
    granted: set[str] = set()
    for policy in resources[role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                continue
            action = statement["Action"]
            granted.update(action if isinstance(action, list) else [action])
    return {a for a in granted if a.split(":", 1)[0] in IAM_PREFIX.values()}


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS, ids=IDS)
def test_each_hook_calls_exactly_what_its_role_grants(
    hook_world: HookWorld, repo_root: Path, aws_actions: set[str], handler: Handler, lifecycle_event: str
) -> None:
    # A call the role does not grant is AccessDenied in AWS (a Failed hook); a grant no path uses is
    # more privilege than needed. Both paths to green: CodeDeploy's task set, and the listener's.
    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event)
    assert only_report(hook_world, execution_id)["status"] == "Succeeded", result
    hook_world.invoke(handler, lifecycle_event, hook_world.deploy(green=False))

    assert aws_actions == granted_actions(repo_root, lifecycle_event)


def test_a_failed_hook_logs_one_verdict_line_the_cli_can_read(
    hook_world: HookWorld, hook_logs: LogRecords
) -> None:
    # The line `bluegreen deploy/status` read back (orchestrator.watching.hook_verdict): its keys, and as
    # evidence only the checks that failed (the passed ones explain nothing and bloat the line).
    from orchestrator.watching.hook_verdict import parse_verdict

    hook_world.test_app.routes["/products"] = Route(500, b"{}")  # health passes, list-products fails
    result, _, _ = hook_world.invoke(handlers.after_allow_test_traffic, "AfterAllowTestTraffic")

    passed = [check for check in result["checks"] if check["passed"]]
    failed = [check for check in result["checks"] if not check["passed"]]
    assert passed and failed, result["checks"]  # the evidence must choose
    [line] = [line for line in hook_logs.lines if line.get("verdict")]
    assert line["evidence"] == failed
    assert (line["deployment_id"], line["lifecycle_event"]) == (
        result["deploymentId"],
        "AfterAllowTestTraffic",
    )
    verdict = parse_verdict(json.dumps(line))
    assert verdict is not None and verdict.verdict == "Failed" and verdict.reason == result["reason"]


# --- cold start: a client is made when a check first needs it -----------------------------------------

CLIENTS_MADE = {
    "BeforeInstall": {"codedeploy"},
    "AfterInstall": {"codedeploy", "elbv2"},
    "AfterAllowTestTraffic": {"codedeploy", "elbv2"},
    "BeforeAllowTraffic": {"codedeploy", "elbv2", "cloudwatch"},
    "AfterAllowTraffic": {"codedeploy", "elbv2", "cloudwatch"},
}


@pytest.mark.parametrize(("handler", "lifecycle_event"), HANDLERS, ids=IDS)
def test_a_cold_hook_makes_only_the_clients_its_checks_use(
    hook_world: HookWorld, monkeypatch: pytest.MonkeyPatch, handler: Handler, lifecycle_event: str
) -> None:
    # bench/hook_cold_start.py's "ready" counts the CodeDeploy clients only: the others cost a cold
    # start only in the hooks that read them.
    from hooks import clients

    made: set[str] = set()
    make = clients._make

    def recording(service_name: str, max_attempts: int, read_timeout: int) -> Any:
        made.add(service_name)
        return make(service_name, max_attempts, read_timeout)

    clients.forget_clients()
    monkeypatch.setattr(clients, "_make", recording)
    result, execution_id, _ = hook_world.invoke(handler, lifecycle_event)
    clients.forget_clients()

    assert only_report(hook_world, execution_id)["status"] == "Succeeded", result
    assert made == CLIENTS_MADE[lifecycle_event]
