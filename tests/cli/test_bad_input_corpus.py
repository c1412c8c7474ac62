"""The bad-input corpus against a running sandbox: every case is exit 2, one line on stderr, no
traceback, and NOT ONE mutating request (Create*, Register*, Put*, Stop*, ...) reaches moto or the
CodeDeploy emulator. Reads are allowed (a well-formed ARN is looked up before it is refused).

The sandbox: moto (ECS, ELBv2, CloudWatch) and the CodeDeploy emulator on loopback with one
provisioned ECS service and deployment group, each behind a recording proxy (tests/support/
recording_proxy.py) that AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CODEDEPLOY point at. The catalog names
that service, so a good command would really deploy (test_a_good_deploy_is_recorded proves the
proxies see the writes). Cases run in-process through orchestrator.cli.main; a few also as
subprocesses, to prove no traceback reaches a terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox.codedeploy import CodeDeployEmulator
from tests.support.cli import run_cli, shown, write_e2e_catalog
from tests.support.emulator import EcsServiceSpec, provision_ecs_service
from tests.support.recording_proxy import RecordedCall, RecordingProxy, recording_proxy

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures"
CATALOGS = FIX / "catalogs"
TASKDEFS = FIX / "taskdefs"
ALARMS = FIX / "bad_input" / "alarms"
ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:1"
DEPLOYMENT_ID = "d-ABCDEFGHI"


@dataclass(frozen=True)
class Case:
    """Arguments, what the one stderr line must contain, and environment variables to set."""

    args: tuple[str, ...]
    names: str | tuple[str, ...]  # what the line must contain (all of them)
    env: dict[str, str] = field(default_factory=dict)


def case(id_: str, args: list[str] | str, names: str | tuple[str, ...], **env: str) -> object:
    argv = args.split() if isinstance(args, str) else args
    return pytest.param(Case(tuple(argv), names, env), id=id_)


def _catalog_cases() -> list[object]:
    """Every bad catalog fixture, through the command that loads it first."""
    expected = {
        "duplicate-service.yaml": "key 'cart-service' is defined twice",
        "duplicate-key-in-service.yaml": "key 'port' is defined twice",
        "duplicate-environment.yaml": "key 'dev' is defined twice",
        "duplicate-service-port.yaml": "field port: production listener port 4001 is already cart-service's",
        "duplicate-listener-port.yaml": "port 5001 is already cart-service's test listener port",
        "duplicate-listener-port-in-override.yaml": "(prod): field test_listener_port: test listener port",
        "tasks-three-overridden.yaml": "defaults: field tasks: Input should be a valid dictionary",
        "override-typo.yaml": "overrides.prod: field stratgy: unknown setting (did you mean strategy?)",
        "env-defaults-typo.yaml": "did you mean termination_wait_minutes?",
        "unknown-key.yaml": "field prot: unknown setting (did you mean port?)",
        "unknown-top-level-key.yaml": "field servics: unknown setting (did you mean services?)",
        "fullwidth-strategy.yaml": "field strategy: unknown strategy 'canary:\uff11\uff10:5'",
        "fullwidth-account.yaml": "field environments.dev.account_id",
        "fullwidth-port.yaml": "field port: Input should be a valid integer",
        "fullwidth-freeze-window.yaml": "field freeze_windows.0.start: must be HH:MM",
        "service-name-traversal.yaml": "service name '../../outside' must be lower-case",
        "environment-name-traversal.yaml": "environment name '../prod' must be lower-case",
        "service-name-slash.yaml": "service name 'team/cart' must be lower-case",
        "service-name-upper.yaml": "service name 'CartService' must be lower-case",
        "target-group-too-long.yaml": "ELBv2 allows 1-32",
        "load-balancer-bad-name.yaml": "field load_balancer: 'shop_alb' is not a valid name",
        "port-not-a-number.yaml": "field port: Input should be a valid integer",
        "services-a-list.yaml": "field services: Input should be a valid dictionary",
        "service-a-list.yaml": "field services.cart-service: Input should be a valid dictionary",
        "overrides-a-list.yaml": "field overrides: must map environments to settings",
        "listener-scheme.yaml": "field environments.dev.listener_scheme",
        "top-level-list.yaml": "the top level must be a mapping",
        "empty.yaml": "the top level must be a mapping",
        "alias-bomb.yaml": "aliases expand to more than 50000 nodes",
        "alias-loop.yaml": "an alias refers to itself",
        "deep-nesting.yaml": "nested more than 100 levels deep",
        "non-utf8.yaml": "not UTF-8 text: byte 0xe9 at line 10",
        "yaml-syntax.yaml": "at line 9",
        "bad-port.yaml": "field port",
        "bad-port-in-override.yaml": "overrides.prod: field port",
        "bad-strategy.yaml": "unknown strategy 'canary11'",
        "default-environment-missing.yaml": "field default_environment",
        "min-greater-than-max.yaml": "field tasks: need min <= desired <= max",
        "missing-var.yaml": "${BLUEGREEN_TEST_UNSET_REGISTRY}",
        "task-definition-missing.yaml": "field task_definition: file task-definitions/cart-service.json",
        "unknown-environment-override.yaml": "unknown environment(s) ['staging']",
        "unknown-hook-event.yaml": "unknown lifecycle event(s) ['AfterTraffic']",
    }
    verbs = ["deploy cart-service", "render cart-service", "rollback cart-service", "status cart-service"]
    cases = []
    for index, (name, names) in enumerate(sorted(expected.items())):
        verb = verbs[index % len(verbs)].split()
        cases.append(case(f"catalog-{name[:-5]}", ["--catalog", str(CATALOGS / name), *verb], names))
    return cases


def _flag_cases() -> list[object]:
    """--timeout and --time-scale with every kind of bad number, on every verb that takes them."""
    values = {
        "nan": "'nan' is not a number",
        "inf": "'inf' is not a number",
        "-inf": "'-inf' is not a number",
        "-1": "must be a positive number, got -1",
        "0": "must be a positive number, got 0",
        "1e999": "must be a positive number, got 1e999",
        "abc": "'abc' is not a number",
        "\uff11\uff10": "'\uff11\uff10' is not a number",
        "1_0": "'1_0' is not a number",
    }
    verbs = {
        "deploy": ["deploy", "product-service"],
        "watch": ["watch", DEPLOYMENT_ID],
        "rollback": ["rollback", "product-service"],
    }
    cases = []
    for verb, head in verbs.items():
        for flag in ("--timeout", "--time-scale"):
            for value, names in values.items():
                if verb != "deploy" and value not in ("nan", "inf", "-1", "0", "abc"):
                    continue
                cases.append(case(f"{verb}{flag}={value}", [*head, flag, value], f"{flag}: {names}"))
    for value in ("0", "-1", "abc", "nan", "inf", "\uff14\uff10"):
        names = "$BLUEGREEN_TIME_SCALE: "
        cases.append(
            case(
                f"env-time-scale={value}-deploy", "deploy product-service", names, BLUEGREEN_TIME_SCALE=value
            )
        )
    # Every command that reads the variable refuses every kind of bad value the same way.
    for verb, head in verbs.items():
        if verb == "deploy":
            continue
        for value in ("0", "-1", "abc", "nan", "inf", "-inf", "1e999"):
            cases.append(
                case(
                    f"env-time-scale={value}-{verb}",
                    head,
                    "$BLUEGREEN_TIME_SCALE: ",
                    BLUEGREEN_TIME_SCALE=value,
                )
            )
    cases.append(
        case(
            "env-time-scale=0-deploy-sandbox",
            "deploy product-service --sandbox",
            "$BLUEGREEN_TIME_SCALE: must be a positive number, got 0",
            BLUEGREEN_TIME_SCALE="0",
        )
    )
    cases.append(
        case(
            "env-time-scale-watch",
            ["watch", DEPLOYMENT_ID],
            "$BLUEGREEN_TIME_SCALE",
            BLUEGREEN_TIME_SCALE="-1",
        )
    )
    cases.append(
        case(
            "env-time-scale-rollback",
            "rollback product-service",
            "$BLUEGREEN_TIME_SCALE",
            BLUEGREEN_TIME_SCALE="0",
        )
    )
    return cases


TASKDEF_CASES = [
    ("bad-cpu-object.json", "field cpu: expected a string, got an object"),
    ("bad-memory-number.json", "field memory: expected a string"),
    ("bad-network-mode.json", "field networkMode: 'bridged' is not one of"),
    ("bad-field-typo.json", "field famly: not a RegisterTaskDefinition field (did you mean family?)"),
    ("bad-essential.json", "containerDefinitions[0].essential: expected true or false"),
    ("bad-container-port.json", "containerDefinitions[0].portMappings[0].containerPort: expected an integer"),
    ("bad-environment-value.json", "environment[0].value: expected a string"),
    ("bad-container-image.json", "is not a valid image reference"),
    ("bad-containers-object.json", "field containerDefinitions: expected a list"),
    ("bad-no-family.json", "field family: required by RegisterTaskDefinition"),
    ("top-level-list.json", "the top level must be a JSON object"),
    ("non-utf8.json", "not UTF-8 text: byte 0xe9 at line 2"),
    ("not-json.json", "not valid JSON"),
    ("wrong-container.json", "container 'app' needs memory or memoryReservation"),
]

FLEET = FIX / "bad_input" / "fleet"
# `bluegreen fleet`: the bad input (an unknown service, --max-parallel 0, an images file naming a
# service twice or an invalid image, --resume with an unknown or malformed run id) and a guardrail
# that refuses one service of the fleet: all before any write (the record is written before any start).
FLEET_CASES = [
    case("fleet-unknown-service", "fleet deploy nope-service", "no service 'nope-service'"),
    case("fleet-no-services", "fleet deploy", "name the services to deploy, or pass --all"),
    case(
        "fleet-max-parallel-0",
        "fleet deploy --all --max-parallel 0",
        "--max-parallel must be between 1 and 100",
    ),
    case("fleet-images-twice", f"fleet deploy --all --images {FLEET / 'images-twice.yaml'}", "defined twice"),
    case(
        "fleet-images-invalid",
        f"fleet deploy --all --images {FLEET / 'images-invalid.yaml'}",
        "UPPER/Case:tag",
    ),
    case(
        "fleet-tag-and-images",
        f"fleet deploy --all --image-tag 3 --images {FLEET / 'images-ok.yaml'}",
        "--image-tag and --images",
    ),
    case("fleet-resume-malformed", "fleet deploy --resume d-ABCDEFGHI", "is not a fleet run id"),
    case(
        "fleet-resume-unknown",
        "fleet deploy --resume fr-20261130t0000z-dead",
        "no fleet run fr-20261130t0000z-dead",
    ),
    case("fleet-resume-with-services", "fleet deploy --resume fr-20261130t0000z-dead --all", "drop --all"),
    case("fleet-watch-malformed", "fleet watch 12345", "is not a fleet run id"),
    case(
        "fleet-guardrail",
        [
            "--catalog",
            str(REPO / "services.yaml"),
            "fleet",
            "deploy",
            "--all",
            "--env",
            "prod",
            "--strategy",
            "all-at-once",
        ],
        "refused by prod guardrails",
    ),
]

CASES = [
    *FLEET_CASES,
    *_catalog_cases(),
    *_flag_cases(),
    *[
        case(
            f"taskdef-{name[:-5]}",
            ["deploy", "product-service", "--task-definition", str(TASKDEFS / name)],
            (f"{TASKDEFS / name} (--task-definition): ", names),
        )
        for name, names in TASKDEF_CASES
    ],
    case(
        "taskdef-missing-file",
        ["deploy", "product-service", "--task-definition", str(TASKDEFS / "nope.json")],
        f"{TASKDEFS / 'nope.json'} (--task-definition): task definition file",
    ),
    case(
        "taskdef-directory",
        ["deploy", "product-service", "--task-definition", str(TASKDEFS)],
        "is a directory",
    ),
    case(
        "taskdef-arn-nonsense",
        "deploy product-service --task-definition arn:nonsense",
        "'arn:nonsense' is not a task definition ARN",
    ),
    case(
        "taskdef-arn-no-revision",
        ["deploy", "product-service", "--task-definition", ARN[:-2]],
        "is not a task definition ARN",
    ),
    case(
        "taskdef-arn-other-service",
        ["deploy", "product-service", "--task-definition", ARN.replace(":ecs:", ":lambda:")],
        "is not a task definition ARN",
    ),
    case(
        "taskdef-arn-fullwidth",
        ["deploy", "product-service", "--task-definition", ARN[:-1] + "\uff11"],
        "is not a task definition ARN",
    ),
    case(
        "taskdef-arn-partition",
        ["deploy", "product-service", "--task-definition", ARN.replace("arn:aws:", "arn:aws-mars:")],
        "is not a task definition ARN",
    ),
    # Well-formed, so bluegreen asks ECS (a read) and refuses before anything is written.
    case(
        "taskdef-arn-unknown",
        [
            "deploy",
            "product-service",
            "--task-definition",
            ARN.replace("product-service:1", "no-such-family:9"),
        ],
        "task definition arn:aws:ecs:ap-northeast-2:123456789012:task-definition/no-such-family:9 not found",
    ),
    case(
        "render-arn-nonsense",
        "render product-service --task-definition arn:nonsense --out -",
        "is not a task definition ARN",
    ),
    case("render-not-arn", "render product-service --task-definition x.json", "render takes a task"),
    case("strategy-unknown", "deploy product-service --strategy canary11", "unknown strategy 'canary11'"),
    case(
        "strategy-fullwidth",
        ["deploy", "product-service", "--strategy", "canary:\uff11\uff10:5"],
        "unknown strategy",
    ),
    case(
        "strategy-arabic-digits",
        ["deploy", "product-service", "--strategy", "linear:10:\u0663"],
        "unknown strategy",
    ),
    case("strategy-zero", "deploy product-service --strategy linear:0:1", "percentage must be"),
    case("strategy-too-long", "deploy product-service --strategy canary:10:99999", "at most 2880"),
    case("strategy-empty", ["deploy", "product-service", "--strategy", ""], "unknown strategy"),
    case("rollback-strategy", "rollback product-service --strategy blue-green", "unknown strategy"),
    case("rollback-strategy-empty", ["rollback", "product-service", "--strategy", ""], "unknown strategy ''"),
    case(
        "image-invalid",
        ["deploy", "product-service", "--image", "Not A Valid/Image:ref!"],
        "is not a valid image reference",
    ),
    case("image-upper", "deploy product-service --image Registry.example.com/Team/App:1", "lower case"),
    case("image-space", ["deploy", "product-service", "--image", " app:1"], "whitespace"),
    case("until-deploy", "deploy product-service --until halfway", "--until 'halfway'"),
    case("until-watch", ["watch", DEPLOYMENT_ID, "--until", "soon"], "--until 'soon'"),
    case(
        "fault-without-sandbox",
        "deploy product-service --inject-fault error_rate=0.5",
        "--inject-fault works only",
    ),
    *[
        case(f"output-{verb[0]}", [*verb, "--output", "yaml"], "--output 'yaml'")
        for verb in (
            ["deploy", "product-service"],
            ["render", "product-service"],
            ["status", "product-service"],
            ["watch", DEPLOYMENT_ID],
            ["stop", DEPLOYMENT_ID],
            ["rollback", "product-service"],
            ["promote", DEPLOYMENT_ID],
            ["strategies"],
        )
    ],
    *[
        case(f"env-unknown-{verb}", [verb, "product-service", "--env", "staging"], "no environment 'staging'")
        for verb in ("deploy", "render", "status", "rollback")
    ],
    case("env-traversal", "deploy product-service --env ../dev", "no environment '../dev'"),
    *[
        case(f"service-unknown-{verb}", [verb, "nope-service"], "no service 'nope-service'")
        for verb in ("deploy", "render", "status", "rollback")
    ],
    case("service-traversal", "render ../../etc/passwd", "no service '../../etc/passwd'"),
    *[
        case(f"deployment-id-{verb}-{bad}", [verb, bad], "is not a CodeDeploy deployment id")
        for verb in ("watch", "stop", "promote")
        for bad in ("12345", "d-short", "d-abcdefghi", "d-\uff21BCDEFGHI")
    ],
    *[
        case(f"missing-argument-{verb}", [verb], f"missing argument {what}; see bluegreen {verb} --help")
        for verb, what in (
            ("deploy", "SERVICE"),
            ("render", "SERVICE"),
            ("watch", "DEPLOYMENT_ID"),
            ("stop", "DEPLOYMENT_ID"),
            ("rollback", "SERVICE"),
            ("promote", "DEPLOYMENT_ID"),
            ("status", "DEPLOYMENT_ID|SERVICE"),
        )
    ],
    *[
        case(f"unknown-flag-{verb[0]}", [*verb, "--no-such-flag"], "no such option: --no-such-flag")
        for verb in (
            ["deploy", "product-service"],
            ["render", "product-service"],
            ["watch", DEPLOYMENT_ID],
            ["stop", DEPLOYMENT_ID],
            ["rollback", "product-service"],
            ["status", DEPLOYMENT_ID],
            ["promote", DEPLOYMENT_ID],
            ["strategies"],
        )
    ],
    case("unknown-command", "frobnicate", "no such command 'frobnicate'; see bluegreen --help"),
    case("flag-without-value", "deploy product-service --timeout", "option '--timeout' requires an argument"),
    case("sandbox-port", "sandbox serve --port abc", "--port: "),
    case(
        "catalog-missing",
        "--catalog /nonexistent/services.yaml deploy product-service",
        "catalog /nonexistent/services.yaml not found",
    ),
    case("catalog-directory", ["--catalog", str(CATALOGS), "deploy", "product-service"], "cannot read it"),
    case(
        "catalog-env-missing",
        "deploy product-service",
        "catalog /nonexistent/x.yaml not found",
        BLUEGREEN_CATALOG="/nonexistent/x.yaml",
    ),
    *[
        case(
            f"alarms-{name}",
            "alarms sync product-service --dry-run",
            names,
            BLUEGREEN_ALARMS=str(ALARMS / name),
        )
        for name, names in (
            ("non-utf8", "not UTF-8 text: byte 0xe9 at line 4"),
            ("duplicate-key", "key 'templates' is defined twice (line 2 and line 4)"),
            ("alias-bomb", "aliases expand to more than 50000 nodes"),
            ("typo", "field tempaltes"),
        )
    ],
    case(
        "alarms-dir-missing",
        "alarms sync product-service",
        "alarm definitions directory",
        BLUEGREEN_ALARMS="/nonexistent/alarms",
    ),
    case(
        "guardrail",
        [
            "--catalog",
            str(REPO / "services.yaml"),
            "deploy",
            "product-service",
            "--env",
            "prod",
            "--strategy",
            "all-at-once",
        ],
        "refused by prod guardrails",
    ),
]


@dataclass(frozen=True)
class Sandbox:
    """The running sandbox behind its recording proxies."""

    moto: RecordingProxy
    codedeploy: RecordingProxy
    catalog: Path

    def calls(self) -> list[RecordedCall]:
        return [*self.moto.calls, *self.codedeploy.calls]

    def clear(self) -> None:
        self.moto.calls.clear()
        self.codedeploy.calls.clear()


@pytest.fixture(scope="module")
def sandbox(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    emulator = CodeDeployEmulator(aws_endpoint=moto_url, time_scale=600.0)
    url = emulator.start()
    try:
        environment = provision_ecs_service(moto_url, url, EcsServiceSpec(service="product-service"))
        catalog = write_e2e_catalog(tmp_path_factory.mktemp("corpus"), environment)
        with recording_proxy(moto_url, "moto") as moto, recording_proxy(url, "codedeploy") as codedeploy:
            yield Sandbox(moto, codedeploy, catalog)
    finally:
        emulator.stop()


@pytest.fixture
def pointed(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """This test's AWS clients go through the proxies; the catalog is the sandbox's."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.moto.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", sandbox.codedeploy.url)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(sandbox.catalog))
    monkeypatch.delenv("BLUEGREEN_TEST_UNSET_REGISTRY", raising=False)
    sandbox.clear()
    return sandbox


def test_the_corpus_has_at_least_100_cases() -> None:
    assert len(CASES) >= 100
    ids = [param.id for param in CASES]  # type: ignore[attr-defined]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_exit_2_one_line_and_no_aws_write(
    pointed: Sandbox, monkeypatch: pytest.MonkeyPatch, bad: Case
) -> None:
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    result = run_cli(*bad.args)
    assert result.code == 2, shown(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown(result)
    for names in (bad.names,) if isinstance(bad.names, str) else bad.names:
        assert names in lines[0], shown(result)
    assert "Traceback" not in result.stdout + result.stderr
    writes = [call for call in pointed.calls() if call.mutating]
    assert writes == [], f"bad input reached AWS: {writes}"


def test_bad_input_in_json_mode_is_one_document(pointed: Sandbox) -> None:
    import json

    result = run_cli("-o", "json", "deploy", "product-service", "--time-scale", "nan")
    assert result.code == 2, shown(result)
    document = json.loads(result.stdout)
    assert (document["errorKind"], document["exitCode"]) == ("usage", 2)
    assert [call for call in pointed.calls() if call.mutating] == []


def test_a_good_deploy_is_recorded(pointed: Sandbox) -> None:
    """The control: the same set-up sees the writes of a valid command (so "no write" means something)."""
    result = run_cli("deploy", "product-service", "--no-wait")
    assert result.code == 0, shown(result)
    actions = {call.action for call in pointed.calls() if call.mutating}
    assert {"RegisterTaskDefinition", "CreateDeployment"} <= actions


@pytest.mark.parametrize(
    "args",
    [
        ["deploy", "product-service", "--timeout", "nan"],
        ["deploy"],
        ["deploy", "product-service", "--task-definition", "arn:nonsense"],
        ["--catalog", str(CATALOGS / "alias-bomb.yaml"), "deploy", "cart-service"],
        ["deploy", "product-service", "--task-definition", str(TASKDEFS / "non-utf8.json")],
    ],
    ids=["timeout-nan", "missing-service", "arn-nonsense", "alias-bomb", "taskdef-non-utf8"],
)
def test_as_a_process_no_traceback_reaches_the_terminal(pointed: Sandbox, args: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        cwd=REPO,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == "" and completed.stderr.count("\n") == 1, completed.stderr
    assert completed.stderr.startswith("error: ") and "Traceback" not in completed.stderr
    assert [call for call in pointed.calls() if call.mutating] == []
