"""`bluegreen deploy SERVICE`: plan, then (unless --dry-run) apply and watch."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator import documents
from orchestrator.commands.failure import error_context
from orchestrator.commands.follow import SANDBOX_GONE, Subject, follow_created, interrupted_message
from orchestrator.commands.options import DeployOptions, WatchFlags
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, ErrorContext, InterruptedByUser
from orchestrator.vocabulary import DeploymentStatus


def validate_watch_flags(flags: WatchFlags) -> None:
    """Flag values typer cannot check by type alone."""
    from orchestrator.watching.snapshots import UNTIL_MILESTONES

    if flags.until not in UNTIL_MILESTONES:
        raise BadInputError(f"--until {flags.until!r}: valid values are {', '.join(UNTIL_MILESTONES)}")
    if flags.timeout_minutes is not None and not (0 < flags.timeout_minutes < math.inf):
        raise BadInputError(f"--timeout must be a positive number of minutes, got {flags.timeout_minutes:g}")
    if flags.time_scale is not None and not (0 < flags.time_scale < math.inf):
        raise BadInputError(f"--time-scale must be a positive number, got {flags.time_scale:g}")
    flags.scale()  # an invalid $BLUEGREEN_TIME_SCALE is bad input before any AWS call


def run(session: Session, options: DeployOptions) -> Result:
    """Validate everything that needs no AWS, then deploy (inside the sandbox with --sandbox).

    An error carries what was known when it was raised: each step below adds what it learned.
    """
    from orchestrator.strategies import parse_strategy

    known = ErrorContext(service=options.service, environment=session.options.env, strategy=options.strategy)
    with error_context(known):
        validate_watch_flags(options.watch)
        if options.sandbox:  # before the catalog is even read: say at once what to install
            from orchestrator.commands import sandbox_extra

            sandbox_extra.require("--sandbox")
        if options.inject_faults and not options.sandbox:
            raise BadInputError("--inject-fault works only with --sandbox (it changes the local fleet)")
        service = session.resolve(options.service)
    # `--strategy ""` is a typo to refuse, not "the catalog's default" (it used to deploy).
    chosen = service.settings.strategy if options.strategy is None else options.strategy
    known = known.learned(environment=service.environment, strategy=chosen)
    with error_context(known):
        strategy = parse_strategy(chosen)
    known = known.learned(strategy=strategy.name)
    with error_context(known):
        if options.sandbox:
            with sandbox_environment(session, options, service) as environment, applied(environment):
                return _deploy(session, options, service, strategy, known)
        return _deploy(session, options, service, strategy, known)


@contextmanager
def sandbox_environment(session: Session, options: DeployOptions, service: Any) -> Iterator[dict[str, str]]:
    """Start the local world (moto + CodeDeploy emulator + fleet) and yield its endpoint variables."""
    from orchestrator.commands import sandbox_extra

    # Imported by name: orchestrator/ does not depend on sandbox/ (only this switch uses it).
    start_world = sandbox_extra.load("world", "sandbox_environment", "--sandbox")
    with start_world(
        session.catalog,
        service.environment,
        services=[service.name],
        time_scale=options.watch.time_scale,
        faults=list(options.inject_faults),
    ) as environment:
        yield dict(environment)


@contextmanager
def applied(environment: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (boto3 reads AWS_ENDPOINT_URL* itself)."""
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _deploy(
    session: Session, options: DeployOptions, service: Any, strategy: Any, known: ErrorContext
) -> Result:
    from orchestrator.engines import engine_for
    from orchestrator.engines.base import DeployInputs

    inputs = DeployInputs(
        service=service,
        strategy=strategy,
        image=options.image,
        task_definition=options.task_definition,
        force=options.force,
    )
    clients = session.clients(service.region)
    engine = engine_for(service, clients)
    if options.dry_run:
        plan = engine.plan(inputs, offline=True)
        timeout = _timeout_seconds(plan.timeout_seconds, options.watch)
        return Result(plan_document(plan, timeout), plan_text(plan, timeout))
    plan = engine.plan(inputs)
    timeout = _timeout_seconds(plan.timeout_seconds, options.watch)
    session.print(
        f"deploying {plan.service} to {plan.environment} with {plan.strategy.name} "
        f"({plan.strategy.deployment_config_name})"
    )
    for violation in plan.violations:
        session.print(
            session.style(f"  forced past guardrail {violation.rule}: {violation.message}", "yellow")
        )
    try:  # main turns SIGTERM into KeyboardInterrupt for the whole run
        created = engine.start(plan, on_step=lambda label, detail: session.print(f"  {label:<22}{detail}"))
    except KeyboardInterrupt:
        if options.sandbox:
            raise InterruptedByUser(f"interrupted; {SANDBOX_GONE}") from None
        # CreateDeployment may have been in flight: point at the group's latest deployment.
        raise InterruptedByUser(
            f"interrupted before bluegreen saw a deployment id; if CreateDeployment was already sent "
            f"the deployment runs anyway: `bluegreen status {plan.service} --env {plan.environment}` "
            f"shows the group's latest"
        ) from None
    subject = _subject(plan, created, timeout, options.sandbox)
    with error_context(
        known.learned(deployment_id=created.deployment_id, status=DeploymentStatus.CREATED.value)
    ):
        try:  # an interrupt before the watch has started says the same as one during it
            _print_created(session, plan, created, timeout)
            return follow_created(session, engine, clients, subject, options.watch)
        except KeyboardInterrupt:
            raise InterruptedByUser(interrupted_message(subject)) from None


def _print_created(session: Session, plan: Any, created: Any, timeout: float) -> None:
    recovered = " (found by its request token after an ambiguous failure)" if created.recovered else ""
    session.print(
        f"  {'deployment':<22}{created.deployment_id} created{recovered}; expected "
        f"{_minutes(plan.expected_seconds)}, timeout {_minutes(timeout)}"
    )


def _subject(plan: Any, created: Any, timeout: float, sandbox: bool) -> Subject:
    return Subject(
        deployment_id=created.deployment_id,
        service=plan.service,
        environment=plan.environment,
        strategy=plan.strategy.name,
        deployment_config_name=plan.strategy.deployment_config_name,
        phases=plan.phases,
        timeout_seconds=timeout,
        ephemeral=sandbox,
        continues_at_ready=True,
        facts=documents.DeployFacts(
            task_definition_arn=created.task_definition_arn,
            request_token=plan.request_token,
            forced=plan.forced,
            guardrail_violations=[v.rule for v in plan.violations],
            create_attempts=created.attempts,
        ),
    )


def _timeout_seconds(default_seconds: float, flags: WatchFlags) -> float:
    return flags.timeout_minutes * 60.0 if flags.timeout_minutes is not None else default_seconds


def _minutes(seconds: float) -> str:
    from orchestrator.watching.views import duration

    return duration(seconds)


def plan_document(plan: Any, timeout: float) -> documents.DeployPlan:
    """The dry run for machines: the plan and the requests deploy would send."""
    step = plan.task_definition
    return documents.DeployPlan(
        service=plan.service,
        environment=plan.environment,
        application=plan.application,
        deployment_group=plan.deployment_group,
        strategy=plan.strategy.name,
        deployment_config_name=plan.strategy.deployment_config_name,
        create_deployment_config=plan.config_request,
        task_definition=documents.PlannedTaskDefinition(
            source=step.source, arn=step.arn, image=step.image, register=step.register
        ),
        guardrails=[documents.GuardrailViolation(rule=v.rule, message=v.message) for v in plan.violations],
        forced=plan.forced,
        expected_seconds=round(plan.expected_seconds),
        timeout_seconds=round(timeout),
        phases=[
            documents.PlannedPhase(name=phase.name, expected_seconds=round(phase.expected_seconds))
            for phase in plan.phases
        ],
        create_deployment=plan.create_request(),
        skipped_reads=list(plan.skipped_reads),
        dry_run=True,
    )


def plan_text(plan: Any, timeout: float) -> str:
    """The dry run for people: what deploy would do, and which reads it skipped."""
    step = plan.task_definition
    out: list[str] = []
    out.append(f"plan: deploy {plan.service} to {plan.environment} (dry run: nothing is changed)")
    out.append(f"  {'application':<22}{plan.application}")
    out.append(f"  {'deployment group':<22}{plan.deployment_group}")
    out.append(f"  {'strategy':<22}{plan.strategy.name}: {plan.strategy.describe()}")
    config = "predefined" if plan.config_request is None else "custom, created if missing"
    out.append(f"  {'deployment config':<22}{plan.strategy.deployment_config_name} ({config})")
    action = "register a new revision" if step.register is not None else "use as is"
    out.append(f"  {'task definition':<22}{step.source}: {action}")
    if step.register is not None:
        out.append(f"  {'':<22}family {step.register.get('family')}, image {step.image}")
    elif step.arn:
        out.append(f"  {'':<22}{step.arn}")
    rollback = "on failure and on alarm" if plan.auto_rollback else "off (catalog: auto_rollback false)"
    out.append(f"  {'auto rollback':<22}{rollback}")
    alarms = ", ".join(plan.facts.alarm_names) or "none"
    out.append(f"  {'alarms':<22}{alarms} (from the {plan.facts.source})")
    if plan.violations:
        for violation in plan.violations:
            out.append(f"  {'guardrail':<22}{violation.rule}: {violation.message} (overridden by --force)")
    else:
        out.append(f"  {'guardrails':<22}pass ({plan.environment})")
    out.append(f"  {'description':<22}{plan.description}")
    out.append(f"  {'expected duration':<22}{_minutes(plan.expected_seconds)} (timeout {_minutes(timeout)})")
    for phase in plan.phases:
        if phase.expected_seconds:
            out.append(f"    {phase.name:<24}{_minutes(phase.expected_seconds)}")
    out.append("  appspec (task definition ARN filled in after registration):")
    out += [f"    {line}" for line in plan.appspec.rstrip("\n").splitlines()]
    if plan.skipped_reads:
        out.append("  skipped reads (dry run makes no AWS call):")
        out += [f"    {read}" for read in plan.skipped_reads]
    return lines(*out)
