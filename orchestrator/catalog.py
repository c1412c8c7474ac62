"""The services catalog (services.yaml): pydantic models, environment overlays, load and validate.

One pipeline: parse YAML, deep-merge the layers (catalog defaults < environment defaults < service <
the service's override for that environment), validate with pydantic, expand ``{service}``-style
name patterns, resolve paths relative to the catalog file, freeze. No AWS calls, no typer or rich:
the Lambda hooks load the catalog with this same module.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestrator.analysis.settings import AnalysisSettings
from orchestrator.errors import CatalogError, StrategyError, UnknownEnvironmentError, UnknownServiceError
from orchestrator.files.userfiles import UserFileError, load_yaml, read_utf8
from orchestrator.fleet.plan import DependencyError, wave_numbers
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import ECS_HOOK_EVENTS, DeploymentReadyAction, EngineName, StrategyKind

DEFAULT_CATALOG = "services.yaml"
CATALOG_ENV_VAR = "BLUEGREEN_CATALOG"

# ECS Fargate sizes as a sizing table gives them: vCPU units / MiB.
SIZES: dict[str, tuple[int, int]] = {
    "small": (256, 512),
    "medium": (512, 1024),
    "large": (1024, 2048),
}


# Service and environment names fill AWS names (target group `<service>-green`: 32 characters at
# most), file names (appspecs/<service>.<env>.yaml) and hook function names, so they are kept to
# lower-case letters, digits and inner hyphens: nothing that can climb out of a directory.
NAME_PATTERN = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
ELBV2_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
CODEDEPLOY_NAME = re.compile(r".{1,100}", re.DOTALL)
ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_NAME_DEFAULTS = frozenset(
    {"{service}", "{service}-blue", "{service}-green", "{project}-{environment}"}
    | {"{project}-{environment}-alb"}
)


def _aws_name(value: str, pattern: re.Pattern[str], rule: str) -> str:
    if value in _NAME_DEFAULTS or pattern.fullmatch(value):  # a model default is filled later
        return value
    raise ValueError(f"{value!r} is not a valid name: {rule}")


def _check_names(names: Mapping[str, Any], what: str) -> None:
    for name in names:
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"{what} name {name!r} must be lower-case letters, digits and hyphens "
                "(start with a letter, at most 63 characters)"
            )


def _engine_name(value: Any) -> Any:
    # pydantic's own enum message ("Input should be 'codedeploy' or 'ecs'") says nothing of a close
    # match; this one does, and runs in check_layer too (it travels in the field's metadata).
    valid = [engine.value for engine in EngineName]
    if isinstance(value, str) and value in valid:
        return value
    hint = did_you_mean(str(value).strip().lower(), valid)
    raise ValueError(f"unknown engine {value!r}{hint}; valid: {', '.join(valid)}")


Engine = Annotated[EngineName, BeforeValidator(_engine_name)]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JsonFieldCheck(_Model):
    """A JSON body field (dotted path) that must equal a value."""

    path: str
    equals: Any


class SmokeCheck(_Model):
    """One HTTP request a hook sends through a listener, and what the answer must be."""

    name: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    path: str = "/health"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect_status: list[int] = Field(default_factory=lambda: [200])
    body_contains: str | None = None
    json_field: JsonFieldCheck | None = None
    latency_budget_ms: int = Field(default=1000, gt=0)

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value


class SmokeSettings(_Model):
    """How smoke checks are run: the checks, the warm-up window and the retry backoff."""

    checks: list[SmokeCheck] = Field(default_factory=list)
    warmup_seconds: float = Field(default=30.0, ge=0)
    backoff_seconds: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    max_body_bytes: int = Field(default=65536, gt=0)


class Tasks(_Model):
    """How many ECS tasks the service runs."""

    desired: int = Field(default=2, ge=0)
    min: int = Field(default=1, ge=0)
    max: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Tasks:
        if not self.min <= self.desired <= self.max:
            raise ValueError(f"need min <= desired <= max, got {self.min} <= {self.desired} <= {self.max}")
        return self


class Network(_Model):
    """awsvpc network configuration of the replacement task set."""

    subnets: list[str] = Field(default_factory=list)
    security_groups: list[str] = Field(default_factory=list)
    assign_public_ip: Literal["ENABLED", "DISABLED"] = "DISABLED"


class CapacityProvider(_Model):
    """One entry of an ECS capacity provider strategy."""

    capacity_provider: str
    weight: int = Field(default=1, ge=0, le=1000)
    base: int = Field(default=0, ge=0, le=100000)


class Guardrails(_Model):
    """What an environment requires of every deployment; deploy refuses otherwise (unless --force)."""

    allowed_strategy_kinds: list[StrategyKind] = Field(default_factory=lambda: list(StrategyKind))
    require_alarms: bool = False
    require_auto_rollback: bool = True


class AlarmPolicy(_Model):
    """How alarms gate deployments in an environment and what the audit requires of them."""

    min_alarms: int = Field(default=0, ge=0)
    # How an alarm in INSUFFICIENT_DATA counts at a gate: as OK, or as ALARM (fail closed).
    insufficient_data: Literal["ok", "alarm"] = "ok"
    stuck_insufficient_data_minutes: int = Field(default=60, ge=1)
    require_actions: bool = False


class FreezeWindow(_Model):
    """A recurring time window in which BeforeInstall refuses deployments (UTC)."""

    name: str
    days: list[Weekday] = Field(default_factory=lambda: list(get_args(Weekday)))
    start: str  # "HH:MM" UTC
    end: str  # "HH:MM" UTC; may be earlier than start (spans midnight)

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError("must be HH:MM (24h, UTC)")
        return value


class DeploymentSettings(_Model):
    """Settings of the CodeDeploy deployment group that bluegreen creates or expects."""

    termination_wait_minutes: int = Field(default=5, ge=0, le=2880)
    # CONTINUE_DEPLOYMENT shifts traffic as soon as the replacement is ready; STOP_DEPLOYMENT waits
    # (status Ready) up to ready_wait_minutes for `bluegreen promote`.
    ready_action: DeploymentReadyAction = DeploymentReadyAction.CONTINUE_DEPLOYMENT
    ready_wait_minutes: int = Field(default=0, ge=0, le=2880)
    auto_rollback: bool = True
    bake_seconds: float = Field(default=60.0, ge=0)


class ServiceSettings(_Model):
    """Everything one service needs in one environment, after the layers are merged."""

    port: int = Field(ge=1, le=65535)
    size: Literal["small", "medium", "large"] = "small"
    container_name: str = "{service}"
    tasks: Tasks = Field(default_factory=Tasks)
    health_path: str = "/health"
    region: str
    cluster: str
    ecs_service: str = "{service}"
    platform_version: str = "LATEST"
    network: Network = Field(default_factory=Network)
    capacity_provider_strategy: list[CapacityProvider] = Field(default_factory=list)
    application: str = "{project}-{environment}"
    deployment_group: str = "{service}"
    load_balancer: str = "{project}-{environment}-alb"
    target_group_blue: str = "{service}-blue"
    target_group_green: str = "{service}-green"
    production_listener_port: int | None = Field(default=None, ge=1, le=65535)
    test_listener_port: int | None = Field(default=None, ge=1, le=65535)
    # "current": take the service's running task definition and change the image (needs --image).
    task_definition: str = "current"
    image: str | None = None
    strategy: str = "all-at-once"
    smoke: SmokeSettings = Field(default_factory=SmokeSettings)
    alarms: list[str] = Field(default_factory=list)
    hooks: dict[str, str] = Field(default_factory=dict)
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    alarm_policy: AlarmPolicy = Field(default_factory=AlarmPolicy)
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
    vars: dict[str, str] = Field(default_factory=dict)
    # Who runs the deployments: CodeDeploy (a deployment group) or Amazon ECS itself (a native
    # blue/green, linear or canary strategy on the service). `deploy --engine` overrides it once.
    engine: Engine = EngineName.CODEDEPLOY
    # The ECS engine's roles (template.yaml makes both): the one ECS assumes to invoke the hook
    # Lambdas (lifecycleHooks[].roleArn) and the one it assumes to move the load balancer's
    # listener rules (loadBalancers[].advancedConfiguration.roleArn).
    hook_role_arn: str | None = None
    infrastructure_role_arn: str | None = None
    # The deployment ledger (template.yaml's table, fed by the ledger Lambda from CodeDeploy's and
    # ECS's state-change events): `history` and `dora` read it when set; `deploy` records who ran
    # it and the commit there. The topic gets a one-line outcome per finished deployment.
    ledger_table: str | None = None
    notification_topic_arn: str | None = None
    # Fleet rollouts (`bluegreen fleet`, orchestrator/fleet/): the services this one waits for (they
    # are deployed in an earlier wave) and/or an explicit wave (1 first).
    depends_on: list[str] = Field(default_factory=list)
    wave: int | None = Field(default=None, ge=1)
    # Canary analysis (orchestrator/analysis/): what the judge compares, green against blue.
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        # A typo in the catalog fails on load, not on the day someone deploys with the default.
        try:
            return parse_strategy(value).name
        except StrategyError as err:
            raise ValueError(str(err)) from None

    @field_validator("target_group_blue", "target_group_green", "load_balancer")
    @classmethod
    def _elbv2_name(cls, value: str) -> str:
        # ELBv2 CreateTargetGroup / CreateLoadBalancer: at most 32 alphanumeric characters or
        # hyphens, not beginning or ending with a hyphen.
        return _aws_name(value, ELBV2_NAME, "ELBv2 allows 1-32 letters, digits or hyphens, not at either end")

    @field_validator("application", "deployment_group")
    @classmethod
    def _codedeploy_name(cls, value: str) -> str:
        # botocore codedeploy ApplicationName / DeploymentGroupName: min 1, max 100.
        return _aws_name(value, CODEDEPLOY_NAME, "CodeDeploy allows 1-100 characters")

    @field_validator("cluster", "ecs_service", "container_name")
    @classmethod
    def _ecs_name(cls, value: str) -> str:
        # ECS: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens".
        return _aws_name(value, ECS_NAME, "ECS allows 1-255 letters, digits, underscores or hyphens")

    @field_validator("hooks")
    @classmethod
    def _known_hook_events(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ECS_HOOK_EVENTS))
        if unknown:
            raise ValueError(f"unknown lifecycle event(s) {unknown}; valid: {', '.join(ECS_HOOK_EVENTS)}")
        return value


class FleetSettings(BaseModel):
    """How `bluegreen fleet` runs an environment's services (flags override it for one run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # At most this many deployments of one wave run at once (`--max-parallel`).
    max_parallel: int = Field(default=4, ge=1, le=100)
    # A service whose deployment group (or ECS service) is busy is queued this long, then failed.
    queue_wait_minutes: int = Field(default=30, ge=0, le=1440)


class EnvironmentSpec(BaseModel):
    """An environment: its account, the hosts hooks may call, and defaults for every service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    description: str = ""
    # The host smoke checks call on the production and test listeners (the ALB's DNS name or an
    # alias of it). Hooks call no other host. ${VAR:-default} is expanded from the process env.
    listener_host: str | None = None
    listener_scheme: Literal["http", "https"] = "http"
    defaults: dict[str, Any] = Field(default_factory=dict)
    fleet: FleetSettings = Field(default_factory=FleetSettings)


class CatalogFile(BaseModel):
    """The top level of services.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    project: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    defaults: dict[str, Any] = Field(default_factory=dict)
    environments: dict[str, EnvironmentSpec]
    # Declared after `environments` so its validator can see them and the error names this field.
    default_environment: str
    services: dict[str, dict[str, Any]]
    # The alarm definitions directory, relative to this file [default: alarms/ beside it]; lets a
    # catalog kept outside the repository share one alarms/ without $BLUEGREEN_ALARMS.
    alarms_dir: str | None = Field(default=None, min_length=1)

    @field_validator("environments", "services", mode="before")
    @classmethod
    def _safe_names(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Mapping):
            _check_names(value, "environment" if info.field_name == "environments" else "service")
        return value

    @field_validator("default_environment")
    @classmethod
    def _default_environment_exists(cls, value: str, info: ValidationInfo) -> str:
        environments = info.data.get("environments")
        if environments is not None and value not in environments:
            raise ValueError(f"{value!r} is not one of the environments ({', '.join(sorted(environments))})")
        return value


@dataclass(frozen=True)
class ResolvedService:
    """One service in one environment: every name concrete, every path absolute."""

    name: str
    environment: str
    project: str
    account_id: str | None
    settings: ServiceSettings
    task_definition_path: Path | None  # None: derive from the running service ("current")
    listener_host: str | None
    listener_scheme: str

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def cpu(self) -> int:
        return SIZES[self.settings.size][0]

    @property
    def memory(self) -> int:
        return SIZES[self.settings.size][1]

    @property
    def container_port(self) -> int:
        return self.settings.port

    @property
    def production_listener_port(self) -> int:
        return self.settings.production_listener_port or self.settings.port

    @property
    def test_listener_port(self) -> int:
        return self.settings.test_listener_port or self.settings.port + 1000

    @property
    def strategy_kind(self) -> str:
        return strategy_kind(self.settings.strategy)

    def placeholder_values(self) -> dict[str, str]:
        """Values for ${VAR} placeholders in task definition files, catalog first."""
        values = {
            "SERVICE": self.name,
            "ENVIRONMENT": self.environment,
            "PROJECT": self.project,
            "REGION": self.region,
            "CLUSTER": self.settings.cluster,
            "CONTAINER_NAME": self.settings.container_name,
            "PORT": str(self.container_port),
            "CPU": str(self.cpu),
            "MEMORY": str(self.memory),
            "HEALTH_PATH": self.settings.health_path,
        }
        if self.account_id:
            values["ACCOUNT_ID"] = self.account_id
        if self.settings.image:
            values["IMAGE"] = self.settings.image
        values.update(self.settings.vars)
        return values


def strategy_kind(name: str) -> str:
    """The kind of a strategy name: all-at-once, canary or linear (by its prefix)."""
    lowered = name.lower()
    for kind in (StrategyKind.CANARY, StrategyKind.LINEAR):
        if lowered.startswith(kind):
            return kind.value
    return StrategyKind.ALL_AT_ONCE.value


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_placeholders(
    text: str, values: Mapping[str, str], environ: Mapping[str, str] | None = None, where: str = ""
) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``: catalog values first, then the process environment.

    A variable with neither a value nor a default raises CatalogError naming it (and ``where``).
    """
    env = os.environ if environ is None else environ
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append(name)
        return match.group(0)

    result = _PLACEHOLDER.sub(replace, text)
    if missing:
        names = ", ".join(f"${{{name}}}" for name in dict.fromkeys(missing))
        prefix = f"{where}: " if where else ""
        raise CatalogError(f"{prefix}no value for {names}; set it in the catalog's vars or the environment")
    return result


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into a copy of ``base``: mappings merge, everything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _format_validation_error(
    err: ValidationError, model: type[BaseModel] | None = None, prefix: tuple[str, ...] = ()
) -> str:
    # An unknown key (a typo) is reported first: it usually explains the "Field required" next to it.
    errors = sorted(err.errors(), key=lambda error: error["type"] != "extra_forbidden")
    first = errors[0]
    loc = (*prefix, *first["loc"])
    field = ".".join(str(part) for part in loc) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown setting" + did_you_mean(str(loc[-1]), _known_keys(model, loc))
    value = first.get("input")
    # Say what was given when it is a plain value (port 70000); our own value errors already do.
    plain = isinstance(value, str | int | float) and not isinstance(value, bool)
    if plain and first["type"] not in ("extra_forbidden", "value_error"):
        message += f" (got {value!r})"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"field {field}: {message}{more}"


def did_you_mean(typed: str, known: list[str]) -> str:
    """`` (did you mean port?)`` when ``typed`` is close to one of ``known``, else ``""``."""
    close = difflib.get_close_matches(typed, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _known_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model that ``loc`` ends in, for did-you-mean."""
    for part in loc[:-1]:
        if model is None:
            return []
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return list(model.model_fields) if model else []


@functools.cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    if not field.metadata:
        return TypeAdapter(field.annotation)
    return TypeAdapter(Annotated[field.annotation, *field.metadata])


def check_layer(
    layer: Mapping[str, Any], model: type[BaseModel] | None = None, path: tuple[str, ...] = ()
) -> None:
    """Check one layer's own keys and value types (before merging): ValueError ``field F: ...``.

    A value every environment overrides never reaches the merged settings, so without this a
    ``tasks: three`` in the catalog's defaults would pass. Nested settings (tasks, smoke, ...) are
    checked key by key; other values against the field's type and bounds, not against rules that
    need the merged whole (min <= desired <= max, required fields).
    """
    model = model or ServiceSettings
    for key, value in layer.items():
        where = (*path, str(key))
        if key not in model.model_fields:
            hint = did_you_mean(str(key), list(model.model_fields))
            raise ValueError(f"field {'.'.join(where)}: unknown setting{hint}")
        annotation = model.model_fields[key].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, Mapping):
            check_layer(value, annotation, where)
            continue
        try:
            _field_adapter(model, key).validate_python(value)
        except ValidationError as err:
            raise ValueError(_format_validation_error(err, None, where)) from None


def _expand_names(value: Any, names: Mapping[str, str]) -> Any:
    """Fill ``{service}``, ``{environment}`` and ``{project}`` in every string of a structure."""
    if isinstance(value, str):
        for key, replacement in names.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [_expand_names(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _expand_names(item, names) for key, item in value.items()}
    return value


class Catalog:
    """A loaded, validated services.yaml; ``resolve(service, env)`` gives a frozen ResolvedService."""

    def __init__(self, data: CatalogFile, path: Path) -> None:
        self.data = data
        self.path = path
        self.root = path.parent

    @property
    def project(self) -> str:
        return self.data.project

    @property
    def default_environment(self) -> str:
        return self.data.default_environment

    @property
    def environments(self) -> list[str]:
        return list(self.data.environments)

    @property
    def services(self) -> list[str]:
        return list(self.data.services)

    def environment(self, name: str) -> EnvironmentSpec:
        if name not in self.data.environments:
            raise UnknownEnvironmentError(
                f"{self.path.name}: no environment {name!r}; "
                f"defined: {', '.join(sorted(self.data.environments))}"
            )
        return self.data.environments[name]

    def resolve(self, service: str, environment: str | None = None) -> ResolvedService:
        env_name = environment or self.default_environment
        self.environment(env_name)
        if service not in self.data.services:
            raise UnknownServiceError(
                f"{self.path.name}: no service {service!r}; defined: {', '.join(sorted(self.data.services))}"
            )
        return self._resolved[(service, env_name)]

    def resolve_all(self, environment: str | None = None) -> list[ResolvedService]:
        env_name = environment or self.default_environment
        self.environment(env_name)
        return [self._resolved[(name, env_name)] for name in self.data.services]

    def find_by_deployment_group(self, application: str, deployment_group: str) -> ResolvedService | None:
        """The service whose CodeDeploy application and deployment group these are, in any environment."""
        for resolved in self._resolved.values():
            if (resolved.settings.application, resolved.settings.deployment_group) == (
                application,
                deployment_group,
            ):
                return resolved
        return None

    @cached_property
    def _resolved(self) -> dict[tuple[str, str], ResolvedService]:
        # Resolve every (service, environment) at load time so a bad overlay for any environment is
        # reported up front, not on the day someone deploys to it.
        self._check_layers()
        out: dict[tuple[str, str], ResolvedService] = {}
        for env_name, env in self.data.environments.items():
            for name, raw in self.data.services.items():
                out[(name, env_name)] = self._resolve_one(name, raw, env_name, env)
            self._check_listener_ports([out[(name, env_name)] for name in self.data.services])
            self._check_dependencies([out[(name, env_name)] for name in self.data.services])
        return out

    def _layers(self) -> Iterator[tuple[str, Any]]:
        """Every layer the catalog writes, with the path a person finds it at."""
        yield "defaults", self.data.defaults
        for env_name, env in self.data.environments.items():
            yield f"environments.{env_name}.defaults", env.defaults
        for name, raw in self.data.services.items():
            if not isinstance(raw, Mapping):
                raise CatalogError(f"{self.path.name}: services.{name}: must be a mapping of settings")
            yield f"services.{name}", {key: value for key, value in raw.items() if key != "overrides"}
            overrides = raw.get("overrides") or {}
            if not isinstance(overrides, Mapping):
                raise CatalogError(
                    f"{self.path.name}: services.{name}: field overrides: must map environments to settings"
                )
            for env_name, layer in overrides.items():
                yield f"services.{name}.overrides.{env_name}", layer

    def _check_layers(self) -> None:
        # Each layer's own keys and types, before merging: a typo or a wrong type in a value that
        # every environment overrides would otherwise never be seen.
        for where, layer in self._layers():
            if layer is None:
                continue
            if not isinstance(layer, Mapping):
                raise CatalogError(f"{self.path.name}: {where}: must be a mapping of settings")
            try:
                check_layer(layer)
            except ValueError as err:
                raise CatalogError(f"{self.path.name}: {where}: {err}") from None

    def _check_listener_ports(self, services: list[ResolvedService]) -> None:
        # Services behind one load balancer share its listeners: a port used twice would send one
        # service's traffic to another (ELBv2 refuses a second listener on a port anyway).
        taken: dict[tuple[str, int], tuple[str, str]] = {}
        for service in services:
            ports = (
                ("production listener", service.production_listener_port),
                ("test listener", service.test_listener_port),
            )
            for role, port in ports:
                key = (service.settings.load_balancer, port)
                if key in taken:
                    other, other_role = taken[key]
                    field = role.replace(" ", "_") + "_port"
                    if getattr(service.settings, field) is None:  # derived from `port`
                        field = "port"
                    raise CatalogError(
                        f"{self.path.name}: services.{service.name} ({service.environment}): field {field}: "
                        f"{role} port {port} is already {other}'s {other_role} port on "
                        f"{service.settings.load_balancer}; give each service its own port"
                    )
                taken[key] = (service.name, role)

    def _check_dependencies(self, services: list[ResolvedService]) -> None:
        # `bluegreen fleet` orders by depends_on and wave: a name that is no service, a service that
        # waits for itself, a cycle or a wave before a dependency's would stop every fleet run of
        # this environment, so they are refused here, at load, naming the service and the field.
        names = [service.name for service in services]
        for service in services:
            where = f"{self.path.name}: services.{service.name} ({service.environment}): field depends_on"
            seen: set[str] = set()
            for dep in service.settings.depends_on:
                if dep == service.name:
                    raise CatalogError(f"{where}: {dep} cannot depend on itself; remove it")
                if dep not in names:
                    raise CatalogError(f"{where}: no service {dep!r}{did_you_mean(dep, names)}")
                if dep in seen:
                    raise CatalogError(f"{where}: {dep} is listed twice; keep one")
                seen.add(dep)
        depends_on = {service.name: service.settings.depends_on for service in services}
        explicit = {service.name: service.settings.wave for service in services}
        try:
            wave_numbers(depends_on, explicit, names)
        except DependencyError as err:
            environment = services[0].environment
            raise CatalogError(
                f"{self.path.name}: services.{err.service} ({environment}): field {err.field}: {err}"
            ) from None

    def _resolve_one(
        self, name: str, raw: Mapping[str, Any], env_name: str, env: EnvironmentSpec
    ) -> ResolvedService:
        where = f"{self.path.name}: services.{name} ({env_name})"
        if not isinstance(raw, Mapping):
            raise CatalogError(f"{where}: must be a mapping of settings")
        overrides = raw.get("overrides", {}) or {}
        if not isinstance(overrides, Mapping):
            raise CatalogError(f"{where}: field overrides: must map environment names to settings")
        unknown_envs = sorted(set(overrides) - set(self.data.environments))
        if unknown_envs:
            raise CatalogError(
                f"{where}: field overrides: unknown environment(s) {unknown_envs}; "
                f"defined: {', '.join(sorted(self.data.environments))}"
            )
        own = {key: value for key, value in raw.items() if key != "overrides"}
        merged = deep_merge(self.data.defaults, env.defaults)
        merged = deep_merge(deep_merge(merged, own), overrides.get(env_name, {}))
        names = {"service": name, "environment": env_name, "project": self.project}
        merged = _expand_names(merged, names)
        if "smoke" not in merged or not (merged.get("smoke") or {}).get("checks"):
            health = merged.get("health_path", "/health")
            merged.setdefault("smoke", {})
            merged["smoke"] = {**merged["smoke"], "checks": [{"name": "health", "path": health}]}
        try:
            settings = ServiceSettings.model_validate(merged)
            # The model's own defaults ("{service}" for container_name, deployment_group, ...) hold
            # patterns too: fill them as well, so a catalog that leaves them out gets real names.
            settings = ServiceSettings.model_validate(_expand_names(settings.model_dump(), names))
        except ValidationError as err:
            raise CatalogError(f"{where}: {_format_validation_error(err, ServiceSettings)}") from None
        if settings.image:
            image = expand_placeholders(settings.image, settings.vars, where=f"{where}: field image")
            settings = settings.model_copy(update={"image": image})
        task_definition_path: Path | None = None
        if settings.task_definition != "current":
            task_definition_path = (self.root / settings.task_definition).resolve()
            if not task_definition_path.is_file():
                raise CatalogError(
                    f"{where}: field task_definition: file {settings.task_definition} not found "
                    f"(relative to {self.root})"
                )
        listener_host = (
            expand_placeholders(env.listener_host, settings.vars, where=f"{where}: listener_host")
            if env.listener_host
            else None
        )
        return ResolvedService(
            name=name,
            environment=env_name,
            project=self.project,
            account_id=env.account_id,
            settings=settings,
            task_definition_path=task_definition_path,
            listener_host=listener_host,
            listener_scheme=env.listener_scheme,
        )


def catalog_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the catalog is: the argument, else $BLUEGREEN_CATALOG, else ./services.yaml."""
    return Path(explicit or os.environ.get(CATALOG_ENV_VAR) or DEFAULT_CATALOG)


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Read, validate and resolve a catalog file; every error is a one-line CatalogError."""
    file = catalog_path(path)
    try:
        raw = load_yaml(read_utf8(file))
    except FileNotFoundError:
        raise CatalogError(
            f"catalog {file} not found; pass --catalog PATH or set {CATALOG_ENV_VAR}"
        ) from None
    except OSError as err:
        raise CatalogError(f"catalog {file}: cannot read it ({err.strerror})") from None
    except UserFileError as err:
        raise CatalogError(f"{file.name}: {err}") from None
    if not isinstance(raw, dict):
        raise CatalogError(f"{file.name}: the top level must be a mapping (version, project, services, ...)")
    try:
        data = CatalogFile.model_validate(raw)
    except ValidationError as err:
        raise CatalogError(f"{file.name}: {_format_validation_error(err, CatalogFile)}") from None
    catalog = Catalog(data, file.resolve())
    catalog.resolve_all(catalog.default_environment)  # validates every service in every environment
    return catalog
