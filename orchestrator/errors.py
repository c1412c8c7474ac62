"""bluegreen's error hierarchy. Domain code raises these; only ``cli.main`` maps them to exit codes.

This module imports nothing heavy: the Lambda hooks share it.
"""

from __future__ import annotations


class BluegreenError(Exception):
    """Base of every error bluegreen raises on purpose; ``str(err)`` is one line for a person."""

    exit_code = 1


class BadInputError(BluegreenError):
    """The user's input is wrong (flags, catalog, files): exit 2, nothing changed in AWS."""

    exit_code = 2


class CatalogError(BadInputError):
    """The catalog (services.yaml) or a file it points to is missing or invalid."""


class UnknownServiceError(CatalogError):
    """A service name that the catalog does not define."""


class UnknownEnvironmentError(CatalogError):
    """An environment name that the catalog does not define."""


class StrategyError(BadInputError):
    """A strategy name that is neither predefined nor a valid custom canary/linear spec."""


class AppSpecError(BadInputError):
    """An AppSpec cannot be rendered from the given inputs."""


class TaskDefinitionError(BadInputError):
    """A task definition file is missing, malformed or has an unresolved ${VAR}."""


class GuardrailError(BadInputError):
    """The environment's guardrails refuse this deployment (use --force to override, recorded)."""


class AlarmDefinitionError(BadInputError):
    """An alarm definition file under alarms/ is malformed."""


class DeploymentFailedError(BluegreenError):
    """The deployment ended Failed or Stopped, or was rolled back: exit 1."""

    exit_code = 1


class ActiveDeploymentError(BluegreenError):
    """The deployment group already has a deployment in progress."""

    exit_code = 1


class DeploymentTimeoutError(BluegreenError):
    """The deployment was still running when --timeout passed: exit 3."""

    exit_code = 3


class AwsError(BluegreenError):
    """An AWS call failed after retries (credentials, permissions, throttling, service error): exit 4."""

    exit_code = 4


class InterruptedByUser(BluegreenError):
    """Ctrl-C or SIGTERM while watching; the deployment keeps running in CodeDeploy: exit 130."""

    exit_code = 130


class AuditViolationsError(BluegreenError):
    """The alarm audit found violations, or sync could not repair everything: exit 1."""

    exit_code = 1
