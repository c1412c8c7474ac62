"""`bluegreen fleet export`: the fleet's wave plan as an AWS Step Functions state machine and the SAM
template that runs it (``orchestrator.fleet.export``), written to --out DIR as
``fleet-<env>.asl.json`` and ``fleet-<env>.template.yaml``. No AWS call: the plan is the same one
`fleet deploy --dry-run` shows (``fleet.planning.plan_fleet``: each service planned offline by its
own engine, so guardrails, images and dependency cycles are refused here as there, exit 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator import documents
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError

# A poll faster than this only costs Lambda invocations (a deployment's phases last minutes); the
# ASL Wait state takes whole seconds.
MIN_POLL_SECONDS = 5
MAX_POLL_SECONDS = 3600


@dataclass(frozen=True)
class FleetExportOptions:
    """`bluegreen fleet export`."""

    out: str
    services: tuple[str, ...] = ()
    all: bool = False
    strategy: str | None = None
    image_tag: str | None = None
    images: str | None = None
    max_parallel: int | None = None
    stop_on_failure: bool = True
    poll_seconds: int = 30


def run(session: Session, options: FleetExportOptions) -> Result:
    from orchestrator.fleet import export
    from orchestrator.fleet.planning import FleetRequest, chosen_services, plan_fleet

    if not MIN_POLL_SECONDS <= options.poll_seconds <= MAX_POLL_SECONDS:
        bounds = f"between {MIN_POLL_SECONDS} and {MAX_POLL_SECONDS}"
        raise BadInputError(f"--poll-seconds must be {bounds}, got {options.poll_seconds}")
    catalog = session.catalog
    request = FleetRequest(
        environment=session.options.env,
        services=options.services,
        all_services=options.all,
        strategy=options.strategy,
        image_tag=options.image_tag,
        images_file=options.images,
        max_parallel=options.max_parallel,
    )
    plan = plan_fleet(catalog, request)
    fleet = catalog.environment(plan.environment).fleet
    export_options = export.ExportOptions(
        poll_seconds=options.poll_seconds,
        queue_wait_seconds=fleet.queue_wait_minutes * 60,
        stop_on_failure=options.stop_on_failure,
    )
    definition = export.state_machine(plan, export_options)
    problems = export.problems(definition)
    if problems:  # a bug of ours, not the user's input: say so rather than write a broken machine
        raise RuntimeError(f"the exported state machine is malformed: {problems[0]}")
    images = {service.service: service.image for service in plan.services}
    access = [_access(service, images.get(service.name)) for service in chosen_services(catalog, request)]
    out = Path(options.out)
    made = export.template(
        plan, access, export_options, export.TemplateOptions(code_uri=_code_uri(catalog, out))
    )
    asl, template = _write(out, plan.environment, definition, made)
    return _result(plan, export_options, asl, template, made)


def _code_uri(catalog: Any, out: Path) -> str:
    """build/lambda beside the catalog (scripts/build_lambda.py's output), relative to the template's
    folder: SAM resolves CodeUri from the template's own location."""
    import os

    return os.path.relpath(Path(catalog.root) / "build" / "lambda", out.resolve())


def _access(service: Any, image: str | None) -> Any:
    """What deploying ``service`` touches (its task definition as the deploy registers it)."""
    from orchestrator.files.taskdef import load_task_definition
    from orchestrator.fleet.export import service_access

    rendered = load_task_definition(service, image) if service.task_definition_path is not None else None
    return service_access(service, rendered)


def _write(directory: Path, environment: str, definition: Any, made: Any) -> tuple[Path, Path]:
    import yaml

    from orchestrator.files.safe_write import write_text_no_follow

    if directory.exists() and not directory.is_dir():
        raise BadInputError(f"--out {directory}: not a directory")
    asl = directory / f"fleet-{environment}.asl.json"
    template = directory / f"fleet-{environment}.template.yaml"
    write_text_no_follow(asl, json.dumps(definition, indent=2) + "\n")
    header = "# `bluegreen fleet export` wrote this file; export again rather than edit it.\n"
    write_text_no_follow(template, header + yaml.safe_dump(made, sort_keys=False, width=110))
    return asl, template


def _result(plan: Any, options: Any, asl: Path, template: Path, made: Any) -> Result:
    from orchestrator.fleet.export import execution_timeout
    from orchestrator.fleet.run_id import new_run_id

    machine = made["Resources"]["FleetStateMachine"]["Properties"]["StateMachineName"]
    stack = machine
    run_id = new_run_id(plan.environment, datetime.now(UTC))
    deploy = (
        f"sam deploy --template-file {template} --stack-name {stack} --capabilities CAPABILITY_IAM "
        "--resolve-s3"
    )
    start = (
        f"aws stepfunctions start-execution --state-machine-arn <the stack's StateMachineArn> --name {run_id}"
    )
    document = documents.FleetExportDocument(
        environment=plan.environment,
        services=len(plan.services),
        waves=len(plan.waves),
        max_parallel=plan.max_parallel,
        expected_seconds=round(plan.expected_seconds),
        timeout_seconds=execution_timeout(plan, options),
        state_machine_name=machine,
        asl_path=str(asl),
        template_path=str(template),
        deploy_command=deploy,
        start_command=start,
    )
    text = lines(
        f"wrote {asl} and {template}: {len(plan.services)} services of {plan.environment} in "
        f"{len(plan.waves)} waves, at most {plan.max_parallel} at once",
        "deploy it (the Lambda package first: python scripts/build_lambda.py):",
        f"  {deploy}",
        "start a fleet run (the execution's name is its run id, carried by every deployment):",
        f"  {start}",
    )
    return Result(document, text)
