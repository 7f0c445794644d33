"""Maintenance: assets, reactive work orders from alarms (incidents), preventive plans,
failure-stage scoring, SLA clocks, the roster and notices, KPIs and monthly reports.
Maintenance owns the asset and work-order tables: every write to them goes through this
package.

Public API (what the composition root and the console use):

- `config`: `MaintenanceConfig` and every settings model nested in it.
- `service`: `run`, the maintenance process.
- `workorders`, `desk`, `worklog`: work orders, their moves, assignment and notices, and
  what was done on them; `events`: the work-order events on the broker.
- `assets`, `assetio`: the asset register and its YAML/CSV files.
- `kpis`, `kpistore`, `report`: KPIs and the monthly report; `stage`: an asset's failure
  stage from the store; `scorecli`: `bldgwatch score`; `historycsv`: reading a life-history
  CSV (`bldgwatch score --history`); `fleetgen`: random fleets with a known truth
  (`bldgwatch fleetgen`, the scoring bench).
- `roster`: who may be assigned (`TechnicianDirectory`, `check_assignable`), the console
  names its own directory of technician users.
- `queries`: the reads other packages (the console) make of the maintenance tables.
- `policy`: the SLA clocks, stage settings and roster the service runs with, as data, so
  that changes made through `desk` from another process (the console) apply them.
- `models`: the tables; `errors`: the package's errors.

Everything else is internal: the pure parts (`scoring`, `bathtub`, `lifecycle`, `sla`,
`plans`, `catalogue`) and the shells around them (`incidents`, `consumer`, `pm`,
`housekeeping`, `escalation`, `notify`, `condition`). Importing the package imports none
of its modules (so no SQLAlchemy, SciPy or APScheduler).
"""

__all__ = [
    "assetio",
    "assets",
    "config",
    "desk",
    "errors",
    "events",
    "fleetgen",
    "historycsv",
    "kpis",
    "kpistore",
    "models",
    "policy",
    "queries",
    "report",
    "roster",
    "scorecli",
    "service",
    "stage",
    "worklog",
    "workorders",
]
