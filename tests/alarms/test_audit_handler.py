"""The scheduled alarm audit Lambda end to end: moto + the CodeDeploy emulator, a Lambda-like context,
the report in the log and one EMF metric per rule on stdout."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from hooks import audit as audit_module
from hooks.audit import handler
from orchestrator.alarms.rules import Rule
from orchestrator.alarms.sync import sync_all_alarms
from tests.support.alarms import LambdaContext, World, emf_problems

pytestmark = pytest.mark.integration


Output = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Output:
    """Every JSON document the Lambda printed since the last call: log lines and EMF blobs."""
    # powertools' Logger holds the stdout of import time; point it where this test can read it.
    logs = io.StringIO()
    monkeypatch.setattr(audit_module.logger.registered_handler, "stream", logs)

    def read() -> list[dict[str, Any]]:
        text = logs.getvalue() + capsys.readouterr().out
        logs.seek(0)
        logs.truncate()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    return read


SECRET = "wJalrXUtnFEMI-never-logged"
TOKEN = "IQoJb3JpZ2luX2VjE-never-logged"


def test_scheduled_audit_logs_the_report_and_publishes_a_metric_per_rule(
    world: World, output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = [world.service("order-service"), world.service("user-service")]
    for service in services:
        world.add_group(service.name, alarms=[], enabled=False)
    sync_all_alarms(world.clients, services, world.definitions)
    world.cloudwatch.delete_alarms(AlarmNames=["user-service-high-latency"])
    output()
    # The Lambda's own credentials, as its runtime sets them: they must not reach the log.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)

    answer = handler({"environment": "dev", "source": "aws.events"}, LambdaContext())

    assert answer["violations"] == 1 and answer["byRule"]["alarm-missing"] == 1
    assert answer["deploymentGroupsChecked"] == 2
    documents = output()
    printed = json.dumps(documents)
    assert SECRET not in printed and TOKEN not in printed
    emf = [d for d in documents if "_aws" in d]
    assert len(emf) == len(Rule) + 1 and {id(d): emf_problems(d) for d in emf} == {id(d): [] for d in emf}
    logs = [d for d in documents if "message" in d]
    report = next(d for d in logs if d["message"] == "alarm audit found violations")
    assert report["level"] == "WARNING" and report["function_request_id"] == LambdaContext.aws_request_id
    assert report["audit"]["findings"] == [
        {
            "rule": "alarm-missing",
            "application": "doa-market-dev",
            "deploymentGroup": "user-service",
            "alarm": "user-service-high-latency",
            "service": "user-service",
            "message": "named in the deployment group but does not exist in CloudWatch",
            "fixable": True,
            "unfixableReason": None,
        }
    ]
    per_rule = {d["rule"]: d["AlarmAuditViolations"] for d in documents if "AlarmAuditViolations" in d}
    assert per_rule == {rule: [float(count)] for rule, count in answer["byRule"].items()}
    assert len(per_rule) == len(Rule)
    emf = next(d for d in documents if "AlarmAuditViolations" in d and d["rule"] == "alarm-missing")
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "bluegreen"
    assert ["service", "environment", "rule"] in [
        sorted(x, key=["service", "environment", "rule"].index) for x in directive["Dimensions"]
    ]
    totals = next(d for d in documents if "AlarmAuditViolationsTotal" in d)
    assert (
        totals["AlarmAuditViolationsTotal"],
        totals["DeploymentGroupsAudited"],
        totals["environment"],
    ) == ([1.0], [2.0], "dev")


def test_a_clean_environment_logs_info(world: World, output: Output) -> None:
    world.add_group("order-service", alarms=[], enabled=False)
    sync_all_alarms(world.clients, [world.service("order-service")], world.definitions)
    output()
    assert handler({}, LambdaContext())["violations"] == 0  # environment: the catalog's default (dev)
    assert any(d.get("message") == "alarm audit clean" for d in output())


def test_the_handler_module_imports_no_cli_or_sandbox_dependencies() -> None:
    code = (
        "import sys, hooks.audit; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'moto', 'sandbox')]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
