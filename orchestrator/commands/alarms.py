"""`bluegreen alarms sync|audit`: a typer sub-app. Parses, calls alarm_sync / audit_fetch, prints.

Registered by orchestrator/cli.py with ``app.add_typer(alarms_app, name="alarms")``. Global options
(--catalog, --env, --region, --profile, --output) are read from ``ctx.obj`` when the main app put
them there; this module never exits itself: it raises orchestrator.errors types and ``cli.main``
maps them to exit codes (2 bad input, 1 violations left, 4 AWS error).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.errors import AuditViolationsError, BadInputError

if TYPE_CHECKING:
    from orchestrator.alarms.rules import AuditReport
    from orchestrator.alarms.sync import SyncResult

app = typer.Typer(
    help="Alarms as code: sync alarms/ to CloudWatch and CodeDeploy, and audit them.",
    no_args_is_help=True,
)

EnvOption = Annotated[str | None, typer.Option("--env", help="Environment (default: the catalog's).")]
OutputOption = Annotated[str | None, typer.Option("--output", help="text (default) or json.")]
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


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


@app.command()
def sync(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="The service to sync (or --all).")] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every service of the environment.")] = False,
    env: EnvOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff; write nothing.")] = False,
    output: OutputOption = None,
    catalog_path: CatalogOption = None,
) -> None:
    """Create or update the alarms of SERVICE (or --all) and attach them to its deployment group."""
    if (service is None) == (not all_services):
        raise BadInputError("give a SERVICE or --all (not both)")
    options = _options(ctx, env, output, catalog_path)
    from orchestrator.alarms.sync import sync_all_alarms

    catalog, definitions, environment, clients = _load(options)
    services = [catalog.resolve(service, environment)] if service else catalog.resolve_all(environment)
    result = sync_all_alarms(clients, services, definitions, dry_run=dry_run)
    if options.json:
        _write(json.dumps({"environment": environment, **result.to_dict()}, indent=2))
    else:
        _print_sync(result, environment)
    if result.problems:
        raise AuditViolationsError(f"sync incomplete: {result.problems[0]}" + _more(result.problems))


def _more(items: list[Any]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""


def _print_sync(result: SyncResult, environment: str) -> None:
    for change in result.alarm_changes:
        _write(str(change))
    for group in result.group_changes:
        _write(str(group))
    for problem in result.problems:
        _write(f"! {problem}")
    changes = len(result.alarm_changes) + len(result.group_changes)
    if result.dry_run:
        verdict = f"dry run: {changes} change(s) to make, nothing written"
    elif changes:
        verdict = f"{result.writes} write(s) made"
    else:
        verdict = "in sync, nothing to do"
    _write(
        f"{environment}: {result.alarms_checked} alarm(s), {result.groups_checked} deployment group(s) "
        f"checked; {verdict}"
    )


@app.command()
def audit(
    ctx: typer.Context,
    env: EnvOption = None,
    output: OutputOption = None,
    fix: Annotated[bool, typer.Option("--fix", help="Repair what sync can repair.")] = False,
    catalog_path: CatalogOption = None,
) -> None:
    """Audit every deployment group of the catalog's applications; exit 1 on any violation."""
    options = _options(ctx, env, output, catalog_path)
    from orchestrator.alarms.audit import run_audit
    from orchestrator.alarms.repair import repair

    catalog, definitions, environment, clients = _load(options)
    now = datetime.now(UTC)
    report = run_audit(clients, catalog, definitions, environment, now)
    outcome = repair(clients, catalog, definitions, report, now) if fix and not report.clean else None
    final = outcome.after if outcome else report
    if options.json:
        # The same keys on every run: "fix" is null without --fix (or when there was nothing to fix).
        document = final.to_dict()
        document["fix"] = None
        if outcome is not None:
            document["fix"] = {
                "before": outcome.before.to_dict()["violations"],
                "sync": outcome.sync.to_dict() if outcome.sync else None,
            }
        document["apiCalls"] = clients.counter.total
        _write(json.dumps(document, indent=2))
    else:
        if outcome is not None:
            _print_fix(outcome.before, outcome.sync, outcome.after)
        _print_report(final)
    if not final.clean:
        unfixable = sum(1 for f in final.findings if not f.fixable)
        fixable_left = len(final.findings) - unfixable
        hint = "" if fix or not fixable_left else "; `bluegreen alarms audit --fix` repairs the fixable ones"
        raise AuditViolationsError(
            f"alarm audit ({environment}): {len(final.findings)} violation(s), "
            f"{unfixable} not fixable by sync{hint}"
        )


def _print_fix(before: AuditReport, result: SyncResult | None, after: AuditReport) -> None:
    fixable = sum(1 for f in before.findings if f.fixable)
    writes = result.writes if result else 0
    _write(f"fix: {fixable} of {len(before.findings)} violation(s) fixable by sync; {writes} write(s) made")
    if result:
        for problem in result.problems:
            _write(f"! {problem}")
    # Once per group (or alarm) and reason: an unmanaged group's several findings share one reason.
    reasons: dict[tuple[str, str], None] = {}
    for finding in after.findings:
        if finding.unfixable_reason:
            where = f"{finding.application}/{finding.deployment_group}"
            if finding.service is not None and finding.alarm:
                where = finding.alarm
            reasons[(where, finding.unfixable_reason)] = None
    for where, reason in reasons:
        _write(f"cannot fix {where}: {reason}")


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _print_report(report: AuditReport) -> None:
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
        Console().print(table)
    elif rows:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
            _write("  ".join([*cells, row[4]]))
    for note in report.notes:
        _write(f"note: {note}")
    verdict = "clean" if report.clean else f"{len(report.findings)} violation(s)"
    _write(
        f"{report.environment}: {report.groups_checked} deployment group(s), "
        f"{report.alarms_checked} alarm(s) audited; {verdict}"
    )
