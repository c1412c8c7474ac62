"""The bluegreen command line: parses flags into frozen options and calls one module per verb.

No AWS logic here. Heavy modules (boto3, rich, pydantic models) are imported inside the commands
so ``bluegreen --help`` stays fast (bench/cli_startup.py measures it). Every verb returns how its
command ended (``commands.result.Finished``: the output mode click parsed, and the command's
``Result`` or the error it raised); ``main`` prints that once and is the one place that turns
errors into exit codes (DESIGN.md): 0 ok, 1 deployment failed/stopped/rolled back, 2 bad input,
3 timeout, 4 AWS error, 130 interrupted; anything unexpected is 1 with one line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

try:  # typer >= 0.20 vendors click; its exceptions are the ones raised
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer with click as a dependency
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from orchestrator.commands import help_text
from orchestrator.commands.alarms import app as alarms_app
from orchestrator.commands.options import (
    ENVIRONMENT_ENV_VAR,
    SANDBOX_TIME_SCALE,
    DeployOptions,
    GlobalOptions,
    MigrateOptions,
    RenderOptions,
    RollbackOptions,
    WatchFlags,
)
from orchestrator.commands.result import Finished  # typer reads the verbs' return annotations
from orchestrator.errors import BluegreenError

if TYPE_CHECKING:
    from orchestrator.commands.result import Result
    from orchestrator.commands.session import Session

app = typer.Typer(
    name="bluegreen",
    help="Blue/green and canary deployments for ECS services on AWS CodeDeploy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog=help_text.TOP,
)
sandbox_app = typer.Typer(help="The local sandbox: moto + CodeDeploy emulator + fake fleet on loopback.")
fleet_app = typer.Typer(
    help="Many services in dependency-ordered waves: fleet deploy, fleet watch.",
    no_args_is_help=True,
    rich_markup_mode=None,
    epilog=help_text.FLEET,
)
app.add_typer(alarms_app, name="alarms")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(fleet_app, name="fleet")

# Options shared by several commands (given after the verb they override the global ones).
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment from the catalog (dev, prod).")]
CatalogOpt = Annotated[
    str | None,
    typer.Option("--catalog", help="Catalog file [default: $BLUEGREEN_CATALOG or ./services.yaml]."),
]
# Eager: click reads it before the other parameters, so a usage error in them (a missing argument,
# a bad --timeout) still knows whether to print its error as a JSON document.
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", is_eager=True, help="text (for people) or json (one document on stdout)."),
]
UntilOpt = Annotated[
    str, typer.Option("--until", help="Return (exit 0) at this milestone: ready, traffic-shifted or done.")
]


def _positive_number(text: str) -> float:
    """A flag's value as a finite number > 0 (``float`` alone takes nan, inf and full-width digits)."""
    from orchestrator.time_scale import positive_number_problem

    if isinstance(text, float):  # typer hands a default through the parser too
        return text
    problem = positive_number_problem(text)
    if problem:
        raise click_exceptions.BadParameter(problem)
    return float(text)


TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        parser=_positive_number,
        metavar="MINUTES",
        help="Minutes to watch before exit 3 [default: expected duration + margin].",
    ),
]
TimeScaleOpt = Annotated[
    float | None,
    typer.Option(
        "--time-scale",
        parser=_positive_number,
        metavar="N",
        help="Divide poll intervals and the timeout (sandbox clock) [default: "
        f"{SANDBOX_TIME_SCALE:g} with --sandbox, else $BLUEGREEN_TIME_SCALE, else 1].",
    ),
]
RollbackOnInterruptOpt = Annotated[
    bool,
    typer.Option("--rollback-on-interrupt", help="On Ctrl-C/SIGTERM stop the deployment with rollback."),
]
StopOnAlarmOpt = Annotated[
    bool,
    typer.Option(
        "--stop-on-alarm/--no-stop-on-alarm",
        help="While watching, read the deployment's alarms each poll and stop it with rollback at the "
        "first ALARM (--no-stop-on-alarm: the engine's own alarm poll alone decides).",
    ),
]
ProbeGreenOpt = Annotated[
    bool,
    typer.Option(
        "--probe-green",
        help="While production users reach the replacement, also send the catalog's smoke checks to it "
        "through the test listener every second (no retries) and stop it with rollback once 3 of the last "
        "10 answers were wrong: sooner than a one-minute alarm. Needs this machine to reach the load "
        "balancer; if it cannot, the watch goes on without the probe and says so.",
    ),
]
WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Watch the deployment until it ends.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Override the environment's guardrails (recorded).")]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        "-s",
        help="all-at-once, canary10, canary10-15m, linear10, linear10-3m, "
        "canary:PCT:MIN, linear:PCT:MIN [default: the catalog's].",
    ),
]


def _finish(
    ctx: typer.Context,
    command: Callable[[Session], Result],
    env: str | None = None,
    output: str | None = None,
    catalog: str | None = None,
) -> Finished:
    """Run ``command`` with a session for the merged options; how it ended, in the mode asked for."""
    from orchestrator.commands.result import finish

    options: GlobalOptions = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    merged = options.merged(env, output, catalog)
    return finish(merged.output == "json", lambda: command(_session(merged)), debug=merged.debug)


def _session(options: GlobalOptions) -> Session:
    from orchestrator.commands.session import Session

    if options.output not in ("text", "json"):
        from orchestrator.errors import BadInputError

        raise BadInputError(f"--output {options.output!r}: valid values are text, json")
    return Session(options)


@app.callback()
def _global(
    ctx: typer.Context,
    catalog: CatalogOpt = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            envvar=ENVIRONMENT_ENV_VAR,
            help="Environment from the catalog (dev, prod) "
            "[default: $BLUEGREEN_ENVIRONMENT, else the catalog's].",
        ),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region [default: the catalog's].")
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile (~/.aws/config).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    output: OutputOpt = None,
) -> None:
    """Blue/green and canary deployments for ECS services on AWS CodeDeploy."""
    ctx.obj = GlobalOptions(
        catalog=catalog, env=env, region=region, profile=profile, debug=debug, output=output or "text"
    )


@app.command(epilog=help_text.DEPLOY)
def deploy(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name from the catalog.")],
    strategy: StrategyOpt = None,
    env: EnvOpt = None,
    image: Annotated[str | None, typer.Option("--image", help="Container image to deploy.")] = None,
    task_definition: Annotated[
        str | None,
        typer.Option("--task-definition", help="Task definition ARN (as is) or JSON file (registered)."),
    ] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    until: UntilOpt = "done",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; make no AWS call.")] = False,
    force: ForceOpt = False,
    rollback_on_interrupt: RollbackOnInterruptOpt = False,
    stop_on_alarm: StopOnAlarmOpt = True,
    probe_green: ProbeGreenOpt = False,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Deploy into a local sandbox started for this run.")
    ] = False,
    inject_fault: Annotated[
        list[str] | None,
        typer.Option(
            "--inject-fault",
            metavar="SPEC",
            help="With --sandbox: make the new (green) version faulty, e.g. error_rate=0.5, "
            "latency_ms=1500, unhealthy=1, or error_rate=0.5,path=/browse (only that path). Repeatable.",
        ),
    ] = None,
    time_scale: TimeScaleOpt = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Who runs the deployment for this run: codedeploy (AWS CodeDeploy) or ecs (Amazon ECS's "
            "native blue/green, linear and canary) [default: the catalog's].",
        ),
    ] = None,
) -> Finished:
    """Deploy a new revision of SERVICE and watch it."""
    from orchestrator.commands import deploy as command

    flags = WatchFlags(wait, until, timeout, time_scale, rollback_on_interrupt, stop_on_alarm, probe_green)
    options = DeployOptions(
        service,
        strategy,
        image,
        task_definition,
        dry_run,
        force,
        sandbox,
        tuple(inject_fault or ()),
        flags,
        engine,
    )
    return _finish(ctx, lambda session: command.run(session, options), env, output, catalog)


@app.command(epilog=help_text.RENDER)
def render(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name from the catalog.")],
    env: EnvOpt = None,
    task_definition: Annotated[
        str | None,
        typer.Option("--task-definition", help="Task definition ARN [default: <TASK_DEFINITION>]."),
    ] = None,
    out: Annotated[str | None, typer.Option("--out", help="Output file ('-' for stdout).")] = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Write SERVICE's AppSpec to appspecs/SERVICE.ENV.yaml."""
    from orchestrator.commands import render as command

    options = RenderOptions(service, task_definition, out)
    return _finish(ctx, lambda session: command.run(session, options), env, output, catalog)


@app.command(epilog=help_text.STATUS)
def status(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="DEPLOYMENT_ID|SERVICE", help="A deployment or a service.")
    ],
    env: EnvOpt = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Show a deployment (for a SERVICE: its deployment group's latest)."""
    from orchestrator.commands import status as command

    return _finish(ctx, lambda session: command.run(session, target), env, output, catalog)


@app.command(epilog=help_text.WATCH)
def watch(
    ctx: typer.Context,
    deployment_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    timeout: TimeoutOpt = None,
    until: UntilOpt = "done",
    rollback_on_interrupt: RollbackOnInterruptOpt = False,
    stop_on_alarm: StopOnAlarmOpt = True,
    probe_green: ProbeGreenOpt = False,
    time_scale: TimeScaleOpt = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Attach to a deployment and follow it to the end (or --until)."""
    from orchestrator.commands import watch as command

    flags = WatchFlags(True, until, timeout, time_scale, rollback_on_interrupt, stop_on_alarm, probe_green)
    return _finish(ctx, lambda session: command.run(session, deployment_id, flags), None, output, catalog)


@app.command(epilog=help_text.WHY)
def why(
    ctx: typer.Context,
    deployment_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Why a deployment failed, stopped or rolled back: the root cause first, then the evidence
    (lifecycle, hook verdicts, alarms, target health, stopped tasks, service events). Exits 0 with
    the report whatever the deployment's outcome (the report is the product, as with `status`)."""
    from orchestrator.commands import why as command

    return _finish(ctx, lambda session: command.run(session, deployment_id), None, output, catalog)


@app.command(epilog=help_text.ANALYZE)
def analyze(
    ctx: typer.Context,
    deployment_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """The canary judge's table for a running or finished deployment: green against blue over the
    window in which both served production (per metric: blue, green, Mann-Whitney U, p, effect,
    verdict; the score; why). Exits 0 with the report whatever the verdict; a deployment that never
    shifted traffic is INCONCLUSIVE: no green traffic yet."""
    from orchestrator.commands import analyze as command

    return _finish(ctx, lambda session: command.run(session, deployment_id), None, output, catalog)


@app.command(epilog=help_text.STOP)
def stop(
    ctx: typer.Context,
    deployment_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    no_rollback: Annotated[bool, typer.Option("--no-rollback", help="Stop without rolling back.")] = False,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Stop a deployment (and roll it back, unless --no-rollback)."""
    from orchestrator.commands import stop as command

    return _finish(
        ctx, lambda session: command.run(session, deployment_id, not no_rollback), None, output, catalog
    )


@app.command(epilog=help_text.ROLLBACK)
def rollback(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name from the catalog.")],
    env: EnvOpt = None,
    strategy: StrategyOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    force: ForceOpt = False,
    time_scale: TimeScaleOpt = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="DEPLOYMENT_ID",
            help="Redeploy this Succeeded deployment's revision [default: the newest before the live one; "
            "refused when that undoes a bluegreen rollback].",
        ),
    ] = None,
) -> Finished:
    """Redeploy SERVICE's last successful revision before the live one (says which, first)."""
    from orchestrator.commands import rollback as command

    flags = WatchFlags(wait, "done", timeout, time_scale, False)
    options = RollbackOptions(service, strategy, force, flags, to)
    return _finish(ctx, lambda session: command.run(session, options), env, output, catalog)


@app.command(epilog=help_text.PROMOTE)
def promote(
    ctx: typer.Context,
    deployment_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Shift production traffic to a deployment waiting at Ready (ContinueDeployment)."""
    from orchestrator.commands import promote as command

    return _finish(ctx, lambda session: command.run(session, deployment_id), None, output, catalog)


@app.command(epilog=help_text.STRATEGIES)
def strategies(ctx: typer.Context, catalog: CatalogOpt = None, output: OutputOpt = None) -> Finished:
    """List the deployment strategies."""
    from orchestrator.commands import strategies as command

    return _finish(ctx, command.run, None, output, catalog)


@app.command(epilog=help_text.MIGRATE)
def migrate(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name from the catalog.")],
    env: EnvOpt = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Switch the service (listener rules, then UpdateService) [default: a dry run].",
        ),
    ] = False,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Move SERVICE from CodeDeploy to Amazon ECS's own blue/green deployments (a dry run unless --apply)."""
    from orchestrator.commands import migrate as command

    options = MigrateOptions(service, apply)
    return _finish(ctx, lambda session: command.run(session, options), env, output, catalog)


SinceOpt = Annotated[
    str,
    typer.Option("--since", help="Window start: 30d, 12h, 90m, 2w, 2026-11-01 or 2026-11-01T10:00Z (UTC)."),
]
SourceOpt = Annotated[
    str,
    typer.Option(
        "--source",
        help="auto (the ledger when the catalog names one, else the engines' APIs), ledger or api.",
    ),
]


@app.command(epilog=help_text.HISTORY)
def history(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Argument(help="Service name from the catalog [default: every service].")
    ] = None,
    env: EnvOpt = None,
    since: SinceOpt = "30d",
    source: SourceOpt = "auto",
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Past deployments newest first: outcome, duration, who deployed which commit."""
    from orchestrator.commands import history as command
    from orchestrator.commands.records import Wanted

    wanted = Wanted(service, since, source)
    return _finish(ctx, lambda session: command.run(session, wanted), env, output, catalog)


@app.command(epilog=help_text.DORA)
def dora(
    ctx: typer.Context,
    env: EnvOpt = None,
    since: SinceOpt = "30d",
    service: Annotated[str | None, typer.Option("--service", help="One service [default: all].")] = None,
    source: SourceOpt = "auto",
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """DORA metrics: deployment frequency, lead time, change failure rate, time to restore."""
    from orchestrator.commands import dora as command
    from orchestrator.commands.records import Wanted

    wanted = Wanted(service, since, source)
    return _finish(ctx, lambda session: command.run(session, wanted), env, output, catalog)


@app.command(epilog=help_text.TIMELINE)
def timeline(
    ctx: typer.Context,
    deployment_id: Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID")],
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the picture to FILE.svg, FILE.png or FILE.html (one self-contained page) "
            "instead of printing text; needs matplotlib: pip install 'bluegreen[report]'.",
        ),
    ] = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """The picture of one deployment: traffic, lifecycle and hooks, alarm states, stop and rollback.

    Exit 0 when it was drawn, whatever the deployment's outcome.
    """
    from orchestrator.commands import timeline as command

    return _finish(ctx, lambda session: command.run(session, deployment_id, out), None, output, catalog)


@sandbox_app.command("serve", epilog=help_text.SANDBOX_SERVE)
def sandbox_serve(
    ctx: typer.Context,
    catalog: CatalogOpt = None,
    port: Annotated[
        int,
        typer.Option(
            "--port", metavar="N", show_default=False, help="CodeDeploy emulator port [default: a free one]."
        ),
    ] = 0,
    env: EnvOpt = None,
    time_scale: Annotated[
        float | None,
        typer.Option(
            "--time-scale",
            parser=_positive_number,
            metavar="N",
            help=f"Speed of the sandbox's virtual clock [default: {SANDBOX_TIME_SCALE:g}: "
            f"a minute of deployment time lasts {60 / SANDBOX_TIME_SCALE:g} s].",
        ),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service", metavar="NAME", help="Only these services (repeatable) [default: every one]."
        ),
    ] = None,
) -> Finished:
    """Run the sandbox; print the endpoint variables; run until stopped."""
    from orchestrator.commands import sandbox_extra
    from orchestrator.commands.result import Result

    def run(session: Session) -> Result:
        serve = sandbox_extra.load("serve", "serve", "bluegreen sandbox serve")
        for name in service or ():
            session.resolve(name)  # unknown names are bad input before anything starts
        serve(  # prints its export lines as it starts, then runs until stopped
            catalog=session.catalog,
            environment=session.options.env or session.catalog.default_environment,
            port=port,
            time_scale=time_scale,
            services=list(service or []) or None,
        )
        return Result(None)

    return _finish(ctx, run, env, None, catalog)


@fleet_app.command("deploy", epilog=help_text.FLEET_DEPLOY)
def fleet_deploy(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None, typer.Argument(metavar="SERVICE", help="Services from the catalog (or --all).")
    ] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every service of the catalog.")] = False,
    env: EnvOpt = None,
    strategy: StrategyOpt = None,
    image_tag: Annotated[
        str | None,
        typer.Option("--image-tag", metavar="TAG", help="Deploy each service's catalog image with this tag."),
    ] = None,
    images: Annotated[
        str | None,
        typer.Option("--images", metavar="FILE", help="YAML of SERVICE: IMAGE (or a tag) for this run."),
    ] = None,
    max_parallel: Annotated[
        int | None,
        typer.Option(
            "--max-parallel",
            metavar="N",
            help="At most N deployments of a wave at once [default: the environment's fleet.max_parallel].",
        ),
    ] = None,
    continue_on_failure: Annotated[
        bool,
        typer.Option(
            "--continue-on-failure",
            help="After a failure keep going with the services whose dependencies succeeded "
            "[default: start nothing new].",
        ),
    ] = False,
    stop_on_failure: Annotated[
        bool,
        typer.Option(
            "--stop-on-failure/--no-stop-on-failure",
            help="On the first failure stop the deployments in flight with rollback, or let them finish.",
        ),
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the waves and their expected times; make no AWS call.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN_ID",
            help="Finish a fleet run (after a killed job): start only what it had not started.",
        ),
    ] = None,
    timeout: TimeoutOpt = None,
    time_scale: TimeScaleOpt = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Deploy many services in waves: the order from the catalog's depends_on / wave, at most
    --max-parallel at once per wave, a busy service queued, the first failure stops the fleet."""
    from orchestrator.commands import fleet as command

    options = command.FleetDeployOptions(
        services=tuple(services or ()),
        all=all_services,
        strategy=strategy,
        image_tag=image_tag,
        images=images,
        max_parallel=max_parallel,
        continue_on_failure=continue_on_failure,
        stop_on_failure=stop_on_failure,
        dry_run=dry_run,
        resume=resume,
        timeout_minutes=timeout,
        time_scale=time_scale,
    )
    return _finish(ctx, lambda session: command.deploy(session, options), env, output, catalog)


@fleet_app.command("watch", epilog=help_text.FLEET_WATCH)
def fleet_watch(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The id `fleet deploy` printed.")],
    env: EnvOpt = None,
    timeout: TimeoutOpt = None,
    time_scale: TimeScaleOpt = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Re-attach to a fleet run from any machine (its record and the deployments carrying its id)."""
    from orchestrator.commands import fleet as command

    options = command.FleetWatchOptions(run_id, timeout, time_scale)
    return _finish(ctx, lambda session: command.watch(session, options), env, output, catalog)


@fleet_app.command("export", epilog=help_text.FLEET_EXPORT)
def fleet_export(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None, typer.Argument(metavar="SERVICE", help="Services from the catalog (or --all).")
    ] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every service of the catalog.")] = False,
    out: Annotated[str, typer.Option("--out", metavar="DIR", help="Folder for the two files.")] = ".",
    env: EnvOpt = None,
    strategy: StrategyOpt = None,
    image_tag: Annotated[
        str | None,
        typer.Option("--image-tag", metavar="TAG", help="Deploy each service's catalog image with this tag."),
    ] = None,
    images: Annotated[
        str | None,
        typer.Option("--images", metavar="FILE", help="YAML of SERVICE: IMAGE (or a tag) for this run."),
    ] = None,
    max_parallel: Annotated[
        int | None,
        typer.Option(
            "--max-parallel",
            metavar="N",
            help="At most N deployments of a wave at once [default: the environment's fleet.max_parallel].",
        ),
    ] = None,
    stop_on_failure: Annotated[
        bool,
        typer.Option(
            "--stop-on-failure/--no-stop-on-failure",
            help="On the first failure stop the wave's deployments in flight (rollback), or let them finish.",
        ),
    ] = True,
    poll_seconds: Annotated[
        int, typer.Option("--poll-seconds", metavar="N", help="Seconds between two looks at a deployment.")
    ] = 30,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Write the fleet's waves as an AWS Step Functions state machine (fleet-ENV.asl.json) and the SAM
    template that runs it with least-privilege roles (fleet-ENV.template.yaml). No AWS call."""
    from orchestrator.commands import fleet_export as command

    options = command.FleetExportOptions(
        out=out,
        services=tuple(services or ()),
        all=all_services,
        strategy=strategy,
        image_tag=image_tag,
        images=images,
        max_parallel=max_parallel,
        stop_on_failure=stop_on_failure,
        poll_seconds=poll_seconds,
    )
    return _finish(ctx, lambda session: command.run(session, options), env, output, catalog)


@app.command(epilog=help_text.DRILL)
def drill(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name from the catalog.")],
    env: EnvOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Drill a production environment anyway (refused without it).")
    ] = False,
    fault: Annotated[
        str,
        typer.Option(
            "--fault",
            help="What to break mid-canary: alarm (one of the service's alarms set to ALARM) or hook "
            "(the AfterAllowTraffic hook answers Failed).",
        ),
    ] = "alarm",
    alarm: Annotated[
        str | None,
        typer.Option("--alarm", help="Which of the service's alarms to force [default: the first]."),
    ] = None,
    strategy: StrategyOpt = None,
    timeout: TimeoutOpt = None,
    time_scale: TimeScaleOpt = None,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
) -> Finished:
    """Redeploy SERVICE's live revision, break it mid-canary, and check that it is rolled back in time."""
    from orchestrator.commands import drill as command

    flags = WatchFlags(True, "done", timeout, time_scale, False, stop_on_alarm=False)
    options = command.DrillOptions(service, fault, force, strategy, alarm, flags)
    return _finish(ctx, lambda session: command.run(session, options), env, output, catalog)


@app.command(epilog=help_text.SCHEMA)
def schema(ctx: typer.Context) -> Finished:
    """Print the JSON Schema of every --output json document (one schema; each document in $defs)."""
    from orchestrator.commands.result import Result, dumps
    from orchestrator.documents import json_schema

    return _finish(ctx, lambda session: Result(None, dumps(json_schema())))


def usage_message(err: click_exceptions.ClickException) -> str:
    """Click's usage error as one line: what was wrong, with which flag, and where help is.

    Click prints a three-line block (usage, a "Try --help" line, the error); DESIGN.md wants one
    line for bad input: ``--timeout: 'abc' is not a number; see bluegreen deploy --help``.
    """
    reason = " ".join(err.message.split()).rstrip(".")
    param = getattr(err, "param", None)
    if isinstance(err, click_exceptions.MissingParameter) and param is not None:
        text = f"missing {param.param_type_name} {_param_name(param)}"
    elif isinstance(err, click_exceptions.BadParameter) and param is not None:
        text = f"{_param_name(param)}: {reason}"
    else:
        text = reason[:1].lower() + reason[1:]
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "bluegreen"
    return f"{text}; see {command} --help"


def _param_name(param: Any) -> str:
    if param.param_type_name == "option":
        return str(param.opts[0])
    return str(getattr(param, "metavar", None) or param.name).upper()


def _print_error(message: str) -> None:
    if sys.stderr.isatty():
        message = f"\x1b[31m{message}\x1b[0m"
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: print how the command ended, once; the one place errors become exit codes.

    With ``--output json`` stdout always holds one JSON document: the command's own, or, when it
    failed before it had one, an error document (orchestrator.commands.failure).
    """
    from orchestrator.commands.session import sigterm_as_interrupt

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # SIGTERM (a cancelled CI job) is handled like Ctrl-C for the whole run.
        with sigterm_as_interrupt():
            ended = app(args=args, prog_name="bluegreen", standalone_mode=False)
    except click_exceptions.ClickException as err:  # bad flags, missing arguments: exit 2, one line
        ended = Finished(_parsed_output(getattr(err, "ctx", None)) == "json", error=err)
    except (typer.Abort, KeyboardInterrupt) as err:  # while click parsed the flags
        ended = Finished(False, error=err)
    except Exception as err:  # a bug outside any command (commands hand theirs back in Finished)
        ended = Finished(False, error=err)
    if isinstance(ended, Finished):
        return _print_finished(ended)
    code = int(ended) if isinstance(ended, int) else 0  # --help; typer's 130 for a Ctrl-C while parsing
    if code == 130:
        _print_error("interrupted")
    return code


def _parsed_output(ctx: Any) -> str:
    """The --output click had parsed when a usage error stopped it: the verb's, else the global one."""
    while ctx is not None:
        chosen = ctx.params.get("output")
        if chosen is not None:
            return str(chosen)
        ctx = ctx.parent
    return "text"


def _print_finished(ended: Finished) -> int:
    """Print the command's result, or its error (one line on stderr; the error document in JSON)."""
    from orchestrator.commands.result import dumps, write_result

    if ended.result is not None:
        write_result(ended.result, ended.json, sys.stdout)
        if ended.result.error is not None:
            _print_error(f"error: {ended.result.error}")
        return ended.result.exit_code
    assert ended.error is not None
    code, kind, message = _report_error(ended.error, ended.debug)
    if ended.json:
        from orchestrator.commands.failure import error_document
        from orchestrator.documents import to_json
        from orchestrator.errors import ErrorContext

        known = ended.error.known if isinstance(ended.error, BluegreenError) else ErrorContext()
        sys.stdout.write(dumps(to_json(error_document(message, code, kind, known))))
        sys.stdout.flush()
    return code


def _report_error(err: BaseException, debug: bool) -> tuple[int, str, str]:
    """Say ``err`` on stderr in one line; its (exit code, errorKind, message) for the error document."""
    if isinstance(err, click_exceptions.ClickException):
        message = usage_message(err)
        _print_error(f"error: {message}")
        return 2, "usage", message
    if isinstance(err, typer.Abort | KeyboardInterrupt):
        _print_error("interrupted")
        return 130, "interrupted", "interrupted"
    if debug:
        import traceback

        traceback.print_exception(err)
    if isinstance(err, BluegreenError):
        _print_error(f"error: {err}" if err.exit_code != 130 else str(err))
        return err.exit_code, err.kind, str(err)
    message = f"internal error: {type(err).__name__}: {err}"  # a bug in bluegreen, not the user's input
    _print_error(f"{message} (run with --debug for the traceback)")
    return 1, "internal", message


if __name__ == "__main__":
    sys.exit(main())
