"""One deployment, planned then applied.

``build_plan`` turns the catalog, the strategy and a few reads into an immutable ``DeploymentPlan``:
the task definition to register, the deployment config to ensure, the guardrail verdict, the
AppSpec and the CreateDeployment request. ``apply_plan`` runs it: refuse when the group is busy,
ensure the config, register the task definition, create the deployment exactly once. A dry run is
just printing the plan: it makes no write call, and with ``OfflineReads`` no AWS call at all.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from orchestrator.appspec import EcsAppSpecInput, appspec_revision, ecs_input_for, render_ecs_appspec
from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.aws import ecs as ecs_api
from orchestrator.aws.clients import backoff_seconds, error_code, is_throttling, retry_throttled
from orchestrator.aws.codedeploy import CodeDeployApi
from orchestrator.catalog import ResolvedService
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.guardrails import (
    DESCRIPTION_LIMIT,
    GuardrailViolation,
    check_guardrails,
    force_note,
    refusal_message,
    strategy_violations,
)
from orchestrator.errors import (
    ActiveDeploymentError,
    AwsError,
    BadInputError,
    BluegreenError,
    ErrorContext,
    GuardrailError,
)
from orchestrator.files.taskdef import (
    container_image,
    from_current,
    load_task_definition,
    validate_image,
    validate_task_definition_arn,
)
from orchestrator.insight.provenance import description_note
from orchestrator.strategies import Strategy
from orchestrator.vocabulary import ROLLBACK_ON
from orchestrator.watching.timing import GroupTiming, Phase, default_timeout, expected_phases, hook_budgets

# CreateDeployment is not idempotent and has no client token: bluegreen puts its own token in the
# description and looks for it before trying again after an ambiguous failure.
# CodeDeploy's quota for a description is 100 characters (guardrails.DESCRIPTION_LIMIT): the
# token goes first so it always survives, then the --force note, then what the deployment is.
TOKEN_PREFIX = "bg:"
# `bluegreen fleet`: the fleet run a deployment belongs to, right after the token ("fleet <run id>"),
# so it too always survives: `fleet --resume` finds the run's deployments by it
# (CodeDeployEngine.fleet_deployments) and would deploy a service twice without it.
FLEET_PREFIX = "fleet "
# A run id is short (fleet/run_id.py: "fr-20261130t0730z-3f9a", 22 characters); 40 leaves the
# description room for the --force note: "bg:" + 12 + "; " + "fleet " + 40 = 63 of 100 characters.
FLEET_RUN_LIMIT = 40
_FLEET_RUN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9-]{{0,{FLEET_RUN_LIMIT - 1}}}")
_FLEET_NOTE = re.compile(r"(?:^|; )" + FLEET_PREFIX + r"(?P<run>[A-Za-z0-9-]+)(?=;|$)")
CREATE_ATTEMPTS = 3  # attempts that fail ambiguously (each followed by a token search)
# Throttled attempts were not applied, so more of them are safe: at 30 % throttling all 10 are
# refused with a chance of 0.3**10, about 6e-6.
THROTTLED_CREATE_ATTEMPTS = 10


@dataclass(frozen=True)
class GroupFacts:
    """What bluegreen needs to know about the deployment group: alarms and timing."""

    alarms_enabled: bool
    alarm_names: tuple[str, ...]
    timing: GroupTiming
    source: str  # "GetDeploymentGroup" or "catalog"


class TaskDefinitionReads(Protocol):
    """The reads ``task_definition_step`` needs (both engines)."""

    def current_task_definition(self, service: ResolvedService) -> dict[str, Any] | None: ...

    def task_definition_exists(self, arn: str) -> None: ...


class Reads(TaskDefinitionReads, Protocol):
    """The reads a plan needs; AwsReads asks AWS, OfflineReads answers from the catalog (dry run)."""

    skipped: list[str]

    def group_facts(self, service: ResolvedService) -> GroupFacts: ...


def catalog_facts(service: ResolvedService) -> GroupFacts:
    """Group facts as the catalog declares them (what bluegreen's template creates)."""
    return GroupFacts(
        alarms_enabled=bool(service.settings.alarms),
        alarm_names=tuple(service.settings.alarms),
        timing=GroupTiming.for_service(service),
        source="catalog",
    )


class OfflineReads:
    """No AWS access: everything from the catalog; records which reads were skipped."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def group_facts(self, service: ResolvedService) -> GroupFacts:
        self.skipped.append("codedeploy:GetDeploymentGroup (alarms and waits taken from the catalog)")
        return catalog_facts(service)

    def current_task_definition(self, service: ResolvedService) -> dict[str, Any] | None:
        self.skipped.append("ecs:DescribeServices + DescribeTaskDefinition (the running task definition)")
        return None

    def task_definition_exists(self, arn: str) -> None:
        self.skipped.append(f"ecs:DescribeTaskDefinition {arn} (that it exists)")


class AwsReads:
    """Reads from AWS through thin adapters."""

    def __init__(self, codedeploy: CodeDeployApi, ecs: Any) -> None:
        self.codedeploy = codedeploy
        self.ecs = ecs
        self.skipped: list[str] = []

    def group_facts(self, service: ResolvedService) -> GroupFacts:
        settings = service.settings
        group = retry_throttled(
            lambda: codedeploy_api.get_deployment_group(
                self.codedeploy, settings.application, settings.deployment_group
            )
        )
        alarms = group.get("alarmConfiguration") or {}
        names = tuple(str(alarm.get("name")) for alarm in alarms.get("alarms", []) or [])
        timing = GroupTiming.from_blue_green_config(
            group.get("blueGreenDeploymentConfiguration"), hook_budgets(service)
        )
        return GroupFacts(bool(alarms.get("enabled")) and bool(names), names, timing, "GetDeploymentGroup")

    def current_task_definition(self, service: ResolvedService) -> dict[str, Any] | None:
        settings = service.settings
        arn = retry_throttled(
            lambda: ecs_api.current_task_definition_arn(self.ecs, settings.cluster, settings.ecs_service)
        )
        return retry_throttled(lambda: ecs_api.describe_task_definition(self.ecs, arn))

    def task_definition_exists(self, arn: str) -> None:
        """BadInputError when ECS does not know ``arn`` (a read, before anything is written)."""
        ecs_api.describe_task_definition(self.ecs, arn)


@dataclass(frozen=True)
class TaskDefinitionStep:
    """The task definition the replacement task set runs: registered from ``register`` or ``arn``."""

    source: str
    register: dict[str, Any] | None
    arn: str | None
    image: str | None


@dataclass(frozen=True)
class DeploymentPlan:
    """Everything one deployment will do, decided before any write call."""

    service: str
    environment: str
    application: str
    deployment_group: str
    strategy: Strategy
    task_definition: TaskDefinitionStep
    config_request: dict[str, Any] | None
    violations: tuple[GuardrailViolation, ...]
    forced: bool
    auto_rollback: bool
    appspec_input: EcsAppSpecInput
    appspec: str  # with the <TASK_DEFINITION> placeholder until the task definition is registered
    appspec_fixed: bool  # True: an earlier revision, sent as is
    description: str
    request_token: str
    facts: GroupFacts
    phases: tuple[Phase, ...]
    timeout_seconds: float
    skipped_reads: tuple[str, ...]

    engine: str = "codedeploy"

    @property
    def expected_seconds(self) -> float:
        return sum(phase.expected_seconds for phase in self.phases)

    @property
    def config_name(self) -> str:
        """The engine's name for what runs the strategy: CodeDeploy's deployment config."""
        return self.strategy.deployment_config_name

    def dry_run_document(self, timeout: float) -> Any:
        from orchestrator.engines.dry_run import codedeploy_plan_document

        return codedeploy_plan_document(self, timeout)

    def dry_run_text(self, timeout: float) -> str:
        from orchestrator.engines.dry_run import codedeploy_plan_text

        return codedeploy_plan_text(self, timeout)

    def create_request(self, appspec: str | None = None) -> dict[str, Any]:
        """CreateDeployment kwargs (with the final AppSpec once the task definition ARN is known)."""
        request: dict[str, Any] = {
            "applicationName": self.application,
            "deploymentGroupName": self.deployment_group,
            "deploymentConfigName": self.strategy.deployment_config_name,
            "description": self.description,
            "revision": appspec_revision(appspec if appspec is not None else self.appspec),
        }
        if self.auto_rollback:
            request["autoRollbackConfiguration"] = {"enabled": True, "events": list(ROLLBACK_ON)}
        return request


def task_definition_step(inputs: DeployInputs, reads: TaskDefinitionReads) -> TaskDefinitionStep:
    """Where the task definition comes from (both engines): an ARN as is, a file or the catalog's
    file registered, or the running one with ``--image``; checked before anything is written."""
    service = inputs.service
    if inputs.image is not None:
        validate_image(inputs.image)
    given = inputs.task_definition
    if given and given.startswith("arn:"):
        validate_task_definition_arn(given)
        if inputs.appspec_content is None:  # the user's ARN (not a rollback's): it must exist
            reads.task_definition_exists(given)
        return TaskDefinitionStep(source="existing ARN", register=None, arn=given, image=inputs.image)
    if given:
        # A file given on the command line replaces the catalog's task definition source.
        path = Path(given).resolve()
        service = dataclasses.replace(service, task_definition_path=path)
        register = load_task_definition(service, inputs.image, shown_as=given)
        container = service.settings.container_name
        return TaskDefinitionStep(given, register, None, container_image(register, container))
    if service.task_definition_path is not None:
        register = load_task_definition(service, inputs.image)
        container = service.settings.container_name
        return TaskDefinitionStep(
            str(service.settings.task_definition), register, None, container_image(register, container)
        )
    if inputs.image is None:
        load_task_definition(service, None)  # raises the "pass --image" TaskDefinitionError
    assert inputs.image is not None
    described = reads.current_task_definition(service)
    if described is None:
        return TaskDefinitionStep("running task definition + --image (not read)", None, None, inputs.image)
    register = from_current(described, service.settings.container_name, inputs.image)
    return TaskDefinitionStep(
        f"running task definition {described.get('taskDefinitionArn')} + --image",
        register,
        None,
        inputs.image,
    )


def check_fleet_run(fleet_run: str) -> str:
    """The fleet run id as a deployment carries it (both engines); BadInputError when it cannot be:
    1-40 letters, digits or hyphens (it must fit CodeDeploy's description and read back whole)."""
    if not _FLEET_RUN.fullmatch(fleet_run):
        raise BadInputError(
            f"fleet run id {fleet_run!r} is not valid: 1-{FLEET_RUN_LIMIT} letters, digits or hyphens, "
            "starting with a letter or digit (as `bluegreen fleet deploy` makes them)"
        )
    return fleet_run


def fleet_note(fleet_run: str) -> str:
    """``fleet fr-20261130t0730z-3f9a``: what the description says of the deployment's fleet run."""
    return f"{FLEET_PREFIX}{check_fleet_run(fleet_run)}"


def fleet_run_of(description: str | None) -> str | None:
    """The fleet run ``fleet_note`` wrote into a description, if any."""
    found = _FLEET_NOTE.search(description or "")
    return found.group("run") if found else None


def _description(inputs: DeployInputs, violations: list[GuardrailViolation]) -> str:
    service = inputs.service
    parts = [f"{TOKEN_PREFIX}{inputs.request_token}"]
    if inputs.fleet_run is not None:
        parts.append(fleet_note(inputs.fleet_run))
    if inputs.drill_fault is not None:  # the hooks read it back: it must survive the limit too
        from orchestrator.commands.drill_rules import Fault, fault_marker

        parts.append(fault_marker(Fault(inputs.drill_fault)))
    if violations and inputs.force:
        parts.append(force_note(violations))
    what = f"bluegreen {inputs.reason} {service.name} {inputs.strategy.name}"
    # The token, the fleet run and the --force note must survive (a long note is cut at the limit);
    # then who ran it from which commit (provenance.description_note); the summary goes only where
    # it fits whole. What drops first: the summary, then the note's commit time, then the note.
    for extra in _description_choices(inputs, what):
        if len("; ".join([*parts, *extra])) <= DESCRIPTION_LIMIT:
            parts.extend(extra)
            break
    return "; ".join(parts)[:DESCRIPTION_LIMIT]


def _description_choices(inputs: DeployInputs, what: str) -> list[list[str]]:
    """What may follow the token and the --force note, best first. A rollback's summary outranks
    the provenance note: `rollback` reads it back to refuse a ping-pong (commands/rollback.py)."""
    provenance = inputs.provenance
    full = description_note(provenance) if provenance is not None else ""
    short = description_note(provenance, with_time=False) if provenance is not None else ""
    notes = [note for note in dict.fromkeys([full, short]) if note]
    if inputs.reason == "rollback":
        return [*([note, what] for note in notes), [what]]
    return [*([note, what] for note in notes[:1]), *([note] for note in notes), [what]]


def build_plan(inputs: DeployInputs, reads: Reads) -> DeploymentPlan:
    """Decide everything: raises BadInputError subclasses (exit 2) before anything is written."""
    service = inputs.service
    settings = service.settings
    # What the strategy alone breaks is refused before any read: no credentials needed to learn it.
    early = strategy_violations(service, inputs.strategy)
    if early and not inputs.force:
        raise GuardrailError(refusal_message(service, early))
    if inputs.fleet_run is not None:
        check_fleet_run(inputs.fleet_run)
    step = task_definition_step(inputs, reads)
    facts = reads.group_facts(service)
    violations = check_guardrails(
        service,
        inputs.strategy,
        facts.alarms_enabled,
        list(facts.alarm_names),
        settings.deployment.auto_rollback,
    )
    if violations and not inputs.force:
        raise GuardrailError(refusal_message(service, violations))
    appspec_input = ecs_input_for(service, step.arn)
    appspec = inputs.appspec_content or render_ecs_appspec(appspec_input)
    # deploy and rollback continue a deployment that waits at Ready themselves (unless --until ready).
    phases = tuple(expected_phases(inputs.strategy, facts.timing, continued_at_ready=True))
    return DeploymentPlan(
        service=service.name,
        environment=service.environment,
        application=settings.application,
        deployment_group=settings.deployment_group,
        strategy=inputs.strategy,
        task_definition=step,
        config_request=inputs.strategy.create_request(),
        violations=tuple(violations),
        forced=bool(violations) and inputs.force,
        # A drill (commands/drill.py) tests the group's own rollback wiring: no per-deployment override.
        auto_rollback=settings.deployment.auto_rollback and inputs.reason != "drill",
        appspec_input=appspec_input,
        appspec=appspec,
        appspec_fixed=inputs.appspec_content is not None,
        description=_description(inputs, violations),
        request_token=inputs.request_token,
        facts=facts,
        phases=phases,
        timeout_seconds=default_timeout(inputs.strategy, facts.timing, continued_at_ready=True),
        skipped_reads=tuple(reads.skipped),
    )


@dataclass(frozen=True)
class Created:
    """What apply_plan did: the deployment id and the writes it made."""

    deployment_id: str
    task_definition_arn: str
    config: str  # "predefined", "existing" or "created"
    appspec: str
    attempts: int
    recovered: bool  # found by its request token after an ambiguous CreateDeployment failure


def _busy_error(
    application: str, deployment_group: str, active: str | None, why: str = ""
) -> ActiveDeploymentError:
    """The documented refusal: the group already runs a deployment (named when known)."""
    where = f"deployment group {application}/{deployment_group} already has an active deployment"
    if active is None:
        return ActiveDeploymentError(
            f"{where} (CodeDeploy refused a second one{why}); wait for it to finish or stop it, then retry"
        )
    return ActiveDeploymentError(
        f"{where} {active}; watch it with `bluegreen watch {active}` "
        f"or stop it with `bluegreen stop {active}`",
        known=ErrorContext(active_deployment_id=active),
    )


def _active(
    codedeploy: CodeDeployApi, application: str, deployment_group: str, sleep: Callable[[float], None]
) -> list[str]:
    return retry_throttled(
        lambda: codedeploy_api.active_deployments(codedeploy, application, deployment_group), sleep=sleep
    )


def refuse_if_active(
    codedeploy: CodeDeployApi,
    application: str,
    deployment_group: str,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """ActiveDeploymentError naming the group's running deployment and how to watch it."""
    active = _active(codedeploy, application, deployment_group, sleep)
    if active:
        raise _busy_error(application, deployment_group, active[0])


def busy_refusal(
    codedeploy: CodeDeployApi,
    application: str,
    deployment_group: str,
    sleep: Callable[[float], None] = time.sleep,
) -> ActiveDeploymentError:
    """CreateDeployment lost the race for the group (DeploymentLimitExceededException): name the winner.

    If looking it up fails too, the refusal is still one clear line, without the id.
    """
    try:
        active = _active(codedeploy, application, deployment_group, sleep)
    except BluegreenError as err:
        return _busy_error(application, deployment_group, None, f"; looking it up failed: {err}")
    return _busy_error(application, deployment_group, active[0] if active else None)


class CreateFailure(enum.Enum):
    """How one CreateDeployment attempt failed, as far as retrying is concerned."""

    THROTTLED = "throttled"  # refused for the request rate: not applied, safe to send again
    AMBIGUOUS = "ambiguous"  # timeout, dropped connection, 5xx: may have created a deployment
    GROUP_BUSY = "group busy"  # DeploymentLimitExceededException: the group runs another one
    REFUSED = "refused"  # any other answer: definite, not applied


class Then(enum.Enum):
    RETRY = "retry"
    REFUSE_BUSY = "refuse busy"
    FAIL = "fail"


@dataclass(frozen=True)
class CreateDecision:
    """What to do after a failed attempt: look for our token first?, then retry, refuse or fail."""

    search_first: bool
    then: Then


def classify_create_failure(err: BaseException) -> CreateFailure:
    """CreateFailure of an error raised by codedeploy_api.create_deployment_once."""
    if isinstance(err, codedeploy_api.AmbiguousCallError):
        return CreateFailure.AMBIGUOUS
    if is_throttling(err):
        return CreateFailure.THROTTLED
    if error_code(err.__cause__ or err) == "DeploymentLimitExceededException":
        return CreateFailure.GROUP_BUSY
    return CreateFailure.REFUSED


def decide_after_create_failure(
    failure: CreateFailure, ambiguous_seen: bool, throttled: int, ambiguous: int
) -> CreateDecision:
    """The retry decision (pure). ``ambiguous_seen``: this or an earlier attempt was ambiguous;
    ``throttled``/``ambiguous``: how many attempts failed that way so far, this one included.

    Once an attempt was ambiguous, our token is searched before any next step: a retry would
    duplicate it, a "busy" refusal may be about our own deployment, a failure may hide it.
    """
    if failure is CreateFailure.THROTTLED:
        then = Then.RETRY if throttled < THROTTLED_CREATE_ATTEMPTS else Then.FAIL
    elif failure is CreateFailure.AMBIGUOUS:
        then = Then.RETRY if ambiguous < CREATE_ATTEMPTS else Then.FAIL
    elif failure is CreateFailure.GROUP_BUSY:
        then = Then.REFUSE_BUSY
    else:
        then = Then.FAIL
    return CreateDecision(search_first=ambiguous_seen, then=then)


def create_exactly_once(
    codedeploy: CodeDeployApi,
    codedeploy_once: CodeDeployApi,
    request: dict[str, Any],
    token: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_nothing_created: Callable[[], None] | None = None,
) -> tuple[str, int, bool]:
    """CreateDeployment without ever making two: (deployment id, attempts, recovered).

    ``codedeploy_once`` must not retry. Throttled attempts are sent again with backoff (they were
    not applied); after an ambiguous failure the group's recent deployments are searched for
    ``token`` (in the description) before anything else. When the call ends in an error and we
    are sure no deployment was made, ``on_nothing_created`` runs first (to clean up).
    """
    application, group = request["applicationName"], request["deploymentGroupName"]
    # Clocks differ between us and AWS; look back far enough to cover the skew.
    since = now() - timedelta(minutes=10)
    counts = {failure: 0 for failure in CreateFailure}
    ambiguous_seen = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return codedeploy_api.create_deployment_once(codedeploy_once, request), attempt, False
        except (codedeploy_api.AmbiguousCallError, BluegreenError) as err:
            failure = classify_create_failure(err)
            error: BaseException = err
        counts[failure] += 1
        ambiguous_seen = ambiguous_seen or failure is CreateFailure.AMBIGUOUS
        decision = decide_after_create_failure(
            failure, ambiguous_seen, counts[CreateFailure.THROTTLED], counts[CreateFailure.AMBIGUOUS]
        )
        if failure is CreateFailure.AMBIGUOUS:  # give CodeDeploy time to list what it made
            sleep(min(2.0 * attempt, 10.0))
        elif decision.then is Then.RETRY:
            sleep(backoff_seconds(counts[failure]))
        if decision.search_first:
            found = retry_throttled(
                lambda: codedeploy_api.find_deployment_by_token(codedeploy, application, group, token, since),
                sleep=sleep,
            )
            if found:
                return found, attempt, True
        if decision.then is Then.RETRY:
            continue
        if on_nothing_created is not None:
            on_nothing_created()  # a definite refusal, or an ambiguous one our token search ruled out
        if decision.then is Then.REFUSE_BUSY:
            raise busy_refusal(codedeploy, application, group, sleep)
        if failure is CreateFailure.AMBIGUOUS:
            raise AwsError(f"{error} (tried {attempt} times; no deployment was created)")
        raise error


def apply_plan(
    plan: DeploymentPlan,
    clients: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_step: Callable[[str, str], None] | None = None,
) -> Created:
    """Run the plan's writes in order: active check, config, task definition, CreateDeployment.

    A task definition revision registered here is deregistered again when CreateDeployment
    certainly made no deployment, so a refused deploy leaves no orphan revision behind.
    """
    codedeploy = clients.client("codedeploy")
    note = on_step or (lambda _step, _detail: None)
    refuse_if_active(codedeploy, plan.application, plan.deployment_group, sleep)
    config = "predefined"
    if plan.config_request is not None:
        request = plan.config_request
        config = retry_throttled(
            lambda: codedeploy_api.ensure_deployment_config(codedeploy, request), sleep=sleep
        )
        note("deployment config", f"{plan.strategy.deployment_config_name} ({config})")
    arn, registered = register_step(plan.task_definition, clients, sleep, note)
    appspec = plan.appspec
    if not plan.appspec_fixed:
        appspec = render_ecs_appspec(dataclasses.replace(plan.appspec_input, task_definition_arn=arn))

    def clean_up() -> None:
        if registered is not None:
            note("task definition", deregister(clients, registered, sleep))

    deployment_id, attempts, recovered = create_exactly_once(
        codedeploy,
        clients.client("codedeploy", single_attempt=True),
        plan.create_request(appspec),
        plan.request_token,
        sleep=sleep,
        on_nothing_created=clean_up,
    )
    return Created(deployment_id, arn, config, appspec, attempts, recovered)


def register_step(
    step: TaskDefinitionStep, clients: Any, sleep: Callable[[float], None], note: Callable[[str, str], None]
) -> tuple[str, str | None]:
    """(task definition ARN to deploy, the revision this run registered or None), both engines."""
    if step.register is None:
        assert step.arn is not None, "a plan built offline cannot be applied"
        return step.arn, None
    ecs_once = clients.client("ecs", single_attempt=True)
    registered = ecs_api.register_task_definition_once(ecs_once, step.register, sleep=sleep)
    note("task definition", f"registered {registered.rsplit('/', 1)[-1]}")
    return registered, registered


def deregister(clients: Any, arn: str, sleep: Callable[[float], None]) -> str:
    """Deregister the revision this run registered (no deployment uses it); says what happened."""
    name = arn.rsplit("/", 1)[-1]
    try:
        retry_throttled(lambda: ecs_api.deregister_task_definition(clients.client("ecs"), arn), sleep=sleep)
    except BluegreenError as err:
        return f"{name} left registered: deregistering it failed ({err})"
    return f"deregistered {name} (no deployment was created)"
