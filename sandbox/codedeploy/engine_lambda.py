"""Lambda alias traffic shifting on moto: the alias's routing config moves from the current version
to the target version as the deployment config says, between BeforeAllowTraffic and AfterAllowTraffic."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.codedeploy import lifecycle, resources
from sandbox.codedeploy.engine import DeploymentRun
from sandbox.codedeploy.errors import EngineAbort
from sandbox.codedeploy.lifecycle import EndCause
from sandbox.codedeploy.model import ACCOUNT_ID, LifecycleEvent, Target
from sandbox.codedeploy.vocabulary import ALLOW_TRAFFIC


class LambdaRun(DeploymentRun):
    """One Lambda deployment."""

    platform = "Lambda"

    def prepare(self) -> Target:
        function = self.appspec.function
        assert function is not None
        self.function = function
        self.shifted = False
        try:
            resources.get_alias(self.ctx.clients["lambda"], function.function_name, function.alias)
        except Exception as err:
            raise EngineAbort(
                EndCause.AWS_ERROR,
                f"The alias {function.alias} of {function.function_name} could not be read: {err}",
                "INVALID_LAMBDA_FUNCTION",
            ) from None
        return self._target(0.0, [LifecycleEvent(name) for name in lifecycle.LAMBDA_EVENTS])

    def _target(self, weight: float, events: list[LifecycleEvent]) -> Target:
        fn = self.function
        return Target(
            target_id=f"{fn.function_name}:{fn.alias}",
            target_arn=f"arn:aws:lambda:{self.ctx.region}:{ACCOUNT_ID}:function:{fn.function_name}:{fn.alias}",
            kind="LambdaTarget",
            lifecycle_events=events,
            last_updated=self.ctx.clock.now(),
            lambda_info={
                "functionName": fn.function_name,
                "functionAlias": fn.alias,
                "currentVersion": fn.current_version,
                "targetVersion": fn.target_version,
                "targetVersionWeight": weight,
            },
        )

    def action(self, event: str) -> Callable[[], None] | None:
        return self.allow_traffic if event == ALLOW_TRAFFIC else None

    def has_changes(self) -> bool:
        return self.shifted

    def _route(self, percent: int) -> None:
        fn = self.function
        self.shifted = self.shifted or percent > 0
        resources.route_alias(
            self.ctx.clients["lambda"],
            fn.function_name,
            fn.alias,
            fn.current_version,
            fn.target_version,
            percent,
        )
        with self.ctx.store.lock:
            assert self.dep.target is not None and self.dep.target.lambda_info is not None
            self.dep.target.lambda_info["targetVersionWeight"] = percent / 100.0
            self.touch()

    def allow_traffic(self) -> None:
        self.shift_traffic(self._route)

    def restore_steps(self) -> dict[str, Callable[[], None]]:
        return {ALLOW_TRAFFIC: lambda: self._route(0)}

    def rollback_target(self, deployment_id: str) -> Target:
        return self._target(0.0, [LifecycleEvent(name) for name in lifecycle.LAMBDA_EVENTS])
