"""`bldgwatch backup` of a running demo stack and `bldgwatch restore` into a new folder, a new
database and a new InfluxDB: every alarm, work order and reading there at the backup is found
again (SQLite and PostgreSQL). The archive's checks: damaged, foreign, traversing or newer
archives are refused before anything is written; a restore does not overwrite."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from bldgwatch.backup import (
    MANIFEST,
    BackupError,
    Sources,
    Targets,
    _influx_bytes,
    backup,
    read_manifest,
    restore,
)
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, load_yaml
from bldgwatch.demo import Stack, count_readings
from bldgwatch.demo_setup import SITE_SPEC
from bldgwatch.servers import Server, free_port, start_influxd
from tests.pgserver import create_pg_database
from tests.stack import control_pump_fault, operator, own_demo_broker, running_stack
from tests.waiting import wait_for

BLDGWATCH = Path(sys.executable).parent / "bldgwatch"


@dataclass(frozen=True)
class Held:
    """What an installation holds: alarm ids, work order ids, stored readings."""

    alarms: frozenset[int]
    orders: frozenset[int]
    readings: int


def _held(db_url: str, influx: InfluxSettings) -> Held:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            alarms = frozenset(conn.execute(text("SELECT id FROM alarms")).scalars())
            orders = frozenset(conn.execute(text("SELECT id FROM work_orders")).scalars())
    finally:
        engine.dispose()
    return Held(alarms, orders, count_readings(influx))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BLDGWATCH), *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.services
@pytest.mark.e2e
@pytest.mark.long(seconds=50)
def test_a_running_demo_is_backed_up_and_restored_into_a_new_folder(
    tmp_path: Path,
    influxd: Server,
    influx_settings: InfluxSettings,
    db_settings: DatabaseSettings,
    request: pytest.FixtureRequest,
) -> None:
    with (
        own_demo_broker(tmp_path / "broker") as broker,
        running_stack(
            tmp_path / "var",
            broker,
            influxd,
            db_url=db_settings.url,
            influx_database=influx_settings.database,
        ) as stack,
    ):
        control_pump_fault(operator(broker), "start", client="backup")
        wait_for(
            lambda: _held(db_settings.url, influx_settings).orders,
            timeout=90,
            what="the pump's work order",
        )
        photo = stack.var_dir / "attachments" / "2026" / "order-1.jpg"  # as an upload lands
        photo.parent.mkdir(parents=True, exist_ok=True)
        photo.write_bytes(b"\xff\xd8 a photo of the bearing")
        before = _held(db_settings.url, influx_settings)
        archive = tmp_path / "site.tar.gz"
        done = _cli(
            "backup", "--configs", str(_configs(stack)), "--broker-dir", str(broker.data_dir),
            "--influx-rpc", influxd.extra["rpc"], "--output", str(archive),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        after = _held(db_settings.url, influx_settings)  # the stack wrote on meanwhile
        acl = (broker.data_dir / "acl").read_bytes()
        keys = ConsoleConfig.model_validate(load_yaml(_configs(stack) / "console.yaml"))
        assert keys.gateway_keys_dir is not None
        gateway_key = (keys.gateway_keys_dir / "demo" / "gw-1.key").read_bytes()
    assert "backup:" in done.stdout and "schema" in done.stdout
    assert archive.stat().st_mode & 0o077 == 0  # passwords inside: the owner's alone

    fresh = start_influxd(tmp_path / "influx-new")
    try:
        if db_settings.url.startswith("sqlite"):
            new_url = f"sqlite:///{tmp_path / 'new' / 'bldgwatch.db'}"
        else:
            pg: Server = request.getfixturevalue("postgres")
            new_url = create_pg_database(pg, f"r_{uuid.uuid4().hex[:12]}")
        new = tmp_path / "new"
        done = _cli(
            "restore", str(archive), "--configs", str(new / "configs"),
            "--broker-dir", str(new / "broker"), "--db", new_url,
            "--attachments", str(new / "attachments"), "--gateway-keys", str(new / "keys"),
            "--influx-rpc", fresh.extra["rpc"],
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        new_influx = InfluxSettings(url=fresh.extra["url"], database=influx_settings.database)
        restored = _held(new_url, new_influx)
    finally:
        fresh.discard()
    # everything there at the backup, nothing that came after its end
    assert before.alarms <= restored.alarms <= after.alarms
    assert before.orders <= restored.orders <= after.orders and restored.orders
    assert before.readings <= restored.readings <= after.readings and restored.readings > 0
    names = {p.name for p in _configs(stack).iterdir() if p.is_file()}  # (some made later)
    kept = {n for n in names if n.endswith((".yaml", ".key"))}
    assert kept <= {p.name for p in (new / "configs").iterdir()} <= names
    assert "alerts.key" in kept  # the channels' secrets in the database are sealed with it
    for path in (new / "configs").iterdir():
        if path.suffix == ".key":  # (a log the stack wrote on may have grown)
            assert path.read_bytes() == (_configs(stack) / path.name).read_bytes()
        elif path.suffix == ".yaml":  # the same, but naming where this restore wrote
            doc, was = load_yaml(path), load_yaml(_configs(stack) / path.name)
            if "url" in (was.get("database") or {}):
                was["database"]["url"] = new_url
            if "folder" in (was.get("attachments") or {}):
                was["attachments"]["folder"] = str(new / "attachments")
            if "gateway_keys_dir" in was:
                was["gateway_keys_dir"] = str(new / "keys")
            for key in ("site_files", "alerts_key_file", "key_file"):  # review 21d L2
                if isinstance(was.get(key), list):
                    was[key] = [_moved(item, _configs(stack), new / "configs") for item in was[key]]
                elif isinstance(was.get(key), str):
                    was[key] = _moved(was[key], _configs(stack), new / "configs")
            assert doc == was, path.name
        assert path.stat().st_mode & 0o077 == 0
    assert (new / "broker" / "acl").read_bytes() == acl
    assert (new / "attachments" / "2026" / "order-1.jpg").read_bytes() == photo.read_bytes()
    assert (new / "keys" / "demo" / "gw-1.key").read_bytes() == gateway_key  # fleet signing

    again = _cli("restore", str(archive), "--configs", str(new / "configs"), "--db", new_url)
    assert again.returncode == 2 and "not empty" in again.stderr  # nothing overwritten


def _moved(item: str, source: Path, target: Path) -> str:
    """Where a restore points a path of the backed-up configs folder: into its own."""
    path = Path(item)
    return str(target / path.relative_to(source)) if path.is_relative_to(source) else item


def _configs(stack: Stack) -> Path:
    return stack.var_dir / "demo"


# -- the archive's own checks (no servers) ----------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """A backup of a config folder and a SQLite database (no InfluxDB): (archive, configs)."""
    configs = tmp_path / "etc"
    configs.mkdir()
    db = tmp_path / "src.db"
    (configs / "maintenance.yaml").write_text(f"database:\n  url: sqlite:///{db}\n")
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (v INTEGER)"))
        conn.execute(text("INSERT INTO kept VALUES (42)"))
    engine.dispose()
    archive = tmp_path / "b.tar.gz"
    manifest = backup(Sources(configs=configs, output=archive))
    assert manifest.db_kind == "sqlite" and manifest.influx_database is None
    return archive, configs


def _manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        return json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr,no-any-return]


def _rewrite(archive: Path, change: dict[str, bytes]) -> None:
    """Rewrite members of the archive (name → new bytes; a new name is added)."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    members.update(change)
    with tarfile.open(archive, "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


def test_a_restore_brings_the_database_back_and_migrates_it(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    archive, _configs_dir = small
    target = tmp_path / "restored.db"
    restore(Targets(archive=archive, configs=tmp_path / "cfg", db_url=f"sqlite:///{target}"))
    engine = create_engine(f"sqlite:///{target}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM kept")).scalar() == 42
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


def test_a_restore_works_on_a_python_without_extraction_filters(
    small: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian 12's own Python (3.11.2) has no `extractall(filter=...)`: a restore on a
    server installed as the README says must not depend on it."""

    def old_extractall(self: tarfile.TarFile, path: str = ".", members: Any = None) -> None:
        raise TypeError("extractall() got an unexpected keyword argument 'filter'")

    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)
    monkeypatch.delattr(tarfile, "data_filter")
    archive, _configs_dir = small
    target = tmp_path / "restored.db"
    restore(Targets(archive=archive, configs=tmp_path / "cfg", db_url=f"sqlite:///{target}"))
    engine = create_engine(f"sqlite:///{target}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM kept")).scalar() == 42
    engine.dispose()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"configs/maintenance.yaml": b"database: {url: sqlite:///elsewhere}\n"}, "damaged"),
        ({"configs/extra.yaml": b"x: 1\n"}, "members differ"),
        ({MANIFEST: b"{not json"}, "manifest is not valid"),
        ({MANIFEST: json.dumps({"format": 99}).encode()}, "manifest is not valid"),
    ],
    ids=["damaged", "foreign-member", "bad-manifest", "incomplete-manifest"],
)
def test_a_bad_archive_is_refused_before_anything_is_written(
    small: tuple[Path, Path], tmp_path: Path, change: dict[str, bytes], said: str
) -> None:
    archive, _ = small
    _rewrite(archive, change)
    target = tmp_path / "restored.db"
    with pytest.raises(BackupError, match=said):
        restore(Targets(archive=archive, configs=tmp_path / "cfg", db_url=f"sqlite:///{target}"))
    assert not target.exists() and not (tmp_path / "cfg").exists()


def test_a_newer_archive_names_the_version_to_restore_with(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    archive, _ = small
    manifest = _manifest(archive)
    manifest.update(format=manifest["format"] + 1, version="9.9.9")
    _rewrite(archive, {MANIFEST: json.dumps(manifest).encode()})
    with pytest.raises(BackupError, match=r"restore with bldgwatch 9\.9\.9"):
        read_manifest(archive)


def test_a_member_outside_the_folder_is_never_written(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    archive, _ = small
    manifest = _manifest(archive)
    evil = b"owned\n"
    manifest["files"]["../../escaped.txt"] = hashlib.sha256(evil).hexdigest()
    _rewrite(archive, {MANIFEST: json.dumps(manifest).encode(), "../../escaped.txt": evil})
    with pytest.raises(BackupError, match="unsafe member"):
        restore(
            Targets(archive=archive, configs=tmp_path / "cfg", db_url=f"sqlite:///{tmp_path}/r.db")
        )
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not (tmp_path / "cfg").exists()


def test_the_cli_says_what_is_wrong(tmp_path: Path) -> None:
    done = _cli("backup", "--configs", str(tmp_path / "none"), "--output", str(tmp_path / "b"))
    assert done.returncode == 2 and "does not exist" in done.stderr
    (tmp_path / "etc").mkdir()
    done = _cli("backup", "--configs", str(tmp_path / "etc"), "--output", str(tmp_path / "b"))
    assert done.returncode == 2 and "names a database" in done.stderr
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    done = _cli("restore", str(tmp_path / "junk.tar.gz"), "--configs", str(tmp_path / "c"))
    assert done.returncode == 2 and "cannot read the archive" in done.stderr
    assert not (tmp_path / "b").exists()


def test_check_reads_the_archive_and_writes_nothing(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    archive, _ = small
    done = _cli("restore", str(archive), "--configs", str(tmp_path / "cfg"), "--check")
    assert done.returncode == 0 and "checked" in done.stdout, done.stderr
    assert not (tmp_path / "cfg").exists()


def _forge(archive: Path, change: dict[str, bytes]) -> None:
    """Change members as someone who can write the archive would: checksums recomputed."""
    manifest = _manifest(archive)
    for name, body in change.items():
        manifest["files"][name] = hashlib.sha256(body).hexdigest()
    _rewrite(archive, {**change, MANIFEST: json.dumps(manifest).encode()})


@pytest.fixture
def with_attachments(tmp_path: Path) -> Path:
    """A backup of configs naming a database and an attachments folder holding a photo."""
    configs = tmp_path / "etc"
    configs.mkdir()
    db = tmp_path / "src.db"
    create_engine(f"sqlite:///{db}").connect().close()
    photos = tmp_path / "photos"
    (photos / "2026").mkdir(parents=True)
    (photos / "2026" / "p.jpg").write_bytes(b"\xff\xd8 photo")
    (configs / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\nattachments:\n  folder: {photos}\n"
    )
    archive = tmp_path / "b.tar.gz"
    backup(Sources(configs=configs, output=archive))
    return archive


def test_where_a_restore_writes_is_never_the_archives_say(
    with_attachments: Path, tmp_path: Path
) -> None:
    archive = with_attachments
    elsewhere = tmp_path / "pwned"
    _forge(
        archive,
        {
            "configs/console.yaml": (
                f"database:\n  url: sqlite:///{elsewhere}/x.db\n"
                f"attachments:\n  folder: {elsewhere}/cron.d\n"
            ).encode()
        },
    )
    cfg = tmp_path / "new" / "configs"
    with pytest.raises(BackupError, match="give --db"):
        restore(Targets(archive=archive, configs=cfg))
    with pytest.raises(BackupError, match="give --attachments"):
        restore(Targets(archive=archive, configs=cfg, db_url=f"sqlite:///{tmp_path}/r.db"))
    assert not elsewhere.exists() and not cfg.exists()
    photos = tmp_path / "new" / "photos"
    restore(
        Targets(
            archive=archive,
            configs=cfg,
            db_url=f"sqlite:///{tmp_path}/r.db",
            folders={"attachments": photos},
        )
    )
    assert (photos / "2026" / "p.jpg").read_bytes() == b"\xff\xd8 photo"
    assert not elsewhere.exists()


def test_the_installed_configs_name_the_targets(with_attachments: Path, tmp_path: Path) -> None:
    """Over an installation (--force), the configs already there say where things go."""
    cfg = tmp_path / "installed"
    cfg.mkdir()
    photos = tmp_path / "installed-photos"
    (cfg / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{tmp_path}/installed.db\nattachments:\n  folder: {photos}\n"
    )
    restore(Targets(archive=with_attachments, configs=cfg, force=True))
    assert (photos / "2026" / "p.jpg").exists() and (tmp_path / "installed.db").exists()


@pytest.mark.parametrize("name", ["etc/cron.d/evil", "db/other.sqlite", "configs/./x.yaml"])
def test_a_member_outside_the_layout_is_refused(
    small: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    archive, _ = small
    _forge(archive, {name: b"* * * * * root sh -c id\n"})
    with pytest.raises(BackupError, match="outside a backup's layout"):
        read_manifest(archive)


HOLD_OPEN = """
import sys
from sqlalchemy import text
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
engine = make_engine(DatabaseSettings(url=sys.argv[1]))
with engine.connect() as conn:
    conn.execute(text("SELECT count(*) FROM sqlite_master"))  # a read opens the WAL index
    print("open", flush=True)
    sys.stdin.readline()
"""


def test_a_restore_over_a_database_a_service_has_open_is_refused(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    archive, _ = small
    live = tmp_path / "live.db"
    url = f"sqlite:///{live}"
    service = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "open"
        before = live.read_bytes()
        with pytest.raises(BackupError, match=r"services are running .*stop them first"):
            restore(Targets(archive=archive, configs=tmp_path / "cfg", db_url=url, force=True))
        assert live.read_bytes() == before and not (tmp_path / "cfg").exists()
        done = _cli("restore", str(archive), "--configs", str(tmp_path / "cfg"), "--db", url,
                    "--force")  # fmt: skip
        assert done.returncode == 2 and "stop them first" in done.stderr
    finally:
        service.communicate("\n", timeout=30)
    # stopped: the same restore goes through
    restore(Targets(archive=archive, configs=tmp_path / "cfg", db_url=url, force=True))
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM kept")).scalar() == 42
    engine.dispose()


@pytest.mark.services
def test_a_server_backup_holds_what_a_fresh_server_needs(
    tmp_path: Path, influxd: Server, influx_settings: InfluxSettings
) -> None:
    """`bldgwatch backup --root` of what `bldgwatch install` laid out: site files, the alerts
    keys, the console's secret and the broker's accounts (in /etc/mosquitto/bldgwatch) are in
    the archive and come back with a restore."""
    import urllib.parse
    import urllib.request

    url, database = influxd.extra["url"], influx_settings.database
    query = urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'})
    urllib.request.urlopen(f"{url}/query", data=query.encode(), timeout=30)  # noqa: S310
    urllib.request.urlopen(f"{url}/write?db={database}", data=b"pump v=1", timeout=30)  # noqa: S310
    site = tmp_path / "my-site.yaml"
    site.write_text(yaml.safe_dump(SITE_SPEC, allow_unicode=True), encoding="utf-8")
    root = tmp_path / "root"
    done = _cli("install", "--root", str(root), "--no-users", "--site-file", str(site),
                "--gateway", "demo/gw-1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = subprocess.run(
        [str(BLDGWATCH), "console-user", "--config", str(root / "etc/bldgwatch/console.yaml"),
         "--name", "old-admin", "--role", "admin"],
        env={**os.environ, "BLDGWATCH_PASSWORD": "Passw0rd-old-admin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    archive = tmp_path / "server.tar.gz"
    done = _cli("backup", "--root", str(root), "--influx-rpc", influxd.extra["rpc"],
                "--influx-database", database, "--output", str(archive))  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = set(read_manifest(archive).files)
    needed = {
        "configs/sites/my-site.yaml", "configs/alerts.key", "configs/console-alerts.key",
        "configs/console.env", "configs/console.yaml", "broker/bldgwatch/passwd",
        "broker/bldgwatch/acl", "broker/bldgwatch/credentials.yaml",
        "gateway-keys/demo/gw-1.key",
    }  # fmt: skip
    assert needed <= files, needed - files

    # docs/operations.md "Bare server → restored server", under --root: install with the same
    # options, restore --force over it (with --attachments, --gateway-keys and the broker
    # folder), install again
    lines = _doc_block("server-restore")
    new = tmp_path / "new"
    fresh = start_influxd(tmp_path / "influx-new")
    try:
        for line in lines:
            args = shlex.split(line)
            if args[0] == "systemctl":
                continue  # no systemd here
            assert args[0] == "bldgwatch", line
            args = [a.replace("my-site/", "demo/") for a in args[1:]]
            if args[0] == "install":
                args = [args[0], "--root", str(new), "--no-users",
                        *[str(site) if a == "my-site.yaml" else a for a in args[1:]]]  # fmt: skip
            elif args[0] == "restore":
                args = [
                    str(archive) if a == "backup.tar.gz"
                    else fresh.extra["rpc"] if a == "127.0.0.1:8088"
                    else str(new / a.lstrip("/")) if a.startswith("/")
                    else a
                    for a in args
                ]  # fmt: skip
            done = _cli(*args)
            assert done.returncode == 0, (line, done.stderr)
    finally:
        fresh.discard()
    etc, restored = root / "etc" / "bldgwatch", new / "etc" / "bldgwatch"
    for name in ("sites/my-site.yaml", "alerts.key", "console.env", "gateway-keys/demo/gw-1.key"):
        assert (restored / name).read_bytes() == (etc / name).read_bytes(), name
    # the broker's accounts are the old ones (install again hashes them anew: same passwords)
    credentials = root / "etc" / "mosquitto" / "bldgwatch" / "credentials.yaml"
    restored_credentials = new / "etc/mosquitto/bldgwatch/credentials.yaml"
    assert restored_credentials.read_bytes() == credentials.read_bytes()
    engine = create_engine(f"sqlite:///{new / 'var/lib/bldgwatch/bldgwatch.db'}")
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM console_users")).scalars().all()
    engine.dispose()
    assert names == ["old-admin"]  # the lost server's user, not an empty new database


def _doc_block(marker: str) -> list[str]:
    """The commands of the fenced block after `<!-- marker -->` in docs/operations.md, one a
    line (continuations joined, comments left out)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text("utf-8")
    found = re.search(rf"<!-- {marker} -->\n```sh\n(.*?)```", doc, re.S)
    assert found, marker
    joined = found.group(1).replace("\\\n", " ")
    return [x.strip() for x in joined.splitlines() if x.strip() and not x.startswith("#")]


def test_a_broker_folder_without_broker_files_is_said(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    _, configs = small
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackupError, match="no broker file"):
        backup(
            Sources(configs=configs, output=tmp_path / "x.tar.gz", broker_dir=tmp_path / "empty")
        )
    assert not (tmp_path / "x.tar.gz").exists()


def test_an_output_that_is_a_folder_is_refused_before_any_copy(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    """Final review LOW-1: `--output` naming a folder ran the whole backup, then died with a
    traceback renaming the staged archive onto the folder. Now one line, before any work."""
    _, configs = small
    folder = tmp_path / "backups"
    folder.mkdir()
    done = _cli("backup", "--configs", str(configs), "--no-influx", "--output", str(folder))
    assert done.returncode == 2, done.stderr
    assert "is a folder" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob(".bldgwatch-backup-*"))


def test_a_backup_while_influxdb_is_down_fails_at_once_or_saves_the_rest(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    _, configs = small
    (configs / "ingest.yaml").write_text("influx:\n  database: bldgwatch\n")
    down = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = _cli("backup", "--configs", str(configs), "--influx-rpc", down,
                "--output", str(tmp_path / "a.tar.gz"))  # fmt: skip
    assert done.returncode == 2 and "does not answer" in done.stderr, done.stderr
    assert "--no-influx" in done.stderr and time.monotonic() - started < 30
    assert not (tmp_path / "a.tar.gz").exists()
    done = _cli("backup", "--configs", str(configs), "--influx-rpc", down, "--no-influx",
                "--output", str(tmp_path / "a.tar.gz"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(tmp_path / "a.tar.gz")
    assert manifest.influx_database is None and "db/bldgwatch.sqlite" in manifest.files


def test_a_target_that_may_not_be_written_gets_one_line_naming_the_path(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    """Review 21b L1: backup or restore where the user may not write (a non-root cron job)
    ended in a 40-line PermissionError traceback (rc 1). Now one line names the path (rc 2).
    The folder is made immutable (chattr +i): refused even to root, who runs the tests."""
    archive, configs = small
    closed = tmp_path / "closed"
    closed.mkdir()
    subprocess.run(["chattr", "+i", str(closed)], check=True)
    try:
        for args in (
            ["backup", "--configs", str(configs), "--no-influx", "--output",
             str(closed / "u.tar.gz")],
            ["restore", str(archive), "--configs", str(closed / "configs"),
             "--db", f"sqlite:///{closed / 'x.db'}"],
        ):  # fmt: skip
            done = _cli(*args)
            assert done.returncode == 2, (args[0], done.stderr)
            assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
            assert f"{args[0]}: permission denied on {closed}" in done.stderr, done.stderr
    finally:
        subprocess.run(["chattr", "-i", str(closed)], check=True)
    assert list(closed.iterdir()) == []


def test_install_after_a_restore_takes_no_path_from_the_archive(tmp_path: Path) -> None:
    """Review 21c H1: the documented restore (install, restore --force over it, install
    again) let the archive's configs name the database the second install migrates and
    gives to the services' group (/etc/ld.so.preload). Now restore writes the configs with
    the target's database and folders, and install refuses a SQLite file outside its state
    folder that --db does not name."""
    from bldgwatch.install import InstallError, Plan, install

    site = tmp_path / "my-site.yaml"
    site.write_text(yaml.safe_dump(SITE_SPEC, allow_unicode=True), encoding="utf-8")
    root = tmp_path / "root"
    install(Plan(site_files=[site], root=root, users=False, gateways=["demo/gw-1"]))
    etc, state = root / "etc" / "bldgwatch", root / "var" / "lib" / "bldgwatch"
    local_url = f"sqlite:///{state / 'bldgwatch.db'}"
    archive = tmp_path / "server.tar.gz"
    backup(Sources(configs=etc, output=archive, influx=False))
    victim = tmp_path / "victim" / "ld.so.preload"
    victim.parent.mkdir()
    victim.write_bytes(b"/lib/libsafe.so\n")
    victim.chmod(0o644)
    elsewhere = tmp_path / "elsewhere"
    tampered = {}
    for name in ("alerts", "console"):
        doc = yaml.safe_load((etc / f"{name}.yaml").read_text(encoding="utf-8"))
        doc["database"]["url"] = f"sqlite:///{victim}"
        if name == "console":
            doc["attachments"]["folder"] = str(elsewhere / "attachments")
            doc["gateway_keys_dir"] = str(elsewhere / "keys")
        tampered[f"configs/{name}.yaml"] = yaml.safe_dump(doc).encode()
    _forge(archive, tampered)

    restore(Targets(archive=archive, configs=etc, force=True, services_stopped=True))
    for name in ("alerts", "console", "rules", "maintenance"):
        assert load_yaml(etc / f"{name}.yaml")["database"]["url"] == local_url, name
    console = load_yaml(etc / "console.yaml")
    assert console["attachments"]["folder"] == str(state / "attachments")
    assert console["gateway_keys_dir"] == str(etc / "gateway-keys")
    install(Plan(site_files=[], root=root, users=False))  # the documented install again
    assert victim.read_bytes() == b"/lib/libsafe.so\n" and victim.stat().st_mode & 0o777 == 0o644
    assert not victim.with_name("ld.so.preload.migrate-lock").exists()
    assert not elsewhere.exists()

    # a config naming a file outside the state folder (an older restore's, or edited): refused
    # unless --db names it
    alerts = load_yaml(etc / "alerts.yaml")
    alerts["database"]["url"] = f"sqlite:///{victim}"
    (etc / "alerts.yaml").write_text(yaml.safe_dump(alerts), encoding="utf-8")  # read first
    with pytest.raises(InstallError, match="outside the state folder"):
        install(Plan(site_files=[], root=root, users=False))
    assert victim.read_bytes() == b"/lib/libsafe.so\n" and victim.stat().st_mode & 0o777 == 0o644


def test_a_backup_skips_what_is_not_a_regular_file_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 21c M6: a FIFO in the attachments (any service user of the group may make one)
    or a photo deleted while the backup ran ended the backup with a traceback and no archive.
    Now they are left out, counted and named; the rest is in the archive."""
    import socket

    configs = tmp_path / "etc"
    configs.mkdir()
    db = tmp_path / "src.db"
    create_engine(f"sqlite:///{db}").connect().close()
    photos = tmp_path / "photos"
    (photos / "orders").mkdir(parents=True)
    (photos / "orders" / "p.jpg").write_bytes(b"\xff\xd8 photo")
    (photos / "orders" / "gone.jpg").write_bytes(b"\xff\xd8 deleted meanwhile")
    os.mkfifo(photos / "orders" / "x.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(photos / "s.sock"))
    (configs / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\nattachments:\n  folder: {photos}\n"
    )
    real_scandir = os.scandir
    orders = (photos / "orders").stat().st_ino

    class Listed(list[os.DirEntry[str]]):
        def __enter__(self) -> Listed:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    listed = []

    def deleted_after_listing(folder: Any) -> Listed:
        with real_scandir(folder) as listing:
            entries = Listed(listing)
        if isinstance(folder, int) and os.fstat(folder).st_ino == orders:
            listed.append(folder)
            if len(listed) == 2:  # the copy's walk (the first is the space estimate's)
                (photos / "orders" / "gone.jpg").unlink()  # a technician deletes a photo
        return entries

    monkeypatch.setattr(os, "scandir", deleted_after_listing)
    archive = tmp_path / "b.tar.gz"
    try:
        manifest = backup(Sources(configs=configs, output=archive, influx=False))
    finally:
        sock.close()
    assert sorted(manifest.skipped) == [
        "attachments/orders/gone.jpg",
        "attachments/orders/x.jpg",
        "attachments/s.sock",
    ]
    assert "attachments/orders/p.jpg" in read_manifest(archive).files

    monkeypatch.undo()  # the command: rc 0, the warning on one line
    os.mkfifo(photos / "orders" / "y.jpg")
    done = _cli(
        "backup", "--configs", str(configs), "--no-influx", "--output", str(tmp_path / "c.tar.gz")
    )
    assert done.returncode == 0, done.stderr
    assert "3 not copied" in done.stderr and "attachments/orders/y.jpg" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_5000_level_tree_in_the_attachments_costs_only_its_deep_part(tmp_path: Path) -> None:
    """Review 21d M3: a folder a few thousand levels deep in the attachments (any service user
    can make one) ended every backup with a RecursionError and no archive. Now the walk is
    iterative: the archive is written, the part too deep for a path is left out and named."""
    configs = tmp_path / "etc"
    configs.mkdir()
    db = tmp_path / "src.db"
    create_engine(f"sqlite:///{db}").connect().close()
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "p.jpg").write_bytes(b"\xff\xd8 photo")
    fd = os.open(photos, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(5000):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(os.open("deepest.jpg", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
    os.close(fd)
    (photos / "d" / "d" / "shallow.jpg").write_bytes(b"\xff\xd8 kept")
    (configs / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\nattachments:\n  folder: {photos}\n"
    )
    archive = tmp_path / "b.tar.gz"
    try:
        manifest = backup(Sources(configs=configs, output=archive, influx=False))
    finally:
        subprocess.run(["rm", "-rf", str(photos / "d")], check=True)  # rmtree recurses
    files = read_manifest(archive).files
    assert "attachments/p.jpg" in files and "attachments/d/d/shallow.jpg" in files
    assert "db/bldgwatch.sqlite" in files
    assert len(manifest.skipped) == 1 and manifest.skipped[0].endswith("/ (too deep)")
    assert not any(name.endswith("deepest.jpg") for name in files)


def test_a_restore_points_site_files_and_the_alerts_key_at_where_it_wrote_them(
    tmp_path: Path,
) -> None:
    """Review 21d L2: a restore rewrote the database, folders and InfluxDB database, but
    kept the archive's `site_files` and `alerts_key_file`: restored into another layout,
    the services read the lost server's paths. Now those in the backed-up configs folder
    point where the restore wrote them, one outside it is said, and a config whose
    database was not the backed-up one (a read replica) is named, not silently moved."""
    configs = tmp_path / "etc"
    (configs / "sites").mkdir(parents=True)
    (configs / "sites" / "demo.yaml").write_text("site: demo\n")
    (configs / "console-alerts.key").write_text("k\n")
    db = tmp_path / "src.db"
    create_engine(f"sqlite:///{db}").connect().close()
    (configs / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\n"
        f"site_files: [{configs}/sites/demo.yaml, /srv/elsewhere/other.yaml]\n"
        f"alerts_key_file: {configs}/console-alerts.key\n"
    )
    (configs / "maintenance.yaml").write_text(
        f"database:\n  url: sqlite:///{tmp_path}/replica.db\n"
        f"site_files: [{configs}/sites/demo.yaml]\n"
    )
    archive = tmp_path / "b.tar.gz"
    backup(Sources(configs=configs, output=archive))
    new = tmp_path / "new" / "etc"
    manifest = restore(Targets(archive=archive, configs=new, db_url=f"sqlite:///{tmp_path}/r.db"))
    console = yaml.safe_load((new / "console.yaml").read_text())
    assert console["site_files"] == [str(new / "sites" / "demo.yaml"), "/srv/elsewhere/other.yaml"]
    assert console["alerts_key_file"] == str(new / "console-alerts.key")
    assert (new / "sites" / "demo.yaml").read_text() == "site: demo\n"
    maintenance = yaml.safe_load((new / "maintenance.yaml").read_text())
    assert maintenance["site_files"] == [str(new / "sites" / "demo.yaml")]
    notes = "\n".join(manifest.moved)
    assert "console.yaml: site_files /srv/elsewhere/other.yaml is outside" in notes, notes
    assert f"maintenance.yaml: database.url was sqlite:///{tmp_path}/replica.db" in notes, notes
    assert "console.yaml: database.url" not in notes, notes


def test_a_name_that_is_not_utf8_is_skipped_by_name_and_the_archive_restores(
    tmp_path: Path,
) -> None:
    """Review 21e H2: a file whose name is raw GBK bytes in the attachments (any service user
    can make one; a site file from a Windows zip) was archived under its raw bytes while the
    manifest's JSON named it with U+FFFD: `backup` said rc 0, and `restore` and `restore
    --check` refused every such archive ("members differ from the manifest's list"). Now it
    is left out and named in the warning, and a backup reads its archive back before it
    reports success."""
    configs = tmp_path / "etc"
    configs.mkdir()
    db = tmp_path / "src.db"
    create_engine(f"sqlite:///{db}").connect().close()
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "p.jpg").write_bytes(b"\xff\xd8 photo")
    gbk = "照片".encode("gbk")  # b"\xd5\xd5\xc6\xac": \xd5\xd5 is not UTF-8
    fd = os.open(os.fsencode(photos) + b"/" + gbk + b".jpg", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"\xff\xd8 named in GBK")
    os.close(fd)
    (configs / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\nattachments:\n  folder: {photos}\n"
    )
    archive = tmp_path / "b.tar.gz"
    done = _cli("backup", "--configs", str(configs), "--no-influx", "--output", str(archive))
    assert done.returncode == 0, done.stderr
    assert "1 not copied" in done.stderr
    # shown with its bytes that are not UTF-8 escaped (\xc6\xac happens to be UTF-8: Ƭ)
    assert "attachments/\\xd5\\xd5\u01ac.jpg (name not UTF-8)" in done.stderr
    checked = _cli("restore", str(archive), "--check", "--configs", str(tmp_path / "none"))
    assert checked.returncode == 0, checked.stderr
    files = read_manifest(archive).files
    assert "attachments/p.jpg" in files and len([f for f in files if "attachments/" in f]) == 1
    restored = tmp_path / "r"
    again = _cli(
        "restore", str(archive), "--configs", str(restored / "etc"),
        "--db", f"sqlite:///{restored / 'db.sqlite'}", "--attachments", str(restored / "att"),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (restored / "att" / "p.jpg").read_bytes() == b"\xff\xd8 photo"


def test_a_restore_that_fails_at_influxdb_leaves_the_old_install_whole(
    with_attachments: Path, tmp_path: Path
) -> None:
    """Review 21e M2: the SQLite file was replaced first, then `influxd restore` failed (down,
    a wrong --influx-rpc, the database there already): rc 2 with the old database gone and
    the configs, attachments and keys not restored. Now InfluxDB goes first; when it fails,
    nothing else is written, and the message says so."""
    install = tmp_path / "install"
    targets = [
        "--configs", str(install / "etc"), "--db", f"sqlite:///{install / 'db.sqlite'}",
        "--attachments", str(install / "att"),
    ]  # fmt: skip
    first = _cli("restore", str(with_attachments), *targets)
    assert first.returncode == 0, first.stderr
    conn = sqlite3.connect(install / "db.sqlite")
    with conn:
        conn.execute("CREATE TABLE since_restore (x)")  # the install's own data since
    conn.close()
    before = (install / "db.sqlite").read_bytes()
    configs = {p: p.read_bytes() for p in (install / "etc").rglob("*") if p.is_file()}
    (install / "att" / "new.jpg").write_bytes(b"\xff\xd8 taken since")
    manifest = _manifest(with_attachments)
    manifest["influx_database"] = "bldgwatch"
    _rewrite(with_attachments, {MANIFEST: json.dumps(manifest).encode()})
    closed = free_port()
    done = _cli(
        "restore", str(with_attachments), *targets, "--force",
        "--influx-rpc", f"127.0.0.1:{closed}", "--influx-database", "restored",
    )  # fmt: skip
    assert done.returncode == 2, done.stdout
    assert (install / "db.sqlite").read_bytes() == before
    assert f"influxd restore into 127.0.0.1:{closed} failed" in done.stderr
    assert "nothing else was restored" in done.stderr
    assert {p: p.read_bytes() for p in (install / "etc").rglob("*") if p.is_file()} == configs
    assert (install / "att" / "new.jpg").exists()


def test_a_restore_with_relative_options_writes_absolute_paths_into_the_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 21f M-a: `restore --configs f1/etc --attachments f1/att …` wrote `f1/…` into the
    configs, and a service started from another folder (systemd's WorkingDirectory) could
    not find its site file. Every path a restore writes into a config is absolute, resolved
    where the restore ran; the configs load from any folder."""
    src = tmp_path / "src"
    configs = src / "etc"
    configs.mkdir(parents=True)
    (configs / "site.yaml").write_text(yaml.safe_dump(SITE_SPEC, allow_unicode=True))
    (configs / "alerts.key").write_text("k\n")
    photos = src / "att"
    photos.mkdir()
    (photos / "p.jpg").write_bytes(b"\xff\xd8 photo")
    keys = src / "keys"
    (keys / "demo").mkdir(parents=True)
    (keys / "demo" / "gw-1.key").write_text("key\n")
    db = src / "db.sqlite"
    create_engine(f"sqlite:///{db}").connect().close()
    (configs / "console.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\n"
        f"site_files: [{configs}/site.yaml]\n"
        f"attachments:\n  folder: {photos}\n"
        f"gateway_keys_dir: {keys}\n"
        f"alerts_key_file: {configs}/alerts.key\n"
    )
    (configs / "alerts.yaml").write_text(
        f"database:\n  url: sqlite:///{db}\nkey_file: {configs}/alerts.key\n"
    )
    archive = tmp_path / "b.tar.gz"
    backup(Sources(configs=configs, output=archive))
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [str(BLDGWATCH), "restore", str(archive), "--configs", "f1/etc",
         "--db", "sqlite:///f1/db.sqlite", "--attachments", "f1/att",
         "--gateway-keys", "f1/keys", "--services-stopped"],
        cwd=work, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    new = work / "f1"
    console = yaml.safe_load((new / "etc" / "console.yaml").read_text())
    assert console["database"]["url"] == f"sqlite:///{new}/db.sqlite"
    assert console["site_files"] == [str(new / "etc" / "site.yaml")]
    assert console["attachments"]["folder"] == str(new / "att")
    assert console["gateway_keys_dir"] == str(new / "keys")
    assert console["alerts_key_file"] == str(new / "etc" / "alerts.key")
    alerts = yaml.safe_load((new / "etc" / "alerts.yaml").read_text())
    assert alerts["key_file"] == str(new / "etc" / "alerts.key")
    assert alerts["database"]["url"] == f"sqlite:///{new}/db.sqlite"
    monkeypatch.chdir("/")  # a service's working folder, not where the restore ran
    loaded = ConsoleConfig.model_validate(load_yaml(new / "etc" / "console.yaml"))
    assert loaded.site_files == [new / "etc" / "site.yaml"]
    assert (loaded.attachments.folder / "p.jpg").read_bytes() == b"\xff\xd8 photo"
    assert loaded.gateway_keys_dir is not None
    assert (loaded.gateway_keys_dir / "demo" / "gw-1.key").read_text() == "key\n"
    assert (new / "db.sqlite").exists()


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only), unmounted after the test."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1024k", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_backup_stages_beside_its_archive_and_checks_the_space_first(
    tmp_path: Path, tiny_fs: Path
) -> None:
    """Review 21f L-d: the backup staged its uncompressed copies in $TMPDIR (a small tmpfs on
    many servers) and, when that was full, blamed the live database ("SQLite backup of …
    failed: database or disk is full"). Now it stages beside --output (or in --tmp-dir) and
    refuses before it copies anything when the folder has less room than it needs, naming
    the folder, the free space and what it needs."""
    configs = tmp_path / "etc"
    configs.mkdir()
    db = tmp_path / "src.db"
    (configs / "maintenance.yaml").write_text(f"database:\n  url: sqlite:///{db}\n")
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE blob (v BLOB)")
        conn.execute("INSERT INTO blob VALUES (randomblob(2000000))")
    conn.close()
    env = {**os.environ, "TMPDIR": str(tiny_fs)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BLDGWATCH), "backup", "--configs", str(configs), "--no-influx", *args],
            capture_output=True, text=True, timeout=300, check=False, env=env,
        )  # fmt: skip

    done = run("--output", str(tmp_path / "out" / "a.tar.gz"))
    assert done.returncode == 0, done.stderr  # $TMPDIR (full) is not used
    assert read_manifest(tmp_path / "out" / "a.tar.gz").files
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.tar.gz"]
    refused = run("--output", str(tmp_path / "b.tar.gz"), "--tmp-dir", str(tiny_fs))
    assert refused.returncode == 2, refused.stderr
    said = refused.stderr
    assert f"{tiny_fs} has " in said and "MiB free; this backup needs about" in said, said
    assert "--tmp-dir" in said and "SQLite" not in said, said
    assert not (tmp_path / "b.tar.gz").exists() and not list(tiny_fs.iterdir())
    refused = run("--output", str(tiny_fs / "c.tar.gz"))
    assert refused.returncode == 2 and f"{tiny_fs} has " in refused.stderr, refused.stderr
    assert not list(tiny_fs.iterdir())


@pytest.mark.services
def test_the_space_a_backup_needs_counts_influxdbs_shards(
    influxd: Server, influx_settings: InfluxSettings
) -> None:
    """The estimate of InfluxDB's portable backup is what its shards of the database hold
    on disk (SHOW STATS), not 0: a year of readings is most of a backup."""
    url, database = influxd.extra["url"], influx_settings.database
    assert _influx_bytes(url, database) == 0  # no such database yet
    lines = "\n".join(f"r,equipment=P-{i % 7} v={i}i {1_700_000_000 + i}" for i in range(5000))
    urllib.request.urlopen(  # noqa: S310 (the test's own server)
        f"{url}/query?" + urllib.parse.urlencode({"q": f"CREATE DATABASE {database}"}), data=b""
    ).close()
    urllib.request.urlopen(  # noqa: S310
        f"{url}/write?db={database}&precision=s", data=lines.encode()
    ).close()
    wait_for(lambda: _influx_bytes(url, database) > 0, timeout=60, what="a shard on disk")
    assert _influx_bytes(url, "no-such-database") == 0
    assert _influx_bytes("file:///etc/passwd", database) == 0
