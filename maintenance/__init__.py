"""Maintenance: assets, reactive work orders from alarms (incidents), preventive plans,
failure-stage scoring, SLA clocks, the roster and notices, KPIs and monthly reports.
Maintenance owns the asset and work-order tables: every write to them goes through this
package.

Public API (what the composition root and the console use):

- `config`: `MaintenanceConfig` and every settings model nested in it.
- `service`: `run`, the maintenance process.
- `workorders`, `desk`, `worklog`: work orders, their moves, assignment and notices, and
  what was done on them; `followup`: the 回访 of a resolved order; `partslist`: the parts
  list; `attachments`: photos and documents of orders; `events`: the work-order events on
  the broker; `bookingkeys`: the Idempotency-Key of a booking (one booking per key).
- `assets`, `assetio`: the asset register and its YAML/CSV files; `history`: an
  equipment's history file (设备档案); `csvcells`: CSV cells a spreadsheet will not run.
- `energy`: energy accounting from meter counters (consumption per meter, building and
  system by the site's hours, days and months; rollover, reset, gap and stuck counters; the
  sub-metering balance); `energystore`: the meters of a site and their counter samples;
  `energysave`: baselines (degree-day regression or the period's mean), savings, targets;
  `energysavestore`: their data (daily use and temperature, baseline and target settings);
  `energydownsample`: the hourly counters a continuous query keeps for fleet-scale figures.
  `roundfix`: correcting or voiding a round's entry (who, when, the old answer, the reason);
  `plans`: preventive plans and when they fall due (also public: the console describes them).
  `pumpeff`: pump efficiency (operating point, specific energy per day, early baseline,
  drift); `pumpstore`: the pumps of a site and the hourly means of their readings.
- `kpis`, `kpistore`, `budgets`, `report`, `printing`: KPIs, budgets and targets, the
  monthly report and its PDF; `stage`: an asset's failure stage from the store; `scorecli`:
  `bldgwatch score`; `historycsv`: reading a life-history CSV (`bldgwatch score
  --history`); `fleetgen`: random fleets with a known truth (`bldgwatch fleetgen`, the
  scoring bench).
- `roster`: who may be assigned (`TechnicianDirectory`, `check_assignable`), the console
  names its own directory of technician users; `technicians`: the stored directory of
  technicians every assignment reads, seeded by the roster file and kept by the console
  (`enroll`, `retire`) for its technician users.
- `complaints`: complaints (投诉), their one writer (`ComplaintDesk`) and clocks;
  `complaintqueries`: their reads (listings, timeline, a household's history, KPI facts);
  `complaintmodels`: their tables.
- `contractors`: contractors (维保单位), their contracts per site and equipment class, and the
  dispatch of an order to the contractor covering it; `contractormodels`: their tables;
  `contractorkpis`: their scorecard.
- `stock`: spare parts (材料备品) in stores — every change a movement; `stockorders`: parts
  reserved, issued and returned on work orders (booked on them); `stockmodels`: their
  tables; `purchasing`: the reorder list and purchase requests approved by amount;
  `stocksuggest`: reorder levels suggested from the failure model.
- `emergency`: emergency plans (应急预案) per site and kind, with roles, contacts and timed
  steps, versioned; `drills`: their drills (演练), scheduled, recorded, timed against the
  plan; `entrapments`: real entrapments timed against the plan and the 30-minute rescue
  target; `emergencyreport`: both in the monthly report; `emergencymodels`: their tables.
- `checklists`: checklist templates and their items, how an answer is judged, and the
  checklist a preventive order carries; `rounds`: inspection rounds (巡检), their route,
  due points in the site's zone, runs and missed/late counts; `roundentries`: a run's
  entries from a phone (idempotent on the client's id, presence by the QR code, a fault
  opens or joins a repair order); `roundbatch`: a phone's batch of them, held on its run so a
  batch sent twice at once stores each entry once; `roundphotos`: the photos a photo item is
  answered with (re-encoded, in the attachment folder, once per phone id); `roundmodels`:
  their tables.
- `i18n`, `texts`: messages (key and parameters) and their rendering in zh-CN and en;
  `plantexts`: preventive plans' titles and tasks (catalogue keys) in the reader's language.
- `queries`: the reads other packages (the console) make of the maintenance tables.
- `policy`: the SLA clocks, stage settings and roster the service runs with, as data, so
  that changes made through `desk` from another process (the console) apply them.
- `publicrequests`, `requestdesk`, `requestmodels`, `qrsheet`: repair requests (报修) from
  anyone without an account — request points with QR codes and their printed sheet, the
  requests, the desk's decisions (a repair order), the progress and the requester's rating;
  `deskrequests`: requests the desk logs by phone or at the counter, merged duplicates, and
  requests joined to an alarm incident's open order; `followupqueue`: the follow-ups (回访)
  the desk owes on resolved repairs.
- `models`: the tables; `recordmodels`: the tables of an order's records (the parts list,
  bookings, attachments, follow-ups), read by the console's purchasing pages; `errors`: the
  package's errors.

Everything else is internal: the pure parts (`scoring`, `bathtub`, `lifecycle`, `sla`,
`complaintkpis`,
`plans`, `catalogue`, `htmldoc`) and the shells around them
(`incidents`, `consumer`, `pm`, `housekeeping`, `escalation`, `notify`, `notices`,
`condition`, `monthly`). Importing the package imports none
of its modules (so no SQLAlchemy, SciPy or APScheduler).
"""

__all__ = [
    "assetio",
    "assets",
    "attachments",
    "bookingkeys",
    "budgets",
    "checklists",
    "complaintmodels",
    "complaintqueries",
    "complaints",
    "config",
    "contractorkpis",
    "contractormodels",
    "contractors",
    "csvcells",
    "desk",
    "deskrequests",
    "deskrules",
    "drills",
    "emergency",
    "emergencymodels",
    "emergencyreport",
    "energy",
    "energydownsample",
    "energysave",
    "energysavestore",
    "energystore",
    "entrapments",
    "errors",
    "events",
    "fleetgen",
    "followup",
    "followupqueue",
    "history",
    "historycsv",
    "i18n",
    "incidents",
    "kpis",
    "kpistore",
    "models",
    "partslist",
    "photos",
    "plans",
    "plantexts",
    "policy",
    "printing",
    "publicrequests",
    "pumpeff",
    "pumpstore",
    "purchasing",
    "qrsheet",
    "queries",
    "recordmodels",
    "report",
    "requestdesk",
    "requestmodels",
    "roster",
    "roundbatch",
    "roundentries",
    "roundfix",
    "roundmodels",
    "roundphotos",
    "rounds",
    "scorecli",
    "service",
    "stage",
    "stock",
    "stockmodels",
    "stockorders",
    "stocksuggest",
    "technicians",
    "texts",
    "worklog",
    "workorders",
]
