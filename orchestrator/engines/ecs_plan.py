"""One native ECS deployment, planned then applied.

``build_plan`` turns the catalog, the strategy and a few reads into an immutable ``EcsPlan``: the
task definition to register (the CodeDeploy engine's step, shared), the guardrail verdict and the
UpdateService request (``deploymentController {type: ECS}``, the native ``deploymentConfiguration``
and ``loadBalancers[].advancedConfiguration`` from ``engines.ecs_config``). ``apply_plan`` runs it:
refuse while a service deployment is in flight, register the task definition, UpdateService
exactly once, and name the service deployment it started.

Exactly once: UpdateService has no client token, and a second UpdateService during a deployment
silently replaces it (the first ends STOPPED). So it goes through a single-attempt client; a
throttled attempt (not applied) is sent again; after an ambiguous failure (timeout, dropped
connection, 5xx) the service's deployments in flight created since just before the first attempt
are searched for one whose target revision runs our task definition before anything else: found,
it is ours (we refused to start while any was in flight, and a revision registered by this run is
ours alone; a finished deployment of the same revision is not looked at); not found, the attempt
is retried (3 at most). A definite refusal deregisters the revision this run registered.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from orchestrator.aws import ecs as ecs_api
from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.aws.clients import backoff_seconds, is_throttling, retry_throttled
from orchestrator.catalog import ResolvedService
from orchestrator.engines import ecs_config
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.codedeploy_plan import (
    AwsReads,
    GroupFacts,
    TaskDefinitionStep,
    catalog_facts,
    check_fleet_run,
    deregister,
    register_step,
    task_definition_step,
)
from orchestrator.engines.guardrails import (
    GuardrailViolation,
    check_guardrails,
    refusal_message,
    strategy_violations,
)
from orchestrator.errors import ActiveDeploymentError, AwsError, BadInputError, ErrorContext, GuardrailError
from orchestrator.strategies import Strategy
from orchestrator.vocabulary import (
    DeploymentControllerType,
    HookTargetType,
    NativeStrategy,
    ServiceDeploymentStatus,
)
from orchestrator.watching.timing import GroupTiming, Phase, default_timeout, expected_phases

UPDATE_ATTEMPTS = 3  # attempts that fail ambiguously (each followed by a search)
THROTTLED_UPDATE_ATTEMPTS = 10  # throttled attempts were not applied: sending them again is safe
# How far back the search looks for our deployment: our clock and AWS's may differ.
SEARCH_SKEW = timedelta(minutes=10)


# `bluegreen fleet`: a service deployment has no description, so the fleet run it belongs to is a
# tag on the task definition revision the deploy registers (RegisterTaskDefinition `tags`), read
# back with DescribeTaskDefinition(include=["TAGS"]) by EcsEngine.fleet_deployments. ECS's tag rules
# (botocore's ECS model, Tag): key 1-128 and value 0-256 characters of letters, digits, spaces and
# + - = . _ : / @; the "aws:" prefix is AWS's own.
FLEET_RUN_TAG = "bluegreen:fleet-run"


class InFlightDeploymentError(ActiveDeploymentError):
    """The service already runs a service deployment: a second UpdateService would replace it."""

    exit_code = 2


@dataclass(frozen=True)
class Wiring:
    """Where the service's traffic goes: the target groups and the listener rules ECS moves."""

    blue_target_group: str  # serving production now (UpdateService's loadBalancers[].targetGroupArn)
    green_target_group: str  # the alternate the new revision starts behind
    production_rule: str
    test_rule: str
    account_id: str


class Reads(Protocol):
    """The reads an ECS plan needs; ``AwsEcsReads`` asks AWS, ``OfflineEcsReads`` the catalog."""

    skipped: list[str]

    def current_task_definition(self, service: ResolvedService) -> dict[str, Any] | None: ...

    def task_definition_exists(self, arn: str) -> None: ...

    def check_controller(self, service: ResolvedService) -> None: ...

    def wiring(self, service: ResolvedService) -> Wiring: ...


class OfflineEcsReads:
    """No AWS access (dry run): placeholders where AWS would answer; records what was skipped."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def current_task_definition(self, service: ResolvedService) -> dict[str, Any] | None:
        self.skipped.append("ecs:DescribeServices + DescribeTaskDefinition (the running task definition)")
        return None

    def task_definition_exists(self, arn: str) -> None:
        self.skipped.append(f"ecs:DescribeTaskDefinition {arn} (that it exists)")

    def check_controller(self, service: ResolvedService) -> None:
        self.skipped.append("ecs:DescribeServices (that the service's deployment controller is ECS)")

    def wiring(self, service: ResolvedService) -> Wiring:
        settings = service.settings
        self.skipped.append(
            "elbv2:DescribeLoadBalancers + DescribeTargetGroups + DescribeListeners + DescribeRules "
            "(target group and listener rule ARNs; which group serves production now)"
        )
        balancer = settings.load_balancer
        return Wiring(
            blue_target_group=f"<{settings.target_group_blue} ARN>",
            green_target_group=f"<{settings.target_group_green} ARN>",
            production_rule=f"<rule of {balancer}:{service.production_listener_port}>",
            test_rule=f"<rule of {balancer}:{service.test_listener_port}>",
            account_id=service.account_id or "<account id>",
        )


class AwsEcsReads:
    """Reads from AWS through the thin adapters (``aws.ecs``, ``aws.elbv2``)."""

    def __init__(self, ecs: Any, elbv2: Any) -> None:
        self.ecs = ecs
        self.elbv2 = elbv2
        self._task_definitions = AwsReads(None, ecs)  # type: ignore[arg-type]  # only its ECS reads
        self._service: dict[str, Any] | None = None
        self.skipped: list[str] = []

    def current_task_definition(self, service: ResolvedService) -> dict[str, Any] | None:
        return self._task_definitions.current_task_definition(service)

    def task_definition_exists(self, arn: str) -> None:
        self._task_definitions.task_definition_exists(arn)

    def _described(self, service: ResolvedService) -> dict[str, Any]:
        """DescribeServices' service, read once per plan."""
        if self._service is None:
            settings = service.settings
            self._service = retry_throttled(
                lambda: ecs_api.describe_service(self.ecs, settings.cluster, settings.ecs_service)
            )
        return self._service

    def check_controller(self, service: ResolvedService) -> None:
        """BadInputError unless ECS runs the service's deployments itself (DescribeServices)."""
        settings = service.settings
        found = self._described(service)
        # DescribeServices names no controller for ECS, the default (botocore: DeploymentController).
        controller = str(
            (found.get("deploymentController") or {}).get("type") or DeploymentControllerType.ECS
        )
        if controller != DeploymentControllerType.ECS:
            raise BadInputError(
                f"ECS service {settings.ecs_service} uses the {controller} deployment controller, not ECS; "
                f"move it with `bluegreen migrate {service.name} --env {service.environment} --apply`, "
                "or deploy with --engine codedeploy"
            )

    def wiring(self, service: ResolvedService) -> Wiring:
        """The service's own advancedConfiguration (a native blue/green service has one: its target
        groups and listener rules), else the catalog's (target groups by name, the non-default rule
        of the listeners on its ports). Blue is the group the production rule weighs most: ECS swaps
        the roles after each deployment."""
        found = self._described(service)
        balancers = found.get("loadBalancers") or []
        advanced = (balancers[0].get("advancedConfiguration") if balancers else None) or {}
        wanted = ("alternateTargetGroupArn", "productionListenerRule", "testListenerRule")
        if balancers and balancers[0].get("targetGroupArn") and all(advanced.get(key) for key in wanted):
            arns = [str(balancers[0]["targetGroupArn"]), str(advanced["alternateTargetGroupArn"])]
            production = elbv2_api.describe_rule(self.elbv2, str(advanced["productionListenerRule"]))
            account = str(found.get("serviceArn") or "").split(":")[4:5]
            return _wiring(service, arns, production, str(advanced["testListenerRule"]), account)
        return self._wiring_from_catalog(service)

    def _wiring_from_catalog(self, service: ResolvedService) -> Wiring:
        settings = service.settings
        names = [settings.target_group_blue, settings.target_group_green]
        groups = elbv2_api.target_group_arns(self.elbv2, names)
        missing = [name for name in names if name not in groups]
        if missing:
            raise BadInputError(f"target group {missing[0]} not found (the catalog's service {service.name})")
        balancers = elbv2_api.load_balancer_arns(self.elbv2, [settings.load_balancer])
        if settings.load_balancer not in balancers:
            raise BadInputError(
                f"load balancer {settings.load_balancer} not found (the catalog's {service.name})"
            )
        balancer = balancers[settings.load_balancer]
        arns = [groups[name] for name in names]
        rules = {}
        for role, port in (
            ("production", service.production_listener_port),
            ("test", service.test_listener_port),
        ):
            listener = elbv2_api.listener_arn(self.elbv2, balancer, port)
            rules[role] = elbv2_api.service_rule(self.elbv2, listener, arns)
        return _wiring(
            service, arns, rules["production"], str(rules["test"]["RuleArn"]), balancer.split(":")[4:5]
        )


def _wiring(
    service: ResolvedService,
    groups: list[str],
    production: dict[str, Any],
    test_rule: str,
    account: list[str],
) -> Wiring:
    """Blue is the group ``production`` (the rule) weighs most; the account from the catalog, else an ARN."""
    weights = elbv2_api.rule_forward_weights(production)
    blue, green = sorted(groups, key=lambda arn: -weights.get(arn, 0))
    return Wiring(
        blue_target_group=blue,
        green_target_group=green,
        production_rule=str(production["RuleArn"]),
        test_rule=test_rule,
        account_id=service.account_id or (account[0] if account else "") or "<account id>",
    )


@dataclass(frozen=True)
class EcsPlan:
    """Everything one native deployment will do, decided before any write call."""

    service: str
    environment: str
    region: str
    cluster: str
    ecs_service: str
    strategy: Strategy
    task_definition: TaskDefinitionStep
    violations: tuple[GuardrailViolation, ...]
    forced: bool
    request_token: str
    facts: GroupFacts
    deployment_configuration: dict[str, Any]
    load_balancers: list[dict[str, Any]]
    phases: tuple[Phase, ...]
    timeout_seconds: float
    skipped_reads: tuple[str, ...]
    engine: str = "ecs"
    drill_fault: str | None = None  # `drill --fault hook`: marked in the Lambda hooks' hookDetails

    @property
    def expected_seconds(self) -> float:
        return sum(phase.expected_seconds for phase in self.phases)

    @property
    def config_name(self) -> str:
        """The engine's name for what runs the strategy (ECS: the native strategy and its steps)."""
        return native_config_name(self.deployment_configuration)

    def update_request(self, task_definition_arn: str | None = None) -> dict[str, Any]:
        """UpdateService kwargs (with the task definition ARN once it is registered)."""
        step = self.task_definition
        arn = task_definition_arn or step.arn or "<registered task definition ARN>"
        return {
            "cluster": self.cluster,
            "service": self.ecs_service,
            "taskDefinition": arn,
            "deploymentController": {"type": DeploymentControllerType.ECS.value},
            "deploymentConfiguration": self._with_drill_marker(arn),
            "loadBalancers": self.load_balancers,
        }

    def _with_drill_marker(self, arn: str) -> dict[str, Any]:
        """The deploymentConfiguration; for a hook drill, its Lambda hooks' hookDetails carry the
        marker for the drill's task definition (ECS keeps no description; hookDetails stays in the
        service's configuration, so the marker names the revision it is for)."""
        if self.drill_fault is None:
            return self.deployment_configuration
        from orchestrator.commands.drill_rules import Fault, fault_marker

        marker = {"description": fault_marker(Fault(self.drill_fault), arn)}
        hooks = [
            {**hook, "hookDetails": {**(hook.get("hookDetails") or {}), **marker}}
            if hook.get("targetType") == HookTargetType.AWS_LAMBDA.value
            else hook
            for hook in self.deployment_configuration.get("lifecycleHooks") or []
        ]
        return {**self.deployment_configuration, "lifecycleHooks": hooks}

    def dry_run_document(self, timeout: float) -> Any:
        from orchestrator.engines.dry_run import ecs_plan_document

        return ecs_plan_document(self, timeout)

    def dry_run_text(self, timeout: float) -> str:
        from orchestrator.engines.dry_run import ecs_plan_text

        return ecs_plan_text(self, timeout)


def native_config_name(configuration: dict[str, Any]) -> str:
    """``ecs:CANARY:10:5``, ``ecs:LINEAR:10:1``, ``ecs:BLUE_GREEN``: a deploymentConfiguration's
    strategy and steps in one word (what `deploymentConfigName` is for CodeDeploy)."""
    strategy = str(configuration.get("strategy") or NativeStrategy.ROLLING.value)
    if strategy == NativeStrategy.CANARY:
        canary = configuration.get("canaryConfiguration") or {}
        return f"ecs:CANARY:{canary.get('canaryPercent', 0):g}:{canary.get('canaryBakeTimeInMinutes', 0)}"
    if strategy == NativeStrategy.LINEAR:
        linear = configuration.get("linearConfiguration") or {}
        return f"ecs:LINEAR:{linear.get('stepPercent', 0):g}:{linear.get('stepBakeTimeInMinutes', 0)}"
    return f"ecs:{strategy}"


def build_plan(inputs: DeployInputs, reads: Reads) -> EcsPlan:
    """Decide everything: raises BadInputError subclasses (exit 2) before anything is written."""
    service = inputs.service
    settings = service.settings
    early = strategy_violations(service, inputs.strategy)
    if early and not inputs.force:
        raise GuardrailError(refusal_message(service, early))
    # ECS's limits (linear below 3 %, ...) are bad input before any read: no credentials needed.
    ecs_config.strategy_configuration(inputs.strategy)
    step = task_definition_step(inputs, reads)
    if inputs.fleet_run is not None:
        step = with_fleet_run(step, check_fleet_run(inputs.fleet_run))
    # The alarms, waits and hooks are the catalog's: UpdateService carries them (no group to read).
    facts = catalog_facts(service)
    violations = check_guardrails(
        service,
        inputs.strategy,
        facts.alarms_enabled,
        list(facts.alarm_names),
        settings.deployment.auto_rollback,
    )
    if violations and not inputs.force:
        raise GuardrailError(refusal_message(service, violations))
    reads.check_controller(service)
    wiring = reads.wiring(service)
    configuration = ecs_config.deployment_configuration(
        service,
        inputs.strategy,
        region=service.region,
        account_id=wiring.account_id,
        pause_at_ready=ecs_config.pauses_at_ready(service),
    )
    balancers = ecs_config.load_balancers(
        service,
        blue_tg_arn=wiring.blue_target_group,
        green_tg_arn=wiring.green_target_group,
        production_rule_arn=wiring.production_rule,
        test_rule_arn=wiring.test_rule,
    )
    timing = GroupTiming.for_service(service)
    return EcsPlan(
        service=service.name,
        environment=service.environment,
        region=service.region,
        cluster=settings.cluster,
        ecs_service=settings.ecs_service,
        strategy=inputs.strategy,
        task_definition=step,
        violations=tuple(violations),
        forced=bool(violations) and inputs.force,
        request_token=inputs.request_token,
        facts=facts,
        deployment_configuration=configuration,
        load_balancers=balancers,
        phases=tuple(expected_phases(inputs.strategy, timing, continued_at_ready=True)),
        timeout_seconds=default_timeout(inputs.strategy, timing, continued_at_ready=True),
        skipped_reads=tuple(reads.skipped),
        drill_fault=inputs.drill_fault,
    )


def with_fleet_run(step: TaskDefinitionStep, fleet_run: str) -> TaskDefinitionStep:
    """The step with the revision it registers tagged ``bluegreen:fleet-run`` (any tag of that key
    the file had replaced); BadInputError for an existing ARN: that revision is not this run's to
    tag, and other deployments may run it."""
    if step.register is None:
        if step.arn is not None:
            raise BadInputError(
                f"a fleet deploy on ECS registers the task definition it deploys (tagged {FLEET_RUN_TAG}), "
                f"so it cannot deploy an existing ARN ({step.arn}); pass an image or a task definition file"
            )
        return step  # a plan built offline (dry run): nothing is registered
    tags = [tag for tag in step.register.get("tags") or [] if tag.get("key") != FLEET_RUN_TAG]
    register = {**step.register, "tags": [*tags, {"key": FLEET_RUN_TAG, "value": fleet_run}]}
    return dataclasses.replace(step, register=register)


@dataclass(frozen=True)
class EcsStarted:
    """What apply_plan did: the service deployment's ARN and what it runs."""

    deployment_id: str  # the serviceDeploymentArn
    task_definition_arn: str
    attempts: int
    recovered: bool  # found by its task definition after an ambiguous UpdateService failure


def in_flight(ecs: Any, cluster: str, service: str) -> list[dict[str, Any]]:
    """The service's service deployments that have not ended (ListServiceDeployments' briefs)."""
    statuses = [status.value for status in ServiceDeploymentStatus.active()]
    return retry_throttled(lambda: ecs_api.list_service_deployments(ecs, cluster, service, statuses=statuses))


def refuse_if_in_flight(ecs: Any, cluster: str, service: str) -> None:
    """InFlightDeploymentError naming the running service deployment, its status and what to do."""
    running = in_flight(ecs, cluster, service)
    if not running:
        return
    arn, status = str(running[0].get("serviceDeploymentArn")), running[0].get("status")
    raise InFlightDeploymentError(
        f"ECS service {cluster}/{service} already runs service deployment {arn} ({status}); a second "
        f"UpdateService would replace it silently: watch it with `bluegreen watch {arn}` "
        f"or stop it with `bluegreen stop {arn}`",
        known=ErrorContext(active_deployment_id=arn),
    )


def find_started(
    ecs: Any, cluster: str, service: str, task_definition_arn: str, since: datetime
) -> str | None:
    """The newest service deployment in flight, created since ``since``, whose target revision runs
    ``task_definition_arn`` (ListServiceDeployments + DescribeServiceRevisions), if any.

    In flight only: one we started a moment ago is still scaling up (minutes), while an earlier,
    finished deployment of the same task definition (a rollback redeploys an existing ARN) is not ours.
    """
    statuses = [status.value for status in ServiceDeploymentStatus.active()]
    briefs = retry_throttled(
        lambda: ecs_api.list_service_deployments(
            ecs, cluster, service, statuses=statuses, created_after=since
        )
    )
    targets = [str(b["targetServiceRevisionArn"]) for b in briefs if b.get("targetServiceRevisionArn")]
    if not targets:
        return None
    revisions = retry_throttled(lambda: ecs_api.describe_service_revisions(ecs, targets))
    ours = {
        str(r.get("serviceRevisionArn")) for r in revisions if r.get("taskDefinition") == task_definition_arn
    }
    matching = [b for b in briefs if b.get("targetServiceRevisionArn") in ours]
    newest = max(matching, key=lambda b: b.get("createdAt") or since, default=None)
    return None if newest is None else str(newest["serviceDeploymentArn"])


def update_exactly_once(
    ecs: Any,
    ecs_once: Any,
    request: dict[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_nothing_started: Callable[[], None] | None = None,
) -> tuple[str, int, bool]:
    """UpdateService without ever starting two deployments: (serviceDeploymentArn, attempts, recovered)."""
    cluster, service, arn = request["cluster"], request["service"], request["taskDefinition"]
    since = now() - SEARCH_SKEW
    throttled = ambiguous = attempt = 0
    while True:
        attempt += 1
        try:
            answer = ecs_api.update_service_once(ecs_once, request)
        except ecs_api.AmbiguousUpdateError as err:
            ambiguous += 1
            sleep(min(2.0 * attempt, 10.0))  # give ECS time to list what it started
            found = find_started(ecs, cluster, service, arn, since)
            if found:
                return found, attempt, True
            if ambiguous < UPDATE_ATTEMPTS:
                continue
            if on_nothing_started is not None:
                on_nothing_started()
            raise AwsError(f"{err} (tried {attempt} times; no service deployment was started)") from err
        except (AwsError, BadInputError) as err:
            if is_throttling(err) and throttled + 1 < THROTTLED_UPDATE_ATTEMPTS and not ambiguous:
                throttled += 1
                sleep(backoff_seconds(throttled))
                continue
            if ambiguous:  # an earlier attempt may have started one: look before giving up
                found = find_started(ecs, cluster, service, arn, since)
                if found:
                    return found, attempt, True
            if on_nothing_started is not None:
                on_nothing_started()
            raise
        current = answer.get("currentServiceDeployment")
        if current:
            return str(current), attempt, False
        # UpdateService answered without naming the deployment: it is the newest running ours.
        for wait in (0.0, 1.0, 2.0, 4.0):
            sleep(wait)
            found = find_started(ecs, cluster, service, arn, since)
            if found:
                return found, attempt, False
        raise AwsError(
            f"UpdateService {cluster}/{service} succeeded but no service deployment of {arn} shows; "
            f"`aws ecs list-service-deployments --cluster {cluster} --service {service}` lists them"
        )


def apply_plan(
    plan: EcsPlan,
    clients: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_step: Callable[[str, str], None] | None = None,
) -> EcsStarted:
    """Refuse while a service deployment is in flight, register the task definition, UpdateService."""
    ecs = clients.client("ecs")
    note = on_step or (lambda _step, _detail: None)
    refuse_if_in_flight(ecs, plan.cluster, plan.ecs_service)
    arn, registered = register_step(plan.task_definition, clients, sleep, note)

    def clean_up() -> None:
        if registered is not None:
            note("task definition", deregister(clients, registered, sleep))

    deployment, attempts, recovered = update_exactly_once(
        ecs,
        clients.client("ecs", single_attempt=True),
        plan.update_request(arn),
        sleep=sleep,
        on_nothing_started=clean_up,
    )
    return EcsStarted(deployment, arn, attempts, recovered)
