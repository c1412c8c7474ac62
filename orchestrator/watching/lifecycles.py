"""The two lifecycles a watched deployment can go through, as data (pure).

CodeDeploy's ECS blue/green deployment reports lifecycle *events* (BeforeInstall ... AfterAllowTraffic);
Amazon ECS's native deployment reports lifecycle *stages* (RECONCILE_SERVICE ... CLEAN_UP). The watch
loop, the views, the ETA and the report read a ``Lifecycle`` for the words and the milestones instead
of asking which engine runs the deployment: a snapshot's own step names say which one it is
(``lifecycle_of``), and the catalog's engine says which one a plan expects (``lifecycle_for``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestrator.vocabulary import (
    AFTER_ALLOW_TEST_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
    ALLOW_TRAFFIC,
    BAKE_TIME,
    BEFORE_ALLOW_TRAFFIC,
    ECS_HOOK_EVENTS,
    ECS_LIFECYCLE_EVENTS,
    ECS_TRAFFIC_EVENTS,
    NATIVE_LIFECYCLE_STAGES,
    NATIVE_STAGE_FOR_EVENT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    EngineName,
)


@dataclass(frozen=True)
class Lifecycle:
    """One engine's lifecycle, as the watch needs it: its steps, milestones and words."""

    steps: tuple[str, ...]  # in the order they run (the live view lists them)
    step_noun: str  # "lifecycle event" | "lifecycle stage"
    runner: str  # who runs the deployment ("CodeDeploy", "Amazon ECS"), for "keeps running in ..."
    test_traffic_done: str  # the step after which the replacement serves test traffic (--until ready)
    production_shift: str  # the step that moves production traffic (--until traffic-shifted)
    moving_steps: tuple[str, ...]  # steps that move tasks or traffic: poll quickly while they run
    slow_steps: tuple[str, ...]  # steps that mostly wait (bake): poll slowly while they run
    # The step each of the catalog's hook events (CodeDeploy's names) runs at.
    hook_steps: Mapping[str, str]
    # Steps while which a hook that is not the step's own may have failed (ECS runs the
    # PRE_PRODUCTION_TRAFFIC_SHIFT hook before every production step, and that is no lifecycle
    # stage of its own: the deployment reports the stage around it).
    hooks_around: Mapping[str, tuple[str, ...]]
    rolls_back_in_place: bool  # the rollback happens inside the same deployment (no new id)
    ready_timeout: str  # what happens when nobody promotes a deployment waiting at Ready
    no_ready_wait: str  # why --until ready does not need promote when the deployment does not wait

    def hook_event_at(self, step: str) -> str | None:
        """The catalog's hook event (CodeDeploy's name) whose hook runs at ``step``, if any."""
        for event, at in self.hook_steps.items():
            if at == step:
                return event
        return None


CODEDEPLOY_LIFECYCLE = Lifecycle(
    steps=ECS_LIFECYCLE_EVENTS,
    step_noun="lifecycle event",
    runner="CodeDeploy",
    test_traffic_done=AFTER_ALLOW_TEST_TRAFFIC,
    production_shift=ALLOW_TRAFFIC,
    moving_steps=ECS_TRAFFIC_EVENTS,
    slow_steps=(AFTER_ALLOW_TRAFFIC,),
    hook_steps={event: event for event in ECS_HOOK_EVENTS},
    hooks_around={},
    rolls_back_in_place=False,
    ready_timeout="CodeDeploy stops it when the group's ready wait ends",
    no_ready_wait=(
        "this deployment group continues at Ready by itself (ready action "
        "CONTINUE_DEPLOYMENT): traffic shifts without `bluegreen promote`"
    ),
)

NATIVE_LIFECYCLE = Lifecycle(
    steps=NATIVE_LIFECYCLE_STAGES,
    step_noun="lifecycle stage",
    runner="Amazon ECS",
    test_traffic_done=POST_TEST_TRAFFIC_SHIFT,
    production_shift=PRODUCTION_TRAFFIC_SHIFT,
    moving_steps=(SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT),
    slow_steps=(POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME),
    hook_steps=dict(NATIVE_STAGE_FOR_EVENT),
    # Which stage ECS reports while the hook before a production step runs is not documented: the
    # one before the first step (POST_TEST_TRAFFIC_SHIFT) or the shift itself.
    hooks_around={
        POST_TEST_TRAFFIC_SHIFT: (BEFORE_ALLOW_TRAFFIC,),
        PRODUCTION_TRAFFIC_SHIFT: (BEFORE_ALLOW_TRAFFIC,),
    },
    rolls_back_in_place=True,
    ready_timeout="Amazon ECS rolls it back when the ready wait ends (the PAUSE hook's timeout)",
    no_ready_wait=(
        "this service's deployments do not wait at Ready (no PAUSE hook: the catalog's ready "
        "action is CONTINUE_DEPLOYMENT): traffic shifts without `bluegreen promote`"
    ),
)

LIFECYCLES = (CODEDEPLOY_LIFECYCLE, NATIVE_LIFECYCLE)


def lifecycle_of(names: Iterable[str | None]) -> Lifecycle:
    """The lifecycle whose steps these names are (CodeDeploy's when none is known: a snapshot taken
    before CodeDeploy lists its target's events has none)."""
    for name in names:
        for lifecycle in LIFECYCLES:
            if name in lifecycle.steps:
                return lifecycle
    return CODEDEPLOY_LIFECYCLE


def lifecycle_for(engine: EngineName | str) -> Lifecycle:
    """The lifecycle a deployment of this engine goes through (the catalog's ``engine``)."""
    return NATIVE_LIFECYCLE if EngineName(engine) is EngineName.ECS else CODEDEPLOY_LIFECYCLE
