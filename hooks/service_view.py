"""What a hook reads of its catalog service, as plain immutable data (stdlib only).

A hook needs a handful of a service's resolved settings: its CodeDeploy names and its ECS cluster,
service and account (to be found by either engine's event), the listener host and scheme (smoke
checks), the smoke checks, freeze windows, alarm names and policy,
the bake time and the desired task count; and, for the ledger Lambda (``hooks/ledger.py``), the
ledger table and the notification topic. ``ServiceView.from_record`` builds the view from a plain
record, ``record_of`` makes that record from the orchestrator's ``ResolvedService``; both ways a hook
gets its settings (the build's snapshot, ``hooks.catalog_snapshot``, or ``services.yaml`` loaded
with the catalog's pydantic models) go through the same record, so they cannot differ. Records hold
only JSON types (lists, not tuples) so a snapshot can carry them unchanged. The views are
NamedTuples, not frozen dataclasses: a cold start makes their classes, and a frozen dataclass costs
about ten times as much to make (about 2 ms each here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:  # the pydantic models load only when services.yaml itself is read
    from orchestrator.catalog import ResolvedService

Record = dict[str, Any]


class JsonFieldView(NamedTuple):
    """A JSON body field (dotted path) that must equal a value."""

    path: str
    equals: Any


class SmokeCheckView(NamedTuple):
    """One HTTP request a hook sends through a listener, and what the answer must be."""

    name: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: str | None
    expect_status: list[int]
    body_contains: str | None
    json_field: JsonFieldView | None
    latency_budget_ms: int


class SmokeView(NamedTuple):
    """The smoke checks and how they are retried while the warm-up lasts."""

    checks: list[SmokeCheckView]
    warmup_seconds: float
    backoff_seconds: float
    max_attempts: int
    max_body_bytes: int


class FreezeWindowView(NamedTuple):
    """A recurring UTC window in which BeforeInstall refuses deployments."""

    name: str
    days: list[str]
    start: str
    end: str


class ServiceView(NamedTuple):
    """One service in one environment, as the hooks see it."""

    name: str
    environment: str
    application: str
    deployment_group: str
    cluster: str
    ecs_service: str
    account_id: str | None
    listener_host: str | None
    listener_scheme: str
    desired_tasks: int
    alarms: list[str]
    insufficient_data: Literal["ok", "alarm"]
    bake_seconds: float
    freeze_windows: list[FreezeWindowView]
    smoke: SmokeView
    ledger_table: str | None  # the ledger Lambda writes the service's deployments there (None: nowhere)
    notification_topic_arn: str | None  # ...and publishes their outcome there (None: no notification)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ServiceView:
        smoke = record["smoke"]
        return cls(
            name=record["name"],
            environment=record["environment"],
            application=record["application"],
            deployment_group=record["deployment_group"],
            cluster=record["cluster"],
            ecs_service=record["ecs_service"],
            account_id=record["account_id"],
            listener_host=record["listener_host"],
            listener_scheme=record["listener_scheme"],
            desired_tasks=record["desired_tasks"],
            alarms=list(record["alarms"]),
            insufficient_data=record["insufficient_data"],
            bake_seconds=record["bake_seconds"],
            freeze_windows=[FreezeWindowView(**window) for window in record["freeze_windows"]],
            smoke=SmokeView(
                checks=[_smoke_check(check) for check in smoke["checks"]],
                **{key: value for key, value in smoke.items() if key != "checks"},
            ),
            ledger_table=record["ledger_table"],
            notification_topic_arn=record["notification_topic_arn"],
        )


def _smoke_check(record: Mapping[str, Any]) -> SmokeCheckView:
    json_field = record["json_field"]
    return SmokeCheckView(
        **{key: value for key, value in record.items() if key != "json_field"},
        json_field=JsonFieldView(**json_field) if json_field is not None else None,
    )


def record_of(service: ResolvedService) -> Record:
    """The hooks' record of a resolved service (JSON types only)."""
    settings = service.settings
    return {
        "name": service.name,
        "environment": service.environment,
        "application": settings.application,
        "deployment_group": settings.deployment_group,
        "cluster": settings.cluster,
        "ecs_service": settings.ecs_service,
        "account_id": service.account_id,
        "listener_host": service.listener_host,
        "listener_scheme": service.listener_scheme,
        "desired_tasks": settings.tasks.desired,
        "alarms": list(settings.alarms),
        "insufficient_data": settings.alarm_policy.insufficient_data,
        "bake_seconds": settings.deployment.bake_seconds,
        "freeze_windows": [window.model_dump() for window in settings.freeze_windows],
        "smoke": settings.smoke.model_dump(),
        "ledger_table": settings.ledger_table,
        "notification_topic_arn": settings.notification_topic_arn,
    }
