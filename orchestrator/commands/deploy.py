"""`bluegreen deploy SERVICE`: plan, then (unless --dry-run) apply and watch."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator import documents
from orchestrator.commands import recording
from orchestrator.commands.failure import error_context
from orchestrator.commands.follow import (
    SANDBOX_GONE,
    Subject,
    follow_created,
    interrupted_message,
    watched_alarms,
)
from orchestrator.commands.options import DeployOptions, WatchFlags
from orchestrator.commands.result import Result
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, ErrorContext, InterruptedByUser
from orchestrator.vocabulary import DeploymentStatus, EngineName


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


def validate_engine(name: str | None) -> EngineName | None:
    """``--engine``'s value as an EngineName; BadInputError naming the valid ones."""
    if name is None:
        return None
    try:
        return EngineName(name.strip().lower())
    except ValueError:
        valid = ", ".join(engine.value for engine in EngineName)
        raise BadInputError(f"--engine {name!r}: valid values are {valid}") from None


def with_engine(service: Any, engine: EngineName | None) -> Any:
    """The service with ``--engine`` in place of the catalog's engine for this run (seam item 1)."""
    if engine is None:
        return service
    return dataclasses.replace(service, settings=service.settings.model_copy(update={"engine": engine}))


def run(session: Session, options: DeployOptions) -> Result:
    """Validate everything that needs no AWS, then deploy (inside the sandbox with --sandbox).

    An error carries what was known when it was raised: each step below adds what it learned.
    """
    from orchestrator.strategies import parse_strategy

    known = ErrorContext(service=options.service, environment=session.options.env, strategy=options.strategy)
    with error_context(known):
        validate_watch_flags(options.watch)
        engine = validate_engine(options.engine)
        if options.sandbox:  # before the catalog is even read: say at once what to install
            from orchestrator.commands import sandbox_extra

            sandbox_extra.require("--sandbox")
        if options.inject_faults and not options.sandbox:
            raise BadInputError("--inject-fault works only with --sandbox (it changes the local fleet)")
        service = with_engine(session.resolve(options.service), engine)
    # `--strategy ""` is a typo to refuse, not "the catalog's default" (it used to deploy).
    chosen = service.settings.strategy if options.strategy is None else options.strategy
    known = known.learned(environment=service.environment, strategy=chosen)
    with error_context(known):
        strategy = parse_strategy(chosen)
    known = known.learned(strategy=strategy.name)
    with error_context(known):
        if options.sandbox:
            return _deploy_in_sandbox(session, options, service, strategy, known)
        return _deploy(session, options, service, strategy, known)


class _Unsuccessful(Exception):
    """Carries a deployment's failed result out of the sandbox, so the sandbox keeps its hooks.log."""

    def __init__(self, result: Result) -> None:
        super().__init__("deployment did not succeed")
        self.result = result


def _deploy_in_sandbox(
    session: Session, options: DeployOptions, service: Any, strategy: Any, known: ErrorContext
) -> Result:
    """Deploy in a sandbox started for this run. The sandbox keeps its hooks.log when the body
    raises, and a failed deployment is a result, not an error: raised through it, then returned."""
    try:
        with sandbox_environment(session, options, service) as environment, applied(environment):
            result = _deploy(session, options, service, strategy, known)
            if result.error is not None:
                raise _Unsuccessful(result)
            return result
    except _Unsuccessful as unsuccessful:
        return unsuccessful.result


@contextmanager
def sandbox_environment(session: Session, options: DeployOptions, service: Any) -> Iterator[dict[str, str]]:
    """Start the local world (moto + CodeDeploy emulator + fleet) and yield its endpoint variables.
    The world provisions the service for the engine this run deploys with (``--engine`` included)."""
    from orchestrator.commands import sandbox_extra

    # Imported by name: orchestrator/ does not depend on sandbox/ (only this switch uses it).
    start_world = sandbox_extra.load("world", "sandbox_environment", "--sandbox")
    with start_world(
        session.catalog,
        service.environment,
        services=[service.name],
        time_scale=options.watch.time_scale,
        faults=list(options.inject_faults),
        engine=service.settings.engine,  # the catalog's, or --engine's for this run
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
        return Result(plan.dry_run_document(timeout), plan.dry_run_text(timeout))
    # Who deploys which commit: in the description (CodeDeploy) and the ledger. Not in a dry run,
    # which prints the plan the same wherever it runs.
    inputs = dataclasses.replace(inputs, provenance=recording.provenance_now())
    plan = engine.plan(inputs)
    timeout = _timeout_seconds(plan.timeout_seconds, options.watch)
    session.print(
        f"deploying {plan.service} to {plan.environment} with {plan.strategy.name} ({plan.config_name})"
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
        # The request that starts it may have been in flight: point at the service's latest deployment.
        raise InterruptedByUser(
            f"interrupted before bluegreen saw a deployment id; if the deployment request was already sent "
            f"the deployment runs anyway: `bluegreen status {plan.service} --env {plan.environment}` "
            f"shows the service's latest"
        ) from None
    recording.record_start(
        session, clients, service, recording.started_record(plan, created, inputs, recording.now_utc())
    )
    subject = dataclasses.replace(
        _subject(plan, created, timeout, options.sandbox),
        alarm_names=watched_alarms(service),
        probe_service=service,
        ledger_table=service.settings.ledger_table,
    )
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
        deployment_config_name=plan.config_name,
        phases=plan.phases,
        timeout_seconds=timeout,
        ephemeral=sandbox,
        continues_at_ready=True,
        engine=plan.engine,
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
