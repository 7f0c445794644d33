"""Rules: readings in, ISA-18.2 alarms out. Rule packs (YAML in `rules/packs/`), safe
expressions, evaluators, the alarm state machine, the alarm store with its outbox, floods and
chattering, and alarm KPIs. Rules own the alarm tables: every write to an alarm goes through
this package.

Public API (what the composition root and the console use):

- `config`: `RulesConfig`, the worker's settings, and `Shard`.
- `service`: `run`, the rules worker.
- `operator`: the operator's actions on alarms (acknowledge, shelve, unshelve, comment),
  each one transaction with its outbox row; `store`: the alarm store.
- `queries`: the reads other packages (the console) make of the alarm tables.
- `alarms`: the alarm states and the state machine; `models`: the alarm tables.
- `kpis`: alarm-system KPIs per operator view; `errors`: the package's errors.
- `schema` and `engine`: rule files and the engine that evaluates them without MQTT
  (benchmarks and the truth runs drive it directly).

Everything else is internal (`kinds`, `logic`, `evaluator`, `expr`, `rulebase`, `flood`,
`equipment`, `annotations`, `status`, `detection`). Importing the package imports none of
its modules.
"""

__all__ = [
    "alarms",
    "config",
    "engine",
    "errors",
    "kpis",
    "models",
    "operator",
    "queries",
    "schema",
    "service",
    "store",
]
