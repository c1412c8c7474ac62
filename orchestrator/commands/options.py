"""Frozen options objects the CLI builds from flags (light: no boto3, rich or pydantic here)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The environment commands use when neither the verb nor the global --env names one (before the
# catalog's default_environment); `bluegreen sandbox serve --env prod` prints it.
ENVIRONMENT_ENV_VAR = "BLUEGREEN_ENVIRONMENT"  # the same name the audit Lambda reads (hooks/audit.py)
# The sandbox's virtual clock speed when --time-scale is not given (a minute lasts 1.5 s). Here,
# not in sandbox/, so `--help` can show it without importing the sandbox.
SANDBOX_TIME_SCALE = 40.0


@dataclass(frozen=True)
class GlobalOptions:
    """Options every command shares (given before or after the verb)."""

    catalog: str | None = None
    env: str | None = None
    region: str | None = None
    profile: str | None = None
    debug: bool = False
    output: str = "text"  # text | json

    def merged(self, env: str | None, output: str | None, catalog: str | None = None) -> GlobalOptions:
        """These options with a command's own --env / --output / --catalog taking precedence."""
        return GlobalOptions(
            catalog=catalog or self.catalog,
            env=env or self.env,
            region=self.region,
            profile=self.profile,
            debug=self.debug,
            output=output or self.output,
        )


@dataclass(frozen=True)
class WatchFlags:
    """How to watch: until which milestone, for how long, at which time scale."""

    wait: bool = True
    until: str = "done"
    timeout_minutes: float | None = None
    time_scale: float | None = None  # None: $BLUEGREEN_TIME_SCALE (the sandbox exports it), else 1

    rollback_on_interrupt: bool = False
    # Stop at the first sign (issue 14 item 3): while it watches, the CLI reads the deployment's
    # alarms each poll and stops it with rollback as soon as one is in ALARM. --no-stop-on-alarm
    # leaves the decision to the engine's own alarm monitoring (what `drill` tests).
    stop_on_alarm: bool = True
    # The green probe (--probe-green, opt-in: a CI runner may not reach an internal load balancer):
    # while production users reach the replacement, the CLI sends the catalog's smoke checks to it
    # through the test listener every second and stops it with rollback at 3 wrong answers of 10.
    probe_green: bool = False

    def scale(self) -> float:
        """The time scale in effect: --time-scale, else $BLUEGREEN_TIME_SCALE, else 1.

        An invalid variable is BadInputError naming it (orchestrator.time_scale, the hooks' rule too).
        """
        from orchestrator.time_scale import time_scale_from_env

        if self.time_scale is not None:
            return self.time_scale
        return time_scale_from_env() or 1.0


@dataclass(frozen=True)
class DeployOptions:
    """`bluegreen deploy`."""

    service: str
    strategy: str | None = None
    image: str | None = None
    task_definition: str | None = None
    dry_run: bool = False
    force: bool = False
    sandbox: bool = False
    inject_faults: tuple[str, ...] = ()
    watch: WatchFlags = field(default_factory=WatchFlags)
    engine: str | None = None  # --engine: replaces the catalog's engine for this run


@dataclass(frozen=True)
class RenderOptions:
    """`bluegreen render`."""

    service: str
    task_definition: str | None = None
    out: str | None = None


@dataclass(frozen=True)
class RollbackOptions:
    """`bluegreen rollback`."""

    service: str
    strategy: str | None = None
    force: bool = False
    watch: WatchFlags = field(default_factory=WatchFlags)
    to: str | None = None  # --to DEPLOYMENT_ID: whose revision to redeploy (explicit choice)


@dataclass(frozen=True)
class MigrateOptions:
    """`bluegreen migrate`."""

    service: str
    apply: bool = False  # the default is a dry run: read, translate, print, write nothing
