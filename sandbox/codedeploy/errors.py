"""CodeDeploy's errors as the JSON 1.1 protocol sends them: an HTTP status, ``__type`` and ``message``.

The exception names are CodeDeploy's own (botocore's service model lists them as error shapes), so
botocore raises ``client.exceptions.DeploymentDoesNotExistException`` and friends for them.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error the server sends back as ``{"__type": code, "message": message}``."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status

    def body(self) -> dict[str, str]:
        """The JSON body AWS sends for this error."""
        return {"__type": self.code, "message": self.message}


def validation(message: str) -> ApiError:
    """A request that does not fit the operation's input shape in botocore's model."""
    return ApiError("ValidationException", message)


def not_found(code: str, what: str) -> ApiError:
    """A ``*DoesNotExistException`` with AWS's wording."""
    return ApiError(code, f"{what} does not exist with the user or AWS account.")


class EngineAbort(Exception):
    """Raised inside a deployment's worker to end it early (hook failure, alarm, stop, AWS error)."""

    def __init__(self, cause: str, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.message = message
        self.error_code = error_code  # overrides the cause's ErrorCode (e.g. INVALID_ECS_SERVICE)


class EngineShutdown(Exception):
    """The emulator is stopping: the worker leaves the deployment as it is."""
