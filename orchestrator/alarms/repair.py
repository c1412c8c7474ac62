"""`bluegreen alarms audit --fix`: sync what the audit found fixable, then audit again.

The alarm room's repair: it plans and applies a sync (``orchestrator.alarms.sync``) for every service
with a fixable finding and runs the audit (``orchestrator.alarms.audit``) once more, so what the
second report still shows is what a sync cannot fix (a ghost alarm, an alarm stuck in
INSUFFICIENT_DATA). It makes no AWS call of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orchestrator.alarms.audit import ClientFactory, run_audit
from orchestrator.alarms.definitions import Definitions
from orchestrator.alarms.rules import AuditReport
from orchestrator.alarms.sync import SyncResult, sync_all_alarms
from orchestrator.catalog import Catalog


@dataclass(frozen=True)
class RepairOutcome:
    """What `audit --fix` did: the sync it ran and the audit after it."""

    before: AuditReport
    sync: SyncResult | None
    after: AuditReport


def repair(
    clients: ClientFactory,
    catalog: Catalog,
    definitions: Definitions,
    report: AuditReport,
    now: datetime,
) -> RepairOutcome:
    """Sync every service with a fixable finding, then audit again; what remains could not be fixed."""
    services = sorted({f.service for f in report.findings if f.fixable and f.service})
    if not services:
        return RepairOutcome(report, None, report)
    resolved = [catalog.resolve(name, report.environment) for name in services]
    result = sync_all_alarms(clients, resolved, definitions)
    after = run_audit(clients, catalog, definitions, report.environment, now)
    return RepairOutcome(report, result, after)
