"""A CodeDeploy deployment group -> Amazon ECS's native blue/green request (pure: no boto3).

``bluegreen migrate`` reads the deployment group (GetDeploymentGroup, and GetDeploymentConfig for a
config CodeDeploy does not predefine), the AppSpec's hooks (the catalog's, as ``render`` writes
them) and the ECS service (DescribeServices); ``plan_migration`` turns what it read into the
UpdateService request that switches the service to ECS's own deployments, the listener rules to
create first, and every setting: translated (what it became) or not (why not).

What AWS says about the switch (sources):
- botocore's ECS model: UpdateServiceRequest carries ``deploymentController``, so UpdateService may
  change it; ``loadBalancers`` "triggers a new service deployment" (here a blue/green deployment of
  the task definition already running: the request names it, so nothing new ships).
- AWS, ECS Developer Guide, "Migrating from a CodeDeploy blue/green to an Amazon ECS blue/green
  service deployment": reuse the production and test target groups, listeners and rules; one
  target group must be on the production listener rule and the other on the test listener rule
  (else "Both targetGroup and alternateTargetGroup must be associated with the
  productionListenerRule or testListenerRule"); no service deployment may be in progress; replace
  CodeDeploy's role by the ECS infrastructure role (load balancers) and the Lambda hook role; turn
  off CodeDeploy automation; lifecycle hooks must be created anew for ECS.
- AWS Containers blog, "Migrating from AWS CodeDeploy to Amazon ECS for blue/green deployments":
  the in-place approach updates the existing service; the CodeDeploy application and deployment
  group are not used afterwards and may be deleted once no rollback to CodeDeploy is wanted.
  ``migrate`` leaves the group in place and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.appspec import ecs_input_for
from orchestrator.engines import ecs_config
from orchestrator.errors import StrategyError
from orchestrator.strategies import Strategy, parse_strategy, strategy_for_config
from orchestrator.vocabulary import (
    NATIVE_STAGE_FOR_EVENT,
    AutoRollbackEvent,
    DeploymentControllerType,
    DeploymentReadyAction,
)

if TYPE_CHECKING:
    from orchestrator.catalog import ResolvedService

PRODUCTION, TEST = "production", "test"
# The listener rule ECS moves traffic on (seam: priority 1, every path, forward blue 100 / green 0).
RULE_PRIORITY = 1
RULE_PATH = "/*"


@dataclass(frozen=True)
class Setting:
    """One deployment group setting: what it is, and what it became on ECS (or why nothing)."""

    setting: str
    value: str
    native: str | None  # None: it does not translate
    reason: str = ""


@dataclass(frozen=True)
class MigrationInputs:
    """What ``migrate`` read, as AWS answered it."""

    service: ResolvedService
    group: Mapping[str, Any]  # GetDeploymentGroup's deploymentGroupInfo
    config: Mapping[str, Any] | None  # GetDeploymentConfig's deploymentConfigInfo (None: predefined)
    ecs_service: Mapping[str, Any]  # DescribeServices' service
    target_groups: Mapping[str, str]  # name -> ARN of the group's target group pair
    rules: Mapping[str, str | None]  # PRODUCTION/TEST -> the service's listener rule ARN, None: missing
    region: str
    account_id: str


@dataclass(frozen=True)
class MigrationPlan:
    """The UpdateService request, the rules to create first, and every setting's fate."""

    request: dict[str, Any]
    create_rules: dict[str, dict[str, Any]]  # PRODUCTION/TEST -> CreateRule request (missing ones)
    settings: tuple[Setting, ...]
    strategy: Strategy
    blocked: str | None  # why --apply must not switch (something essential does not translate)

    @property
    def untranslated(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.native is None)


# --- the strategy -------------------------------------------------------------------------------------


def _group_strategy(inputs: MigrationInputs) -> tuple[Strategy | None, Setting]:
    name = str(inputs.group.get("deploymentConfigName") or "CodeDeployDefault.ECSAllAtOnce")
    config = inputs.config or {}
    if config.get("minimumHealthyHosts") and not config.get("trafficRoutingConfig"):
        hosts = config["minimumHealthyHosts"]
        reason = (
            f"minimumHealthyHosts ({hosts.get('type')} {hosts.get('value')}) is for EC2/on-premises "
            "in-place deployments; ECS blue/green shifts traffic, it does not count healthy hosts"
        )
        return None, Setting("deploymentConfigName", name, None, reason)
    try:
        strategy = strategy_for_config(name, config.get("trafficRoutingConfig"))
        native = ecs_config.describe_native(strategy)
    except StrategyError as err:  # NativeLimitError included (a linear step below 3 %)
        return None, Setting("deploymentConfigName", name, None, str(err))
    return strategy, Setting("deploymentConfigName", name, f"strategy {native}")


def _strategy(inputs: MigrationInputs) -> tuple[Strategy, list[Setting], str | None]:
    strategy, setting = _group_strategy(inputs)
    if strategy is not None:
        return strategy, [setting], None
    fallback = inputs.service.settings.strategy
    try:
        strategy = parse_strategy(fallback)
        native = ecs_config.describe_native(strategy)
    except StrategyError as err:
        return (
            parse_strategy("all-at-once"),
            [setting],
            f"neither the group's config nor the catalog's: {err}",
        )
    note = Setting("strategy (catalog)", fallback, f"strategy {native} (used instead of the group's config)")
    return strategy, [setting, note], None


# --- the group's other settings -----------------------------------------------------------------------


def _blue_green(inputs: MigrationInputs) -> Mapping[str, Any]:
    return inputs.group.get("blueGreenDeploymentConfiguration") or {}


def _termination(inputs: MigrationInputs) -> tuple[int, list[Setting]]:
    terminate = _blue_green(inputs).get("terminateBlueInstancesOnDeploymentSuccess") or {}
    minutes = int(terminate.get("terminationWaitTimeInMinutes") or 0)
    settings = [Setting("terminationWaitTimeInMinutes", str(minutes), f"bakeTimeInMinutes {minutes}")]
    if terminate.get("action") == "KEEP_ALIVE":
        reason = "ECS always scales the blue revision in after the bake time; it cannot keep it running"
        settings.append(
            Setting("terminateBlueInstancesOnDeploymentSuccess.action", "KEEP_ALIVE", None, reason)
        )
    return minutes, settings


def _ready(inputs: MigrationInputs) -> list[Setting]:
    ready = _blue_green(inputs).get("deploymentReadyOption") or {}
    action = str(ready.get("actionOnTimeout") or DeploymentReadyAction.CONTINUE_DEPLOYMENT.value)
    wait = int(ready.get("waitTimeInMinutes") or 0)
    if action == DeploymentReadyAction.STOP_DEPLOYMENT:
        native = (
            f"a PAUSE hook at POST_TEST_TRAFFIC_SHIFT (timeout {wait} min, ROLLBACK), added by bluegreen "
            "to each deployment that waits at Ready (deploy --until ready, then promote)"
        )
        return [Setting("deploymentReadyOption", f"STOP_DEPLOYMENT after {wait} min", native)]
    if wait:
        # CodeDeploy API reference, DeploymentReadyOption.waitTimeInMinutes: "Applies only to the
        # STOP_DEPLOYMENT option for actionOnTimeout".
        reason = (
            "CodeDeploy ignores waitTimeInMinutes with CONTINUE_DEPLOYMENT; there is no wait to carry over"
        )
        return [
            Setting("deploymentReadyOption.waitTimeInMinutes", f"{wait} (CONTINUE_DEPLOYMENT)", None, reason)
        ]
    return [
        Setting("deploymentReadyOption", "CONTINUE_DEPLOYMENT", "no PAUSE hook (traffic shifts when ready)")
    ]


def _rollback(inputs: MigrationInputs) -> tuple[bool, list[Setting]]:
    config = inputs.group.get("autoRollbackConfiguration") or {}
    events = list(config.get("events") or []) if config.get("enabled") else []
    settings: list[Setting] = []
    on_alarm = AutoRollbackEvent.DEPLOYMENT_STOP_ON_ALARM.value in events
    settings.append(
        Setting(
            "autoRollback on DEPLOYMENT_STOP_ON_ALARM",
            str(on_alarm).lower(),
            f"alarms.rollback {str(on_alarm).lower()}",
        )
    )
    if AutoRollbackEvent.DEPLOYMENT_FAILURE.value in events:
        settings.append(
            Setting(
                "autoRollback on DEPLOYMENT_FAILURE",
                "true",
                "ECS rolls a failed blue/green deployment back itself",
            )
        )
    else:
        reason = (
            "ECS always rolls a failed blue/green deployment back (a hook FAILED or timed out with ROLLBACK)"
        )
        settings.append(Setting("autoRollback on DEPLOYMENT_FAILURE", "false", None, reason))
    if AutoRollbackEvent.DEPLOYMENT_STOP_ON_REQUEST.value in events:
        reason = "ECS has no such setting (StopServiceDeployment always rolls back, stopType ROLLBACK)"
        settings.append(Setting("autoRollback on DEPLOYMENT_STOP_ON_REQUEST", "true", None, reason))
    return on_alarm, settings


def _alarms(inputs: MigrationInputs) -> tuple[list[str], list[Setting]]:
    config = inputs.group.get("alarmConfiguration") or {}
    names = [str(alarm["name"]) for alarm in config.get("alarms") or [] if alarm.get("name")]
    enabled = bool(config.get("enabled")) and bool(names)
    listed = ", ".join(names) or "none"
    native = f"alarms {listed}, enable {str(enabled).lower()}"
    settings = [
        Setting(
            "alarmConfiguration", f"{listed} (enabled {str(bool(config.get('enabled'))).lower()})", native
        )
    ]
    if config.get("ignorePollAlarmFailure"):
        reason = "ECS has no ignorePollAlarmFailure: a failed alarm read does not let the deployment go on"
        settings.append(Setting("alarmConfiguration.ignorePollAlarmFailure", "true", None, reason))
    return (names if enabled else []), settings


def _triggers(inputs: MigrationInputs) -> list[Setting]:
    triggers = inputs.group.get("triggerConfigurations") or []
    reason = (
        "ECS service deployments have no triggers; route EventBridge's 'ECS Service Deployment State "
        "Change' events to the SNS topic instead"
    )
    return [
        Setting(
            f"triggerConfigurations[{t.get('triggerName', i)}]",
            str(t.get("triggerTargetArn", "")),
            None,
            reason,
        )
        for i, t in enumerate(triggers)
    ]


def _hooks(inputs: MigrationInputs) -> list[Setting]:
    # The AppSpec's hooks are the catalog's (render writes them); ECS runs the same functions at
    # these stages. They must understand ECS's contract (AWS: "You must create new lifecycle hooks").
    hooks = ecs_input_for(inputs.service, None).hooks
    return [
        Setting(
            f"AppSpec hook {event}",
            function,
            f"lifecycle hook (AWS_LAMBDA) at {NATIVE_STAGE_FOR_EVENT[event]}",
        )
        for event, function in hooks.items()
    ]


# --- load balancer ------------------------------------------------------------------------------------


def target_group_names(group: Mapping[str, Any]) -> list[str]:
    """The names of the group's target group pair (for the command to look their ARNs up)."""
    pairs = (group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    return [str(tg["name"]) for tg in (pairs[0].get("targetGroups") or [])] if pairs else []


def listener_arns(group: Mapping[str, Any]) -> dict[str, str]:
    """PRODUCTION/TEST -> the listener ARN the group's traffic routes name (TEST absent without one)."""
    pairs = (group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    if not pairs:
        return {}
    found = {}
    for role, key in ((PRODUCTION, "prodTrafficRoute"), (TEST, "testTrafficRoute")):
        arns = (pairs[0].get(key) or {}).get("listenerArns") or []
        if arns:
            found[role] = str(arns[0])
    return found


def blue_and_green(inputs: MigrationInputs) -> tuple[str, str]:
    """(blue, green) target group ARNs: blue serves production now (the PRIMARY task set's)."""
    arns = [
        inputs.target_groups[name]
        for name in target_group_names(inputs.group)
        if name in inputs.target_groups
    ]
    if len(arns) != 2:
        raise StrategyError(
            f"deployment group {inputs.group.get('deploymentGroupName')}: need its two target groups, found "
            f"{len(arns)} of {target_group_names(inputs.group)}"
        )
    live = _live_target_group(inputs.ecs_service)
    blue = live if live in arns else arns[0]
    return blue, next(arn for arn in arns if arn != blue)


def _live_target_group(ecs_service: Mapping[str, Any]) -> str | None:
    for task_set in ecs_service.get("taskSets") or []:
        if task_set.get("status") == "PRIMARY" and task_set.get("loadBalancers"):
            return str(task_set["loadBalancers"][0].get("targetGroupArn"))
    balancers = ecs_service.get("loadBalancers") or []
    return str(balancers[0].get("targetGroupArn")) if balancers else None


def rule_request(listener_arn: str, blue: str, green: str) -> dict[str, Any]:
    """CreateRule: priority 1, every path, forward blue 100 / green 0 (the rule ECS moves traffic on)."""
    return {
        "ListenerArn": listener_arn,
        "Priority": RULE_PRIORITY,
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [RULE_PATH]}}],
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": blue, "Weight": 100},
                        {"TargetGroupArn": green, "Weight": 0},
                    ]
                },
            }
        ],
    }


def placeholder_rule(role: str) -> str:
    """What the dry run shows where a rule --apply creates will be."""
    return f"<{role} listener rule: created by --apply>"


# --- the plan -----------------------------------------------------------------------------------------


def current_task_definition(ecs_service: Mapping[str, Any]) -> str:
    """What runs now: the PRIMARY task set's task definition (CODE_DEPLOY), else the service's."""
    for task_set in ecs_service.get("taskSets") or []:
        if task_set.get("status") == "PRIMARY" and task_set.get("taskDefinition"):
            return str(task_set["taskDefinition"])
    return str(ecs_service.get("taskDefinition") or "")


def plan_migration(inputs: MigrationInputs) -> MigrationPlan:
    """The native equivalent of the group (UpdateService), the rules to create, every setting's fate."""
    strategy, settings, blocked = _strategy(inputs)
    minutes, termination = _termination(inputs)
    on_alarm, rollback = _rollback(inputs)
    alarm_names, alarms = _alarms(inputs)
    settings += termination + _ready(inputs) + rollback + alarms + _triggers(inputs) + _hooks(inputs)
    service = _as_group_says(inputs.service, minutes=minutes, alarms=alarm_names, rollback=on_alarm)
    try:
        configuration = ecs_config.deployment_configuration(
            service, strategy, region=inputs.region, account_id=inputs.account_id, pause_at_ready=False
        )
    except ecs_config.NativeLimitError as err:  # the termination wait past ECS's bake time
        blocked = blocked or str(err)
        service = _as_group_says(inputs.service, minutes=0, alarms=alarm_names, rollback=on_alarm)
        configuration = ecs_config.deployment_configuration(
            service, strategy, region=inputs.region, account_id=inputs.account_id, pause_at_ready=False
        )
    blue, green = blue_and_green(inputs)
    listeners = listener_arns(inputs.group)
    create = {
        role: rule_request(listeners[role], blue, green) for role in listeners if not inputs.rules.get(role)
    }
    production = inputs.rules.get(PRODUCTION) or placeholder_rule(PRODUCTION)
    # Without a test listener ECS takes the production rule for test traffic too (AWS: both target
    # groups must be on the production rule then).
    test = inputs.rules.get(TEST) or (placeholder_rule(TEST) if TEST in listeners else production)
    request = {
        "cluster": inputs.service.settings.cluster,
        "service": inputs.service.settings.ecs_service,
        "taskDefinition": current_task_definition(inputs.ecs_service),
        "deploymentController": {"type": DeploymentControllerType.ECS.value},
        "deploymentConfiguration": configuration,
        "loadBalancers": ecs_config.load_balancers(
            service, blue_tg_arn=blue, green_tg_arn=green, production_rule_arn=production, test_rule_arn=test
        ),
    }
    return MigrationPlan(request, create, tuple(settings), strategy, blocked)


def _as_group_says(
    service: ResolvedService, *, minutes: int, alarms: list[str], rollback: bool
) -> ResolvedService:
    """The catalog's service with the group's termination wait, alarms and alarm rollback (what runs)."""
    deployment = service.settings.deployment.model_copy(
        update={"termination_wait_minutes": minutes, "auto_rollback": rollback}
    )
    settings = service.settings.model_copy(update={"alarms": alarms, "deployment": deployment})
    return dataclasses.replace(service, settings=settings)


def with_rules(plan: MigrationPlan, rules: Mapping[str, str]) -> dict[str, Any]:
    """The plan's UpdateService request with the ARNs of the rules --apply just created."""
    request = {**plan.request, "loadBalancers": [dict(lb) for lb in plan.request["loadBalancers"]]}
    for balancer in request["loadBalancers"]:
        advanced = dict(balancer["advancedConfiguration"])
        for role, key in ((PRODUCTION, "productionListenerRule"), (TEST, "testListenerRule")):
            if advanced[key] == placeholder_rule(role) or (
                role == TEST and advanced[key] == placeholder_rule(PRODUCTION)
            ):
                advanced[key] = rules.get(role) or rules[PRODUCTION]
        balancer["advancedConfiguration"] = advanced
    return request


def already_native(ecs_service: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    """The service already runs ECS's own deployments with this configuration and these load balancers.

    DescribeServices adds ECS's defaults (maximumPercent, the circuit breaker, a hook's default
    timeout...) to what was sent, so only the members the request sets are compared, at every depth.
    """
    # No deploymentController in the answer is ECS's own: it is the default (botocore's
    # DeploymentController documentation), as the in-flight check and the engine read it.
    controller = (ecs_service.get("deploymentController") or {}).get("type") or DeploymentControllerType.ECS
    if controller != DeploymentControllerType.ECS:
        return False
    current = ecs_service.get("deploymentConfiguration") or {}
    if not _contains(current, request["deploymentConfiguration"]):
        return False
    return _balancers(ecs_service.get("loadBalancers") or []) == _balancers(request["loadBalancers"])


def _contains(current: Any, wanted: Any) -> bool:
    """``current`` says all that ``wanted`` says (members it adds are ECS's defaults; lists in order)."""
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(_contains(current.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(_contains(c, w) for c, w in zip(current, wanted, strict=True))
        )
    return bool(current == wanted)


def _balancers(balancers: list[Mapping[str, Any]]) -> set[tuple[Any, ...]]:
    # ECS may swap which target group is primary after a deployment: compare the pair as a set.
    found = set()
    for balancer in balancers:
        advanced = balancer.get("advancedConfiguration") or {}
        pair = frozenset((balancer.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")))
        rules = (
            advanced.get("productionListenerRule"),
            advanced.get("testListenerRule"),
            advanced.get("roleArn"),
        )
        found.add((pair, *rules, balancer.get("containerName"), balancer.get("containerPort")))
    return found
