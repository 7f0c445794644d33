"""The `bldgwatch` command: the composition root's entry point. It is the one place that
knows every component, and it imports each lazily, only when its subcommand runs, so that
`bldgwatch gateway` on a Pi's base install never imports the server side."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from bldgwatch.core.errors import ConfigError, StartError
from bldgwatch.core.logs import setup_logging

if TYPE_CHECKING:
    from bldgwatch.core.config import DatabaseSettings

SERVER_MODULES = frozenset(
    {
        "sqlalchemy",
        "alembic",
        "psycopg",
        "fastapi",
        "starlette",
        "uvicorn",
        "apscheduler",
        "numpy",
        "scipy",
        "influxdb_client",
        "httpx",
        "jwt",
        "argon2",
        "cryptography",
        "websockets",
        "multipart",
        "python_multipart",
    }
)
"""Import names of the `server` extra's libraries, which a Pi's gateway install lacks."""

app = typer.Typer(
    name="bldgwatch",
    help="Building-equipment monitoring and maintenance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold the loaded configs' secrets (21d M4)
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
LogOpt = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR.")]


@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds and print a summary.")
    ] = None,
    var_dir: Annotated[Path, typer.Option(help="Where servers keep their data.")] = Path("var"),
    http_port: Annotated[int, typer.Option(help="Console port.")] = 8080,
    log_level: LogOpt = "INFO",
) -> None:
    """Run the whole system on loopback: servers, a simulated building and every component."""
    from bldgwatch.demo import run_demo

    setup_logging(log_level, component="demo")
    raise typer.Exit(run_demo(var_dir=var_dir, duration=duration, http_port=http_port))


@app.command()
def simulate(
    *,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(help="Scenario file, or a shipped one by name: demo, portfolio, lifecycle."),
    ] = None,
    ground_truth: Annotated[
        Path | None, typer.Option(help="JSONL: one line per fault episode.")
    ] = None,
    history: Annotated[
        Path | None, typer.Option(help="CSV asset_id,asset_class,event,at (with --scenario).")
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="Run the scenario's life model only, without serving devices.")
    ] = False,
    log_level: LogOpt = "INFO",
) -> None:
    """Serve simulated devices (Modbus TCP, MQTT sensors) with injectable faults."""
    from bldgwatch.simulators.cli import simulate_command

    setup_logging(log_level, component="simulate")
    code = simulate_command(
        config=config,
        scenario=scenario,
        ground_truth=ground_truth,
        history=history,
        offline=offline,
    )
    raise typer.Exit(code)


@app.command()
def gateway(
    config: ConfigOpt,
    log_level: LogOpt = "INFO",
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only check the configuration (model, profiles, the fleet key, the kept "
            "pushed configuration) and exit: 0 good, 2 with the error. Connects to nothing, "
            "opens no queue, polls nothing (beside a running gateway, before an upgrade's "
            "restart).",
        ),
    ] = False,
) -> None:
    """Poll devices and forward their readings over MQTT, losing nothing."""
    from bldgwatch.core.config import load_config
    from bldgwatch.core.runner import EXIT_CONFIG, run_component
    from bldgwatch.gateway.config import GatewayConfig
    from bldgwatch.gateway.service import check as check_gateway
    from bldgwatch.gateway.service import run

    if check:
        try:
            said = check_gateway(load_config(config, GatewayConfig))
        except ConfigError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_CONFIG) from err
        for line in said:
            typer.echo(line)
        raise typer.Exit(0)
    setup_logging(log_level, component="gateway")
    raise typer.Exit(run_component(config, GatewayConfig, run))


@app.command()
def ingest(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Write readings from MQTT into InfluxDB."""
    from bldgwatch.core.runner import run_component
    from bldgwatch.ingest.config import IngestConfig
    from bldgwatch.ingest.service import run

    setup_logging(log_level, component="ingest")
    raise typer.Exit(run_component(config, IngestConfig, run))


@app.command()
def rules(
    config: ConfigOpt,
    shard: Annotated[
        str | None,
        typer.Option(
            help="i/N: this worker handles the sites whose crc32 mod N == i "
            "(overrides the file's `shard`)."
        ),
    ] = None,
    log_level: LogOpt = "INFO",
) -> None:
    """Evaluate rules on the reading stream and manage alarms."""
    from bldgwatch.core.runner import run_component
    from bldgwatch.rules.config import RulesConfig
    from bldgwatch.rules.service import check, run

    setup_logging(log_level, component="rules")
    overrides = {"shard": shard} if shard is not None else None
    raise typer.Exit(
        run_component(
            config,
            RulesConfig,
            functools.partial(run, settle=True),
            overrides=overrides,
            check=check,
            prepare=_migrate_db,
        )
    )


@app.command()
def maintenance(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Turn alarms into work orders; keep assets and plans."""
    from bldgwatch.core.runner import run_component
    from bldgwatch.maintenance.config import MaintenanceConfig
    from bldgwatch.maintenance.service import check, run

    setup_logging(log_level, component="maintenance")
    raise typer.Exit(
        run_component(config, MaintenanceConfig, run, check=check, prepare=_migrate_db)
    )


@app.command()
def alerts(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Reach the people on duty: on-call rotas, escalation until acknowledged, and WeCom,
    DingTalk, Feishu, SMS, e-mail and webhook channels."""
    from bldgwatch.alerts.config import AlertsConfig
    from bldgwatch.alerts.service import run
    from bldgwatch.core.runner import run_component

    setup_logging(log_level, component="alerts")
    raise typer.Exit(run_component(config, AlertsConfig, run, prepare=_migrate_db))


@app.command("alerts-key")
def alerts_key(
    path: Annotated[Path, typer.Argument(help="Where to write the key (created with mode 0600).")],
) -> None:
    """Make a new alerts key file: it seals channel secrets and signs acknowledge links; give
    the same file to the alerts service (`key_file`) and the console (`alerts_key_file`)."""
    from bldgwatch.alerts.secrets import write_key_file

    try:
        write_key_file(path)
    except FileExistsError as err:
        typer.echo(f"error: {path} exists; a key is never overwritten", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"alerts key written to {path}")


@app.command("gateway-key")
def gateway_key(
    keys_dir: Annotated[
        Path, typer.Argument(help="The console's gateway_keys_dir (the key goes in SITE/).")
    ],
    site: Annotated[str, typer.Argument(help="Site id of the gateway.")],
    gateway_id: Annotated[str, typer.Argument(help="Gateway id.")],
    *,
    copy_to: Annotated[
        Path | None,
        typer.Option("--copy-to", help="Also write the key here (the gateway's fleet.key_file)."),
    ] = None,
    site_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--site-file",
            help="The site register (YAML; repeat for more sites): a gateway no equipment of "
            "it names is refused.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Provision even a gateway no register names.")
    ] = False,
) -> None:
    """Provision a gateway's fleet key (HMAC, mode 0600) at install: the console signs the
    configurations it pushes to that gateway with it; the gateway's copy checks them. Run as
    root, the key belongs to the owner of KEYS_DIR (the console's user after `install`)."""
    import os

    from bldgwatch.console.fleet import key_path
    from bldgwatch.gateway.fleet import write_key

    try:
        path = key_path(keys_dir, site, gateway_id)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    if site_file and not force:  # a typo'd id gets a key no gateway uses (review 21e L6)
        from bldgwatch.core.errors import ConfigError
        from bldgwatch.core.site import load_site

        try:
            specs = [load_site(file) for file in site_file]
        except ConfigError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from err
        named = {eq.gateway for spec in specs if spec.site == site for eq in spec.equipment}
        if gateway_id not in named:
            known = ", ".join(sorted(g for g in named if g)) or "none"
            typer.echo(
                f"error: no equipment of site {site} in the register names gateway "
                f"{gateway_id} (its gateways: {known}); --force to provision it anyway",
                err=True,
            )
            raise typer.Exit(2)
    if os.path.lexists(path):
        typer.echo(f"error: {path} exists; a key is never overwritten", err=True)
        raise typer.Exit(2)
    try:  # never through a link the folder's owner put there (review 21e H4)
        key = write_key(path, exclusive=True)
    except OSError as err:
        typer.echo(f"error: {path}: not written: {err}", err=True)
        raise typer.Exit(2) from err
    owner = keys_dir.stat()
    if os.geteuid() == 0:  # as root: the key is the console's, as the folder is (install)
        for made in (path.parent, path):
            os.chown(made, owner.st_uid, owner.st_gid, follow_symlinks=False)
    typer.echo(f"fleet key of {site}/{gateway_id} written to {path}")
    if copy_to is not None:
        write_key(copy_to, key)
        typer.echo(f"the gateway's copy written to {copy_to}")


@app.command()
def console(config: ConfigOpt, log_level: LogOpt = "INFO") -> None:
    """Serve the REST API and the web dashboard."""
    from bldgwatch.console.config import ConsoleConfig
    from bldgwatch.console.service import check, run
    from bldgwatch.core.runner import run_component

    setup_logging(log_level, component="console")
    raise typer.Exit(run_component(config, ConsoleConfig, run, check=check, prepare=_migrate_db))


@app.command("console-user")
def console_user(
    *,
    config: ConfigOpt,
    name: Annotated[str, typer.Option("--name", help="User name.")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="viewer, engineer, technician, supervisor, admin, contractor."),
    ],
    contractor: Annotated[
        str | None,
        typer.Option(
            "--contractor", help="With the role contractor (alone): the contractor it acts for."
        ),
    ] = None,
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Visible site (repeat); all if absent.")
    ] = None,
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the password (else prompted).")
    ] = "BLDGWATCH_PASSWORD",  # noqa: S107 - a variable name
) -> None:
    """Create a console user (e.g. the first admin) or reset its password, roles and sites
    (recorded in the audit log as done by `cli:<the operating-system user>`)."""
    import getpass
    import os

    from bldgwatch.console.config import ConsoleConfig
    from bldgwatch.console.errors import BadParameterError, NotFoundError, UnprocessableError
    from bldgwatch.console.users import upsert_user
    from bldgwatch.core.clock import SystemClock
    from bldgwatch.core.config import load_config
    from bldgwatch.core.db import make_engine

    cfg = load_config(config, ConsoleConfig)
    password = os.environ.get(password_env) or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    engine = make_engine(cfg.database)
    try:
        _migrate_db(cfg)
        created = upsert_user(
            engine,
            name=name,
            password=password,
            roles=role,
            sites=site or None,
            at=SystemClock().now(),
            actor=f"cli:{getpass.getuser()}",
            contractor=contractor,
        )
    except (BadParameterError, UnprocessableError, NotFoundError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    finally:
        engine.dispose()
    typer.echo(f"user {name} {'created' if created else 'updated'}")


@app.command()
def score(
    *,
    history: Annotated[Path, typer.Option("--history", help="CSV: asset_id,asset_class,event,at.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO-8601 time to score at (default: now).")
    ] = None,
    model: Annotated[
        str, typer.Option(help="bayes (default), mle (plain maximum likelihood) or bands.")
    ] = "bayes",
    lang: Annotated[str, typer.Option(help="Language of `reason`: en or zh-CN.")] = "en",
    skip_bad_rows: Annotated[
        bool, typer.Option(help="Score the good rows; list the bad ones on stderr.")
    ] = False,
) -> None:
    """Failure stage of every asset of a life history, one JSON object per line."""
    from bldgwatch.maintenance.config import Model
    from bldgwatch.maintenance.errors import HistoryError
    from bldgwatch.maintenance.historycsv import BadRow
    from bldgwatch.maintenance.scorecli import score_file

    models: dict[str, Model] = {"bayes": "bayes", "mle": "mle", "bands": "bands"}
    if model not in models:
        typer.echo(f"score: --model must be bayes, mle or bands, not {model!r}", err=True)
        raise typer.Exit(2)
    skipped: list[BadRow] = []
    notes: list[BadRow] = []
    try:
        for line in score_file(
            history,
            as_of,
            model=models[model],
            lang=lang,
            skip_bad_rows=skip_bad_rows,
            skipped=skipped,
            notes=notes,
        ):
            typer.echo(line.decode())
    except BrokenPipeError:  # the reader stopped early (e.g. `| head`)
        return
    except (HistoryError, OSError, ValueError) as err:
        typer.echo(f"score: {err}", err=True)
        raise typer.Exit(2) from err
    for bad in skipped:
        typer.echo(f"score: skipped {bad}", err=True)
    for note in notes:
        typer.echo(f"score: note: {note}", err=True)


@app.command()
def fleetgen(
    *,
    history: Annotated[Path, typer.Option("--history", help="CSV to write (the score input).")],
    truth: Annotated[
        Path | None, typer.Option(help="JSON to write: each class's parameters, each unit's truth.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    units_per_class: Annotated[int, typer.Option(help="Units of each class.")] = 20,
    classes: Annotated[int, typer.Option(help="Number of classes (1-12).")] = 4,
    missing_install: Annotated[
        float, typer.Option(help="Share of units whose install row is left out.")
    ] = 0.0,
    sites: Annotated[
        int, typer.Option(help="Sites; each has every class, its truth varied per site.")
    ] = 1,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of the histories (default 2026-01-01).")
    ] = None,
) -> None:
    """A random fleet with a known truth (bathtub parameters drawn from wide ranges)."""
    from bldgwatch.maintenance.errors import HistoryError
    from bldgwatch.maintenance.scorecli import write_fleet

    try:
        n = write_fleet(
            history,
            truth,
            seed=seed,
            units_per_class=units_per_class,
            classes=classes,
            missing_install=missing_install,
            as_of=as_of,
            sites=sites,
        )
    except (HistoryError, OSError, ValueError) as err:
        typer.echo(f"fleetgen: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"fleetgen: {n} assets written to {history}", err=True)


assets_app = typer.Typer(
    help="Import and export the asset register (YAML site files or CSV).",
    pretty_exceptions_show_locals=False,
)
app.add_typer(assets_app, name="assets")
DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL of the relational store.")]


@assets_app.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(help="A site file (.yaml/.yml) or an asset CSV (.csv).")],
    db: DbOpt,
    log_level: LogOpt = "INFO",
) -> None:
    """Upsert a site's buildings and equipment into the register (re-imports update)."""
    from bldgwatch.core.config import DatabaseSettings
    from bldgwatch.core.db import make_engine, session_factory
    from bldgwatch.maintenance.assetio import site_from_csv, site_from_yaml
    from bldgwatch.maintenance.assets import import_site
    from bldgwatch.migrations import migrate

    setup_logging(log_level, component="assets")
    try:
        text = file.read_text(encoding="utf-8")
        parse = site_from_csv if file.suffix.lower() == ".csv" else site_from_yaml
        spec = parse(text, source=str(file))
    except (OSError, ConfigError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    engine = make_engine(DatabaseSettings(url=db))
    migrate(engine)
    with session_factory(engine)() as session:
        report = import_site(session, spec)
        session.commit()
    typer.echo(
        f"site {report.site}: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )


@assets_app.command("export")
def assets_export(
    site: Annotated[str, typer.Option(help="Site id.")],
    db: DbOpt,
    fmt: Annotated[str, typer.Option("--format", help="yaml or csv.")] = "yaml",
) -> None:
    """Print a site's register as a site file (YAML) or CSV."""
    from bldgwatch.core.config import DatabaseSettings
    from bldgwatch.core.db import make_engine, session_factory
    from bldgwatch.maintenance.assetio import site_to_csv, site_to_yaml
    from bldgwatch.maintenance.assets import export_site
    from bldgwatch.maintenance.errors import UnknownSite
    from bldgwatch.migrations import require_current

    if fmt not in ("yaml", "csv"):
        typer.echo(f"error: --format must be yaml or csv, got {fmt!r}", err=True)
        raise typer.Exit(2)
    engine = make_engine(DatabaseSettings(url=db))
    require_current(engine)
    with session_factory(engine)() as session:
        try:
            spec = export_site(session, site)
        except UnknownSite as err:
            typer.echo(f"error: unknown site {site!r}", err=True)
            raise typer.Exit(2) from err
    typer.echo(site_to_csv(spec) if fmt == "csv" else site_to_yaml(spec), nl=False)


@app.command("db-upgrade")
def db_upgrade(
    url: Annotated[
        str,
        typer.Option(
            envvar="BLDGWATCH_DATABASE_URL",
            help="SQLAlchemy URL of the relational store (or BLDGWATCH_DATABASE_URL: a password "
            "in it stays off the command line).",
        ),
    ],
    log_level: LogOpt = "INFO",
) -> None:
    """Bring the relational schema to the newest migration."""
    from bldgwatch.core.config import DatabaseSettings
    from bldgwatch.core.db import make_engine
    from bldgwatch.migrations import migrate

    setup_logging(log_level, component="db")
    migrate(make_engine(DatabaseSettings(url=url)))


@app.command("install")
def install_cmd(
    *,
    site_file: Annotated[
        list[Path] | None,
        typer.Option("--site-file", help="A site register (YAML); repeat for more sites."),
    ] = None,
    root: Annotated[Path, typer.Option(help="Install under this folder instead of /.")] = Path("/"),
    db: Annotated[
        str | None,
        typer.Option(
            envvar="BLDGWATCH_DATABASE_URL",
            help="Database URL (default: SQLite in /var/lib/bldgwatch); or BLDGWATCH_DATABASE_URL "
            "(a password in it stays off the command line).",
        ),
    ] = None,
    influx_url: Annotated[
        str | None, typer.Option(help="InfluxDB 1.x URL (default: http://127.0.0.1:8086).")
    ] = None,
    broker: Annotated[
        str | None, typer.Option(help="The broker, host:port (default: 127.0.0.1:1883).")
    ] = None,
    listen: Annotated[
        str | None, typer.Option(help="The console listens here (default: 127.0.0.1:8080).")
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The console's address for links in notices and reports (default: "
            "http:// and --listen, loopback unless the console listens elsewhere)."
        ),
    ] = None,
    gateway: Annotated[
        list[str] | None, typer.Option(help="A gateway's broker account, site/gateway-id.")
    ] = None,
    retire_gateway: Annotated[
        list[str] | None,
        typer.Option(
            help="Remove a gateway's broker account and fleet key, site/gateway-id (a stolen "
            "or replaced Pi); with --gateway of the same name it gets new ones."
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help="The reverse proxy in front of the console (address or network; repeat): "
            "its X-Forwarded-For names the client. Default: loopback for a console on "
            "loopback, else none."
        ),
    ] = None,
    users: Annotated[
        bool, typer.Option(help="Create the group and a user per service (needs root).")
    ] = True,
) -> None:
    """Lay out the server side as systemd services (users, configs, secrets, unit, schema);
    run again after an upgrade: configs and secrets are kept, the schema is migrated first."""
    import subprocess

    from bldgwatch.install import InstallError, Plan, install
    from bldgwatch.servers import ServerError

    plan = Plan(
        site_files=site_file or [],
        root=root,
        db_url=db,
        influx_url=influx_url,
        broker=broker,
        listen=listen,
        public_url=public_url,
        gateways=gateway or [],
        retire=retire_gateway or [],
        trusted_proxies=trusted_proxy,
        users=users,
    )
    try:
        report = install(plan)
    except (InstallError, ConfigError, ServerError, OSError, subprocess.CalledProcessError) as err:
        typer.echo(f"install: {err}", err=True)
        raise typer.Exit(2) from err
    for line in report.done:
        typer.echo(f"install: {line}")
    typer.echo("next:")
    for line in report.next_steps:
        typer.echo(f"  {line}")


def _denied(err: PermissionError) -> str:
    """One line for a file the user running the command may not read or write."""
    where = err.filename or "a file"
    return (
        f"permission denied on {where}: run it as a user who may read the sources and write "
        "the targets (e.g. root)"
    )


RpcOpt = Annotated[
    str, typer.Option("--influx-rpc", help="InfluxDB's RPC address (its backup port).")
]


@app.command("backup")
def backup_cmd(
    *,
    output: Annotated[Path, typer.Option("--output", "-o", help="The archive to write.")],
    root: Annotated[
        Path | None,
        typer.Option(
            help="An installation `bldgwatch install` laid out (/ on a server): its configs "
            "(etc/bldgwatch) and broker files (etc/mosquitto)."
        ),
    ] = None,
    configs: Annotated[
        Path | None, typer.Option(help="The folder of the services' configs (default: --root's).")
    ] = None,
    broker_dir: Annotated[
        Path | None,
        typer.Option(help="The broker's folder (config, passwords, ACL; default: --root's)."),
    ] = None,
    influx_rpc: RpcOpt = "127.0.0.1:8088",
    db: Annotated[
        str | None, typer.Option(help="Database URL (default: the one the configs name).")
    ] = None,
    influx_database: Annotated[
        str | None, typer.Option(help="InfluxDB database (default: the configs').")
    ] = None,
    influx: Annotated[
        bool,
        typer.Option(
            "--influx/--no-influx",
            help="Back up InfluxDB's time series (--no-influx: everything else, e.g. while "
            "InfluxDB is down).",
        ),
    ] = True,
    tmp_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the copies are staged before they are compressed (default: the "
            "archive's folder; it needs about the size of the database, InfluxDB's data and "
            "the attachments free)."
        ),
    ] = None,
) -> None:
    """Back up the installation into one archive: the relational database, InfluxDB, the
    configs and the broker's accounts and ACL (docs/operations.md)."""
    from bldgwatch.backup import BackupError, Sources, backup

    if root is not None:
        configs = configs or root / "etc" / "bldgwatch"
        broker_dir = broker_dir or root / "etc" / "mosquitto"
    if configs is None:
        typer.echo("backup: give --root (an installation) or --configs", err=True)
        raise typer.Exit(2)
    src = Sources(
        configs=configs,
        output=output,
        broker_dir=broker_dir,
        influx_rpc=influx_rpc,
        db_url=db,
        influx_database=influx_database,
        influx=influx,
        tmp_dir=tmp_dir,
    )
    try:
        manifest = backup(src)
    except BackupError as err:
        typer.echo(f"backup: {err}", err=True)
        raise typer.Exit(2) from err
    except PermissionError as err:  # e.g. a cron job as a user who may not write there
        typer.echo(f"backup: {_denied(err)}", err=True)
        raise typer.Exit(2) from err
    if manifest.skipped:
        shown = ", ".join(manifest.skipped[:10]) + (", …" if len(manifest.skipped) > 10 else "")
        typer.echo(
            f"backup: warning: {len(manifest.skipped)} not copied (not a regular file, a "
            f"name that is not UTF-8, or deleted while the backup ran): {shown}",
            err=True,
        )
    size = output.stat().st_size
    typer.echo(
        f"backup: {output} ({size} bytes): {manifest.db_kind} database at schema "
        f"{manifest.schema_head}, InfluxDB {manifest.influx_database or '(none)'}, "
        f"{len(manifest.files)} files"
    )


@app.command("restore")
def restore_cmd(
    archive: Annotated[Path, typer.Argument(help="An archive `bldgwatch backup` wrote.")],
    *,
    configs: Annotated[Path, typer.Option(help="Where the configs go (empty or new).")],
    broker_dir: Annotated[
        Path | None, typer.Option(help="Where the broker's files go (empty or new).")
    ] = None,
    influx_rpc: RpcOpt = "127.0.0.1:8088",
    db: Annotated[
        str | None,
        typer.Option(
            help="Database URL to restore into (default: the one the configs already in "
            "--configs name; never the archive's)."
        ),
    ] = None,
    influx_database: Annotated[
        str | None, typer.Option(help="InfluxDB database to restore as (default: its name).")
    ] = None,
    attachments: Annotated[
        Path | None,
        typer.Option(
            help="Where the photos and documents go (default: the folder the configs "
            "already in --configs name)."
        ),
    ] = None,
    gateway_keys: Annotated[
        Path | None,
        typer.Option(
            help="Where the gateways' fleet keys go (default: the folder the configs "
            "already in --configs name)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Overwrite a database or folder that exists.")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="Only check the archive (manifest and checksums).")
    ] = False,
    services_stopped: Annotated[
        bool,
        typer.Option(help="Skip the check that no service runs (active units, the database open)."),
    ] = False,
) -> None:
    """Restore an archive onto this machine: database (migrated to this version), InfluxDB,
    configs and broker files."""
    from bldgwatch.backup import BackupError, Targets, read_manifest, restore

    try:
        if check:
            manifest = read_manifest(archive)
        else:
            dst = Targets(
                archive=archive,
                configs=configs,
                broker_dir=broker_dir,
                db_url=db,
                influx_rpc=influx_rpc,
                influx_database=influx_database,
                folders={
                    name: path
                    for name, path in (("attachments", attachments), ("gateway-keys", gateway_keys))
                    if path is not None
                },
                force=force,
                services_stopped=services_stopped,
            )
            manifest = restore(dst)
    except BackupError as err:
        typer.echo(f"restore: {err}", err=True)
        raise typer.Exit(2) from err
    except PermissionError as err:
        typer.echo(f"restore: {_denied(err)}", err=True)
        raise typer.Exit(2) from err
    typer.echo(
        f"restore: {'checked' if check else 'restored'} {archive}: backup of "
        f"{manifest.created_at} by bldgwatch {manifest.version}, {len(manifest.files)} files"
    )
    for note in manifest.moved:
        typer.echo(f"restore: {note}")
    if not check:
        typer.echo(
            "restore: the restored files are this user's: on a server laid out by "
            "`bldgwatch install`, run it again (it gives them back to the services), then "
            "start the services"
        )


@app.command("energy-backfill")
def energy_backfill(
    url: Annotated[str, typer.Option(help="InfluxDB 1.x URL, e.g. http://127.0.0.1:8086.")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (from 00:00 UTC).")],
    end: Annotated[str, typer.Option(help="Day after the last, YYYY-MM-DD (until 00:00 UTC).")],
    database: Annotated[str, typer.Option(help="InfluxDB database.")] = "bldgwatch",
    log_level: LogOpt = "INFO",
) -> None:
    """Write the meters' hourly counters of a past window: what the continuous query of the
    maintenance service keeps from its creation on (docs/architecture.md, "Energy saving and
    energy at fleet scale")."""
    from datetime import UTC, date, datetime

    from bldgwatch.core.config import InfluxSettings
    from bldgwatch.core.tsdb import TsdbError
    from bldgwatch.core.tsdb.v1 import InfluxV1
    from bldgwatch.maintenance import energydownsample

    setup_logging(log_level, component="energy")
    days = {}
    for name, value in (("start", start), ("end", end)):
        try:
            days[name] = date.fromisoformat(value)
        except ValueError as err:
            raise ConfigError(f"--{name}: {value!r} is not a day (YYYY-MM-DD)") from err
    if not days["start"] < days["end"]:
        raise ConfigError("--start must come before --end")
    lo, hi = (datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (days["start"], days["end"]))
    store = InfluxV1(InfluxSettings(url=url, database=database, timeout_s=3600))
    try:
        store.ensure_database()
        energydownsample.ensure(store, database)
        energydownsample.backfill(store, database, lo, hi)
    except TsdbError as err:
        raise StartError(f"InfluxDB at {url}: {err}") from err
    finally:
        store.close()


@app.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the console's OpenAPI document (JSON); the web build makes its API client from it."""
    import json

    from bldgwatch.console.app import openapi_document

    text = json.dumps(openapi_document(), ensure_ascii=False, indent=1) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("config-reference")
def config_reference() -> None:
    """Print the configuration reference (Markdown) generated from the config models."""
    typer.echo(render_config_reference(), nl=False)


def render_config_reference() -> str:
    """docs/configuration.md: every component's config model."""
    from bldgwatch.alerts.config import AlertsConfig
    from bldgwatch.console.config import ConsoleConfig
    from bldgwatch.core.configref import render
    from bldgwatch.gateway.config import GatewayConfig
    from bldgwatch.ingest.config import IngestConfig
    from bldgwatch.maintenance.config import MaintenanceConfig
    from bldgwatch.rules.config import RulesConfig
    from bldgwatch.simulators.config import SimulatorConfig

    return render(
        {
            "simulate": SimulatorConfig,
            "gateway": GatewayConfig,
            "ingest": IngestConfig,
            "rules": RulesConfig,
            "maintenance": MaintenanceConfig,
            "alerts": AlertsConfig,
            "console": ConsoleConfig,
        }
    )


class _HasDatabase(Protocol):
    @property
    def database(self) -> DatabaseSettings: ...


def _migrate_db(cfg: _HasDatabase) -> None:
    """Bring a service's relational store to the newest schema before it starts."""
    from bldgwatch.core.db import make_engine
    from bldgwatch.migrations import migrate

    try:
        engine = make_engine(cfg.database)
        try:
            migrate(engine)
        finally:
            engine.dispose()
    except PermissionError as err:  # a file of the store this service's user may not write
        raise StartError(
            f"the database's file {err.filename}: {err.strerror} (owners and modes as "
            "`bldgwatch install` sets them: run it again)"
        ) from err


def main() -> None:
    """Console-script entry point: errors a user can act on are one line, never a traceback.

    Exit 2: bad input or configuration, or a command that needs the `server` extra on an
    install without it; exit 1: something needed now (the database) cannot be reached.
    """
    try:
        app()
    except ModuleNotFoundError as err:
        missing = (err.name or "").split(".")[0]
        if missing not in SERVER_MODULES:
            raise
        typer.echo(
            f"error: this command needs the server side of bldgwatch, which is not installed "
            f"here (no module {missing!r}): pip install 'bldgwatch[server]'",
            err=True,
        )
        raise SystemExit(2) from err
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(2) from err
    except StartError as err:
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
