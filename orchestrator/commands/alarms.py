"""`bluegreen alarms sync|audit`: a typer sub-app. Parses, calls alarms.sync / alarms.audit, returns.

Registered by orchestrator/cli.py with ``app.add_typer(alarms_app, name="alarms")``. Global options
(--catalog, --env, --region, --profile, --output) are read from ``ctx.obj`` when the main app put
them there. Each command returns how it ended (``result.Finished``) and ``cli.main`` prints it and
maps errors to exit codes (2 bad input, 1 violations left, 4 AWS error). Run on its own (typer's
CliRunner on this sub-app), ``_standalone`` prints the result and raises the error instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

try:  # typer >= 0.20 vendors click (as cli.py's import of its exceptions says)
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer with click as a dependency
    from click import get_current_context  # type: ignore[no-redef]

from orchestrator.commands.result import Finished, Result, finish, lines, write_result
from orchestrator.errors import AuditViolationsError, BadInputError

if TYPE_CHECKING:
    from orchestrator.alarms.rules import AuditReport
    from orchestrator.alarms.sync import SyncResult


def _standalone(ended: Any) -> Any:
    """Run as a program of its own (not under cli.main): print the result, raise the error."""
    if get_current_context().parent is not None or not isinstance(ended, Finished):
        return ended  # under the main app: cli.main prints it
    if ended.result is not None:
        write_result(ended.result, ended.json, sys.stdout)
        if ended.result.error is not None:
            raise ended.result.error
        return None
    assert ended.error is not None
    raise ended.error


app = typer.Typer(
    help="Alarms as code: sync alarms/ to CloudWatch and CodeDeploy, and audit them.",
    no_args_is_help=True,
    result_callback=_standalone,
)

EnvOption = Annotated[str | None, typer.Option("--env", help="Environment (default: the catalog's).")]
# Eager, as the main app's: a usage error in the other parameters still knows the output mode.
OutputOption = Annotated[str | None, typer.Option("--output", is_eager=True, help="text (default) or json.")]
CatalogOption = Annotated[
    str | None,
    typer.Option("--catalog", help="Catalog file [default: $BLUEGREEN_CATALOG or ./services.yaml]."),
]


@dataclass(frozen=True)
class AlarmsOptions:
    """The options of one `alarms` command, global ones merged in."""

    catalog: str | None
    env: str | None
    region: str | None
    profile: str | None
    output: str

    @property
    def json(self) -> bool:
        return self.output == "json"


def _options(
    ctx: typer.Context, env: str | None, output: str | None, catalog: str | None = None
) -> AlarmsOptions:
    # The main app keeps its global options (or a session holding them) on ctx.obj.
    obj = ctx.obj
    glob = getattr(obj, "options", obj)
    chosen = output or getattr(glob, "output", None) or "text"
    if chosen not in ("text", "json"):
        raise BadInputError(f"--output {chosen!r}: use text or json")
    return AlarmsOptions(
        catalog=catalog or getattr(glob, "catalog", None),
        env=env or getattr(glob, "env", None),
        region=getattr(glob, "region", None),
        profile=getattr(glob, "profile", None),
        output=chosen,
    )


def _finish(
    ctx: typer.Context,
    env: str | None,
    output: str | None,
    catalog: str | None,
    command: Callable[[AlarmsOptions], Result],
) -> Finished:
    """Run ``command`` with the merged options; how it ended, in the output mode asked for."""
    glob = getattr(ctx.obj, "options", ctx.obj)
    chosen = output or getattr(glob, "output", None) or "text"
    debug = bool(getattr(glob, "debug", False))
    return finish(chosen == "json", lambda: command(_options(ctx, env, output, catalog)), debug=debug)


def _load(options: AlarmsOptions) -> tuple[Any, Any, str, Any]:
    """Catalog, definitions, environment and clients (region: --region, else the environment's)."""
    from orchestrator.alarms.definitions import load_definitions
    from orchestrator.aws.clients import AwsClients
    from orchestrator.catalog import load_catalog

    catalog = load_catalog(options.catalog)
    environment = options.env or catalog.default_environment
    services = catalog.resolve_all(environment)
    definitions = load_definitions(catalog)
    region = options.region or (services[0].region if services else None)
    return catalog, definitions, environment, AwsClients(region=region, profile=options.profile)


@app.command()
def sync(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="The service to sync (or --all).")] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every service of the environment.")] = False,
    env: EnvOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff; write nothing.")] = False,
    output: OutputOption = None,
    catalog_path: CatalogOption = None,
) -> Finished:
    """Create or update the alarms of SERVICE (or --all) and attach them to its deployment group."""

    def run(options: AlarmsOptions) -> Result:
        if (service is None) == (not all_services):
            raise BadInputError("give a SERVICE or --all (not both)")
        return _sync(options, service, dry_run)

    return _finish(ctx, env, output, catalog_path, run)


def _sync(options: AlarmsOptions, service: str | None, dry_run: bool) -> Result:
    from orchestrator import documents
    from orchestrator.alarms.sync import sync_all_alarms

    catalog, definitions, environment, clients = _load(options)
    services = [catalog.resolve(service, environment)] if service else catalog.resolve_all(environment)
    result = sync_all_alarms(clients, services, definitions, dry_run=dry_run)
    report = documents.fields_of(documents.sync_report(result))
    document = documents.SyncDocument(environment=environment, **report)
    error = None
    if result.problems:
        error = AuditViolationsError(f"sync incomplete: {result.problems[0]}" + _more(result.problems))
    return Result(document, _sync_text(result, environment), error)


def _more(items: list[Any]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""


def _sync_text(result: SyncResult, environment: str) -> str:
    out = [str(change) for change in result.alarm_changes]
    out += [str(group) for group in result.group_changes]
    out += [f"! {problem}" for problem in result.problems]
    changes = len(result.alarm_changes) + len(result.group_changes)
    if result.dry_run:
        verdict = f"dry run: {changes} change(s) to make, nothing written"
    elif changes:
        verdict = f"{result.writes} write(s) made"
    else:
        verdict = "in sync, nothing to do"
    out.append(
        f"{environment}: {result.alarms_checked} alarm(s), {result.groups_checked} deployment group(s) "
        f"checked; {verdict}"
    )
    return lines(*out)


@app.command()
def audit(
    ctx: typer.Context,
    env: EnvOption = None,
    output: OutputOption = None,
    fix: Annotated[bool, typer.Option("--fix", help="Repair what sync can repair.")] = False,
    catalog_path: CatalogOption = None,
) -> Finished:
    """Audit every deployment group of the catalog's applications; exit 1 on any violation."""
    return _finish(ctx, env, output, catalog_path, lambda options: _audit(options, fix))


def _audit(options: AlarmsOptions, fix: bool) -> Result:
    from orchestrator import documents
    from orchestrator.alarms.audit import run_audit
    from orchestrator.alarms.repair import repair

    catalog, definitions, environment, clients = _load(options)
    now = datetime.now(UTC)
    report = run_audit(clients, catalog, definitions, environment, now)
    outcome = repair(clients, catalog, definitions, report, now) if fix and not report.clean else None
    final = outcome.after if outcome else report
    # The same keys on every run: "fix" is null without --fix (or when there was nothing to fix).
    fixed = None
    if outcome is not None:
        synced = documents.sync_report(outcome.sync) if outcome.sync else None
        fixed = documents.AuditFix(before=len(outcome.before.findings), sync=synced)
    document = documents.AuditDocument(
        **documents.fields_of(documents.audit_report(final)), fix=fixed, api_calls=clients.counter.total
    )

    def text(stream: TextIO) -> None:
        if outcome is not None:
            _print_fix(stream, outcome.before, outcome.sync, outcome.after)
        _print_report(stream, final)

    error = None
    if not final.clean:
        unfixable = sum(1 for f in final.findings if not f.fixable)
        fixable_left = len(final.findings) - unfixable
        hint = "" if fix or not fixable_left else "; `bluegreen alarms audit --fix` repairs the fixable ones"
        error = AuditViolationsError(
            f"alarm audit ({environment}): {len(final.findings)} violation(s), "
            f"{unfixable} not fixable by sync{hint}"
        )
    return Result(document, text, error)


def _print_fix(stream: TextIO, before: AuditReport, result: SyncResult | None, after: AuditReport) -> None:
    fixable = sum(1 for f in before.findings if f.fixable)
    writes = result.writes if result else 0
    out = [f"fix: {fixable} of {len(before.findings)} violation(s) fixable by sync; {writes} write(s) made"]
    if result:
        out += [f"! {problem}" for problem in result.problems]
    # Once per group (or alarm) and reason: an unmanaged group's several findings share one reason.
    reasons: dict[tuple[str, str], None] = {}
    for finding in after.findings:
        if finding.unfixable_reason:
            where = f"{finding.application}/{finding.deployment_group}"
            if finding.service is not None and finding.alarm:
                where = finding.alarm
            reasons[(where, finding.unfixable_reason)] = None
    out += [f"cannot fix {where}: {reason}" for where, reason in reasons]
    stream.write(lines(*out))


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _print_report(stream: TextIO, report: AuditReport) -> None:
    rows = [
        (
            f.rule.value,
            f"{f.application}/{f.deployment_group}",
            f.alarm or "-",
            "yes" if f.fixable else "no",
            f.message,
        )
        for f in report.findings
    ]
    if rows and _stdout_is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table()
        for header in ("rule", "deployment group", "alarm", "fixable", "message"):
            # fold, never "…": an alarm or group name cut short cannot be acted on.
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console(file=stream).print(table)
    elif rows:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
            stream.write(lines("  ".join([*cells, row[4]])))
    verdict = "clean" if report.clean else f"{len(report.findings)} violation(s)"
    stream.write(
        lines(
            *(f"note: {note}" for note in report.notes),
            f"{report.environment}: {report.groups_checked} deployment group(s), "
            f"{report.alarms_checked} alarm(s) audited; {verdict}",
        )
    )
