"""The shared kernel every component stands on; it imports no component.

Public API, by module (every module here is public; import the one you need):

- `models`: what crosses process boundaries (`Reading`, `ReadingBatch`, `AlarmEvent`,
  `WorkOrderEvent`); `codec`: the readings wire codec; `topics`: the MQTT topic scheme.
- `config`: YAML loading and the shared settings (`StrictModel`, `MqttSettings`,
  `InfluxSettings`, `DatabaseSettings`); `configref`: the generated configuration reference.
- `clock`: injectable clocks; `errors`: errors every component shares; `logs`: logging set-up
  for the CLI; `runner`: the life of a long-running component (config, signals, exit code).
- `mqtt`: the paho-mqtt wrapper; `inbox`: manually acknowledged deliveries on a worker thread.
- `backoff`: the jittered exponential backoff of every retry; `metrics`: `/metrics`
  (prometheus_client) and `/healthz` on a small server thread.
- `profiles`: device profiles (register maps, YAML data in `core/profiles/`); `points`: what
  people see of a point (label in each language, unit, decimals; profiles and the MQTT
  sensor kinds in `core/sensors/`); `registers`:
  register encoding and decoding; `site`: the site register (buildings, equipment, ratings);
  `lineproto`: InfluxDB line protocol; `files`: files only their owner may read (0600);
  `dlt645`: the DL/T 645-2007 meter protocol's frames and data formats; `pumps`: pump
  hydraulics and energy (operating point, specific energy, the rated curve); `sdnotify`:
  systemd's notify protocol and the heartbeat behind READY and the watchdog; `workcal`: a
  site's working calendar (official holidays and make-up workdays, the site's own days).
- Hostile input (docs/architecture.md, issue 12): `safejson`: JSON under explicit limits
  (size, depth, integer digits); `deadletter`: dead letters with counted reasons; `register`:
  the equipment register with owning gateways and the time window of acceptable readings;
  `seqledger`: batches already seen per gateway (duplicate `seq` with other content);
  `resend`: events the broker acknowledged lately, published again after a reconnect (a
  broker killed before its autosave loses them).
- Server side only (they need the `server` extra): `db` (SQLAlchemy engine and base),
  `tsdb` (the InfluxDB interface and its v1/v2 adapters), `httpclient` (HTTP clients sharing
  one TLS context) and `i18n` (the message catalogue: texts by key in zh-CN and en, numbers,
  units and times in the reader's language).

Importing the package imports none of its modules.
"""

__all__ = [
    "backoff",
    "clock",
    "codec",
    "config",
    "configref",
    "db",
    "deadletter",
    "dlt645",
    "errors",
    "files",
    "httpclient",
    "i18n",
    "inbox",
    "lineproto",
    "logs",
    "metrics",
    "models",
    "mqtt",
    "plaintext",
    "points",
    "profiles",
    "pumps",
    "register",
    "registers",
    "resend",
    "runner",
    "safejson",
    "sdnotify",
    "seqledger",
    "site",
    "topics",
    "tsdb",
    "workcal",
]
