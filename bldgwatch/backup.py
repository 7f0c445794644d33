"""Backup and restore of an installation: one archive, everything a fresh machine needs.

What goes in (`backup`):

- `db/`: the relational store (alarms, work orders, assets, users …) — SQLite through its
  online backup API (a consistent copy while the services keep writing), PostgreSQL by
  `pg_dump --format=custom` (a consistent snapshot too);
- `influx/`: InfluxDB's portable backup (`influxd backup -portable`, over the server's RPC
  address, 127.0.0.1:8088 unless said otherwise) of the database the configs name;
- `configs/`: every file of the config folder and its subfolders (the services' YAML with
  their broker passwords, the site files in `sites/`, the alerts keys, `console.env`);
- `attachments/`, `gateway-keys/`: the photos and documents of orders and rounds and the
  gateways' fleet keys (the folders the console's config names; links are left out);
- `broker/`: the broker's configuration, password file and ACL, and those of the
  `bldgwatch/` folder in it that `bldgwatch install` writes, the listeners in `conf.d/` and
  the TLS certificates and keys (the CA's key too) in `bldgwatch/certs/` (not its persistence file:
  what is queued in the broker is delivered or kept by the gateways' own queues);
- `manifest.json`: when, by which version, the schema's migration, what each part came from,
  and the SHA-256 of every member.

The database URL and the InfluxDB database come from the configs (the first file naming
them); options override them. The archive holds passwords: it is written with mode 0600,
through a temporary file, so a failed backup never leaves a half archive under the name.

`restore` checks the manifest and every checksum before it writes anything, extracts with
its own checks, one member at a time (no absolute paths, no `..`, no links), refuses to overwrite a
database or folder that is not empty (unless forced), restores the relational store and
migrates it to this version's schema (an archive of an older version comes up to date), and
restores the time series into a running InfluxDB (under the same or another database name).
Configs are restored as they were: paths inside them name the old machine's folders.

Where a restore writes (the database, the attachments and keys folders) comes from the command
line or the configs already in the target config folder (this machine's installation), never
from the archive: an archive is trusted input for what it holds, not for where it goes.
Members outside the layout above are refused. The checksums find damage, not tampering: keep
archives where only the operators can change them (docs/operations.md).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib.metadata
import io
import json
import os
import pwd
import shutil
import socket
import sqlite3
import stat
import struct
import subprocess
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bldgwatch import safetree
from bldgwatch.servers import find_binary

FORMAT = 1
"""The archive layout's version; restore refuses a newer one."""
MANIFEST = "manifest.json"
DEFAULT_RPC = "127.0.0.1:8088"
BROKER_FILES = ("mosquitto.conf", "passwd", "acl", "credentials.yaml")
"""What of a broker folder is backed up (those that exist); never its persistence file."""
BROKER_SUBDIR = "bldgwatch"
"""Where `bldgwatch install` writes the broker's accounts and ACL, inside its folder."""
BROKER_FOLDERS = ("conf.d", f"{BROKER_SUBDIR}/certs")
"""Folders of the broker's folder backed up whole (their files, not links): the listeners
(`conf.d/production.conf`) and the TLS certificates and keys, the private CA's key too
(deploy/mosquitto/README.md): with a new CA every gateway would have to be visited."""
TOOL_TIMEOUT_S = 3600
CONNECT_TIMEOUT_S = 5


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says what and why."""


@dataclass
class Sources:
    """What a backup reads."""

    configs: Path
    output: Path
    broker_dir: Path | None = None
    influx_rpc: str = DEFAULT_RPC
    db_url: str | None = None
    influx_database: str | None = None
    influx: bool = True
    """False: no time series in the archive (an InfluxDB outage must not cost the rest)."""
    tmp_dir: Path | None = None
    """Where the copies are staged before the archive is written (default: the archive's
    folder; never $TMPDIR, often a small tmpfs: review 21f L-d)."""


@dataclass
class Targets:
    """Where a restore writes."""

    archive: Path
    configs: Path
    broker_dir: Path | None = None
    db_url: str | None = None
    influx_rpc: str = DEFAULT_RPC
    influx_database: str | None = None
    folders: dict[str, Path] = field(default_factory=dict)
    """Where a folder of `FOLDERS` goes; default: where the configs already in `configs` name
    it (never the archive's)."""
    force: bool = False
    services_stopped: bool = False
    """Skip the check that no service runs (for what it cannot see)."""


class Manifest(BaseModel):
    """What an archive holds."""

    model_config = ConfigDict(extra="forbid")

    format: int
    created_at: str
    version: str
    db_kind: Literal["sqlite", "postgresql"]
    db_url: str
    schema_head: str | None
    influx_database: str | None
    files: dict[str, str] = Field(default_factory=dict)
    """Member name → SHA-256."""
    configs_dir: str | None = None
    """The folder the configs were backed up from: a restore points the configs' paths into
    it (site files, the alerts key) at where it wrote them (None: an older archive)."""

    _skipped: list[str] = PrivateAttr(default_factory=list)
    _moved: list[str] = PrivateAttr(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        """What a backup left out of the folders it copied (special files, files deleted
        while it ran): said by the command, not kept in the archive."""
        return self._skipped

    @skipped.setter
    def skipped(self, names: list[str]) -> None:
        self._skipped = names

    @property
    def moved(self) -> list[str]:
        """What a restore left or changed in the configs that the reader should know (a
        path it did not restore, a database URL that was not the backed-up one)."""
        return self._moved

    @moved.setter
    def moved(self, notes: list[str]) -> None:
        self._moved = notes

    def dump(self) -> bytes:
        return self.model_dump_json(indent=1).encode()


# -- what the configs say ---------------------------------------------------------------------


def _config_docs(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    if not folder.is_dir():
        raise BackupError(f"config folder {folder} does not exist")
    for path in sorted(folder.glob("*.y*ml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise BackupError(f"cannot read config {path}: {err}") from err
        if isinstance(doc, dict):
            yield path, doc


FOLDERS = {"attachments": ("attachments", "folder"), "gateway-keys": ("gateway_keys_dir",)}
"""Folders the configs name that a backup holds: the photos and documents of orders and
rounds (the console's `attachments.folder`) and the gateways' fleet keys (its
`gateway_keys_dir`); by the archive's folder name, the path of keys to them in a config."""


@dataclass(frozen=True)
class Configured:
    """What the configs of a folder name (the first file naming each)."""

    db_url: str | None = None
    influx_database: str | None = None
    folders: dict[str, Path] = field(default_factory=dict)
    influx_url: str | None = None


def _lookup(doc: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    value: Any = doc
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def configured(folder: Path) -> Configured:
    """The database URL, the InfluxDB database and the folders of `FOLDERS` the folder's
    configs name."""
    url: str | None = None
    database: str | None = None
    influx_url: str | None = None
    folders: dict[str, Path] = {}
    for _path, doc in _config_docs(folder):
        db = doc.get("database")
        if url is None and isinstance(db, dict) and isinstance(db.get("url"), str):
            url = db["url"]
        influx = doc.get("influx")
        if database is None and isinstance(influx, dict) and influx.get("api", "v1") == "v1":
            database = str(influx.get("database", "bldgwatch"))
            influx_url = str(influx.get("url", "http://127.0.0.1:8086"))
        for name, keys in FOLDERS.items():
            found = _lookup(doc, keys)
            if found is not None:
                folders.setdefault(name, Path(found))
    return Configured(url, database, folders, influx_url)


def _db_kind(url: str) -> str:
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as err:
        raise BackupError(f"database URL {url!r} is not a SQLAlchemy URL") from err
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"database URL {url!r}: only SQLite and PostgreSQL are backed up")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"database URL {url!r} names no SQLite file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, the password in the environment."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _schema(url: str) -> str | None:
    engine = create_engine(make_url(url))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as err:
        raise BackupError(f"cannot read the database {make_url(url)!r}: {err}") from err
    finally:
        engine.dispose()


def _reachable(rpc: str) -> None:
    """InfluxDB's backup service answers at `rpc`: checked first, so a backup during an
    outage fails at once (influxd backup retries for minutes) and says what to do."""
    host, _, port = rpc.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except (OSError, ValueError) as err:
        raise BackupError(
            f"InfluxDB's backup service at {rpc} does not answer ({err}): is InfluxDB "
            "running with its bind-address there? --no-influx backs up everything else"
        ) from err


def _tool(name: str) -> str:
    binary = find_binary(name)
    if binary is None:
        raise BackupError(f"{name} not found (install it: it is needed for this part)")
    return str(binary)


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BackupError(f"{what} failed: {err}") from err
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def _sha256(fh: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


# -- backup -----------------------------------------------------------------------------------


def backup(src: Sources, *, now: datetime | None = None) -> Manifest:
    """Write the archive `src.output`; its manifest."""
    found = configured(src.configs)
    url = src.db_url or found.db_url
    database = (src.influx_database or found.influx_database) if src.influx else None
    if url is None:
        raise BackupError(f"no config in {src.configs} names a database (database.url): --db")
    kind = _db_kind(url)
    if src.output.is_dir():  # before any dump is made, not after all of them
        raise BackupError(
            f"--output {src.output} is a folder: give the archive's file name in it, "
            f"e.g. {src.output / 'bldgwatch-backup.tar.gz'}"
        )
    if src.broker_dir is not None and not src.broker_dir.is_dir():  # before any dump is made
        raise BackupError(f"broker folder {src.broker_dir} does not exist")
    if database is not None:
        _reachable(src.influx_rpc)
    manifest = Manifest(
        format=FORMAT,
        created_at=(now or datetime.now(UTC)).isoformat(),
        version=importlib.metadata.version("bldgwatch"),
        db_kind=kind,
        db_url=make_url(url).render_as_string(hide_password=True),
        schema_head=None,
        influx_database=database,
        configs_dir=str(src.configs.absolute()),
    )
    src.output.parent.mkdir(parents=True, exist_ok=True)
    stage_in = src.tmp_dir or src.output.parent
    _check_space(stage_in, src.output.parent, _needed(src, found, url, kind, database))
    try:
        _stage_and_write(
            src,
            found=found,
            url=url,
            kind=kind,
            database=database,
            manifest=manifest,
            stage_in=stage_in,
        )
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise BackupError(_full(stage_in, src.output.parent)) from err
        raise
    except BackupError as err:
        if "disk is full" in str(err) or "No space left" in str(err):
            raise BackupError(f"{err}: {_full(stage_in, src.output.parent)}") from err
        raise
    return manifest


SPACE_MARGIN = 1.1
"""The free space a backup asks for over its estimate (the archive's own headers, a database
that grows while it runs)."""


def _tree_bytes(path: Path) -> int:
    """The bytes of the regular files under `path` a backup copies (links not followed, no
    deeper than it copies; 0 if absent or not a folder)."""
    try:
        top = safetree.open_folder(path)
    except OSError:
        return 0
    total = 0

    def on_folder(fd: int, parts: tuple[str, ...]) -> bool:
        return len(parts) <= STAGED_DEPTH_MAX and len("/".join(parts)) <= STAGED_PATH_MAX

    def on_entry(dir_fd: int, entry: str, parts: tuple[str, ...], seen: os.stat_result) -> None:
        nonlocal total
        if stat.S_ISREG(seen.st_mode):
            total += seen.st_size

    try:
        safetree.walk(top, on_folder, on_entry)
    finally:
        os.close(top)
    return total


def _influx_bytes(url: str | None, database: str) -> int:
    """What InfluxDB's shards of `database` hold on disk (SHOW STATS, over its HTTP API):
    the estimate of its portable backup; 0 where it cannot say (the backup goes on)."""
    if url is None or not url.startswith(("http://", "https://")):
        return 0
    query = urllib.parse.urlencode({"q": "SHOW STATS FOR 'shard'"})
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/query?{query}", timeout=10) as resp:  # noqa: S310 (http(s) only)
            body = json.load(resp)
    except (OSError, ValueError):
        return 0
    total = 0
    for result in body.get("results", []):
        for series in result.get("series", []):
            if series.get("tags", {}).get("database") != database:
                continue
            columns = series.get("columns", [])
            if "diskBytes" in columns:
                at = columns.index("diskBytes")
                total += sum(int(row[at] or 0) for row in series.get("values", []))
    return total


def _needed(src: Sources, found: Configured, url: str, kind: str, database: str | None) -> int:
    """The bytes the staged copies take: the database, InfluxDB's backup (estimate), the
    attachments and the other folders, the configs and the broker's files."""
    if kind == "sqlite":
        path = _sqlite_path(url)
        db = sum(
            p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.is_file()
        )
    else:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                db = int(
                    conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
                )
        except SQLAlchemyError:
            db = 0
        finally:
            engine.dispose()
    influx = _influx_bytes(found.influx_url, database) if database is not None else 0
    files = sum(_tree_bytes(p) for p in found.folders.values())
    files += _tree_bytes(src.configs) + (_tree_bytes(src.broker_dir) if src.broker_dir else 0)
    return int((db + influx + files) * SPACE_MARGIN)


def _free(folder: Path) -> tuple[int, int]:
    """(free bytes for this user, device) of the file system `folder` is on."""
    seen = os.statvfs(folder)
    return seen.f_bavail * seen.f_frsize, folder.stat().st_dev


def _check_space(stage_in: Path, out: Path, needed: int) -> None:
    """Refuse before anything is copied when the staging folder (and the archive's, which
    takes at most as much again) has less free space than the backup needs."""
    if not stage_in.is_dir():
        raise BackupError(f"--tmp-dir {stage_in} is not a folder")
    free, dev = _free(stage_in)
    out_free, out_dev = _free(out)
    wanted = needed * 2 if dev == out_dev else needed
    short = [(stage_in, free, wanted)] if free < wanted else []
    if dev != out_dev and out_free < needed:
        short.append((out, out_free, needed))
    if short:
        folder, have, want = short[0]
        raise BackupError(
            f"{folder} has {_mib(have)} free; this backup needs about {_mib(want)} there "
            f"(the copies of the database, InfluxDB and the attachments are staged in "
            f"{stage_in}, then compressed into {out}): free space there, or give --tmp-dir "
            "(a folder with room) or another --output"
        )


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def _full(stage_in: Path, out: Path) -> str:
    where = stage_in if stage_in == out else f"{stage_in} (staging) or {out} (the archive)"
    return (
        f"no space left in {where}: free space there, or give --tmp-dir (a folder with room); "
        "nothing was kept"
    )


def _stage_and_write(
    src: Sources,
    *,
    found: Configured,
    url: str,
    kind: str,
    database: str | None,
    manifest: Manifest,
    stage_in: Path,
) -> None:
    with tempfile.TemporaryDirectory(prefix=".bldgwatch-backup-", dir=stage_in) as tmp:
        stage = Path(tmp)
        (stage / "db").mkdir()
        if kind == "sqlite":
            _backup_sqlite(_sqlite_path(url), stage / "db" / "bldgwatch.sqlite")
            manifest.schema_head = _schema(f"sqlite:///{stage / 'db' / 'bldgwatch.sqlite'}")
        else:
            manifest.schema_head = _schema(url)
            conn, env = _libpq(url)
            _run(
                [_tool("pg_dump"), "--format=custom", f"--file={stage / 'db' / 'postgres.dump'}",
                 f"--dbname={conn}"],
                "pg_dump", env,
            )  # fmt: skip
        if database is not None:
            _run(
                [_tool("influxd"), "backup", "-portable", "-database", database,
                 "-host", src.influx_rpc, str(stage / "influx")],
                f"influxd backup of {database!r} from {src.influx_rpc}",
            )  # fmt: skip
        skipped: list[str] = []
        _stage_files(src, found, stage, skipped)
        manifest.skipped = skipped
        for path in sorted(p for p in stage.rglob("*") if p.is_file()):
            name = path.relative_to(stage).as_posix()
            if not _utf8(name):  # the manifest (JSON) cannot name it: review 21e H2
                skipped.append(f"{_shown(name)} (name not UTF-8)")
                continue
            with path.open("rb") as fh:
                manifest.files[name] = _sha256(fh)
        _write_archive(stage, manifest, src.output)


def _utf8(name: str) -> bool:
    """Whether `name` is text (a name of bytes that are not UTF-8 comes back from the file
    system with surrogate escapes, which no JSON, tar header or restore agrees on)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: str) -> str:
    """`name` printable: its bytes that are not UTF-8 as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _stage_files(src: Sources, found: Configured, stage: Path, skipped: list[str]) -> None:
    """The folders the configs name, the configs and the broker's files, into `stage`; what
    of those folders could not be copied (named in `skipped`) is left out."""
    for name, path in found.folders.items():
        if path.is_dir() or path.is_symlink():  # a link there is named, not followed
            _copy_regular(path, stage / name, name, skipped)
    (stage / "configs").mkdir()
    held = {path.resolve() for path in found.folders.values()}  # in their own part
    for path in _files_under(src.configs, skip=held):
        target = stage / "configs" / path.relative_to(src.configs)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    if src.broker_dir is not None:
        _stage_broker(src.broker_dir, stage)


def _stage_broker(broker_dir: Path, stage: Path) -> None:
    """The broker's files (see BROKER_FILES, BROKER_FOLDERS) into `stage`/broker."""
    (stage / "broker").mkdir()
    copied = 0
    # the folder's own files, and those of the folder `bldgwatch install` writes in it
    for sub in ("", BROKER_SUBDIR):
        for name in BROKER_FILES:
            path = broker_dir / sub / name
            if path.is_file():
                (stage / "broker" / sub).mkdir(exist_ok=True)
                shutil.copy2(path, stage / "broker" / sub / name)
                copied += 1
    for sub in BROKER_FOLDERS:
        folder = broker_dir / sub
        if folder.is_dir() and not folder.is_symlink():
            for path in _files_under(folder, skip=set()):
                target = stage / "broker" / sub / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    for path in (stage / "broker").rglob("*"):
        if path.is_file():
            path.chmod(0o600)  # keys and passwords: the members are 0600 (the archive too)
    if not copied:
        raise BackupError(
            f"no broker file ({', '.join(BROKER_FILES)}) in {broker_dir} nor in "
            f"{broker_dir / BROKER_SUBDIR}: is it the broker's folder?"
        )


STAGED_PATH_MAX = 3000
"""Characters of a folder's path under the attachments beyond which it is not copied (named
in `skipped`): the stage and the archive hold members by path (PATH_MAX is 4,096)."""
STAGED_DEPTH_MAX = 100
"""Levels of folders under the attachments beyond which nothing is copied (named in
`skipped`): the stage is walked by path (the console stores a photo 2 levels down)."""


def _copy_regular(folder: Path, to: Path, name: str, skipped: list[str]) -> None:
    """Copy the regular files under `folder` into `to` (mode and times kept). The folder's
    users may change it while root reads it: the folder itself and everything under it is
    opened without following a link at any level (`safetree`; a link there is left out, the
    folder itself as a link is named in `skipped`: review 21d M5). A FIFO, socket or device
    (any service user of the group may make one there), a file deleted while the backup runs
    (a photo removed by a technician), what cannot be listed or read, and what lies deeper
    than STAGED_DEPTH_MAX or STAGED_PATH_MAX are left out and named in `skipped`: none may
    cost the night's archive (reviews 21c M6, 21d M3)."""
    try:
        top = safetree.open_folder(folder)
    except FileNotFoundError:
        skipped.append(f"{name}/")
        return
    except OSError as err:  # a link (ELOOP) or not a folder: never followed
        skipped.append(f"{name}/ ({err.strerror})")
        return
    to.mkdir(exist_ok=True)

    def on_folder(fd: int, parts: tuple[str, ...]) -> bool:
        if len(parts) > STAGED_DEPTH_MAX or len("/".join(parts)) > STAGED_PATH_MAX:
            skipped.append("/".join((name, *parts)) + "/ (too deep)")
            return False
        to.joinpath(*parts).mkdir(exist_ok=True)
        return True

    def on_entry(dir_fd: int, entry: str, parts: tuple[str, ...], seen: os.stat_result) -> None:
        if not stat.S_ISREG(seen.st_mode) or not _copy_file(
            dir_fd, entry, seen, to / "/".join(parts)
        ):
            skipped.append("/".join((name, *parts)))

    try:
        problems = safetree.walk(top, on_folder, on_entry)
    except safetree.TreeChangedError as err:
        problems = [safetree.Problem(".", str(err))]
    finally:
        os.close(top)
    skipped.extend("/".join((name, problem.path)) for problem in problems)


def _copy_file(dir_fd: int, entry: str, seen: os.stat_result, to: Path) -> bool:
    """Copy one regular file (opened under its folder's descriptor, without following a link
    or blocking on a FIFO put there since it was listed); False when it is gone, no longer
    the file listed, or cannot be read."""
    fd = safetree.open_entry(dir_fd, entry, seen)
    if fd is None:
        return False
    with os.fdopen(fd, "rb") as src:
        opened = os.fstat(fd)
        try:
            with to.open("wb") as out:
                shutil.copyfileobj(src, out)
        except OSError as err:
            raise BackupError(f"cannot copy {entry} to {to}: {err.strerror}") from err
    to.chmod(opened.st_mode & 0o777)
    os.utime(to, ns=(opened.st_atime_ns, opened.st_mtime_ns))
    return True


def _files_under(folder: Path, skip: set[Path]) -> list[Path]:
    """Every regular file under `folder` (site files, keys, env files, configs), links and
    the folders in `skip` left out."""
    found: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if path.resolve() not in skip:
                found += _files_under(path, skip)
        elif path.is_file():
            found.append(path)
    return found


def _backup_sqlite(path: Path, to: Path) -> None:
    if not path.is_file():
        raise BackupError(f"SQLite database {path} does not exist")
    try:
        source = sqlite3.connect(path)
        try:
            target = sqlite3.connect(to)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as err:
        raise BackupError(f"SQLite backup of {path} failed: {err}") from err


def _write_archive(stage: Path, manifest: Manifest, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".bldgwatch-backup-", dir=output.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600)  # configs and the broker's password file are inside
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            body = manifest.dump()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(body), 0o600
            info.mtime = int(datetime.fromisoformat(manifest.created_at).timestamp())
            tar.addfile(info, io.BytesIO(body))
            for name in manifest.files:
                tar.add(stage / name, arcname=name, recursive=False)
        try:  # an archive that restore would refuse is never reported as a backup
            read_manifest(tmp)
        except BackupError as err:
            raise BackupError(f"the archive does not read back, not kept: {err}") from err
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- restore ----------------------------------------------------------------------------------


def read_manifest(archive: Path) -> Manifest:
    """The archive's manifest, every member checked against its checksum."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            head = tar.extractfile(MANIFEST)
            if head is None:
                raise BackupError(f"{archive}: no {MANIFEST}")
            manifest = Manifest.model_validate_json(head.read())
            if manifest.format > FORMAT:
                raise BackupError(
                    f"{archive}: archive format {manifest.format} is newer than this "
                    f"version reads ({FORMAT}): restore with bldgwatch {manifest.version}"
                )
            members = tar.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if member.name.startswith("/") or ".." in parts or not member.isfile():
                    raise BackupError(f"{archive}: unsafe member {member.name!r} (refused)")
            for member in members:
                if member.name != MANIFEST and not _in_layout(member.name):
                    raise BackupError(
                        f"{archive}: member {member.name!r} is outside a backup's layout (refused)"
                    )
            names = {m.name for m in members} - {MANIFEST}
            if names != set(manifest.files):
                raise BackupError(f"{archive}: members differ from the manifest's list")
            for name, digest in manifest.files.items():
                fh = tar.extractfile(name)
                if fh is None or _sha256(fh) != digest:
                    raise BackupError(f"{archive}: {name} is damaged (checksum differs)")
            return manifest
    except KeyError as err:
        raise BackupError(f"{archive}: no {MANIFEST}: not a bldgwatch backup") from err
    except (OSError, tarfile.TarError, EOFError) as err:
        raise BackupError(f"{archive}: cannot read the archive: {err}") from err
    except (ValueError, TypeError) as err:
        raise BackupError(f"{archive}: the manifest is not valid: {err}") from err


LAYOUT = ("influx", "configs", "broker", *FOLDERS)
"""The folders an archive's members may be in (and the database's dump, `DB_MEMBERS`)."""
DB_MEMBERS = ("db/bldgwatch.sqlite", "db/postgres.dump")


def _in_layout(name: str) -> bool:
    parts = name.split("/")
    if name in DB_MEMBERS:
        return True
    return len(parts) > 1 and parts[0] in LAYOUT and all(p not in ("", ".", "..") for p in parts)


def _empty_or_absent(folder: Path, force: bool) -> None:
    if folder.exists() and any(folder.iterdir()) and not force:
        raise BackupError(f"{folder} is not empty (restore with --force to overwrite it)")


def _extract(tar: tarfile.TarFile, stage: Path) -> None:
    """Write the archive's regular files under `stage`, checked again one by one.

    Not `extractall(filter="data")`: Debian 12's Python (3.11.2) has no extraction filters,
    and the archive could differ from the one `read_manifest` checked. Each member must be a
    regular file inside the layout; it is written 0600 (restore sets the final modes).
    """
    for member in tar:
        if not member.isfile() or (member.name != MANIFEST and not _in_layout(member.name)):
            raise BackupError(f"unsafe member {member.name!r} (refused)")
        target = stage / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        src = tar.extractfile(member)
        if src is None:
            raise BackupError(f"unsafe member {member.name!r} (refused)")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with src, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out)


def _absolute(path: Path) -> Path:
    """`path` against the current folder (links kept as they are)."""
    return path.absolute()


def _absolute_url(url: str) -> str:
    """A SQLite URL's file made absolute (other URLs as they are)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # said by the checks that follow
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(_absolute(Path(database)))).render_as_string(hide_password=False)


def _absolute_targets(dst: Targets) -> Targets:
    """`dst` with every path it names absolute: they are written into the restored configs,
    which services read from their own working folder (systemd's, not the shell's where
    `restore` ran: review 21f M-a)."""
    return replace(
        dst,
        configs=_absolute(dst.configs),
        broker_dir=None if dst.broker_dir is None else _absolute(dst.broker_dir),
        db_url=None if dst.db_url is None else _absolute_url(dst.db_url),
        folders={name: _absolute(path) for name, path in dst.folders.items()},
    )


def restore(dst: Targets) -> Manifest:
    """Restore the archive as `dst` says; its manifest."""
    dst = _absolute_targets(dst)
    manifest = read_manifest(dst.archive)
    with tempfile.TemporaryDirectory(prefix="bldgwatch-restore-") as tmp:
        stage = Path(tmp)
        try:
            with tarfile.open(dst.archive, mode="r:gz") as tar:
                _extract(tar, stage)
        except (OSError, tarfile.TarError) as err:
            raise BackupError(f"{dst.archive}: cannot extract the archive: {err}") from err
        url, kind, folders = _checked_targets(dst, manifest, stage)
        if kind != "sqlite":
            _empty_postgres(url)  # before anything is written
        if manifest.influx_database is not None:
            # first: the step that depends on another server (down, a wrong --influx-rpc, the
            # database there already) fails before the database and files are replaced
            # (review 21e M2: the SQLite file was replaced, then InfluxDB refused)
            try:
                _run(
                    [_tool("influxd"), "restore", "-portable", "-db", manifest.influx_database,
                     "-newdb", dst.influx_database or manifest.influx_database,
                     "-host", dst.influx_rpc, str(stage / "influx")],
                    f"influxd restore into {dst.influx_rpc}",
                )  # fmt: skip
            except BackupError as err:
                raise BackupError(
                    f"{err}; nothing else was restored: the database, configs and folders "
                    "are as they were"
                ) from err
        if kind == "sqlite":
            _restore_sqlite(stage / "db" / "bldgwatch.sqlite", _sqlite_path(url), dst.force)
        else:
            _restore_postgres(stage / "db" / "postgres.dump", url)
        local = configured(dst.configs) if dst.configs.is_dir() else Configured()
        influx_db = (
            (dst.influx_database or manifest.influx_database)
            if (manifest.influx_database is not None)
            else None
        )
        urls = _database_urls(stage / "configs")
        _localise_configs(
            stage / "configs", url, {**local.folders, **dst.folders, **folders}, influx_db
        )
        manifest.moved = _localise_files(stage / "configs", manifest, dst.configs, url, urls)
        _copy_private(stage / "configs", dst.configs)
        for name, path in folders.items():
            _restore_folder(stage / name, path)
        if dst.broker_dir is not None and (stage / "broker").is_dir():
            made = _copy_private(stage / "broker", dst.broker_dir, folder_mode=0o755)
            _give_to_broker(stage / "broker", dst.broker_dir, made)
    from bldgwatch.core.config import DatabaseSettings
    from bldgwatch.core.db import make_engine
    from bldgwatch.migrations import migrate

    engine = make_engine(DatabaseSettings(url=url))
    try:
        migrate(engine)  # an archive of an older version comes up to this one's schema
    finally:
        engine.dispose()
    return manifest


def _restore_folder(src: Path, to: Path) -> None:
    """Copy the staged folder `src` into `to` (made if absent). `to` may be the attachments
    folder of an existing install, which the console's user owns and may have filled with
    links: nothing in it is written through a link (review 21d H4). Each folder is opened
    under its parent's descriptor without following a link (a link, or a file, where a
    folder goes is removed and a folder made), each file is written under its folder's
    descriptor with O_EXCL|O_NOFOLLOW after what stood there was removed."""
    if to.is_symlink():
        raise BackupError(
            f"{to} is a symbolic link (to {to.readlink()}): not followed; remove it "
            "(someone made it where the folder belongs), run again"
        )
    if not to.is_dir():
        to.mkdir(parents=True)
        to.chmod(0o700)  # root's until `bldgwatch install` gives the attachments to the group
    target_top = safetree.open_folder(to)
    source_top = safetree.open_folder(src)

    def on_folder(fd: int, parts: tuple[str, ...]) -> bool:
        os.close(_target_folder(target_top, parts))
        return True

    def on_entry(dir_fd: int, name: str, parts: tuple[str, ...], seen: os.stat_result) -> None:
        source = safetree.open_entry(dir_fd, name, seen)
        if source is None:
            return
        with os.fdopen(source, "rb") as data:
            folder = _target_folder(target_top, parts[:-1])
            try:
                _clear(folder, name)
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600, dir_fd=folder)  # fmt: skip
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(data, out)
                    os.fchmod(out.fileno(), seen.st_mode & 0o777)
                    os.utime(out.fileno(), ns=(seen.st_atime_ns, seen.st_mtime_ns))
            except OSError as err:  # e.g. a link made again between the removal and the open
                where = "/".join(parts)
                raise BackupError(f"cannot write {where} in {to}: {err.strerror}") from err
            finally:
                os.close(folder)

    try:
        problems = safetree.walk(source_top, on_folder, on_entry)
    finally:
        os.close(source_top)
        os.close(target_top)
    if problems:  # the stage is root's own temporary folder: nothing there should fail
        raise BackupError(f"{src}: cannot read the extracted archive: {problems[0]}")


def _clear(folder: int, name: str) -> None:
    """Remove the entry `name` of `folder` unless it is absent or a folder (left as it is)."""
    try:
        seen = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(seen.st_mode):
        os.unlink(name, dir_fd=folder)


def _target_folder(top: int, parts: tuple[str, ...]) -> int:
    """The folder `parts` under `top`, opened level by level without following a link; a
    level that is missing is made (0700: root's until `bldgwatch install` gives the
    attachments to the group), one that is a link or a file is replaced by a folder."""
    fd = os.dup(top)
    for part in parts:
        try:
            child = os.open(part, safetree.DIR_FLAGS, dir_fd=fd)
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                os.close(fd)
                raise BackupError(
                    f"cannot open {part} of the restored folder: {err.strerror}"
                ) from err
            _clear(fd, part)
            os.mkdir(part, 0o700, dir_fd=fd)
            child = os.open(part, safetree.DIR_FLAGS, dir_fd=fd)
        os.close(fd)
        fd = child
    return fd


def _localise_configs(
    folder: Path, url: str, folders: dict[str, Path], influx_database: str | None
) -> None:
    """The archive's configs made to name where this restore wrote: the database URL, the
    folders of `FOLDERS` and the InfluxDB database. `bldgwatch install` run after a restore
    takes the database from the configs (it migrates it, and gives a SQLite file to the
    services' group): an archive must not choose that path (review 21c H1), and a restore onto
    a new machine must not leave the services on the old machine's database."""
    for path, doc in _config_docs(folder):
        before = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        database = doc.get("database")
        if isinstance(database, dict) and "url" in database:
            database["url"] = url
        for name, target in folders.items():
            *parents, last = FOLDERS[name]
            holder: Any = doc
            for key in parents:
                holder = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and last in holder:
                holder[last] = str(target)
        influx = doc.get("influx")
        if influx_database is not None and isinstance(influx, dict) and "database" in influx:
            influx["database"] = influx_database
        after = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        if after != before:
            path.write_text(after, encoding="utf-8")


FILE_KEYS = (("site_files",), ("alerts_key_file",), ("key_file",))
"""Paths in a config (top level) to files that are backed up with the configs when they
lie in the configs folder: the site files, the alerts key (the console's alerts_key_file,
the alerts service's key_file)."""


def _database_urls(folder: Path) -> dict[str, str]:
    """The database URL each config of `folder` names (passwords hidden), by file name."""
    found = {}
    for path, doc in _config_docs(folder):
        database = doc.get("database")
        if isinstance(database, dict) and isinstance(database.get("url"), str):
            try:
                found[path.name] = make_url(database["url"]).render_as_string(hide_password=True)
            except ArgumentError:
                found[path.name] = "?"
    return found


def _localise_files(
    folder: Path, manifest: Manifest, configs: Path, url: str, urls: dict[str, str]
) -> list[str]:
    """Point the configs' paths to files of the archive's configs folder at where this
    restore wrote them (`configs`), like the other paths (review 21d L2); return what the
    reader should know: a path outside that folder (not restored, kept as it was) and a
    config whose database was not the backed-up one (now `url`: no silent move)."""
    said: list[str] = []
    source = Path(manifest.configs_dir) if manifest.configs_dir else None
    shown = make_url(url).render_as_string(hide_password=True)
    for path, doc in _config_docs(folder):
        before = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        for (key,) in FILE_KEYS:
            value = doc.get(key)
            if value is None:
                continue
            values = value if isinstance(value, list) else [value]
            moved = []
            for item in values:
                if not isinstance(item, str):
                    moved.append(item)
                    continue
                old = Path(item)
                if source is not None and old.is_relative_to(source):
                    moved.append(str(configs / old.relative_to(source)))
                else:
                    moved.append(item)
                    if old.is_absolute():
                        said.append(f"{path.name}: {key} {item} is outside the backed-up "
                                    "configs folder: not restored, kept as it was")  # fmt: skip
            doc[key] = moved if isinstance(value, list) else moved[0]
        after = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        if after != before:
            path.write_text(after, encoding="utf-8")
    for name, original in urls.items():
        if original != manifest.db_url:
            said.append(f"{name}: database.url was {original}, not the backed-up database "
                        f"({manifest.db_url}): it now names {shown}")  # fmt: skip
    return said


def _checked_targets(
    dst: Targets, manifest: Manifest, stage: Path
) -> tuple[str, str, dict[str, Path]]:
    """Where the database and the folders go, refused before anything is written when a
    target is not empty: (database URL, its kind, the folders by archive name)."""
    # Where root writes is this machine's say, never the archive's (anyone who can change an
    # archive can recompute its checksums): the command line, else the configs already in
    # the target folder (an installation's, as `bldgwatch install` wrote them).
    local = configured(dst.configs) if dst.configs.is_dir() else Configured()
    url = dst.db_url or local.db_url
    if url is None:
        raise BackupError(
            f"where does the database go? give --db (no config in {dst.configs} names one; "
            "the archive's own configs are never trusted with where to write)"
        )
    url = _absolute_url(url)  # where it is written, named so in the configs
    kind = _db_kind(url)
    if kind != manifest.db_kind:
        raise BackupError(f"the archive holds a {manifest.db_kind} database, --db is {kind}")
    _refuse_running(url, kind, dst)
    _empty_or_absent(dst.configs, dst.force)
    if dst.broker_dir is not None:
        _empty_or_absent(dst.broker_dir, dst.force)
    folders: dict[str, Path] = {}
    for name in FOLDERS:
        if not (stage / name).is_dir():
            continue
        path = dst.folders.get(name) or local.folders.get(name)
        if path is None:
            raise BackupError(
                f"the archive holds {name}/: give --{name} (no config in {dst.configs} names "
                "its folder; the archive's own configs are never trusted with where to write)"
            )
        folders[name] = _absolute(path)
    for path in folders.values():
        _empty_or_absent(path, dst.force)
    return url, kind, folders


SHM_DMS_BYTE = 128
"""The byte of a WAL database's `-shm` file every open SQLite connection holds a shared lock
on (SQLite's unix VFS: `UNIX_SHM_BASE + SQLITE_SHM_NLOCK`); the last to close takes it
exclusively to clean up."""


def sqlite_in_use(path: Path) -> bool:
    """True when another process has the SQLite file at `path` open (a running service):
    asked with F_GETLK, which takes no lock, so it disturbs no one."""
    shm = path.with_name(path.name + "-shm")
    try:
        fd = os.open(shm, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, SHM_DMS_BYTE, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
    finally:
        os.close(fd)
    lock_type: int = struct.unpack("hhqqi4x", answer)[0]
    return lock_type != fcntl.F_UNLCK


def running_units() -> list[str]:
    """The installation's systemd units that are active (none where systemd does not run)."""
    from bldgwatch.install import SERVICES

    systemctl = shutil.which("systemctl")
    if systemctl is None or not Path("/run/systemd/system").is_dir():
        return []
    units = [f"bldgwatch@{service}" for service in SERVICES]
    done = subprocess.run(
        [systemctl, "is-active", *units], capture_output=True, text=True, check=False
    )
    states = done.stdout.split()
    stopped = {"inactive", "failed", "unknown"}
    return [unit for unit, state in zip(units, states, strict=False) if state not in stopped]


def _refuse_running(url: str, kind: str, dst: Targets) -> None:
    """A restore over a running installation splits it: the services keep the replaced
    database open and what they write after it is lost."""
    if dst.services_stopped:
        return
    why = [f"{unit} is active" for unit in running_units()]
    if kind == "sqlite" and sqlite_in_use(_sqlite_path(url)):
        why.append(f"{_sqlite_path(url)} is open in another process")
    if why:
        raise BackupError(
            f"the services are running ({'; '.join(why)}): stop them first "
            "(systemctl stop 'bldgwatch@*'), restore, then start them; "
            "--services-stopped overrides this check"
        )


def _restore_sqlite(copy: Path, path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise BackupError(f"SQLite database {path} exists (restore with --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise BackupError(
            f"SQLite database {path} is a symbolic link (to {path.readlink()}): not followed "
            "nor replaced; remove it (and check who made it), then restore again"
        )
    tmp = path.with_name(f".{path.name}.restoring")
    # made here, new (O_EXCL) and never through a link: the folder is the services' too,
    # and one of them may have planted a link to a file of root's under this name
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as err:
        what = f"a symbolic link (to {tmp.readlink()})" if tmp.is_symlink() else "there"
        raise BackupError(
            f"{tmp} is {what}: not followed nor written. It is a leftover of an interrupted "
            "restore or was planted by someone who may write that folder; remove it, then "
            "restore again"
        ) from err
    with os.fdopen(fd, "wb") as out, copy.open("rb") as src:
        shutil.copyfileobj(src, out)
    for suffix in ("-wal", "-shm"):  # an old journal must not be replayed over the copy
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    tmp.replace(path)


def _empty_postgres(url: str) -> None:
    if _schema(url) is not None:
        raise BackupError(
            f"{make_url(url)!r} already holds a bldgwatch schema: restore into an empty database"
        )


def _restore_postgres(dump: Path, url: str) -> None:
    _empty_postgres(url)
    conn, env = _libpq(url)
    _run(
        [_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={conn}", str(dump)],
        "pg_restore", env,
    )  # fmt: skip


def _copy_private(src: Path, to: Path, *, folder_mode: int = 0o700) -> list[Path]:
    """Copy `src` into `to`: a folder or file it creates is private (`folder_mode`, 0600),
    one that exists keeps its owner and mode (the operator's, or the broker's: Mosquitto
    drops to its own user before it reads its files). The folders it created."""
    created = []
    if not to.is_dir():
        to.mkdir(parents=True)
        to.chmod(folder_mode)
        created.append(to)
    for path in sorted(src.iterdir()):
        target = to / path.name
        if target.is_symlink():  # never written through: a link is not a file of ours
            target.unlink()
        if path.is_dir():
            created += _copy_private(path, target, folder_mode=folder_mode)
            continue
        existed = target.exists()
        shutil.copyfile(path, target)
        if not existed:
            target.chmod(0o600)
    return created


BROKER_READS = ("passwd", "acl", "server.key")
"""The broker's files Mosquitto reads as its own user (again on SIGHUP): 0600 its own."""


def _give_to_broker(src: Path, folder: Path, created: list[Path]) -> None:
    """The restored broker files as `bldgwatch install` and deploy/mosquitto/README.md leave
    them: `bldgwatch/` and its `certs/` 0750 root:mosquitto, the password file, ACL and
    server key 0600 mosquitto's, configs and certificates 0644, the rest (credentials, the
    CA key) 0600 root's. A folder that was there before keeps its mode and owner; one the
    restore made is 0755 (Mosquitto must pass through it)."""
    try:
        account = pwd.getpwnam("mosquitto") if os.geteuid() == 0 else None
    except KeyError:
        account = None
    ours = folder / BROKER_SUBDIR
    restored = [folder / p.relative_to(src) for p in sorted(src.rglob("*"))]
    for path in [folder, *restored]:
        if path.is_symlink():
            continue
        owner, group = (0, 0) if account else (-1, -1)
        if path.is_dir():
            if path == ours or ours in path.parents:
                mode, group = 0o750, account.pw_gid if account else -1
            elif path in created:
                mode = 0o755
            else:
                continue
        elif path.name in BROKER_READS:
            mode = 0o600
            if account:
                owner, group = account.pw_uid, account.pw_gid
        elif path.suffix in (".conf", ".crt"):
            mode = 0o644
        else:
            mode = 0o600
        path.chmod(mode)
        if owner != -1 or group != -1:
            os.chown(path, owner, group)
