"""`bluegreen fleet export`: a fleet plan as an AWS Step Functions state machine, and the resources
that run it in AWS with no machine of ours held open (pure: plain data in, JSON-able dicts out).

The state machine (Amazon States Language, JSONPath) runs the plan's waves in order. Each wave is a
``Pass`` that puts the wave's services in the state (``$.wave``) and an inline ``Map`` over them
with ``MaxConcurrency`` = the plan's ``max_parallel``. One service runs

    Start -> Started? -(Queued)-> Queued (Wait) -> Start
                      -(else)--> Wait -> Poll -> Status? -(Succeeded)-> Deployed (Succeed)
                                  ^                      -(Failed|Stopped)-> Deployment failed (Fail)
                                  +-------(else)-------+

where Start, Poll and the wave's Stop are Task states invoking the fleet step Lambda
(``hooks/fleet_step.py``, `arn:aws:states:::lambda:invoke`). The fleet run id is the execution's
name (``$$.Execution.Name``): start an execution named with a run id (`fr-...`, orchestrator.fleet
.run_id), and every deployment carries it, so `fleet watch RUN_ID` finds them.

Stop on failure: when one service fails, Step Functions fails its Map and stops the wave's other
iterations ("If any iteration fails, the Map state fails", Map state, AWS Step Functions
Developer Guide); the Map's Catch (``States.ALL``) then runs the wave's Stop Map (each service's
deployments of this run still in flight are stopped with rollback), no later wave starts, and
the execution fails with error ``FleetFailed`` and the failed service's cause. Without
stop-on-failure the Catch goes straight to the failure.

``template`` makes the SAM template: the state machine (the definition above, the Lambda's ARN
through ``DefinitionSubstitutions``), the fleet step function and its log group, and a
least-privilege role for each: the state machine may invoke only that function; the function may
act only on the plan's deployment groups, ECS services and task definition families, pass only
the roles those task definitions and services name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.catalog import ResolvedService
from orchestrator.vocabulary import DeploymentStatus

if TYPE_CHECKING:
    from orchestrator.fleet.plan import FleetPlan, Wave

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
FUNCTION_ARN_VARIABLE = "FleetStepArn"  # DefinitionSubstitutions' key: "${FleetStepArn}" in the ASL
FLEET_FAILED = "FleetFailed"
DEPLOYMENT_FAILED = "DeploymentFailed"
QUEUED = "Queued"  # hooks.fleet_step.QUEUED (the Lambda package does not import this module)
# The poll's transient failures worth another try (a read: safe to repeat). Step Functions names a
# Lambda service error Lambda.<Exception> ("Handling errors in Step Functions workflows").
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# Start is not idempotent (a retried start after CreateDeployment would find its own deployment and
# queue behind it): only a throttled invocation, which never ran the function, is tried again.
START_RETRY_ERRORS = ["Lambda.TooManyRequestsException"]
# A standard workflow may run up to one year ("Step Functions service quotas"): the bound is the
# plan's expected time three times over, plus each wave's queue bound, within that.
MAX_EXECUTION_SECONDS = 365 * 24 * 3600
STATE_NAME_LIMIT = 80  # ASL: a state's name is at most 80 Unicode characters
RECORD_STATE = "Record run"


@dataclass(frozen=True)
class ExportOptions:
    """How the exported machine runs: the Lambda it invokes, how often it polls, what a failure does."""

    function_arn: str = "${" + FUNCTION_ARN_VARIABLE + "}"
    poll_seconds: int = 30
    queue_wait_seconds: int = 30 * 60
    stop_on_failure: bool = True


# --- the state machine --------------------------------------------------------------------------


def state_machine(plan: FleetPlan, options: ExportOptions) -> dict[str, Any]:
    """The plan as an ASL definition (JSON-able)."""
    states: dict[str, Any] = {}
    waves = list(plan.waves)
    for index, wave in enumerate(waves):
        after = wave_state(waves[index + 1].number) if index + 1 < len(waves) else "Fleet deployed"
        states.update(_wave_states(plan, wave, after, options))
    states["Fleet deployed"] = {"Type": "Succeed", "Comment": "every wave deployed"}
    states["Fleet failed"] = {
        "Type": "Fail",
        "Comment": "a service failed: its error and cause say which and why",
        "Error": FLEET_FAILED,
        "CausePath": "$.failure.Cause",
    }
    first = wave_state(waves[0].number) if waves else "Fleet deployed"
    if waves:
        states = {RECORD_STATE: _record_run(plan, options, first), **states}
    services = sum(len(wave.services) for wave in waves)
    return {
        "Comment": (
            f"bluegreen fleet: {services} services of {plan.environment} in {len(waves)} waves, "
            f"at most {plan.max_parallel} at once; the execution's name is the fleet run id"
        ),
        "StartAt": RECORD_STATE if waves else first,
        "TimeoutSeconds": execution_timeout(plan, options),
        "States": states,
    }


def run_record(plan: FleetPlan, options: ExportOptions) -> dict[str, Any]:
    """The fleet run's record as `fleet deploy` writes it (commands/fleet.py ``_record``: the plan's
    ``plan_record`` and the failure policy; a test keeps the two equal), less the run id, which only
    the execution knows (the Lambda adds it). With it in SSM, `fleet watch RUN_ID` and `fleet deploy
    --resume RUN_ID` work on a run started in Step Functions as on one started by `fleet deploy`."""
    from orchestrator.fleet.plan import plan_record

    return {**plan_record(plan), "continueOnFailure": False, "stopOnFailure": options.stop_on_failure}


def _record_run(plan: FleetPlan, options: ExportOptions, then: str) -> dict[str, Any]:
    """Before any start, the run's record (SSM Parameter Store, ``aws/fleet_runs.py``), as `fleet
    deploy` writes it first: a run that cannot be recorded starts nothing (no Catch)."""
    state = _invoke(
        options,
        {
            "action": "record",
            "service": plan.waves[0].services[0].service,  # whose region and project the record takes
            "environment": plan.environment,
            "fleet_run.$": "$$.Execution.Name",
            "record": run_record(plan, options),
        },
        "$.recorded",
        then,
    )
    state["Retry"] = [_retry(TRANSIENT_LAMBDA_ERRORS)]  # PutParameter with Overwrite: safe to repeat
    return state


def wave_state(number: int) -> str:
    return f"Wave {number}"


def execution_timeout(plan: FleetPlan, options: ExportOptions) -> int:
    """Seconds the execution may run: 3 x the plan's expected time + each wave's queue bound."""
    bound = 3 * plan.expected_seconds + len(plan.waves) * (options.queue_wait_seconds + options.poll_seconds)
    return min(MAX_EXECUTION_SECONDS, max(3600, math.ceil(bound)))


def _wave_states(plan: FleetPlan, wave: Wave, after: str, options: ExportOptions) -> dict[str, Any]:
    name = wave_state(wave.number)
    on_failure = f"{name} stop" if options.stop_on_failure else "Fleet failed"
    # Each service's strategy: the run's (--strategy), else the one the plan knows, else null
    # (the Lambda takes the catalog's).
    items = [
        {"service": s.service, "image": s.image, "strategy": plan.strategy or s.strategy}
        for s in wave.services
    ]
    states: dict[str, Any] = {
        name: {
            "Type": "Pass",
            "Comment": f"wave {wave.number}: {', '.join(s.service for s in wave.services)}",
            "Result": {"number": wave.number, "services": items},
            "ResultPath": "$.wave",
            "Next": f"{name} deploy",
        },
        f"{name} deploy": {
            "Type": "Map",
            "ItemsPath": "$.wave.services",
            "MaxConcurrency": max(1, plan.max_parallel),
            "ItemSelector": {
                **_common_fields(plan),
                "image.$": "$$.Map.Item.Value.image",
                "strategy.$": "$$.Map.Item.Value.strategy",
                "wave_started.$": "$$.State.EnteredTime",
                "queue_wait_seconds": options.queue_wait_seconds,
            },
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **_deploy_one(options)},
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": on_failure}],
            "Next": after,
        },
    }
    if options.stop_on_failure:
        states[f"{name} stop"] = _stop_wave(plan, wave, options)
    return states


def _common_fields(plan: FleetPlan) -> dict[str, Any]:
    return {
        "service.$": "$$.Map.Item.Value.service",
        "environment": plan.environment,
        "fleet_run.$": "$$.Execution.Name",
    }


def _invoke(options: ExportOptions, payload: dict[str, Any], result: str, then: str) -> dict[str, Any]:
    """A Task state invoking the fleet step Lambda; its answer (the Payload) at ``result``."""
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": options.function_arn, "Payload": payload},
        "ResultSelector": {"answer.$": "$.Payload"},
        "ResultPath": result,
        "Next": then,
    }


def _deploy_one(options: ExportOptions) -> dict[str, Any]:
    """One service: start (queued while its group is busy), then poll until it ends."""
    ask = {
        "service.$": "$.service",
        "environment.$": "$.environment",
        "fleet_run.$": "$.fleet_run",
    }
    start = _invoke(
        options,
        {
            "action": "start",
            **ask,
            "image.$": "$.image",
            "strategy.$": "$.strategy",
            "wave_started.$": "$.wave_started",
            "queue_wait_seconds.$": "$.queue_wait_seconds",
        },
        "$.deployment",
        "Started?",
    )
    start["Retry"] = [_retry(START_RETRY_ERRORS)]
    poll = _invoke(
        options,
        {"action": "poll", **ask, "deployment_id.$": "$.deployment.answer.deployment_id"},
        "$.deployment",
        "Status?",
    )
    poll["Retry"] = [_retry(TRANSIENT_LAMBDA_ERRORS)]
    status = "$.deployment.answer.status"
    return {
        "StartAt": "Start",
        "States": {
            "Start": start,
            "Started?": {
                "Type": "Choice",
                "Choices": [{"Variable": status, "StringEquals": QUEUED, "Next": "Queued"}],
                "Default": "Wait",
            },
            "Queued": {"Type": "Wait", "Seconds": options.poll_seconds, "Next": "Start"},
            "Wait": {"Type": "Wait", "Seconds": options.poll_seconds, "Next": "Poll"},
            "Poll": poll,
            "Status?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": status,
                        "StringEquals": DeploymentStatus.SUCCEEDED.value,
                        "Next": "Deployed",
                    },
                    {
                        "Or": [
                            {"Variable": status, "StringEquals": DeploymentStatus.FAILED.value},
                            {"Variable": status, "StringEquals": DeploymentStatus.STOPPED.value},
                        ],
                        "Next": "Deployment failed",
                    },
                ],
                "Default": "Wait",
            },
            "Deployed": {"Type": "Succeed"},
            "Deployment failed": {
                "Type": "Fail",
                "Error": DEPLOYMENT_FAILED,
                "CausePath": "$.deployment.answer.cause",
            },
        },
    }


def _stop_wave(plan: FleetPlan, wave: Wave, options: ExportOptions) -> dict[str, Any]:
    """Every service of the wave: its deployments of this run still in flight, stopped with
    rollback; a stop that fails is noted and the others still run (the execution fails anyway)."""
    stop = _invoke(
        options,
        {
            "action": "stop",
            "service.$": "$.service",
            "environment.$": "$.environment",
            "fleet_run.$": "$.fleet_run",
            "since.$": "$.since",
        },
        "$.stop",
        "Stopped",
    )
    stop["Retry"] = [_retry(TRANSIENT_LAMBDA_ERRORS)]
    stop["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.stop_failure", "Next": "Stop failed"}]
    return {
        "Type": "Map",
        "Comment": f"wave {wave.number} failed: stop its deployments in flight, with rollback",
        "ItemsPath": "$.wave.services",
        "MaxConcurrency": max(1, len(wave.services)),
        "ItemSelector": {**_common_fields(plan), "since.$": "$$.Execution.StartTime"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Stop",
            "States": {
                "Stop": stop,
                "Stopped": {"Type": "Succeed"},
                "Stop failed": {"Type": "Succeed", "Comment": "noted in the Map's result; others go on"},
            },
        },
        "ResultPath": "$.stopped",
        "Next": "Fleet failed",
    }


def _retry(errors: list[str]) -> dict[str, Any]:
    return {"ErrorEquals": list(errors), "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}


# --- structural checks ---------------------------------------------------------------------------


def problems(definition: Mapping[str, Any]) -> list[str]:
    """What is wrong with an ASL definition's structure (empty: nothing): every StartAt, Next,
    Default, Choice and Catch target exists in its scope, every state is reachable, a non-terminal
    state says where to go, every Map sets MaxConcurrency, and state names fit ASL's limit."""
    return _scope_problems("", definition)


def _scope_problems(where: str, scope: Mapping[str, Any]) -> list[str]:
    states: Mapping[str, Any] = scope.get("States") or {}
    found: list[str] = []
    start = scope.get("StartAt")
    if start not in states:
        found.append(f"{where}StartAt {start!r} is not a state")
    for name, state in states.items():
        found.extend(_state_problems(f"{where}{name}", name, state, states))
    reachable = _reachable(start, states)
    found.extend(f"{where}{name}: not reachable from StartAt" for name in states if name not in reachable)
    return found


def _state_problems(path: str, name: str, state: Mapping[str, Any], states: Mapping[str, Any]) -> list[str]:
    found = [
        f"{path}: target {target!r} is not a state" for target in _targets(state) if target not in states
    ]
    kind = state.get("Type")
    if len(name) > STATE_NAME_LIMIT:
        found.append(f"{path}: name longer than {STATE_NAME_LIMIT} characters")
    terminal = kind in ("Succeed", "Fail", "Choice") or state.get("End") is True
    if not terminal and "Next" not in state:
        found.append(f"{path}: neither Next nor End")
    if kind == "Choice" and not state.get("Choices"):
        found.append(f"{path}: a Choice without Choices")
    if kind == "Map":
        if not isinstance(state.get("MaxConcurrency"), int) or state["MaxConcurrency"] < 1:
            found.append(f"{path}: MaxConcurrency not set")
        found.extend(_scope_problems(f"{path} > ", state.get("ItemProcessor") or {}))
    return found


def _targets(state: Mapping[str, Any]) -> list[str]:
    """Every state name a state may go to next (Next, Default, each Choice's Next, each Catch's Next)."""
    targets = [state[key] for key in ("Next", "Default") if key in state]
    targets += [choice.get("Next") for choice in state.get("Choices") or []]
    targets += [catch.get("Next") for catch in state.get("Catch") or []]
    return [str(target) for target in targets]


def _reachable(start: Any, states: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [start] if start in states else []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(target for target in _targets(states[name]) if target in states)
    return seen


# --- the template --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccess:
    """What the fleet step function may touch for one service (from the catalog and its task definition)."""

    service: str
    engine: str  # "codedeploy" | "ecs"
    region: str
    project: str
    environment: str
    application: str
    deployment_group: str
    cluster: str
    ecs_service: str
    family: str  # the task definition family the deploy registers revisions of
    task_roles: tuple[str, ...] = ()  # the task definition's executionRoleArn / taskRoleArn
    service_roles: tuple[str, ...] = ()  # ECS engine: the hook and infrastructure roles UpdateService passes


def service_access(service: ResolvedService, task_definition: Mapping[str, Any] | None) -> ServiceAccess:
    """What deploying ``service`` touches: its names in the catalog, and the family and roles of
    the task definition its deploy registers (``None``: the running one's, same family)."""
    settings = service.settings
    rendered = task_definition or {}
    task_roles = tuple(str(rendered[key]) for key in ("executionRoleArn", "taskRoleArn") if rendered.get(key))
    service_roles = tuple(r for r in (settings.hook_role_arn, settings.infrastructure_role_arn) if r)
    return ServiceAccess(
        service=service.name,
        engine=str(settings.engine),
        region=service.region,
        project=service.project,
        environment=service.environment,
        application=settings.application,
        deployment_group=settings.deployment_group,
        cluster=settings.cluster,
        ecs_service=settings.ecs_service,
        family=str(rendered.get("family") or settings.ecs_service),
        task_roles=task_roles,
        service_roles=service_roles if settings.engine == "ecs" else (),
    )


@dataclass(frozen=True)
class TemplateOptions:
    """Names and code location of the template's resources."""

    code_uri: str = "build/lambda"  # scripts/build_lambda.py's output (template.yaml's CodeUri)
    function_name: str = ""  # "" -> bluegreen-<environment>-fleet-step
    state_machine_name: str = ""  # "" -> bluegreen-<environment>-fleet


def function_name(environment: str, options: TemplateOptions) -> str:
    return options.function_name or f"bluegreen-{environment}-fleet-step"


def template(
    plan: FleetPlan, access: Sequence[ServiceAccess], export: ExportOptions, options: TemplateOptions
) -> dict[str, Any]:
    """The SAM template (JSON-able) that runs ``state_machine(plan, export)`` in the account."""
    environment = plan.environment
    name = function_name(environment, options)
    definition = state_machine(plan, _with_arn_variable(export))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": (
            f"bluegreen fleet rollout of {environment} on AWS Step Functions (`bluegreen fleet export`): "
            "the state machine, the fleet step Lambda, and a least-privilege role for each."
        ),
        "Resources": {
            "FleetStateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": options.state_machine_name or f"bluegreen-{environment}-fleet",
                    "StateMachineType": "STANDARD",
                    "Definition": definition,
                    "DefinitionSubstitutions": {
                        FUNCTION_ARN_VARIABLE: {"Fn::GetAtt": ["FleetStepFunction", "Arn"]}
                    },
                    "RoleArn": {"Fn::GetAtt": ["FleetStateMachineRole", "Arn"]},
                },
            },
            "FleetStateMachineRole": _state_machine_role(),
            "FleetStepFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "FunctionName": name,
                    "Description": "bluegreen fleet: start, poll or stop one service's deployment",
                    "CodeUri": options.code_uri,
                    "Handler": "hooks.fleet_step.handler",
                    "Runtime": "python3.12",
                    "Architectures": ["arm64"],
                    "MemorySize": 512,
                    "Timeout": 120,
                    "Role": {"Fn::GetAtt": ["FleetStepRole", "Arn"]},
                    "Environment": {
                        "Variables": {
                            "BLUEGREEN_ENVIRONMENT": environment,
                            "POWERTOOLS_SERVICE_NAME": "bluegreen-fleet-step",
                            "POWERTOOLS_LOG_LEVEL": "INFO",
                        }
                    },
                },
            },
            "FleetStepLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": 30},
            },
            "FleetStepRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com"),
                    "Policies": [
                        {
                            "PolicyName": "fleetStep",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": step_statements(access)},
                        }
                    ],
                },
            },
        },
        "Outputs": {
            "StateMachineArn": {"Value": {"Ref": "FleetStateMachine"}},
            "FleetStepFunctionArn": {"Value": {"Fn::GetAtt": ["FleetStepFunction", "Arn"]}},
        },
    }


def _with_arn_variable(export: ExportOptions) -> ExportOptions:
    from dataclasses import replace

    return replace(export, function_arn="${" + FUNCTION_ARN_VARIABLE + "}")


def _trust(principal: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }


def _state_machine_role() -> dict[str, Any]:
    """The state machine invokes the fleet step function, any version of it, and nothing else."""
    arn = {"Fn::GetAtt": ["FleetStepFunction", "Arn"]}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": _trust("states.amazonaws.com"),
            "Policies": [
                {
                    "PolicyName": "invokeFleetStep",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "InvokeFleetStep",
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": [arn, {"Fn::Sub": ["${Arn}:*", {"Arn": arn}]}],
                            }
                        ],
                    },
                }
            ],
        },
    }


def _arn(service: str, region: str, resource: str) -> dict[str, Any]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}"}


def step_statements(access: Sequence[ServiceAccess]) -> list[dict[str, Any]]:
    """The fleet step function's policy: only the plan's groups, services, families and roles."""
    codedeploy = [a for a in access if a.engine == "codedeploy"]
    ecs = [a for a in access if a.engine == "ecs"]
    statements: list[dict[str, Any]] = [
        _statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [{"Fn::GetAtt": ["FleetStepLogs", "Arn"]}],
        ),
        # RegisterTaskDefinition, DescribeTaskDefinition and DeregisterTaskDefinition support no
        # resource-level permissions (Service Authorization Reference, Amazon ECS: no resource type):
        # "*" is the only grant under which they work; what they register is tagged, and
        # TagResource is held to the plan's families below.
        _statement(
            "TaskDefinitions",
            ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition"],
            ["*"],
        ),
        _statement(
            "TagOwnRevisions",
            ["ecs:TagResource"],
            _unique(_arn("ecs", a.region, f"task-definition/{a.family}:*") for a in access),
            {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        ),
        _statement(
            "ReadServices",
            ["ecs:DescribeServices"],
            _unique(_arn("ecs", a.region, f"service/{a.cluster}/{a.ecs_service}") for a in access),
        ),
    ]
    statements.append(_statement("RecordRun", ["ssm:PutParameter"], _run_records(access)))
    statements += _pass_roles(
        "PassTaskRoles", [r for a in access for r in a.task_roles], "ecs-tasks.amazonaws.com"
    )
    if codedeploy:
        statements += _codedeploy_statements(codedeploy)
    if ecs:
        statements += _ecs_statements(ecs)
    return statements


def _run_records(access: Sequence[ServiceAccess]) -> list[Any]:
    """The fleet runs' records of the plan's environment (aws/fleet_runs.py's parameter names)."""
    return _unique(
        _arn("ssm", a.region, f"parameter/bluegreen/{a.project}/{a.environment}/fleet-runs/*") for a in access
    )


def _codedeploy_statements(access: Sequence[ServiceAccess]) -> list[dict[str, Any]]:
    groups = _unique(
        _arn("codedeploy", a.region, f"deploymentgroup:{a.application}/{a.deployment_group}") for a in access
    )
    regions = sorted({a.region for a in access})
    configs = [
        _arn("codedeploy", region, f"deploymentconfig:{prefix}*")
        for region in regions
        for prefix in ("CodeDeployDefault.ECS", "bluegreen.ECS")
    ]
    return [
        _statement(
            "DeployGroups",
            [
                "codedeploy:CreateDeployment",
                "codedeploy:GetDeployment",
                "codedeploy:StopDeployment",
                "codedeploy:ContinueDeployment",  # the fleet promotes at Ready, as `deploy` does
                "codedeploy:ListDeployments",
                "codedeploy:BatchGetDeployments",
                "codedeploy:GetDeploymentGroup",
            ],
            groups,
        ),
        _statement(
            "DeploymentConfigs",
            ["codedeploy:GetDeploymentConfig", "codedeploy:CreateDeploymentConfig"],
            configs,
        ),
        # ListDeploymentTargets and GetDeploymentTarget support no resource-level permissions.
        _statement("Targets", ["codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget"], ["*"]),
    ]


def _ecs_statements(access: Sequence[ServiceAccess]) -> list[dict[str, Any]]:
    services = _unique(_arn("ecs", a.region, f"service/{a.cluster}/{a.ecs_service}") for a in access)
    deployments = _unique(
        _arn("ecs", a.region, f"service-deployment/{a.cluster}/{a.ecs_service}/*") for a in access
    )
    revisions = _unique(
        _arn("ecs", a.region, f"service-revision/{a.cluster}/{a.ecs_service}/*") for a in access
    )
    statements = [
        _statement("UpdateServices", ["ecs:UpdateService", "ecs:ListServiceDeployments"], services),
        _statement(
            "ServiceDeployments",
            [
                "ecs:DescribeServiceDeployments",
                "ecs:StopServiceDeployment",
                "ecs:ContinueServiceDeployment",  # the fleet promotes at Ready, as `deploy` does
            ],
            deployments,
        ),
        _statement("ServiceRevisions", ["ecs:DescribeServiceRevisions"], revisions),
        # The service's listener rules and target groups (ecs_plan's reads); ELBv2's Describe*
        # actions support no resource-level permissions.
        _statement(
            "ReadLoadBalancers",
            [
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
            ],
            ["*"],
        ),
    ]
    roles = [role for a in access for role in a.service_roles]
    return statements + _pass_roles("PassServiceRoles", roles, "ecs.amazonaws.com")


def _pass_roles(sid: str, roles: Iterable[str], to: str) -> list[dict[str, Any]]:
    chosen = sorted(set(roles))
    if not chosen:
        return []
    return [_statement(sid, ["iam:PassRole"], list(chosen), {"StringEquals": {"iam:PassedToService": to}})]


def _statement(
    sid: str, actions: list[str], resources: list[Any], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _unique(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
