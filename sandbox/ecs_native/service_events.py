"""The service event messages Amazon ECS writes (DescribeServices ``events``), in its wording.

Sources: AWS's "Amazon ECS service event messages" and "Amazon ECS service unhealthy event
messages" pages (the Fargate forms: ``(service service-name) (task task-id) (port port-number) is
unhealthy in (target-group target-group-name) due to (reason failure-reason)``), and the messages ECS
writes when alarms roll a deployment back (``(service X) (deployment ecs-svc/N) deployment failed:
alarm detected.`` then ``(service X) rolling back to deployment ecs-svc/M.``). A task is named by its
id (the ARN's last part), a target group by its ARN, a deployment by its ``ecs-svc/`` id.
"""

from __future__ import annotations

from collections.abc import Sequence


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def _tasks(task_arns: Sequence[str]) -> str:
    return " ".join(f"(task {task_id(arn)})" for arn in task_arns)


def started(service: str, task_arns: Sequence[str]) -> str:
    return f"(service {service}) has started {len(task_arns)} tasks: {_tasks(task_arns)}."


def stopped(service: str, task_arns: Sequence[str]) -> str:
    return f"(service {service}) has stopped {len(task_arns)} running tasks: {_tasks(task_arns)}."


def registered(service: str, count: int, target_group: str) -> str:
    return f"(service {service}) registered {count} targets in (target-group {target_group})"


def deregistered(service: str, count: int, target_group: str) -> str:
    return f"(service {service}) deregistered {count} targets in (target-group {target_group})"


def unhealthy(service: str, task_arn: str, port: int, target_group: str, reason: str) -> str:
    return (
        f"(service {service}) (task {task_id(task_arn)}) (port {port}) is unhealthy in "
        f"(target-group {target_group}) due to (reason {reason})."
    )


def steady(service: str) -> str:
    return f"(service {service}) has reached a steady state."


def deployment_failed(service: str, deployment: str, why: str) -> str:
    return f"(service {service}) (deployment {deployment}) deployment failed: {why}"


def rolling_back(service: str, deployment: str) -> str:
    return f"(service {service}) rolling back to deployment {deployment}."


# A task's stoppedReason (DescribeTasks) when ECS stopped it.
def failed_elb_health_checks(target_group: str) -> str:
    """ "Task failed ELB health checks in (target-group arn:...)" (AWS re:Post, "Why is my Amazon ECS
    task stopped?": "Task failed ELB health checks"; the stopped task's reason names the group)."""
    return f"Task failed ELB health checks in (target-group {target_group})"


def scaling_activity(deployment: str) -> str:
    """A task stopped because its revision was scaled down (CLEAN_UP, a rollback, a replacement)."""
    return f"Scaling activity initiated by (deployment {deployment})"


# Task.stopCode when the service scheduler stopped the task (botocore's TaskStopCode).
SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
