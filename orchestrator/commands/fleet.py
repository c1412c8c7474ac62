"""`bluegreen fleet deploy` and `bluegreen fleet watch`: many services in waves, one run id.

deploy: choose the services (names or --all), resolve each one's strategy and image, make each
one's plan with its own engine exactly as `bluegreen deploy` does (``Engine.plan``: every guardrail,
every read; nothing written), order them in waves (``fleet/plan.py``), then write the run's record
(``aws/fleet_runs.py``: SSM Parameter Store) BEFORE the first start, so the run can be found again
from any machine, and run it (``fleet/runner.py``) with the live view (``fleet/view.py``). Each
deployment carries the run id (``DeployInputs.fleet_run``: CodeDeploy's description, ECS's task
definition tag), which is what ``--resume`` and ``watch`` find (``Engine.fleet_deployments``): resume
starts only what the run had not started, watch only looks. Bad input (a flag, a name, a cycle,
a guardrail, an unknown run id) is exit 2 before any AWS write.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator import documents
from orchestrator.commands import recording
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session, sigterm_as_interrupt
from orchestrator.errors import (
    BadInputError,
    DeploymentFailedError,
    DeploymentTimeoutError,
    InterruptedByUser,
)

# The default --timeout: the plan's expected time plus this margin (deploy's rule: max(5 min, 20 %)).
MIN_MARGIN_SECONDS = 300.0
MARGIN_RATIO = 0.2
# How far before the record's creation time `fleet_deployments` looks (clocks of machines differ).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class FleetDeployOptions:
    """`bluegreen fleet deploy`."""

    services: tuple[str, ...] = ()
    all: bool = False
    strategy: str | None = None
    image_tag: str | None = None
    images: str | None = None
    max_parallel: int | None = None
    continue_on_failure: bool = False
    stop_on_failure: bool = True
    dry_run: bool = False
    resume: str | None = None
    timeout_minutes: float | None = None
    time_scale: float | None = None


@dataclass(frozen=True)
class FleetWatchOptions:
    """`bluegreen fleet watch`."""

    run_id: str
    timeout_minutes: float | None = None
    time_scale: float | None = None


# --- fleet deploy --------------------------------------------------------------------------------------


def deploy(session: Session, options: FleetDeployOptions) -> Result:
    _validate(options)
    environment = session.options.env or session.catalog.default_environment
    session.catalog.environment(environment)  # an unknown --env is bad input, named
    if options.resume is not None:
        return _resume(session, options, environment)
    request = _request(options, environment)
    if options.dry_run:  # waves, order, expected times: every service planned offline, no AWS call
        from orchestrator.fleet import plan_view
        from orchestrator.fleet.planning import plan_fleet

        plan = plan_fleet(session.catalog, request)
        return Result(plan_view.plan_document(plan), plan_view.plan_text(plan))
    from orchestrator.fleet.planning import fleet_inputs
    from orchestrator.fleet.run_id import new_run_id

    run_id = new_run_id(environment, datetime.now(UTC))
    provenance = recording.provenance_now()
    prepared = [
        _prepared(session, replace(inputs, fleet_run=run_id, provenance=provenance))
        for inputs in fleet_inputs(session.catalog, request).values()
    ]
    plan = _fleet_plan(session, options, environment, prepared)
    # Written before the first start: from here on the run can be found from any machine.
    _store(session, environment).put(run_id, environment, _record(run_id, plan, options))
    session.print(f"fleet run {run_id}: {len(prepared)} services in {len(plan.waves)} waves to {environment}")
    run = _Run(session, run_id, environment, plan, options.strategy, resumed=False)
    run.inputs = {item.inputs.service.name: item.inputs for item in prepared}
    return run.go(
        _members(plan, prepared), _policy(session, environment, plan.max_parallel, options), options
    )


def _request(options: FleetDeployOptions, environment: str) -> Any:
    from orchestrator.fleet.planning import FleetRequest

    return FleetRequest(
        environment=environment,
        services=options.services,
        all_services=options.all,
        strategy=options.strategy,
        image_tag=options.image_tag,
        images_file=options.images,
        max_parallel=options.max_parallel,
    )


def _validate(options: FleetDeployOptions) -> None:
    """What the flags alone say (fleet/planning.py checks the services, images and strategy)."""
    if options.timeout_minutes is not None and not 0 < options.timeout_minutes < math.inf:
        raise BadInputError(
            f"--timeout must be a positive number of minutes, got {options.timeout_minutes:g}"
        )
    if options.resume is None:
        return
    from orchestrator.fleet.plan import validate_max_parallel
    from orchestrator.fleet.run_id import parse_run_id

    parse_run_id(options.resume)  # a malformed id is bad input before any call
    if options.max_parallel is not None:
        validate_max_parallel(options.max_parallel)
    given = [
        flag
        for flag, value in (
            ("SERVICE", options.services),
            ("--all", options.all),
            ("--strategy", options.strategy),
            ("--image-tag", options.image_tag),
            ("--images", options.images),
            ("--dry-run", options.dry_run),
        )
        if value
    ]
    if given:
        raise BadInputError(
            f"--resume runs the fleet run's own plan; drop {', '.join(given)} "
            "(or start a new run without --resume)"
        )


@dataclass(frozen=True)
class _Prepared:
    """One service ready to start: what it deploys, its engine, the engine's plan (guardrails passed)."""

    inputs: Any  # DeployInputs
    engine: Any
    plan: Any


def _prepared(session: Session, inputs: Any) -> _Prepared:
    """deploy's plan path for one service (``Engine.plan``: its guardrails and reads; no write)."""
    from orchestrator.commands.failure import error_context
    from orchestrator.errors import ErrorContext

    service = inputs.service
    engine = session.engine(service)
    known = ErrorContext(service=service.name, environment=service.environment, strategy=inputs.strategy.name)
    with error_context(known):
        plan = engine.plan(inputs)
    return _Prepared(inputs, engine, plan)


def _fleet_plan(
    session: Session, options: FleetDeployOptions, environment: str, prepared: Sequence[_Prepared]
) -> Any:
    """The waves, with each service's expected time from its engine's (online) plan."""
    from orchestrator.fleet.plan import FleetService, build_plan

    fleet_services = [
        FleetService(
            service=item.inputs.service.name,
            engine=item.plan.engine,
            image=item.inputs.image,
            expected_seconds=float(item.plan.expected_seconds),
            strategy=item.inputs.strategy.name,
            depends_on=tuple(item.inputs.service.settings.depends_on),
        )
        for item in prepared
    ]
    waves = {item.inputs.service.name: item.inputs.service.settings.wave for item in prepared}
    max_parallel = options.max_parallel or session.catalog.environment(environment).fleet.max_parallel
    return build_plan(
        environment, fleet_services, waves, strategy=options.strategy, max_parallel=max_parallel
    )


def _policy(session: Session, environment: str, max_parallel: int, options: Any) -> Any:
    from orchestrator.fleet.runner import Policy

    settings = session.catalog.environment(environment).fleet
    return Policy(
        max_parallel=max_parallel,
        queue_wait_seconds=settings.queue_wait_minutes * 60.0,
        continue_on_failure=bool(options.continue_on_failure),
        stop_on_failure=bool(options.stop_on_failure),
    )


def _members(plan: Any, prepared: Sequence[_Prepared]) -> list[Any]:
    from orchestrator.fleet.runner import Member

    by_name = {item.inputs.service.name: item for item in prepared}
    return [
        Member(
            name=service.service,
            wave=wave.number,
            engine=by_name[service.service].engine,
            plan=by_name[service.service].plan,
            depends_on=service.depends_on,
            expected_seconds=service.expected_seconds,
        )
        for wave in plan.waves
        for service in wave.services
    ]


# --- the run record ------------------------------------------------------------------------------------


def _store(session: Session, environment: str) -> Any:
    from orchestrator.aws.fleet_runs import FleetRunStore

    region = session.catalog.resolve_all(environment)[0].region
    return FleetRunStore(session.clients(region).client("ssm"), session.catalog.project)


def _record(run_id: str, plan: Any, options: FleetDeployOptions) -> dict[str, Any]:
    """What `--resume` and `watch` need: the plan (fleet/plan.py's record) and the run's policy."""
    from orchestrator.fleet.plan import plan_record

    return {
        **plan_record(plan),
        "runId": run_id,
        "continueOnFailure": options.continue_on_failure,
        "stopOnFailure": options.stop_on_failure,
    }


@dataclass(frozen=True)
class _Recorded:
    """A fleet run's record, read back."""

    run_id: str
    since: datetime  # the run's deployments were created after this
    plan: Any  # FleetPlan
    continue_on_failure: bool
    stop_on_failure: bool


def _read_record(session: Session, run_id: str, environment: str) -> _Recorded:
    from orchestrator.fleet.plan import plan_from_record
    from orchestrator.fleet.run_id import parse_run_id

    started = parse_run_id(run_id).started  # a malformed id is bad input before any call
    document = _store(session, environment).get(run_id, environment)
    return _Recorded(
        run_id=run_id,
        since=started - CLOCK_SKEW,
        plan=plan_from_record(document),
        continue_on_failure=bool(document.get("continueOnFailure")),
        stop_on_failure=bool(document.get("stopOnFailure", True)),
    )


def _found(session: Session, recorded: _Recorded, service: Any) -> str | None:
    """The deployment this run started for ``service`` (its newest), if any."""
    found = session.engine(service).fleet_deployments(service, recorded.run_id, recorded.since)
    return str(found[0]) if found else None


def _resume(session: Session, options: FleetDeployOptions, environment: str) -> Result:
    """Start only what the run had not started; watch what it had (nothing is started twice)."""
    from orchestrator.engines.base import DeployInputs
    from orchestrator.fleet.runner import Member
    from orchestrator.strategies import parse_strategy

    assert options.resume is not None
    recorded = _read_record(session, options.resume, environment)
    plan = recorded.plan
    provenance = recording.provenance_now()
    members: list[Any] = []
    inputs: dict[str, Any] = {}
    for wave in plan.waves:
        for entry in wave.services:
            service = session.catalog.resolve(entry.service, environment)
            deployment_id = _found(session, recorded, service)
            prepared = None
            if deployment_id is None:  # not started: planned now, as deploy plans (guardrails)
                strategy = parse_strategy(entry.strategy or service.settings.strategy)
                made = DeployInputs(
                    service, strategy, image=entry.image, fleet_run=recorded.run_id, provenance=provenance
                )
                prepared = _prepared(session, made)
                inputs[service.name] = made
            members.append(
                Member(
                    name=service.name,
                    wave=wave.number,
                    engine=session.engine(service),
                    plan=prepared.plan if prepared is not None else None,
                    depends_on=entry.depends_on,
                    expected_seconds=entry.expected_seconds,
                    deployment_id=deployment_id,
                )
            )
    started = sum(1 for member in members if member.deployment_id)
    session.print(
        f"resuming fleet run {recorded.run_id}: {started} of {len(members)} services already started "
        "(watched, not started again)"
    )
    resumed = replace(
        options,
        continue_on_failure=options.continue_on_failure or recorded.continue_on_failure,
        stop_on_failure=options.stop_on_failure and recorded.stop_on_failure,
    )
    run = _Run(session, recorded.run_id, environment, plan, plan.strategy, resumed=True)
    run.inputs = inputs
    max_parallel = options.max_parallel or plan.max_parallel
    return run.go(members, _policy(session, environment, max_parallel, resumed), resumed)


# --- fleet watch ---------------------------------------------------------------------------------------


def watch(session: Session, options: FleetWatchOptions) -> Result:
    """Re-attach to a fleet run from its record and the deployments that carry its id; only looks."""
    from orchestrator.fleet.runner import Member

    if options.timeout_minutes is not None and not 0 < options.timeout_minutes < math.inf:
        raise BadInputError(
            f"--timeout must be a positive number of minutes, got {options.timeout_minutes:g}"
        )
    environment = session.options.env or session.catalog.default_environment
    session.catalog.environment(environment)
    recorded = _read_record(session, options.run_id, environment)
    plan = recorded.plan
    members = []
    for wave in plan.waves:
        for entry in wave.services:
            service = session.catalog.resolve(entry.service, environment)
            engine = session.engine(service)
            deployment_id = _found(session, recorded, service)
            members.append(
                Member(
                    service.name,
                    wave.number,
                    engine,
                    expected_seconds=entry.expected_seconds,
                    deployment_id=deployment_id,
                )
            )
    session.print(f"watching fleet run {recorded.run_id} ({len(members)} services in {environment})")

    def lookup(member: Any) -> str | None:
        return _found(session, recorded, session.catalog.resolve(member.name, environment))

    flags = FleetDeployOptions(timeout_minutes=options.timeout_minutes, time_scale=options.time_scale)
    run = _Run(session, recorded.run_id, environment, plan, plan.strategy, resumed=False, watching=True)
    return run.go(members, _policy(session, environment, plan.max_parallel, flags), flags, lookup=lookup)


# --- running and reporting -----------------------------------------------------------------------------


class _EnginesClock:
    """Real seconds as the services' own clocks count them: the newest ``Date`` any engine's client
    has seen (``Engine.server_clock``'s ``server_now``), divided by the time scale. AWS's clock runs
    with real time; a busy sandbox's virtual clock runs slower than real x scale (sandbox/clock.py),
    so counting real seconds would time a fleet out while its deployments are on schedule.

    Between answers it runs on at the nominal rate, but at most ``reach`` deployment seconds past
    the newest answer (DeploymentClock runs on without bound and then stands still, never going
    back, until a slow sandbox catches up: for a fleet that looks for minutes, that froze its
    durations and its call budget). Real time until an engine answered; never backwards."""

    def __init__(
        self,
        clocks: Sequence[Any],
        time_scale: float,
        real: Callable[[], float] = time.monotonic,
        reach: float = 60.0,
    ) -> None:
        self.clocks = list(clocks)
        self.scale = time_scale
        self.real = real
        self.reach = reach
        self._anchor: tuple[float, float] | None = None  # (our value, server time) at the first answer
        self._newest: tuple[float, float] | None = None  # (real, server time) when the newest was seen
        self._last = -math.inf

    def __call__(self) -> float:
        real = self.real()
        heard = [clock.server_now for clock in self.clocks if clock.server_now is not None]
        if not heard:
            value = real
        else:
            newest = max(heard)
            if self._anchor is None:
                self._anchor = (max(real, self._last), newest)
            if self._newest is None or newest > self._newest[1]:
                self._newest = (real, newest)
            ahead = min((real - self._newest[0]) * self.scale, self.reach)
            value = self._anchor[0] + (self._newest[1] + ahead - self._anchor[1]) / self.scale
        self._last = max(self._last, value)
        return self._last


@dataclass
class _Run:
    session: Session
    run_id: str
    environment: str
    plan: Any
    strategy: str | None
    resumed: bool
    watching: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)  # each started service's DeployInputs

    def reattach(self) -> str:
        env = f"--env {self.environment}"
        return (
            f"re-attach with `bluegreen fleet watch {self.run_id} {env}`, start what it had not started with "
            f"`bluegreen fleet deploy --resume {self.run_id} {env}`"
        )

    def go(
        self,
        members: list[Any],
        policy: Any,
        options: FleetDeployOptions,
        lookup: Callable[[Any], str | None] | None = None,
    ) -> Result:
        from orchestrator.fleet.runner import FleetRunner, RunOptions
        from orchestrator.fleet.view import make_view

        scale = _scale(options.time_scale)
        timeout = _timeout_seconds(self.plan.expected_seconds, options.timeout_minutes)
        run_options = RunOptions(
            policy=policy, timeout_seconds=timeout, time_scale=scale, starts=not self.watching
        )
        clock = _EnginesClock([engine.server_clock(scale) for engine in self.session.engines], scale)
        view = make_view(self.session, f"fleet {self.run_id} ({self.environment})")
        runner = FleetRunner(
            members,
            run_options,
            clock=clock,
            listener=view.update,
            on_started=self._started,
            lookup=lookup,
            real=time.monotonic,
        )
        try:
            with sigterm_as_interrupt():
                result = runner.run()
        except KeyboardInterrupt:
            raise InterruptedByUser(
                f"interrupted; fleet run {self.run_id}'s deployments keep running: {self.reattach()}"
            ) from None
        finally:
            view.close()
        return self._report(result, timeout)

    def _started(self, member: Any, started: Any) -> None:
        """deploy's ledger row for each deployment the fleet starts (a warning when it cannot)."""
        inputs = self.inputs[member.name]
        clients = self.session.clients(inputs.service.region)
        record = recording.started_record(member.plan, started, inputs, recording.now_utc())
        recording.record_start(self.session, clients, inputs.service, record)

    def _report(self, result: Any, timeout: float) -> Result:
        rows = [self._row(member) for member in result.members]
        failed = not result.succeeded
        document = documents.FleetDocument(
            fleet_run_id=self.run_id,
            environment=self.environment,
            strategy=self.strategy,
            outcome="timed out" if result.timed_out else ("failed" if failed else "succeeded"),
            broken_by=result.broken_by,
            resumed=self.resumed,
            services=rows,
            totals=_totals(rows),
            duration_seconds=round(result.elapsed_seconds, 1),
            expected_seconds=round(self.plan.expected_seconds) if self.plan.expected_seconds else None,
            timeout_seconds=round(timeout),
            api_calls=_api_calls(self.session.engines),
            watch_calls=result.poll_calls,
            calls_per_minute=result.calls_per_minute,
            max_calls_per_minute=result.max_calls_per_minute,
            calls_per_minute_limit=result.calls_per_minute_limit,
            polls=result.polls,
            exit_code=_exit_code(result),
        )
        return Result(document, self._text(document), self._error(result, document))

    def _row(self, member: Any) -> documents.FleetServiceRow:
        snapshot = member.snapshot
        return documents.FleetServiceRow(
            service=member.name,
            wave=member.wave,
            engine=member.engine.name,
            deployment_id=member.deployment_id,
            status=snapshot.status.value if snapshot is not None else None,
            outcome=member.outcome or member.standing.value,
            duration_seconds=round(member.duration, 1) if member.duration is not None else None,
            expected_seconds=round(member.expected_seconds) if member.expected_seconds else None,
            why=self._why(member),
        )

    def _why(self, member: Any) -> str | None:
        """The root cause line deploy prints (`bluegreen why`'s) for a deployment that ended badly;
        the fleet's own reason for one it stopped or never started."""
        if member.outcome == "succeeded":
            return None
        stopped_by_fleet = (member.reason or "").startswith("stopped:")
        if member.deployment_id and member.snapshot is not None and not stopped_by_fleet:
            cause = _root_cause(self.session, member)
            if cause:
                return cause
        return member.reason

    def _text(self, document: documents.FleetDocument) -> str:
        from orchestrator.watching.views import duration

        totals = document.totals
        head = (
            f"fleet {document.outcome} in {duration(document.duration_seconds)}  {document.fleet_run_id}  "
            f"{totals.succeeded}/{totals.services} succeeded"
        )
        out = [self.session.style(head, "green" if document.exit_code == 0 else "red")]
        for row in document.services:
            took = f" in {duration(row.duration_seconds)}" if row.duration_seconds is not None else ""
            why = f": {row.why}" if row.why else ""
            out.append(
                f"  wave {row.wave}  {row.service:<24}{row.outcome}{took}  {row.deployment_id or '-'}{why}"
            )
        out.append(
            f"  {document.api_calls} API calls; watching {document.watch_calls} "
            f"({document.calls_per_minute:g}/min, peak {document.max_calls_per_minute}/min, "
            f"limit {document.calls_per_minute_limit}/min)"
        )
        return lines(*out)

    def _error(self, result: Any, document: documents.FleetDocument) -> Any:
        if result.timed_out:
            return DeploymentTimeoutError(
                f"fleet run {self.run_id} still running after the "
                f"{round(document.timeout_seconds / 60, 1):g}-minute timeout; its deployments keep running: "
                f"{self.reattach()}"
            )
        if result.succeeded:
            return None
        if result.broken_by is not None:
            row = next(row for row in document.services if row.service == result.broken_by)
            why = f": {row.why}" if row.why else ""
            return DeploymentFailedError(f"fleet run {self.run_id} failed: {row.service} {row.outcome}{why}")
        not_done = [row.service for row in document.services if row.outcome != "succeeded"]
        return DeploymentFailedError(
            f"fleet run {self.run_id}: not every service succeeded ({', '.join(not_done)}); "
            f"`bluegreen fleet deploy --resume {self.run_id} --env {self.environment}` "
            "starts what was not started"
        )


def _root_cause(session: Session, member: Any) -> str | None:
    """follow.root_cause for one of the fleet's deployments (None: not diagnosed)."""
    from orchestrator.commands.follow import root_cause
    from orchestrator.watching.loop import WatchResult
    from orchestrator.watching.views import Outcome

    snapshot = member.snapshot
    ended = WatchResult(member.deployment_id, snapshot, [], False, False, member.duration or 0.0, 0, 0, 0)
    engine = member.engine
    return root_cause(
        session, engine, engine.clients, member.deployment_id, (ended, Outcome(member.outcome, False))
    )


def _api_calls(engines: Sequence[Any]) -> int:
    """Every call the run's clients made (engines of one region share their clients: counted once)."""
    clients = {id(engine.clients): engine.clients for engine in engines}
    return sum(item.counter.total for item in clients.values())


def _totals(rows: Sequence[documents.FleetServiceRow]) -> documents.FleetTotals:
    count = lambda *words: sum(1 for row in rows if row.outcome in words)  # noqa: E731
    return documents.FleetTotals(
        services=len(rows),
        succeeded=count("succeeded"),
        failed=count("failed", "stopped", "rolled back"),
        skipped=count("skipped", "not started"),
        running=count("running", "queued", "waiting"),
    )


def _exit_code(result: Any) -> int:
    if result.timed_out:
        return DeploymentTimeoutError.exit_code
    return 0 if result.succeeded else DeploymentFailedError.exit_code


def _scale(time_scale: float | None) -> float:
    from orchestrator.commands.options import WatchFlags

    return WatchFlags(time_scale=time_scale).scale()


def _timeout_seconds(expected_seconds: float, minutes: float | None) -> float:
    if minutes is not None:
        return minutes * 60.0
    return expected_seconds + max(MIN_MARGIN_SECONDS, MARGIN_RATIO * expected_seconds)
