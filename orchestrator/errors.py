"""bluegreen's error hierarchy. Domain code raises these; only ``cli.main`` maps them to exit codes.

This module imports nothing heavy: the Lambda hooks share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType


@dataclass(frozen=True)
class ErrorContext:
    """What a command knew when an error passed through it (the ``--output json`` error document's
    identifying keys). Built as the command learns it: each step makes a new one (``learned``)."""

    deployment_id: str | None = None
    service: str | None = None
    environment: str | None = None
    strategy: str | None = None
    status: str | None = None
    active_deployment_id: str | None = None  # the deployment that keeps a deployment group busy
    rollback_deployment_id: str | None = None  # the rollback an interrupt started

    def learned(self, **facts: str | None) -> ErrorContext:
        """This context with ``facts`` added (a fact given as None leaves what was known)."""
        return replace(self, **{key: value for key, value in facts.items() if value is not None})

    def under(self, outer: ErrorContext) -> ErrorContext:
        """These facts, with ``outer``'s where these are unknown (the step nearest the error knew best)."""
        return outer.learned(**{f.name: getattr(self, f.name) for f in fields(self)})


class BluegreenError(Exception):
    """Base of every error bluegreen raises on purpose; ``str(err)`` is one line for a person.

    ``kind`` is a stable word for machines (the ``errorKind`` of an ``--output json`` error
    document); ``known`` is what was known when it was raised and what the commands it passed
    through knew (service, deployment id, ...).
    """

    exit_code = 1
    kind = "error"

    def __init__(self, *args: object, known: ErrorContext | None = None) -> None:
        super().__init__(*args)
        self.known = known or ErrorContext()

    @property
    def context(self) -> Mapping[str, object]:
        """The known facts as the error document's keys (read-only; only the known ones)."""
        from orchestrator.documents import camel

        facts = {f.name: getattr(self.known, f.name) for f in fields(self.known)}
        return MappingProxyType({camel(name): value for name, value in facts.items() if value is not None})

    def within(self, outer: ErrorContext) -> BluegreenError:
        """This error, knowing also what ``outer`` knew (for a command to re-raise)."""
        self.known = self.known.under(outer)
        return self


class BadInputError(BluegreenError):
    """The user's input is wrong (flags, catalog, files): exit 2, nothing changed in AWS."""

    exit_code = 2
    kind = "bad-input"


class CatalogError(BadInputError):
    """The catalog (services.yaml) or a file it points to is missing or invalid."""

    kind = "catalog"


class UnknownServiceError(CatalogError):
    """A service name that the catalog does not define."""

    kind = "unknown-service"


class UnknownEnvironmentError(CatalogError):
    """An environment name that the catalog does not define."""

    kind = "unknown-environment"


class StrategyError(BadInputError):
    """A strategy name that is neither predefined nor a valid custom canary/linear spec."""

    kind = "strategy"


class AppSpecError(BadInputError):
    """An AppSpec cannot be rendered from the given inputs."""

    kind = "appspec"


class TaskDefinitionError(BadInputError):
    """A task definition file is missing, malformed or has an unresolved ${VAR}."""

    kind = "task-definition"


class GuardrailError(BadInputError):
    """The environment's guardrails refuse this deployment (use --force to override, recorded)."""

    kind = "guardrail"


class AlarmDefinitionError(BadInputError):
    """An alarm definition file under alarms/ is malformed."""

    kind = "alarm-definition"


class DeploymentFailedError(BluegreenError):
    """The deployment ended Failed or Stopped, or was rolled back: exit 1."""

    exit_code = 1
    kind = "deployment-failed"


class ActiveDeploymentError(BluegreenError):
    """The deployment group already has a deployment in progress."""

    exit_code = 1
    kind = "active-deployment"


class DeploymentTimeoutError(BluegreenError):
    """The deployment was still running when --timeout passed: exit 3."""

    exit_code = 3
    kind = "timeout"


class AwsError(BluegreenError):
    """An AWS call failed after retries (credentials, permissions, throttling, service error): exit 4."""

    exit_code = 4
    kind = "aws"


class InterruptedByUser(BluegreenError):
    """Ctrl-C or SIGTERM while watching; the deployment keeps running in CodeDeploy: exit 130."""

    exit_code = 130
    kind = "interrupted"


class AuditViolationsError(BluegreenError):
    """The alarm audit found violations, or sync could not repair everything: exit 1."""

    exit_code = 1
    kind = "audit-violations"
