"""bluegreen's error hierarchy. Domain code raises these; only ``cli.main`` maps them to exit codes.

This module imports nothing heavy: the Lambda hooks share it.
"""

from __future__ import annotations


class BluegreenError(Exception):
    """Base of every error bluegreen raises on purpose; ``str(err)`` is one line for a person.

    ``kind`` is a stable word for machines (the ``errorKind`` of an ``--output json`` error
    document); ``context`` holds what was known when it was raised (service, deployment id, ...).
    """

    exit_code = 1
    kind = "error"

    @property
    def context(self) -> dict[str, object]:
        """What the command knew when this was raised (keys of the --output json documents)."""
        known: dict[str, object] = self.__dict__.setdefault("_context", {})
        return known

    def add_context(self, **known: object) -> None:
        """Record facts the error document should carry; the first value given for a key wins."""
        for key, value in known.items():
            if value is not None:
                self.context.setdefault(key, value)


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
