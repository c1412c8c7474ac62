"""Alarm definitions (alarms/*.yaml): pydantic models, loading, layering, and PutMetricAlarm requests.

Pure: no boto3, no AWS calls. ``load_definitions`` reads every ``*.yaml`` under ``alarms/`` (sorted),
validates it, checks it against the catalog, and freezes; ``Definitions.for_service`` gives the
alarms of one service in one environment; ``render_request`` turns one into PutMetricAlarm kwargs.

Layers, merged per field: ``templates.<kind>`` < ``environments.<env>.defaults`` <
``environments.<env>.alarms.<kind>`` < ``services.<name>.alarms.<kind>`` <
``services.<name>.environments.<env>.alarms.<kind>``. An alarm is named ``<service>-<kind>``.

Placeholders in dimension values and actions: ``{service}``, ``{environment}``, ``{project}``,
``{region}``, ``{account_id}``, ``{cluster}``, ``{ecs_service}``, and the CloudWatch dimension values
that only AWS knows, looked up by sync: ``{target_group_blue}``, ``{target_group_green}``
(``targetgroup/<name>/<id>``) and ``{load_balancer}`` (``app/<name>/<id>``).

Expressions are limited to the metric-math subset in ``orchestrator.alarms.metric_math`` (metric ids,
numbers, + - * /, parentheses, MAX/MIN/SUM([...]), FILL(m, value)), checked at load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.alarms.metric_math import parse_expression
from orchestrator.catalog import Catalog, ResolvedService
from orchestrator.errors import AlarmDefinitionError
from orchestrator.files.userfiles import UserFileError, load_yaml, read_utf8

ALARMS_DIR_ENV_VAR = "BLUEGREEN_ALARMS"
# CodeDeploy: "You can add up to 10 alarms to a deployment group" (AlarmConfiguration.alarms).
CODEDEPLOY_MAX_ALARMS_PER_GROUP = 10

Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
TreatMissingData = Literal["breaching", "notBreaching", "ignore", "missing"]
_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p([0-9]{1,2}(\.[0-9]{1,2})?|100)$")
_METRIC_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
RESOURCE_PLACEHOLDERS = ("target_group_blue", "target_group_green", "load_balancer")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(_Model):
    """One CloudWatch metric and the statistic an alarm reads from it."""

    namespace: str
    metric_name: str
    stat: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    unit: str | None = None

    @field_validator("stat")
    @classmethod
    def _known_stat(cls, value: str) -> str:
        if value not in _STATISTICS and not _PERCENTILE.match(value):
            raise ValueError(f"must be one of {', '.join(_STATISTICS)} or a percentile like p99")
        return value


class AlarmOverride(_Model):
    """The fields an environment or a service may change; metrics stay the template's."""

    enabled: bool | None = None
    description: str | None = None
    threshold: float | None = None
    comparison: Comparison | None = None
    period: int | None = Field(default=None, ge=10)
    evaluation_periods: int | None = Field(default=None, ge=1)
    datapoints_to_alarm: int | None = Field(default=None, ge=1)
    treat_missing_data: TreatMissingData | None = None
    actions_enabled: bool | None = None
    alarm_actions: list[str] | None = None
    ok_actions: list[str] | None = None
    insufficient_data_actions: list[str] | None = None


class AlarmSpec(_Model):
    """A complete alarm: one metric, or metric math over named metrics."""

    enabled: bool = True
    description: str = ""
    metric: MetricSpec | None = None
    expression: str | None = None
    label: str | None = None
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    threshold: float
    comparison: Comparison = "GreaterThanThreshold"
    period: int = Field(default=60, ge=10)
    evaluation_periods: int = Field(default=1, ge=1)
    datapoints_to_alarm: int | None = Field(default=None, ge=1)
    treat_missing_data: TreatMissingData = "missing"
    actions_enabled: bool = True
    alarm_actions: list[str] = Field(default_factory=list)
    ok_actions: list[str] = Field(default_factory=list)
    insufficient_data_actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> AlarmSpec:
        if (self.metric is None) == (self.expression is None):
            raise ValueError("give either metric (one metric) or expression with metrics (metric math)")
        if self.expression is not None:
            if not self.metrics:
                raise ValueError("expression needs metrics: {id: {namespace, metric_name, stat, ...}}")
            bad = [metric_id for metric_id in self.metrics if not _METRIC_ID.match(metric_id)]
            if bad:
                raise ValueError(f"metric ids must match [a-z][a-zA-Z0-9_]*: {bad}")
            parse_expression(self.expression, set(self.metrics))
        elif self.metrics:
            raise ValueError("metrics are for an expression; a single metric goes under metric")
        if self.datapoints_to_alarm is not None and self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError("datapoints_to_alarm cannot exceed evaluation_periods")
        return self

    def merged(self, override: AlarmOverride) -> AlarmSpec:
        """This spec with the override's set fields replacing its own (validated again)."""
        changes = override.model_dump(exclude_none=True)
        return AlarmSpec.model_validate({**self.model_dump(), **changes})


class EnvironmentAlarms(_Model):
    """Per-environment layer: defaults for every alarm, then per kind."""

    defaults: AlarmOverride = Field(default_factory=AlarmOverride)
    alarms: dict[str, AlarmOverride] = Field(default_factory=dict)


class ServiceAlarms(_Model):
    """Per-service layer, with its own per-environment layer."""

    alarms: dict[str, AlarmOverride] = Field(default_factory=dict)
    environments: dict[str, EnvironmentAlarms] = Field(default_factory=dict)


class AlarmFile(_Model):
    """The top level of one file under alarms/."""

    version: Literal[1] = 1
    templates: dict[str, AlarmSpec] = Field(default_factory=dict)
    environments: dict[str, EnvironmentAlarms] = Field(default_factory=dict)
    services: dict[str, ServiceAlarms] = Field(default_factory=dict)


@dataclass(frozen=True)
class ServiceAlarm:
    """One alarm of one service in one environment, every layer applied."""

    name: str
    kind: str
    service: str
    environment: str
    spec: AlarmSpec


@dataclass(frozen=True)
class ServiceResources:
    """CloudWatch dimension values of a service's load balancer and target groups (ARN suffixes)."""

    target_group_blue: str
    target_group_green: str
    load_balancer: str


# The canary judge's verdict alarm (alarms/verdict.yaml): a service with analysis enabled must have it.
CANARY_VERDICT_KIND = "canary-verdict"


def alarm_name(service: str, kind: str) -> str:
    """The alarm name of a kind for a service: ``<service>-<kind>``."""
    return f"{service}-{kind}"


class Definitions:
    """Every alarm file merged and checked against a catalog."""

    def __init__(self, files: Mapping[str, AlarmFile], root: Path) -> None:
        self.root = root
        self.files = dict(files)
        self.templates: dict[str, AlarmSpec] = {}
        self.template_file: dict[str, str] = {}
        for file_name, data in self.files.items():
            for kind, spec in data.templates.items():
                if kind in self.templates:
                    raise AlarmDefinitionError(
                        f"{file_name}: field templates.{kind}: already defined in {self.template_file[kind]}"
                    )
                self.templates[kind] = spec
                self.template_file[kind] = file_name

    @property
    def kinds(self) -> list[str]:
        return list(self.templates)

    def for_service(self, service: ResolvedService) -> list[ServiceAlarm]:
        """The enabled alarms of one service in one environment, layers applied, placeholders kept."""
        out: list[ServiceAlarm] = []
        for kind, template in self.templates.items():
            spec = template
            for override in self._overrides(service.name, service.environment, kind):
                spec = spec.merged(override)
            if spec.enabled:
                name = alarm_name(service.name, kind)
                out.append(ServiceAlarm(name, kind, service.name, service.environment, spec))
        return out

    def _overrides(self, service: str, environment: str, kind: str) -> Iterable[AlarmOverride]:
        for data in self.files.values():
            env = data.environments.get(environment)
            if env is not None:
                yield env.defaults
                if kind in env.alarms:
                    yield env.alarms[kind]
        for data in self.files.values():
            svc = data.services.get(service)
            if svc is not None and kind in svc.alarms:
                yield svc.alarms[kind]
        for data in self.files.values():
            svc = data.services.get(service)
            if svc is not None and environment in svc.environments:
                svc_env = svc.environments[environment]
                yield svc_env.defaults
                if kind in svc_env.alarms:
                    yield svc_env.alarms[kind]

    def check_catalog(self, catalog: Catalog) -> None:
        """Every override names a known service, environment and kind; names agree with the catalog."""
        services, environments = set(catalog.services), set(catalog.environments)
        for file_name, data in self.files.items():
            for env_name, env in data.environments.items():
                self._check_env(file_name, f"environments.{env_name}", env_name, env, environments)
            for svc_name, svc in data.services.items():
                if svc_name not in services:
                    raise AlarmDefinitionError(
                        f"{file_name}: field services.{svc_name}: no such service in {catalog.path.name} "
                        f"(defined: {', '.join(sorted(services))})"
                    )
                self._check_kinds(file_name, f"services.{svc_name}.alarms", svc.alarms)
                for env_name, env in svc.environments.items():
                    where = f"services.{svc_name}.environments.{env_name}"
                    self._check_env(file_name, where, env_name, env, environments)
        for env_name in catalog.environments:
            for service in catalog.resolve_all(env_name):
                self._check_names(service, catalog.path.name)

    def _check_env(
        self, file_name: str, where: str, env_name: str, env: EnvironmentAlarms, known: set[str]
    ) -> None:
        if env_name not in known:
            raise AlarmDefinitionError(
                f"{file_name}: field {where}: no such environment (defined: {', '.join(sorted(known))})"
            )
        self._check_kinds(file_name, f"{where}.alarms", env.alarms)

    def _check_kinds(self, file_name: str, where: str, alarms: Mapping[str, AlarmOverride]) -> None:
        for kind in alarms:
            if kind not in self.templates:
                raise AlarmDefinitionError(
                    f"{file_name}: field {where}.{kind}: no template of that kind "
                    f"(templates: {', '.join(self.templates)})"
                )

    def _check_names(self, service: ResolvedService, catalog_name: str) -> None:
        where = f"{catalog_name}: services.{service.name} ({service.environment}): field alarms"
        try:
            defined = {alarm.name for alarm in self.for_service(service)}
        except ValidationError as err:
            raise AlarmDefinitionError(
                f"alarms for {service.name} ({service.environment}): {_format_validation_error(err)}"
            ) from None
        listed = set(service.settings.alarms)
        if listed - defined:
            raise AlarmDefinitionError(
                f"{where}: {sorted(listed - defined)} have no definition under {self.root.name}/ "
                f"(defined: {sorted(defined)})"
            )
        if defined - listed:
            raise AlarmDefinitionError(
                f"{where}: does not list {sorted(defined - listed)}, defined under {self.root.name}/; "
                "list them or disable them with enabled: false"
            )
        verdict = alarm_name(service.name, CANARY_VERDICT_KIND)
        if (
            service.settings.analysis.enabled
            and CANARY_VERDICT_KIND in self.templates
            and verdict not in listed
        ):
            raise AlarmDefinitionError(
                f"{where}: analysis is enabled but {verdict} is not one of its alarms: enable "
                f"{CANARY_VERDICT_KIND} for {service.name} under {self.root.name}/ and list it, so the "
                "engine stops a canary the judge failed even when the analysis function cannot"
            )
        if len(listed) > CODEDEPLOY_MAX_ALARMS_PER_GROUP:
            raise AlarmDefinitionError(
                f"{where}: {len(listed)} alarms; CodeDeploy allows "
                f"{CODEDEPLOY_MAX_ALARMS_PER_GROUP} per deployment group"
            )


def alarms_dir(catalog: Catalog, explicit: str | Path | None = None) -> Path:
    """Where the definitions are: the argument, else $BLUEGREEN_ALARMS, else the catalog's
    ``alarms_dir`` (relative to the catalog file), else alarms/ beside the catalog."""
    import os

    chosen = explicit or os.environ.get(ALARMS_DIR_ENV_VAR)
    if chosen:
        return Path(chosen)
    return catalog.root / (catalog.data.alarms_dir or "alarms")


def load_definitions(catalog: Catalog, directory: str | Path | None = None) -> Definitions:
    """Read, validate and check every alarms/*.yaml; every error is a one-line AlarmDefinitionError."""
    root = alarms_dir(catalog, directory)
    if not root.is_dir():
        raise AlarmDefinitionError(
            f"alarm definitions directory {root} not found: put alarms/ beside {catalog.path.name}, "
            f"set alarms_dir: PATH in it (relative to it), or set {ALARMS_DIR_ENV_VAR}"
        )
    files: dict[str, AlarmFile] = {}
    for path in sorted(root.glob("*.yaml")):
        files[f"{root.name}/{path.name}"] = _load_file(path, f"{root.name}/{path.name}")
    if not files:
        raise AlarmDefinitionError(f"{root}: no *.yaml alarm definitions")
    definitions = Definitions(files, root)
    definitions.check_catalog(catalog)
    return definitions


def _load_file(path: Path, label: str) -> AlarmFile:
    try:
        raw = load_yaml(read_utf8(path))
    except UserFileError as err:  # not UTF-8, duplicate keys, alias bombs, bad YAML
        raise AlarmDefinitionError(f"{label}: {err}") from None
    except OSError as err:
        raise AlarmDefinitionError(f"{label}: cannot read it ({err.strerror})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AlarmDefinitionError(f"{label}: the top level must be a mapping (version, templates, ...)")
    try:
        return AlarmFile.model_validate(raw)
    except ValidationError as err:
        raise AlarmDefinitionError(f"{label}: {_format_validation_error(err)}") from None


def _format_validation_error(err: ValidationError) -> str:
    errors = err.errors()
    # A misspelt field shows up as "unknown field" plus "field required": name the misspelling.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"field {field}: {message}{more}"


# ---- rendering -------------------------------------------------------------------------------------


def placeholder_values(service: ResolvedService, resources: ServiceResources | None) -> dict[str, str]:
    """Values for ``{name}`` placeholders; without resources the three ARN-suffix ones stay unfilled."""
    settings = service.settings
    values = {
        "service": service.name,
        "environment": service.environment,
        "project": service.project,
        "region": service.region,
        "account_id": service.account_id or "",
        "cluster": settings.cluster,
        "ecs_service": settings.ecs_service,
    }
    if resources is not None:
        values.update(
            target_group_blue=resources.target_group_blue,
            target_group_green=resources.target_group_green,
            load_balancer=resources.load_balancer,
        )
    return values


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _dimensions(metric: MetricSpec, values: Mapping[str, str]) -> list[dict[str, str]]:
    items = sorted(metric.dimensions.items())
    return [{"Name": name, "Value": _fill(value, values)} for name, value in items]


def _stat_fields(stat: str) -> dict[str, str]:
    return {"Statistic": stat} if stat in _STATISTICS else {"ExtendedStatistic": stat}


def render_request(
    alarm: ServiceAlarm, service: ResolvedService, resources: ServiceResources | None = None
) -> dict[str, Any]:
    """The PutMetricAlarm request (boto3 kwargs) of one alarm."""
    spec, values = alarm.spec, placeholder_values(service, resources)
    request: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": spec.description or f"bluegreen: {alarm.kind} of {alarm.service}",
        "ActionsEnabled": spec.actions_enabled,
        "AlarmActions": [_fill(a, values) for a in spec.alarm_actions],
        "OKActions": [_fill(a, values) for a in spec.ok_actions],
        "InsufficientDataActions": [_fill(a, values) for a in spec.insufficient_data_actions],
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.datapoints_to_alarm or spec.evaluation_periods,
        "Threshold": float(spec.threshold),
        "ComparisonOperator": spec.comparison,
        "TreatMissingData": spec.treat_missing_data,
    }
    if spec.metric is not None:
        request.update(
            Namespace=spec.metric.namespace,
            MetricName=spec.metric.metric_name,
            Dimensions=_dimensions(spec.metric, values),
            Period=spec.period,
            **_stat_fields(spec.metric.stat),
        )
        if spec.metric.unit:
            request["Unit"] = spec.metric.unit
        return request
    queries: list[dict[str, Any]] = []
    for metric_id, metric in spec.metrics.items():
        stat: dict[str, Any] = {
            "Metric": {
                "Namespace": metric.namespace,
                "MetricName": metric.metric_name,
                "Dimensions": _dimensions(metric, values),
            },
            "Period": spec.period,
            "Stat": metric.stat,
        }
        if metric.unit:
            stat["Unit"] = metric.unit
        queries.append({"Id": metric_id, "MetricStat": stat, "ReturnData": False})
    queries.append(
        {"Id": "result", "Expression": spec.expression, "Label": spec.label or alarm.kind, "ReturnData": True}
    )
    request["Metrics"] = queries
    return request


# ---- comparing a PutMetricAlarm request with what DescribeAlarms returns ----------------------------


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between AWS (current) and the definitions (desired)."""

    path: str
    current: Any
    desired: Any

    def __str__(self) -> str:
        return f"{self.path}: {self.current!r} -> {self.desired!r}"


def _normalize_dimensions(dimensions: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(d["Name"]): str(d["Value"]) for d in dimensions or []}


def _normalize_stat(stat: Mapping[str, Any]) -> dict[str, Any]:
    metric = stat.get("Metric", {})
    return {
        "Namespace": metric.get("Namespace"),
        "MetricName": metric.get("MetricName"),
        "Dimensions": _normalize_dimensions(metric.get("Dimensions")),
        "Period": stat.get("Period"),
        "Stat": stat.get("Stat"),
        "Unit": stat.get("Unit"),
    }


def normalize_alarm(config: Mapping[str, Any]) -> dict[str, Any]:
    """A PutMetricAlarm request or a DescribeAlarms MetricAlarm in one comparable shape (AWS defaults)."""
    evaluation_periods = config.get("EvaluationPeriods")
    out: dict[str, Any] = {
        "AlarmDescription": config.get("AlarmDescription") or "",
        "ActionsEnabled": config.get("ActionsEnabled", True),
        "AlarmActions": sorted(config.get("AlarmActions") or []),
        "OKActions": sorted(config.get("OKActions") or []),
        "InsufficientDataActions": sorted(config.get("InsufficientDataActions") or []),
        "EvaluationPeriods": evaluation_periods,
        "DatapointsToAlarm": config.get("DatapointsToAlarm") or evaluation_periods,
        "Threshold": None if config.get("Threshold") is None else float(config["Threshold"]),
        "ComparisonOperator": config.get("ComparisonOperator"),
        "TreatMissingData": config.get("TreatMissingData") or "missing",
        "Namespace": config.get("Namespace"),
        "MetricName": config.get("MetricName"),
        "Statistic": config.get("Statistic"),
        "ExtendedStatistic": config.get("ExtendedStatistic"),
        "Dimensions": _normalize_dimensions(config.get("Dimensions")),
        "Period": config.get("Period"),
        "Unit": config.get("Unit"),
        "Metrics": {},
    }
    for query in config.get("Metrics") or []:
        out["Metrics"][query["Id"]] = {
            "Expression": query.get("Expression"),
            "Label": query.get("Label"),
            "ReturnData": query.get("ReturnData", True),
            "MetricStat": _normalize_stat(query["MetricStat"]) if query.get("MetricStat") else None,
        }
    return out


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def alarm_diff(
    current: Mapping[str, Any] | None, desired: Mapping[str, Any], *, ignore_unresolved: bool = False
) -> list[FieldChange]:
    """Fields where ``current`` (DescribeAlarms) differs from ``desired`` (a PutMetricAlarm request).

    ``ignore_unresolved``: skip fields whose desired value still holds a ``{placeholder}`` (the audit
    renders without looking up target group ARNs, so it cannot compare those dimension values).
    """
    want = _flatten(normalize_alarm(desired))
    have = _flatten(normalize_alarm(current)) if current is not None else {}
    changes: list[FieldChange] = []
    for path in sorted(set(want) | set(have)):
        target = want.get(path)
        if ignore_unresolved and isinstance(target, str) and _PLACEHOLDER.search(target):
            continue
        if have.get(path) != target:
            changes.append(FieldChange(path, have.get(path), target))
    return changes
