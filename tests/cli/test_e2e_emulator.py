"""The CLI end to end: `bluegreen` in-process against moto (ECS, ELBv2) and the CodeDeploy emulator.

Every test provisions its own ECS service and deployment group (random names) and writes a catalog
naming them; boto3 reaches the emulator through AWS_ENDPOINT_URL_CODEDEPLOY, nothing else differs
from a real account. The emulator runs at time scale 600 (a canary's 5 minutes take 0.5 s) and the
CLI is told the same with --time-scale.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.entry import STARTING
from sandbox.codedeploy import CodeDeployEmulator
from tests.support.cli import E2eWorld, default_sigint, run_cli, shown, wait_for, write_e2e_catalog
from tests.support.emulator import EcsServiceSpec, provision_ecs_service
from tests.support.schema import document_kind

pytestmark = pytest.mark.integration

SCALE = "600"
# The CLI's clock runs as fast as the emulator's; the timeout (300 minutes of deployment time, 30 s
# of real time) only guards against a hung test on a loaded machine, never cuts a deployment short.
FAST = ("--time-scale", SCALE, "--timeout", "300")
WorldFactory = Callable[..., E2eWorld]


@pytest.fixture
def make_world(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorldFactory]:
    """Start an emulator, provision one service, write its catalog, point the CLI at them."""
    started: list[CodeDeployEmulator] = []

    def make(
        hook_invoker: Any = None,
        hooks: dict[str, str] | None = None,
        ready_wait_minutes: int | None = None,
        emulator_out: list[CodeDeployEmulator] | None = None,
        task_definition: str | None = None,
    ) -> E2eWorld:
        emulator = CodeDeployEmulator(aws_endpoint=moto_url, time_scale=600.0, hook_invoker=hook_invoker)
        url = emulator.start()
        started.append(emulator)
        if emulator_out is not None:
            emulator_out.append(emulator)
        spec = EcsServiceSpec(service="product-service", ready_wait_minutes=ready_wait_minutes)
        environment = provision_ecs_service(moto_url, url, spec)
        catalog = write_e2e_catalog(
            tmp_path,
            environment,
            hooks=hooks,
            ready_wait_minutes=ready_wait_minutes,
            task_definition=task_definition,
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", url)
        monkeypatch.setenv("BLUEGREEN_CATALOG", str(catalog))
        return E2eWorld(moto_url, url, catalog, environment)

    yield make
    for emulator in started:
        emulator.stop()


def test_canary_deploy_succeeds_with_the_json_document(make_world: WorldFactory) -> None:
    world = make_world()
    result = run_cli("deploy", "product-service", "--strategy", "canary10", "-o", "json", *FAST)
    assert result.code == 0, shown(result)
    document = result.json()
    required = {"deploymentId", "service", "environment", "strategy", "status", "rolledBack"}
    required |= {"rollbackDeploymentId", "durationSeconds", "apiCalls", "events"}
    assert required <= set(document)
    assert (document["service"], document["environment"], document["strategy"]) == (
        "product-service",
        "dev",
        "canary10",
    )
    assert (document["status"], document["rolledBack"], document["rollbackDeploymentId"]) == (
        "Succeeded",
        False,
        None,
    )
    traffic = [event["to"] for event in document["events"] if event["kind"] == "traffic"]
    assert "blue 90% / green 10%" in traffic and traffic[-1] == "blue 0% / green 100%"
    assert document["maxCallsPerMinute"] <= document["callsPerMinuteLimit"]
    assert world.deployments() == [document["deploymentId"]]
    info = world.deployment(document["deploymentId"])
    assert info["description"].startswith(f"bg:{document['requestToken']}")
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"


def test_plain_output_is_one_line_per_event(make_world: WorldFactory) -> None:
    make_world()
    result = run_cli("deploy", "product-service", "--strategy", "all-at-once", *FAST)
    assert result.code == 0, shown(result)
    lines = result.stdout.splitlines()
    assert lines[0] == "deploying product-service to dev with all-at-once (CodeDeployDefault.ECSAllAtOnce)"
    assert lines[1].startswith("  task definition       registered product-service-e2e:")
    assert any(line.endswith("AllowTraffic          Succeeded") for line in lines)
    assert lines[-1].startswith("succeeded in ") and "API calls" in lines[-1]


def test_custom_strategy_creates_its_config_once(make_world: WorldFactory) -> None:
    world = make_world()
    first = run_cli("deploy", "product-service", "--strategy", "linear:50:1", "-o", "json", *FAST)
    assert first.code == 0, shown(first)
    second = run_cli("deploy", "product-service", "--strategy", "linear:50:1", "-o", "json", *FAST)
    assert second.code == 0, shown(second)
    config = world.codedeploy().get_deployment_config(
        deploymentConfigName="bluegreen.ECSLinear50PercentEvery1Minutes"
    )
    assert config["deploymentConfigInfo"]["trafficRoutingConfig"]["type"] == "TimeBasedLinear"
    assert second.json()["deploymentConfigName"] == "bluegreen.ECSLinear50PercentEvery1Minutes"


def _failing_hook(function_name: str, payload: dict[str, str]) -> None:
    raise RuntimeError(f"{function_name} exploded")


def test_hook_failure_rolls_back_and_exits_1(make_world: WorldFactory) -> None:
    world = make_world(hook_invoker=_failing_hook, hooks={"AfterAllowTestTraffic": "smoke-hook"})
    result = run_cli("deploy", "product-service", "-o", "json", *FAST)
    assert result.code == 1, shown(result)
    document = result.json()
    assert document["status"] == "Failed" and document["rolledBack"] is True
    rollback_id = document["rollbackDeploymentId"]
    assert rollback_id and rollback_id in world.deployments()
    assert document["lifecycleEvents"]["AfterAllowTestTraffic"] == "Failed"
    assert result.stderr.startswith(f"error: deployment {document['deploymentId']} Failed")
    assert f"rolled back by {rollback_id}" in result.stderr


def test_active_deployment_is_refused(make_world: WorldFactory) -> None:
    # The first deployment waits at Ready (60 real s at 600x) so it is still active when the second
    # deploy checks the group, however slow the machine; a plain canary10-15m (1.5 s) could end first.
    world = make_world(ready_wait_minutes=600)
    first = run_cli("deploy", "product-service", "--strategy", "canary10-15m", "--no-wait", "-o", "json")
    assert first.code == 0, shown(first)
    busy = first.json()["deploymentId"]
    second = run_cli("deploy", "product-service", *FAST)
    assert second.code == 1, shown(second)
    assert f"already has an active deployment {busy}" in second.stderr
    assert f"`bluegreen watch {busy}`" in second.stderr
    assert world.deployments() == [busy]
    status = run_cli("status", "product-service", "-o", "json")
    assert status.code == 0, shown(status)
    assert status.json()["deploymentId"] == busy
    assert status.json()["status"] in ("Created", "Queued", "InProgress", "Ready")
    stopped = run_cli("stop", busy, "--no-rollback")
    assert stopped.code == 0, shown(stopped)


def test_stop_with_rollback_then_status(make_world: WorldFactory) -> None:
    world = make_world()
    created = run_cli("deploy", "product-service", "--strategy", "canary10-15m", "--no-wait", "-o", "json")
    deployment_id = created.json()["deploymentId"]
    result = run_cli("stop", deployment_id, "-o", "json")
    assert result.code == 0, shown(result)
    assert result.json()["rollback"] is True
    status = run_cli("status", deployment_id, "-o", "json")
    assert status.code == 0, shown(status)
    document = status.json()
    assert document["status"] == "Stopped"
    assert document["service"] == "product-service"
    info = world.deployment(deployment_id)
    assert (info.get("errorInformation") or {}).get("code") == "MANUAL_STOP"


def test_until_ready_then_promote_then_watch(make_world: WorldFactory) -> None:
    make_world(ready_wait_minutes=60)
    ready = run_cli("deploy", "product-service", "--until", "ready", "-o", "json", *FAST)
    assert ready.code == 0, shown(ready)
    document = ready.json()
    assert (document["status"], document["outcome"], document["reached"]) == ("Ready", "ready", True)
    deployment_id = document["deploymentId"]
    promoted = run_cli("promote", deployment_id)
    assert promoted.code == 0, shown(promoted)
    assert promoted.stdout.startswith(f"promoted {deployment_id}")
    watched = run_cli("watch", deployment_id, "-o", "json", *FAST)
    assert watched.code == 0, shown(watched)
    assert watched.json()["status"] == "Succeeded"


def test_promote_before_ready_is_bad_input(make_world: WorldFactory) -> None:
    make_world()
    created = run_cli("deploy", "product-service", "--strategy", "canary10-15m", "--no-wait", "-o", "json")
    deployment_id = created.json()["deploymentId"]
    result = run_cli("promote", deployment_id)
    assert result.code == 2, shown(result)
    run_cli("stop", deployment_id, "--no-rollback")


def test_timeout_exits_3_and_the_deployment_keeps_running(make_world: WorldFactory) -> None:
    world = make_world()
    # 0.05 minutes = 3 s of deployment time, 5 ms of real time at scale 600: still installing.
    result = run_cli(
        "deploy",
        "product-service",
        "--strategy",
        "canary10-15m",
        "--timeout",
        "0.05",
        "-o",
        "json",
        "--time-scale",
        "600",
    )
    assert result.code == 3, shown(result)
    document = result.json()
    assert document["outcome"] == "still running"
    assert world.deployment(document["deploymentId"])["status"] in ("Created", "Queued", "InProgress")
    assert "keeps running" in result.stderr
    run_cli("stop", document["deploymentId"], "--no-rollback")


def test_rollback_redeploys_the_previous_revision(
    make_world: WorldFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world()
    first = run_cli(
        "deploy",
        "product-service",
        "--strategy",
        "all-at-once",
        "-o",
        "json",
        *FAST,
        "--image",
        "registry.example.com/e2e/product-service:1",
    )
    assert first.code == 0, shown(first)
    second = run_cli(
        "deploy",
        "product-service",
        "--strategy",
        "all-at-once",
        "-o",
        "json",
        *FAST,
        "--image",
        "registry.example.com/e2e/product-service:2",
    )
    assert second.code == 0, shown(second)
    result = run_cli("rollback", "product-service", "--strategy", "all-at-once", "-o", "json", *FAST)
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["status"] == "Succeeded"
    assert document_kind(document) == "RollbackReport"  # against `bluegreen schema`
    assert (document["rollbackTo"], document["rollbackFrom"]) == (
        first.json()["deploymentId"],
        second.json()["deploymentId"],
    )
    assert document["taskDefinitionArn"] == first.json()["taskDefinitionArn"]
    # the deployment's AppSpec, read back as AWS allows: by its sha256 (deployment info leaves it out)
    revision = world.deployment(document["deploymentId"])["revision"]
    content = world.codedeploy().get_application_revision(
        applicationName=world.environment.application, revision=revision
    )["revision"]["appSpecContent"]["content"]
    assert first.json()["taskDefinitionArn"] in content


def test_injected_create_failure_yields_exactly_one_deployment(make_world: WorldFactory) -> None:
    emulators: list[CodeDeployEmulator] = []
    world = make_world(emulator_out=emulators)
    emulators[0].inject_errors("CreateDeployment", "InternalFailure", times=1, http_status=500)
    result = run_cli("deploy", "product-service", "--strategy", "all-at-once", "-o", "json", *FAST)
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["createAttempts"] == 2
    assert world.deployments() == [document["deploymentId"]]


def _revisions(world: E2eWorld, status: str) -> list[str]:
    """Revisions of the family tests/fixtures/cli/e2e-taskdef.json registers (moto is shared)."""
    from tests.support.emulator import client

    ecs = client("ecs", world.moto_url)
    listed = ecs.list_task_definitions(familyPrefix="product-service-e2e", status=status)
    return list(listed["taskDefinitionArns"])


def test_throttled_create_is_retried_into_one_deployment(make_world: WorldFactory) -> None:
    emulators: list[CodeDeployEmulator] = []
    world = make_world(emulator_out=emulators)
    before = _revisions(world, "ACTIVE")
    emulators[0].inject_errors("CreateDeployment", "ThrottlingException", times=3)
    result = run_cli("deploy", "product-service", "--strategy", "all-at-once", "-o", "json", *FAST)
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["createAttempts"] == 4
    assert world.deployments() == [document["deploymentId"]]
    assert _revisions(world, "ACTIVE") == [*before, document["taskDefinitionArn"]]


def test_create_throttled_out_leaves_no_orphan_revision(
    make_world: WorldFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.engines.codedeploy_plan import THROTTLED_CREATE_ATTEMPTS

    monkeypatch.setattr("orchestrator.engines.codedeploy_plan.backoff_seconds", lambda attempt: 0.01)
    emulators: list[CodeDeployEmulator] = []
    world = make_world(emulator_out=emulators)
    before, inactive = _revisions(world, "ACTIVE"), set(_revisions(world, "INACTIVE"))
    emulators[0].inject_errors("CreateDeployment", "ThrottlingException", times=THROTTLED_CREATE_ATTEMPTS)
    result = run_cli("deploy", "product-service", "--strategy", "all-at-once", *FAST)
    assert result.code == 4, shown(result)
    assert "throttled by AWS after retries" in result.stderr and "Traceback" not in result.stderr
    assert world.deployments() == []
    assert _revisions(world, "ACTIVE") == before
    assert len(set(_revisions(world, "INACTIVE")) - inactive) == 1


def test_a_lost_race_for_the_group_is_the_active_deployment_refusal(
    make_world: WorldFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deploys pass the active check together; CodeDeploy takes one (DeploymentLimitExceeded)."""
    world = make_world()
    before = _revisions(world, "ACTIVE")
    first = run_cli("deploy", "product-service", "--strategy", "canary:10:120", "--no-wait", "-o", "json")
    winner = first.json()["deploymentId"]
    # The loser checked the group before the winner's CreateDeployment landed.
    monkeypatch.setattr("orchestrator.engines.codedeploy_plan.refuse_if_active", lambda *args, **kwargs: None)
    try:
        result = run_cli("deploy", "product-service", "--strategy", "all-at-once", *FAST)
    finally:
        run_cli("stop", winner, "--no-rollback")
    assert result.code == 1, shown(result)
    assert result.stderr.strip().splitlines() == [
        f"error: deployment group {world.environment.application}/{world.environment.deployment_group} "
        f"already has an active deployment {winner}; watch it with `bluegreen watch {winner}` "
        f"or stop it with `bluegreen stop {winner}`"
    ]
    assert world.deployments() == [winner]
    assert _revisions(world, "ACTIVE") == [*before, first.json()["taskDefinitionArn"]]


def test_lost_create_response_is_recovered_by_token(
    make_world: WorldFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CreateDeployment reaches CodeDeploy but the answer is lost (read timeout): no second deployment."""
    from botocore.exceptions import ReadTimeoutError

    from orchestrator.aws.clients import AwsClients

    world = make_world()
    original = AwsClients.client
    lost = {"left": 1}

    def lose_response(**kwargs: Any) -> None:
        if lost["left"]:
            lost["left"] -= 1
            raise ReadTimeoutError(endpoint_url=world.codedeploy_url)

    def client(self: AwsClients, name: str, *, single_attempt: bool = False) -> Any:
        made = original(self, name, single_attempt=single_attempt)
        if single_attempt and name == "codedeploy" and not getattr(made, "_lossy", False):
            made.meta.events.register("after-call.codedeploy.CreateDeployment", lose_response)
            made._lossy = True
        return made

    monkeypatch.setattr(AwsClients, "client", client)
    result = run_cli("deploy", "product-service", "--strategy", "all-at-once", "-o", "json", *FAST)
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["createAttempts"] == 1 and lost["left"] == 0
    assert world.deployments() == [document["deploymentId"]]


@pytest.mark.parametrize(
    ("signum", "rollback"),
    [
        pytest.param(signal.SIGINT, False, id="ctrl-c-leaves-it-running"),
        pytest.param(signal.SIGTERM, False, id="sigterm-leaves-it-running"),
        pytest.param(signal.SIGTERM, True, id="sigterm-rollback-on-interrupt"),
    ],
)
def test_interrupting_a_watch_process(make_world: WorldFactory, signum: int, rollback: bool) -> None:
    """A real `bluegreen watch` process gets the signal (as from Ctrl-C or a cancelled CI job)."""
    world = make_world()
    # 10 % for 120 virtual minutes: 12 real seconds at scale 600, long enough to interrupt.
    created = run_cli("deploy", "product-service", "--strategy", "canary:10:120", "--no-wait", "-o", "json")
    deployment_id = created.json()["deploymentId"]
    wait_for(lambda: world.deployment(deployment_id)["status"] == "InProgress", timeout=30)
    command = [sys.executable, "-m", "orchestrator.cli", "watch", deployment_id, *FAST]
    if rollback:
        command.append("--rollback-on-interrupt")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"watching {deployment_id}"), first
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, f"{stdout}\n{stderr}"
    assert "Traceback" not in stderr
    info = world.deployment(deployment_id)
    if rollback:
        assert "stopped deployment" in stderr and "rollback deployment d-" in stderr
        assert info["status"] in ("Stopped", "Failed")
        assert (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    else:
        assert f"deployment {deployment_id} keeps running in CodeDeploy" in stderr
        assert f"`bluegreen watch {deployment_id}`" in stderr
        assert info["status"] in ("Created", "Queued", "InProgress")
        run_cli("stop", deployment_id, "--no-rollback")


def _catches_sigterm(pid: int) -> bool:
    """The process has a handler for SIGTERM (/proc/<pid>/status SigCgt, bit SIGTERM - 1)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


@pytest.mark.parametrize("moment", ["first-moment-it-can-catch-it", "during-start-up", "while-watching"])
def test_sigterm_at_any_moment_of_a_watch_process_is_130_with_the_reattach_hint(
    make_world: WorldFactory, moment: str
) -> None:
    """`bluegreen watch` as installed (the console script): SIGTERM as soon as the process can catch
    it, a moment later (imports, the first GetDeployment) and once it watches."""
    world = make_world()
    created = run_cli("deploy", "product-service", "--strategy", "canary:10:120", "--no-wait", "-o", "json")
    deployment_id = created.json()["deploymentId"]
    wait_for(lambda: world.deployment(deployment_id)["status"] == "InProgress", timeout=30)
    command = [str(Path(sys.executable).with_name("bluegreen")), "watch", deployment_id, *FAST]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint
    )
    try:
        wait_for(lambda: _catches_sigterm(process.pid), timeout=30, interval=0.001)
        if moment == "during-start-up":
            time.sleep(0.15)
        elif moment == "while-watching":
            assert process.stdout is not None
            assert process.stdout.readline().startswith(f"watching {deployment_id}")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    try:
        assert process.returncode == 130, f"exit {process.returncode}\n{stdout}\n{stderr}"
        lines = stderr.strip().splitlines()
        hint = (
            f"interrupted; deployment {deployment_id} keeps running in CodeDeploy: "
            f"re-attach with `bluegreen watch {deployment_id}`"
        )
        # While the CLI loads (the first moment lands there: the imports take 0.1 s or more) it
        # knows only that nothing was sent; between loading and the command (flag parsing) it says
        # "interrupted"; once `watch` runs, whenever the signal comes, how to re-attach.
        assert len(lines) == 1, stderr
        if moment == "first-moment-it-can-catch-it":
            assert lines[0] == STARTING or lines[0].startswith(hint), stderr
        else:
            assert lines[0] in (STARTING, "interrupted") or lines[0].startswith(hint), stderr
        if moment == "while-watching":
            assert lines[0].startswith(hint)
    finally:
        run_cli("stop", deployment_id, "--no-rollback")


# Run the installed `bluegreen` console script's function, noting whether SIGTERM has a handler
# at the moment the first heavy module (typer) starts loading: before the fix the handler came only
# after the CLI had loaded, and a SIGTERM in that 0.1-0.5 s killed the process silently (143).
_PROBE = """
import importlib.abc, importlib.metadata, signal, sys
seen = []
class Probe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "typer" and not seen:
            seen.append(signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None))
        return None
sys.meta_path.insert(0, Probe())
(script,) = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "bluegreen"]
sys.argv = ["bluegreen", "--help"]
try:
    script.load()()
except SystemExit:
    pass
print("caught" if seen == [True] else f"not caught: {seen}")
"""


def test_the_console_script_catches_sigterm_before_the_cli_loads() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "caught", done.stdout + done.stderr


def test_the_entry_point_loads_nothing_heavy_before_its_handler() -> None:
    heavy = ("typer", "click", "rich", "boto3", "botocore", "pydantic", "yaml")
    script = (
        "import sys, orchestrator.entry; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_current_task_definition_with_a_new_image(make_world: WorldFactory, moto_url: str) -> None:
    """`task_definition: current`: the running task definition with --image, registered as a new revision."""
    from tests.support.emulator import client

    world = make_world(task_definition="current")
    image = "registry.example.com/e2e/product-service:3"
    without = run_cli("deploy", "product-service", *FAST)
    assert without.code == 2 and "pass --image" in without.stderr, shown(without)
    result = run_cli(
        "deploy",
        "product-service",
        "--image",
        image,
        "-s",
        "all-at-once",
        "-o",
        "json",
        *FAST,
    )
    assert result.code == 0, shown(result)
    registered = client("ecs", moto_url).describe_task_definition(
        taskDefinition=result.json()["taskDefinitionArn"]
    )
    definition = registered["taskDefinition"]
    assert definition["family"] == world.environment.family
    assert definition["containerDefinitions"][0]["image"] == image
    assert definition["revision"] == 2


def test_rollback_twice_is_refused_as_ping_pong_unless_chosen_with_to(make_world: WorldFactory) -> None:
    """rollback says what it deploys, then refuses to undo its own rollback unless --to chooses."""
    make_world()
    released = {}
    for version in ("1", "2"):
        done = run_cli(
            "deploy", "product-service", "--strategy", "all-at-once", "-o", "json", *FAST,
            "--image", f"registry.example.com/e2e/product-service:{version}",
        )  # fmt: skip
        assert done.code == 0, shown(done)
        released[version] = done.json()
    first = run_cli("rollback", "product-service", "--strategy", "all-at-once", *FAST)
    assert first.code == 0, shown(first)
    # Before acting it says what it will deploy and where that comes from.
    lines = first.stdout.splitlines()
    assert lines[0].startswith(
        f"rolling back product-service (dev) from {released['2']['deploymentId']} to the revision of "
        f"{released['1']['deploymentId']}"
    )
    assert f"{released['1']['taskDefinitionArn']} (from {released['1']['deploymentId']})" in lines[2]

    again = run_cli("rollback", "product-service", "--strategy", "all-at-once", *FAST)
    assert again.code == 2, shown(again)
    [message] = again.stderr.strip().splitlines()
    assert "ping-pong" in message and f"--to {released['2']['deploymentId']}" in message
    assert again.stdout == ""  # nothing was deployed

    chosen = run_cli(
        "rollback", "product-service", "--strategy", "all-at-once", "-o", "json", *FAST,
        "--to", released["2"]["deploymentId"],
    )  # fmt: skip
    assert chosen.code == 0, shown(chosen)
    document = chosen.json()
    assert document["status"] == "Succeeded"
    assert document["rollbackTo"] == released["2"]["deploymentId"]
    assert document["taskDefinitionArn"] == released["2"]["taskDefinitionArn"]


def test_until_ready_on_a_group_that_continues_says_promote_is_not_needed(make_world: WorldFactory) -> None:
    make_world()  # ready action CONTINUE_DEPLOYMENT: CodeDeploy shifts traffic on its own
    result = run_cli("deploy", "product-service", "--until", "ready", *FAST)
    assert result.code == 0, shown(result)
    assert "continues at Ready by itself" in result.stdout and "bluegreen promote" in result.stdout
    assert "next: test through the test listener" not in result.stdout


def test_no_wait_on_a_group_that_waits_at_ready_says_it_needs_promote(make_world: WorldFactory) -> None:
    world = make_world(ready_wait_minutes=60)
    result = run_cli("deploy", "product-service", "--no-wait", *FAST)
    assert result.code == 0, shown(result)
    deployment_id = result.stdout.split(" created")[0].split()[-1]
    assert f"it will wait at Ready: shift traffic with `bluegreen promote {deployment_id}`" in result.stdout
    wait_for(lambda: world.deployment(deployment_id)["status"] == "Ready", timeout=30)
    run_cli("stop", deployment_id, "--no-rollback")
