"""insight/diagnosis.py: the root-cause sentence for every branch, as a table.

The Evidence is shaped after real sandbox runs (`--inject-fault` on product-service, order-service,
search-service and auth-service, canary10, both engines): CodeDeploy's BatchGetDeployments
errorInformation and lifecycle events, ECS's DescribeServiceDeployments statusReason, the hooks'
verdict lines (reason as hooks/outcome.py joins the failed checks) and the sandbox's alarm reasons
(CloudWatch's "Threshold Crossed: ..." wording).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.insight.diagnosis import (
    PRECEDENCE,
    Cause,
    diagnose,
    inferred_cause,
    reported_cause,
)
from orchestrator.insight.evidence import (
    AlarmChange,
    DeploymentFacts,
    Evidence,
    HookVerdict,
    Inspection,
    Outcome,
    Step,
    StoppedTask,
    TargetHealth,
    TrafficPoint,
    Unreadable,
)
from orchestrator.vocabulary import ECS_LIFECYCLE_EVENTS, NATIVE_LIFECYCLE_STAGES

T0 = datetime(2026, 11, 30, 4, 41, 31, tzinfo=UTC)
CD_ID = "d-HU1WXX1HQ"
ECS_ARN = (
    "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/doa-market-cluster/inventory-service/SdVsHC"
)
FN = "arn:aws:lambda:ap-northeast-2:123456789012:function:"
SMOKE_500 = (
    "health: GET /health via the test listener: status 500, expected 200 (5 attempts); "
    "list-products: GET /products?limit=1 via the test listener: status 500, expected 200 (5 attempts)"
)
SMOKE_LATENCY = (
    "health: GET /health via the test listener: latency 1562 ms over the budget of 1000 ms (5 attempts)"
)
UNHEALTHY = "green-target-health: auth-service-green: not healthy: 10.0.100.22:3001 (unhealthy)"
ALARM_REASON = (
    "Threshold Crossed: 1 out of the last 2 datapoints [0 (04:42:00), 50 (04:43:00)] crossed the "
    "threshold (GreaterThanThreshold 5)"
)
AWS_ALARM_REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [12.5 (30/11/26 04:43:00)] was greater than the "
    "threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition)."
)
ACTIVATED = (
    "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the "
    "affected deployments have been stopped. Activated alarms: order-service-5xx-errors"
)
GREEN_TG = (
    "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/auth-service-green/6d0ecf831eec9f09"
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def cd_steps(failed: str | None = None, until: str | None = None) -> tuple[Step, ...]:
    """CodeDeploy's eleven lifecycle events: Succeeded up to ``failed`` (Failed), then Skipped; or
    Succeeded through ``until`` and Skipped after (a stop before the next event began)."""
    out, state = [], "Succeeded"
    for i, name in enumerate(ECS_LIFECYCLE_EVENTS):
        status = state
        if name == failed:
            status, state = "Failed", "Skipped"
        started, ended = (at(10 * i), at(10 * i + 9)) if status != "Skipped" else (None, None)
        out.append(Step(name, status, started, ended))
        if name == until:
            state = "Skipped"
    return tuple(out)


@dataclass(frozen=True)
class Seen:
    """The sources beside the engine's facts: what gather adds, and the inspection's other parts."""

    steps: tuple[Step, ...] = ()
    rollback_steps: tuple[Step, ...] = ()
    traffic: tuple[TrafficPoint, ...] = ()
    stopped_tasks: tuple[StoppedTask, ...] = ()
    engine_unreadable: tuple[Unreadable, ...] = ()
    hooks: tuple[HookVerdict, ...] = ()
    alarms: tuple[AlarmChange, ...] = ()
    targets: tuple[TargetHealth, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()

    def evidence(self, facts: DeploymentFacts) -> Evidence:
        inspection = Inspection(
            facts,
            steps=self.steps,
            traffic=self.traffic,
            rollback_steps=self.rollback_steps,
            stopped_tasks=self.stopped_tasks,
            unreadable=self.engine_unreadable,
        )
        return Evidence(inspection, self.hooks, self.alarms, self.targets, self.unreadable)


def ecs_steps(
    reached: str, status: str, message: str | None = None, hook: str | None = None
) -> tuple[Step, ...]:
    """The stages as engines/ecs_inspect.steps_of gives them: no per-stage times (ECS keeps none),
    the reached stage with the deployment's status word and the rollback's start as its end."""
    stages = NATIVE_LIFECYCLE_STAGES[1 : NATIVE_LIFECYCLE_STAGES.index(reached) + 1]
    steps = [
        Step(stage, "Succeeded", started=at(1) if i == 0 else None) for i, stage in enumerate(stages[:-1])
    ]
    return (*steps, Step(stages[-1], status, ended=at(150), message=message, hook_function=hook))


def codedeploy(
    status: str = "Failed",
    outcome: Outcome = Outcome.ROLLED_BACK,
    code: str | None = "HOOK_EXECUTION_FAILURE",
    message: str | None = None,
    seen: Seen = Seen(),
    stopped_by_user: bool = False,
) -> Evidence:
    """A CodeDeploy deployment as BatchGetDeployments and its target's lifecycle events say it."""
    facts = DeploymentFacts(
        CD_ID,
        "codedeploy",
        status,
        outcome,
        service="product-service",
        environment="dev",
        created=T0,
        completed=at(200),
        error_code=code,
        error_message=message,
        stopped_by_user=stopped_by_user,
        rolled_back=outcome is Outcome.ROLLED_BACK,
        rollback_deployment_id="d-DCRS4H2CI" if outcome is Outcome.ROLLED_BACK else None,
    )
    return seen.evidence(facts)


def ecs(reason: str | None, seen: Seen = Seen(), stopped_by_user: bool = False) -> Evidence:
    """A native service deployment as DescribeServiceDeployments says it (rolled back in place)."""
    facts = DeploymentFacts(
        ECS_ARN,
        "ecs",
        "ROLLBACK_SUCCESSFUL",
        Outcome.ROLLED_BACK,
        service="inventory-service",
        environment="dev",
        created=T0,
        completed=at(200),
        error_message=reason,
        rollback_reason=reason,
        rollback_started=at(150),
        rolled_back=True,
        stopped_by_user=stopped_by_user,
    )
    return seen.evidence(facts)


def verdict(
    step: str, reason: str, function: str, seconds: float = 60, verdict: str = "Failed"
) -> HookVerdict:
    return HookVerdict(step, function, verdict, reason, at(seconds))


def alarm(name: str, seconds: float, reason: str = ALARM_REASON, new: str = "ALARM") -> AlarmChange:
    return AlarmChange(name, at(seconds), "OK" if new == "ALARM" else "ALARM", new, reason)


CANARY = (TrafficPoint(at(60), 10.0), TrafficPoint(at(150), 0.0))
SMOKE_VERDICT = verdict("AfterAllowTestTraffic", SMOKE_500, "bluegreen-dev-after-allow-test-traffic", 45)
LOGS_DENIED = Unreadable(
    "CloudWatch Logs /aws/lambda/bluegreen-dev-after-allow-test-traffic",
    "AccessDeniedException: User is not authorized to perform logs:FilterLogEvents",
)

HOOK_FAILED_MESSAGE = (
    "The deployment failed because a lifecycle event hook failed (AfterAllowTestTraffic): "
    "The hook bluegreen-dev-after-allow-test-traffic reported Failed."
)
ECS_SMOKE_REASON = (
    f"Service deployment rolled back because the lifecycle hook {FN}bluegreen-dev-after-allow-test-traffic "
    "at POST_TEST_TRAFFIC_SHIFT returned FAILED."
)
ECS_INSTALL_REASON = (
    f"Service deployment rolled back because the lifecycle hook {FN}bluegreen-dev-after-install at "
    "POST_SCALE_UP returned FAILED."
)
ECS_STOP_REASON = "Service deployment rolled back because of a stop request (StopServiceDeployment)."
ECS_READY_TIMEOUT = (
    "Service deployment rolled back because a lifecycle hook timed out at POST_TEST_TRAFFIC_SHIFT."
)


def with_step(steps: tuple[Step, ...], name: str, **changes: object) -> tuple[Step, ...]:
    return tuple(replace(s, **changes) if s.name == name else s for s in steps)  # type: ignore[arg-type]


CASES = [
    pytest.param(
        codedeploy(
            message=HOOK_FAILED_MESSAGE,
            seen=Seen(
                steps=cd_steps(failed="AfterAllowTestTraffic"),
                hooks=(SMOKE_VERDICT,),
                # the smoke checks' own 5xx fire the alarm a minute later: too late to be the cause
                alarms=(alarm("product-service-5xx-errors", 110),),
            ),
        ),
        f"AfterAllowTestTraffic failed: {SMOKE_500}",
        id="codedeploy-smoke-500-beats-the-later-alarm",
    ),
    pytest.param(
        codedeploy(
            seen=Seen(
                steps=cd_steps(failed="AfterAllowTestTraffic"),
                hooks=(
                    verdict("AfterAllowTestTraffic", SMOKE_LATENCY, "bluegreen-dev-after-allow-test-traffic"),
                ),
            )
        ),
        f"AfterAllowTestTraffic failed: {SMOKE_LATENCY}",
        id="codedeploy-smoke-latency",
    ),
    pytest.param(
        codedeploy(
            message=HOOK_FAILED_MESSAGE,
            seen=Seen(
                steps=with_step(
                    cd_steps(failed="AfterAllowTestTraffic"),
                    "AfterAllowTestTraffic",
                    hook_function="bluegreen-dev-after-allow-test-traffic",
                    error_code="ScriptFailed",
                    message="The hook bluegreen-dev-after-allow-test-traffic reported Failed.",
                ),
                unreadable=(LOGS_DENIED,),
            ),
        ),
        "AfterAllowTestTraffic failed: the hook bluegreen-dev-after-allow-test-traffic reported Failed "
        f"({LOGS_DENIED.source} unreadable: {LOGS_DENIED.problem})",
        id="codedeploy-hook-logs-unreadable",
    ),
    pytest.param(
        codedeploy(
            seen=Seen(
                steps=with_step(
                    cd_steps(failed="AfterAllowTraffic"),
                    "AfterAllowTraffic",
                    error_code="ScriptTimedOut",
                    hook_function="bluegreen-dev-after-allow-traffic",
                    message="The hook did not report its status before the timeout.",
                )
            )
        ),
        "AfterAllowTraffic failed: the hook bluegreen-dev-after-allow-traffic did not report its status "
        "in time (The hook did not report its status before the timeout.)",
        id="codedeploy-hook-timed-out-no-verdict",
    ),
    pytest.param(
        codedeploy(
            seen=Seen(
                steps=cd_steps(failed="BeforeAllowTraffic"),
                hooks=(
                    verdict(
                        "BeforeAllowTraffic",
                        "alarms: in ALARM: product-service-5xx-errors",
                        "bluegreen-dev-before-allow-traffic",
                        58,
                    ),
                ),
                alarms=(alarm("product-service-5xx-errors", 52),),
            )
        ),
        "BeforeAllowTraffic failed: alarms: in ALARM: product-service-5xx-errors "
        "(alarm product-service-5xx-errors fired at 04:42:23 (50 > 5))",
        id="codedeploy-alarm-gate-hook",
    ),
    pytest.param(
        codedeploy(
            seen=Seen(
                steps=cd_steps(failed="AfterInstall"),
                hooks=(verdict("AfterInstall", UNHEALTHY, "bluegreen-dev-after-install", 25),),
            )
        ),
        "green tasks never became healthy at AfterInstall: auth-service-green: not healthy: "
        "10.0.100.22:3001 (unhealthy)",
        id="codedeploy-unhealthy-from-the-hook",
    ),
    pytest.param(
        codedeploy(
            seen=Seen(
                steps=cd_steps(failed="AfterInstall"),
                unreadable=(
                    Unreadable("CloudWatch Logs /aws/lambda/bluegreen-dev-after-install", "Throttling"),
                ),
                targets=(
                    TargetHealth(
                        GREEN_TG,
                        "10.0.100.22:3001",
                        "unhealthy",
                        "Target.ResponseCodeMismatch",
                        "Health checks failed with these codes: [503]",
                    ),
                ),
            )
        ),
        "green tasks never became healthy at AfterInstall: Target.ResponseCodeMismatch "
        "(Health checks failed with these codes: [503]) on auth-service-green",
        id="codedeploy-unhealthy-from-target-health",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,
                alarms=(
                    alarm("order-service-5xx-errors", -300),  # an earlier deployment's, before this one began
                    alarm("order-service-5xx-errors", 136),
                ),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:43:47 (50 > 5) "
        "while 10 % of production traffic was on green",
        id="codedeploy-alarm-in-the-canary-step",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,
                alarms=(alarm("order-service-5xx-errors", 136, AWS_ALARM_REASON),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:43:47 (12.5 > 5) "
        "while 10 % of production traffic was on green",
        id="codedeploy-alarm-cloudwatch-wording",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(until="AfterAllowTestTraffic"),
                traffic=CANARY,
                alarms=(alarm("order-service-5xx-errors", 50),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:42:21 (50 > 5) "
        "before any production traffic was on green",
        id="codedeploy-alarm-before-production-traffic",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,
                # recorded after the deployment ended: that clock disagrees, so no time, no share
                alarms=(alarm("order-service-5xx-errors", 400),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors went into ALARM (50 > 5)",
        id="codedeploy-alarm-recorded-after-the-end",
    ),
    # breaker: the rows below each kill a mutation of the alarm reading no row above caught
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,
                alarms=(alarm("order-service-5xx-errors", -300),),  # only an earlier deployment's
            ),
        ),
        "rolled back: alarm order-service-5xx-errors went into ALARM (50 > 5)",
        id="codedeploy-alarm-only-before-this-deployment-began",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,
                # it flapped: the last change into ALARM is the one the engine acted on
                alarms=(alarm("order-service-5xx-errors", 20), alarm("order-service-5xx-errors", 136)),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:43:47 (50 > 5) "
        "while 10 % of production traffic was on green",
        id="codedeploy-alarm-flapped-the-last-change-counts",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,
                alarms=(
                    alarm(
                        "order-service-5xx-errors",
                        60,  # the very second the canary's 10 % went to green
                        "Threshold Crossed: 1 out of the last 1 datapoints [5 (04:42:00)] crossed the "
                        "threshold (GreaterThanOrEqualToThreshold 5)",
                    ),
                ),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:42:31 (5 >= 5) "
        "while 10 % of production traffic was on green",
        id="codedeploy-alarm-greater-or-equal-at-the-shift",
    ),
    pytest.param(
        ecs(
            "Service deployment rolled back because alarm(s) inventory-service-5xx-errors went into ALARM.",
            # 65 s after the rollback began (past the minute of clock skew), before the deployment ended
            Seen(traffic=CANARY, alarms=(alarm("inventory-service-5xx-errors", 215),)),
        ),
        "rolled back: alarm inventory-service-5xx-errors went into ALARM (50 > 5)",
        id="ecs-alarm-after-the-rollback-began",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                traffic=CANARY,  # green had 10 % from 60 s, back to 0 at 150 s
                alarms=(alarm("order-service-5xx-errors", 155),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:44:06 (50 > 5) "
        "after production traffic went back to blue",
        id="codedeploy-alarm-after-traffic-went-back-to-blue",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            # stopped during AfterAllowTestTraffic: AllowTraffic Skipped, no traffic points at all
            seen=Seen(
                steps=cd_steps(failed="AfterAllowTestTraffic"),
                alarms=(alarm("order-service-5xx-errors", 44),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:42:15 (50 > 5) "
        "before any production traffic was on green",
        id="codedeploy-alarm-before-allow-traffic-ever-started",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            # AllowTraffic began at 60 s (then Failed) and the rollback put production back at that
            # very moment: no traffic points (insight/traffic.py), and the alarm fired before it
            # began (seen in CI: a run that printed no share at all)
            seen=Seen(steps=cd_steps(failed="AllowTraffic"), alarms=(alarm("order-service-5xx-errors", 44),)),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:42:15 (50 > 5) "
        "before any production traffic was on green",
        id="codedeploy-alarm-before-allow-traffic-began",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                rollback_steps=(Step("AllowTraffic", "Succeeded", at(60), at(60)),),
                alarms=(alarm("order-service-5xx-errors", 61),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:42:32 (50 > 5) "
        "before any production traffic was on green",
        id="codedeploy-alarm-rollback-rerouted-as-the-shift-began",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            # AllowTraffic ran but no schedule is known (an unreadable deployment config): no share
            seen=Seen(steps=cd_steps(failed="AllowTraffic"), alarms=(alarm("order-service-5xx-errors", 61),)),
        ),
        "rolled back: alarm order-service-5xx-errors fired at 04:42:32 (50 > 5)",
        id="codedeploy-alarm-during-allow-traffic-share-unknown",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message=ACTIVATED,
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"),
                unreadable=(Unreadable("alarm history", "AccessDenied: cloudwatch:DescribeAlarmHistory"),),
            ),
        ),
        "rolled back: alarm order-service-5xx-errors went into ALARM "
        "(alarm history unreadable: AccessDenied: cloudwatch:DescribeAlarmHistory)",
        id="codedeploy-alarm-history-unreadable",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="MANUAL_STOP",
            message="A user stopped the deployment.",
            seen=Seen(
                steps=cd_steps(failed="AllowTraffic"), alarms=(alarm("product-service-5xx-errors", 190),)
            ),
        ),
        "stopped by a user (StopDeployment) during AllowTraffic, then rolled back",
        id="codedeploy-manual-stop-beats-what-followed",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            Outcome.STOPPED,
            code="TIMEOUT",
            message="The deployment timed out while waiting for traffic to be rerouted "
            "(deploymentReadyOption).",
            seen=Seen(
                steps=with_step(
                    cd_steps(until="AfterAllowTestTraffic"), "AfterAllowTestTraffic", ended=at(49)
                )
            ),
        ),
        "timed out waiting at Ready: nobody promoted within 3 min",
        id="codedeploy-ready-timeout",
    ),
    pytest.param(
        codedeploy(
            code="ECS_UPDATE_ERROR",
            message="The ECS service could not be updated.",
            seen=Seen(steps=cd_steps(failed="Install")),
        ),
        "Install failed: ECS_UPDATE_ERROR: The ECS service could not be updated.",
        id="codedeploy-engine-error",
    ),
    pytest.param(
        codedeploy(
            code=None, seen=Seen(engine_unreadable=(Unreadable("lifecycle events", "ThrottlingException"),))
        ),
        "rolled back (status Failed); the engine gave no reason "
        "(lifecycle events unreadable: ThrottlingException)",
        id="codedeploy-nothing-known",
    ),
    pytest.param(
        codedeploy(
            "Stopped",
            code="ALARM_ACTIVE",
            message="One or more alarms have been activated.",  # no names, no steps, no traffic
            seen=Seen(alarms=(alarm("product-service-5xx-errors", 50, "Alarm set to ALARM by a user."),)),
        ),
        "rolled back: alarm product-service-5xx-errors fired at 04:42:21",
        id="codedeploy-alarm-nothing-but-its-change",
    ),
    # --- Amazon ECS: statusReason in ECS's words, hooks at native stages ---
    pytest.param(
        ecs(
            f"Service deployment rolled back because the lifecycle hook {FN}bluegreen-dev-x returned FAILED."
        ),
        "rolled back: the hook bluegreen-dev-x reported Failed",
        id="ecs-hook-failed-nowhere-known",
    ),
    pytest.param(
        ecs(ECS_SMOKE_REASON, Seen(hooks=(SMOKE_VERDICT,))),
        f"AfterAllowTestTraffic hook failed at POST_TEST_TRAFFIC_SHIFT: {SMOKE_500}",
        id="ecs-smoke-500",
    ),
    pytest.param(
        ecs(ECS_SMOKE_REASON, Seen(unreadable=(LOGS_DENIED,))),
        "AfterAllowTestTraffic hook failed at POST_TEST_TRAFFIC_SHIFT: the hook "
        "bluegreen-dev-after-allow-test-traffic reported Failed "
        f"({LOGS_DENIED.source} unreadable: {LOGS_DENIED.problem})",
        id="ecs-hook-logs-unreadable",
    ),
    pytest.param(
        ecs(
            ECS_INSTALL_REASON,
            Seen(
                stopped_tasks=(
                    StoppedTask(
                        "arn:aws:ecs:ap-northeast-2:123456789012:task/doa-market-cluster/0a1b",
                        f"Task failed ELB health checks in (target-group {GREEN_TG})",
                        "ServiceSchedulerInitiated",
                    ),
                ),
            ),
        ),
        "green tasks never became healthy at POST_SCALE_UP: 1 task stopped: Task failed ELB health checks in "
        f"(target-group {GREEN_TG})",
        id="ecs-unhealthy-stopped-tasks",
    ),
    pytest.param(
        ecs(
            ECS_INSTALL_REASON,
            Seen(
                hooks=(verdict("AfterInstall", UNHEALTHY, "bluegreen-dev-after-install", 25),),
                stopped_tasks=(
                    StoppedTask(
                        "arn:aws:ecs:ap-northeast-2:123456789012:task/doa-market-cluster/0a1b",
                        f"Task failed ELB health checks in (target-group {GREEN_TG})",
                    ),
                ),
                targets=(
                    TargetHealth(GREEN_TG, "10.0.100.22:3001", "unhealthy", "Target.ResponseCodeMismatch"),
                ),
            ),
        ),
        "green tasks never became healthy at POST_SCALE_UP: auth-service-green: not healthy: "
        "10.0.100.22:3001 (unhealthy)",
        id="ecs-unhealthy-the-verdict-first-it-stays-while-targets-go",
    ),
    pytest.param(
        ecs(
            ECS_INSTALL_REASON,
            Seen(
                engine_unreadable=(Unreadable("ECS tasks", "AccessDeniedException: ecs:DescribeTasks"),),
                unreadable=(
                    Unreadable(
                        "CloudWatch Logs /aws/lambda/bluegreen-dev-after-install", "ThrottlingException"
                    ),
                ),
            ),
        ),
        "green tasks never became healthy at POST_SCALE_UP: the hook bluegreen-dev-after-install reported "
        "Failed (ECS tasks unreadable: "
        "AccessDeniedException: ecs:DescribeTasks) (CloudWatch Logs /aws/lambda/bluegreen-dev-after-install "
        "unreadable: ThrottlingException)",
        id="ecs-unhealthy-nothing-readable",
    ),
    pytest.param(
        ecs(
            "Service deployment rolled back because alarm(s) payment-service-5xx-errors went into ALARM.",
            # as ecs_inspect gives a rollback at PRODUCTION_TRAFFIC_SHIFT: stages without times, no
            # traffic points (when the shift ran is in the hooks' verdict lines only)
            Seen(
                steps=ecs_steps("PRODUCTION_TRAFFIC_SHIFT", "Failed"),
                alarms=(alarm("payment-service-5xx-errors", 130),),
            ),
        ),
        "rolled back: alarm payment-service-5xx-errors fired at 04:43:41 (50 > 5)",
        id="ecs-alarm-in-the-shift-whose-times-ecs-does-not-keep",
    ),
    pytest.param(
        ecs(
            "Service deployment rolled back because alarm(s) inventory-service-5xx-errors went into ALARM.",
            Seen(traffic=CANARY, alarms=(alarm("inventory-service-5xx-errors", 130),)),
        ),
        "rolled back: alarm inventory-service-5xx-errors fired at 04:43:41 (50 > 5) "
        "while 10 % of production traffic was on green",
        id="ecs-alarm",
    ),
    pytest.param(
        ecs(
            "Service deployment rolled back because the lifecycle hook "
            f"{FN}bluegreen-dev-before-allow-traffic at PRE_PRODUCTION_TRAFFIC_SHIFT returned FAILED.",
            Seen(
                hooks=(
                    verdict(
                        "AfterAllowTestTraffic",
                        "all checks passed",
                        "bluegreen-dev-after-allow-test-traffic",
                        40,
                        "Succeeded",
                    ),
                    verdict(
                        "BeforeAllowTraffic",
                        "alarms: in ALARM: inventory-service-5xx-errors",
                        "bluegreen-dev-before-allow-traffic",
                        70,
                    ),
                ),
                alarms=(alarm("inventory-service-5xx-errors", 65),),
            ),
        ),
        "BeforeAllowTraffic hook failed at PRE_PRODUCTION_TRAFFIC_SHIFT: alarms: in ALARM: "
        "inventory-service-5xx-errors (alarm inventory-service-5xx-errors fired at 04:42:36 (50 > 5))",
        id="ecs-alarm-gate-hook",
    ),
    pytest.param(
        ecs(
            ECS_STOP_REASON,
            Seen(steps=(Step("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS", at(60)),)),
            stopped_by_user=True,
        ),
        "stopped by a user (StopServiceDeployment) during PRODUCTION_TRAFFIC_SHIFT, then rolled back",
        id="ecs-stop",
    ),
    pytest.param(
        ecs(ECS_STOP_REASON, Seen(steps=ecs_steps("PRODUCTION_TRAFFIC_SHIFT", "Skipped", ECS_STOP_REASON))),
        "stopped by a user (StopServiceDeployment) during PRODUCTION_TRAFFIC_SHIFT, then rolled back",
        id="ecs-stop-stages-as-inspect-gives-them",
    ),
    pytest.param(
        ecs(
            ECS_READY_TIMEOUT,
            Seen(
                steps=ecs_steps("POST_TEST_TRAFFIC_SHIFT", "Failed", ECS_READY_TIMEOUT),
                hooks=(
                    verdict(
                        "AfterAllowTestTraffic",
                        "all checks passed",
                        "bluegreen-dev-after-allow-test-traffic",
                        88,
                        "Succeeded",
                    ),
                ),
            ),
        ),
        "timed out waiting at Ready: nobody promoted within 1 min",
        id="ecs-pause-timeout-from-the-hook-that-passed",
    ),
    pytest.param(
        ecs(
            ECS_SMOKE_REASON,
            Seen(
                steps=ecs_steps(
                    "POST_TEST_TRAFFIC_SHIFT",
                    "Failed",
                    ECS_SMOKE_REASON,
                    f"{FN}bluegreen-dev-after-allow-test-traffic",
                ),
                unreadable=(LOGS_DENIED,),
            ),
        ),
        "AfterAllowTestTraffic hook failed at POST_TEST_TRAFFIC_SHIFT: the hook "
        "bluegreen-dev-after-allow-test-traffic reported Failed "
        f"({LOGS_DENIED.source} unreadable: {LOGS_DENIED.problem})",
        id="ecs-hook-logs-unreadable-stages-as-inspect-gives-them",
    ),
    pytest.param(
        ecs(
            ECS_INSTALL_REASON,
            Seen(
                hooks=(verdict("AfterInstall", UNHEALTHY, "bluegreen-dev-after-install", 25),),
                stopped_tasks=(
                    StoppedTask(
                        "arn:aws:ecs:ap-northeast-2:123456789012:task/doa-market-cluster/9f9f",
                        "Scaling activity initiated by (deployment ecs-svc/123)",
                        "ServiceSchedulerInitiated",
                    ),
                ),
            ),
        ),
        "green tasks never became healthy at POST_SCALE_UP: auth-service-green: not healthy: "
        "10.0.100.22:3001 (unhealthy)",
        id="ecs-unhealthy-tasks-stopped-by-the-rollback-are-not-the-evidence",
    ),
    pytest.param(
        ecs(ECS_STOP_REASON),
        "stopped by a user (StopServiceDeployment), then rolled back",
        id="ecs-stop-said-only-in-words",
    ),
    pytest.param(
        ecs(ECS_READY_TIMEOUT, Seen(steps=(Step("POST_TEST_TRAFFIC_SHIFT", "TIMED_OUT", at(30), at(150)),))),
        "timed out waiting at Ready: nobody promoted within 2 min",
        id="ecs-pause-timeout",
    ),
    pytest.param(
        ecs(ECS_READY_TIMEOUT),
        "timed out waiting at Ready: nobody promoted in time",
        id="ecs-pause-timeout-no-times",
    ),
    pytest.param(
        ecs(
            "Service deployment rolled back because a lifecycle hook timed out at "
            "POST_PRODUCTION_TRAFFIC_SHIFT."
        ),
        "timed out at POST_PRODUCTION_TRAFFIC_SHIFT: Service deployment rolled back because a lifecycle hook "
        "timed out at POST_PRODUCTION_TRAFFIC_SHIFT.",
        id="ecs-bake-hook-timeout",
    ),
    pytest.param(
        ecs(
            "Service deployment failed: ClientError: An error occurred (AccessDenied) when calling ModifyRule"
        ),
        "rolled back: Service deployment failed: ClientError: An error occurred (AccessDenied) when calling "
        "ModifyRule",
        id="ecs-engine-error",
    ),
]


@pytest.mark.parametrize(("evidence", "expected"), CASES)
def test_root_cause(evidence: Evidence, expected: str) -> None:
    diagnosis = diagnose(evidence)
    assert diagnosis.root_cause == expected
    assert diagnosis.ok is False


def test_succeeded_has_nothing_to_diagnose() -> None:
    diagnosis = diagnose(codedeploy("Succeeded", Outcome.SUCCEEDED, code=None, seen=Seen(steps=cd_steps())))
    assert (diagnosis.root_cause, diagnosis.ok) == (f"{CD_ID} succeeded; nothing to diagnose", True)


def test_in_progress_has_nothing_to_diagnose_yet() -> None:
    steps = with_step(
        cd_steps(until="BeforeAllowTraffic"), "AllowTraffic", status="InProgress", started=at(70)
    )
    diagnosis = diagnose(codedeploy("InProgress", Outcome.IN_PROGRESS, code=None, seen=Seen(steps=steps)))
    expected = f"{CD_ID} is still in progress at AllowTraffic; nothing to diagnose yet"
    assert (diagnosis.root_cause, diagnosis.ok) == (expected, True)


# The engine's report names the cause; the precedence table decides only without it.
@pytest.mark.parametrize(
    ("evidence", "reported", "inferred"),
    [
        pytest.param(
            codedeploy(
                code=None,
                seen=Seen(hooks=(SMOKE_VERDICT,), alarms=(alarm("product-service-5xx-errors", 30),)),
            ),
            None,
            Cause.HOOK_FAILED,
            id="no report: a failed hook beats an alarm",
        ),
        pytest.param(
            codedeploy(code=None, seen=Seen(alarms=(alarm("product-service-5xx-errors", 30),))),
            None,
            Cause.ALARM,
            id="no report: the alarm",
        ),
        pytest.param(
            codedeploy("Stopped", code="ALARM_ACTIVE", message=ACTIVATED, seen=Seen(hooks=(SMOKE_VERDICT,))),
            Cause.ALARM,
            Cause.HOOK_FAILED,
            id="the engine's alarm wins over a hook verdict it did not act on",
        ),
        pytest.param(
            codedeploy("Stopped", code=None, stopped_by_user=True, seen=Seen(hooks=(SMOKE_VERDICT,))),
            Cause.STOPPED_BY_USER,
            Cause.STOPPED_BY_USER,
            id="a stop flag beats a hook verdict",
        ),
        pytest.param(
            codedeploy(code=None, seen=Seen(hooks=(verdict("AfterInstall", UNHEALTHY, "f"),))),
            None,
            Cause.UNHEALTHY,
            id="no report: a failed health hook",
        ),
        pytest.param(
            codedeploy(code=None, seen=Seen(steps=(Step("POST_TEST_TRAFFIC_SHIFT", "TIMED_OUT"),))),
            None,
            Cause.TIMEOUT,
            id="no report: a timed-out stage",
        ),
        pytest.param(codedeploy(code=None), None, Cause.UNKNOWN, id="nothing"),
    ],
)
def test_reported_then_inferred(evidence: Evidence, reported: Cause | None, inferred: Cause) -> None:
    assert reported_cause(evidence) == reported
    assert inferred_cause(evidence) == inferred


def test_the_precedence_table_has_each_engine_cause_once() -> None:
    causes = [row.cause for row in PRECEDENCE]
    assert len(causes) == len(set(causes))
    # UNHEALTHY refines a hook failure, PROBE a stop (the watch's own record says who asked)
    assert set(causes) == set(Cause) - {Cause.UNHEALTHY, Cause.PROBE, Cause.UNKNOWN}


def test_findings_name_each_source() -> None:
    evidence = codedeploy(
        message=HOOK_FAILED_MESSAGE,
        seen=Seen(
            steps=cd_steps(failed="AfterAllowTestTraffic"),
            hooks=(SMOKE_VERDICT,),
            alarms=(alarm("product-service-5xx-errors", 110),),
            targets=(
                TargetHealth(GREEN_TG, "10.0.100.22:3001", "draining", "Target.DeregistrationInProgress"),
            ),
            unreadable=(LOGS_DENIED,),
        ),
    )
    sources = [f.source for f in diagnose(evidence).findings]
    assert sources == ["engine", "lifecycle", "hook", "alarm", "targets", "unreadable"]


def test_an_alarm_within_a_minute_after_the_end_is_the_cause_clocks_differ() -> None:
    # breaker: without CLOCK_SKEW, CloudWatch's record 30 s after CodeDeploy's end was dropped
    evidence = codedeploy(
        "Stopped",
        code="ALARM_ACTIVE",
        message=ACTIVATED,
        seen=Seen(steps=cd_steps(failed="AllowTraffic"), alarms=(alarm("order-service-5xx-errors", 230),)),
    )
    assert "alarm order-service-5xx-errors fired at 04:45:21 (50 > 5)" in diagnose(evidence).root_cause


# The watching CLI stops a deployment at the first sign (issue 14 item 3): the engine records only a
# stop request; a stop after one of the deployment's alarms went into ALARM is the alarm's doing.
@pytest.mark.parametrize(
    ("evidence", "starts"),
    [
        pytest.param(
            codedeploy(
                "Stopped",
                code="MANUAL_STOP",
                stopped_by_user=True,
                seen=Seen(alarms=(alarm("product-service-5xx-errors", 65),)),
            ),
            "rolled back: alarm product-service-5xx-errors fired at 04:42:36",
            id="codedeploy-watcher-stop",
        ),
        pytest.param(
            ecs(ECS_STOP_REASON, Seen(alarms=(alarm("inventory-service-5xx-errors", 65),))),
            "rolled back: alarm inventory-service-5xx-errors fired at 04:42:36",
            id="ecs-watcher-stop",
        ),
        pytest.param(
            codedeploy(
                "Stopped",
                code="MANUAL_STOP",
                stopped_by_user=True,
                seen=Seen(alarms=(alarm("product-service-5xx-errors", 900),)),
            ),
            "stopped by a user (StopDeployment)",
            id="alarm-after-the-stop-is-not-why",
        ),
    ],
)
def test_a_stop_after_an_alarm_fired_is_the_alarm(evidence: Evidence, starts: str) -> None:
    assert diagnose(evidence).root_cause.startswith(starts), diagnose(evidence).root_cause


def _stopped_by(evidence: Evidence, stopped_by: str) -> Evidence:
    facts = dataclasses.replace(evidence.facts, stopped_by=stopped_by)
    return dataclasses.replace(evidence, inspection=dataclasses.replace(evidence.inspection, facts=facts))


PROBE_SIGN = "3 of the last 10 answers through the test listener were wrong (GET /products: status 500)"


# Neither StopDeployment nor StopServiceDeployment carries a reason: the watch records which of its
# signs asked for the stop (the ledger's stoppedBy, or its own result), and that is the cause.
@pytest.mark.parametrize(
    ("evidence", "cause", "expected"),
    [
        pytest.param(
            _stopped_by(
                codedeploy(
                    "Stopped",
                    code="MANUAL_STOP",
                    stopped_by_user=True,
                    seen=Seen(steps=cd_steps(failed="AllowTraffic")),
                ),
                f"green probe: {PROBE_SIGN}",
            ),
            Cause.PROBE,
            f"stopped by bluegreen's green probe during AllowTraffic: {PROBE_SIGN}, then rolled back",
            id="codedeploy-probe",
        ),
        pytest.param(
            _stopped_by(
                ecs(ECS_STOP_REASON, Seen(steps=(Step("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS", at(60)),))),
                f"green probe: {PROBE_SIGN}",
            ),
            Cause.PROBE,
            "stopped by bluegreen's green probe during PRODUCTION_TRAFFIC_SHIFT: "
            f"{PROBE_SIGN}, then rolled back",
            id="ecs-probe",
        ),
        # an alarm of the service fired before the probe's stop: the record still says the probe
        pytest.param(
            _stopped_by(
                codedeploy(
                    "Stopped",
                    code="MANUAL_STOP",
                    stopped_by_user=True,
                    seen=Seen(alarms=(alarm("product-service-5xx-errors", 65),)),
                ),
                f"green probe: {PROBE_SIGN}",
            ),
            Cause.PROBE,
            f"stopped by bluegreen's green probe: {PROBE_SIGN}, then rolled back",
            id="probe-beats-an-alarm-history",
        ),
        # the watch's alarm: its name picks the change among several alarms'
        pytest.param(
            _stopped_by(
                codedeploy(
                    "Stopped",
                    code="MANUAL_STOP",
                    stopped_by_user=True,
                    seen=Seen(
                        alarms=(alarm("product-service-5xx-errors", 65), alarm("product-service-latency", 90))
                    ),
                ),
                "alarm product-service-5xx-errors",
            ),
            Cause.ALARM,
            "rolled back: alarm product-service-5xx-errors fired at 04:42:36",
            id="watch-alarm-named",
        ),
        # recorded, though no alarm history could show it
        pytest.param(
            _stopped_by(
                ecs(ECS_STOP_REASON), "alarms inventory-service-5xx-errors, inventory-service-latency"
            ),
            Cause.ALARM,
            "rolled back: alarm inventory-service-5xx-errors, inventory-service-latency went into ALARM",
            id="watch-alarms-without-history",
        ),
    ],
)
def test_the_watchs_record_of_its_stop_is_the_cause(evidence: Evidence, cause: Cause, expected: str) -> None:
    assert reported_cause(evidence) is cause
    assert diagnose(evidence).root_cause.startswith(expected), diagnose(evidence).root_cause
