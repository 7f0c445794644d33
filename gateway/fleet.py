"""Fleet management on both ends: the signed configuration envelope, the gateway's key and
its last good configuration on disk, and the health figures of the machine it runs on.

A pushed configuration travels as a retained message on the gateway's own `config` topic
(core.topics.gateway_config). The envelope is JSON `{"body": "<text>", "sig": "<hex>"}`;
`body` is the JSON text of `{"site", "gateway", "version", "config"}` and `sig` its
HMAC-SHA256 under the key provisioned for that one gateway at install (docs/architecture.md
says why HMAC). The signature covers the exact bytes of `body`, so no canonical form is
needed; site and gateway inside the body stop a message meant for another gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bldgwatch.core.config import MqttSettings
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.files import replace_private, write_private
from bldgwatch.core.safejson import DEFAULT_LIMITS, load_json

KEY_BYTES = 32
LOCAL_SECTIONS = ("site", "gateway_id", "mqtt", "queue", "fleet", "profiles_dir")
"""What a pushed configuration never changes: the gateway's identity, its broker account,
its durable queue, these fleet settings and its folder of site profiles are the install's (a
push carries no secret, and no path: the console must not open a path a push names on its
own host, review 21e M3)."""
HOT_SECTIONS = (
    "devices",
    "dlt645_meters",
    "serial_ports",
    "mqtt_sensors",
    "status_interval_s",
)
"""What a pushed configuration changes at once (the pollers restart, the sensors are
subscribed again); the rest is kept on disk and takes effect at the next start."""


class ConfigRefusedError(Exception):
    """A pushed configuration the gateway will not apply; the message says why (English, for
    the log) and `key`/`params` say it for the console's catalogue (`gateway.refused.*`)."""

    def __init__(self, reason: str, key: str = "gateway.refused.other", **params: Any) -> None:
        super().__init__(reason)
        self.key = key
        self.params: dict[str, Any] = params or {"error": reason}

    def message(self) -> dict[str, Any]:
        """`{"key", "params"}` as the console's catalogue renders it."""
        return {"key": self.key, "params": self.params}


def software_version() -> str:
    """The installed bldgwatch version."""
    try:
        return importlib.metadata.version("bldgwatch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def new_key() -> str:
    """A fresh per-gateway key (hex)."""
    return secrets.token_hex(KEY_BYTES)


def write_key(path: Path, key: str | None = None, *, exclusive: bool = False) -> str:
    """Write a key file (0600), a new key unless one is given; the key. Never through a
    link (`replace_private`); `exclusive`: FileExistsError when something is at `path`."""
    key = key or new_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_private(path, key + "\n", exclusive=exclusive)
    return key


def read_key(path: Path) -> bytes:
    """The key in `path`; ConfigError when missing, readable by others or not a key."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"fleet key {path}: cannot read it ({err})") from err
    if mode & 0o077:
        raise ConfigError(f"fleet key {path}: readable by others (chmod 600 it)")
    try:
        key = bytes.fromhex(text)
    except ValueError as err:
        raise ConfigError(f"fleet key {path}: not hex") from err
    if len(key) < 16:
        raise ConfigError(f"fleet key {path}: shorter than 16 bytes")
    return key


def sign(key: bytes, *, site: str, gateway: str, version: int, config: dict[str, Any]) -> bytes:
    """The signed envelope of `config` as version `version` for one gateway."""
    body = orjson.dumps(
        {"site": site, "gateway": gateway, "version": version, "config": config},
        option=orjson.OPT_SORT_KEYS,
    ).decode()
    sig = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return orjson.dumps({"body": body, "sig": sig})


@dataclass(frozen=True, slots=True)
class Pushed:
    """An envelope whose signature checked out."""

    version: int
    config: dict[str, Any]
    raw: bytes


def open_envelope(payload: bytes, key: bytes, *, site: str, gateway: str) -> Pushed:
    """Check an envelope's shape, signature and addressee; ConfigRefusedError saying why."""
    try:
        doc = load_json(payload, DEFAULT_LIMITS)
    except Exception as err:
        raise ConfigRefusedError(f"not a config envelope: {err}") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("body"), str):
        raise ConfigRefusedError("not a config envelope: no body")
    sig = doc.get("sig")
    if not isinstance(sig, str) or not sig:
        raise ConfigRefusedError("unsigned config", "gateway.refused.unsigned")
    want = hmac.new(key, doc["body"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        raise ConfigRefusedError(
            "bad signature (not signed with this gateway's key)", "gateway.refused.signature"
        )
    body = orjson.loads(doc["body"])
    if not isinstance(body, dict) or (body.get("site"), body.get("gateway")) != (site, gateway):
        raise ConfigRefusedError(
            "config addressed to another gateway", "gateway.refused.other_gateway"
        )
    version, config = body.get("version"), body.get("config")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigRefusedError("config without a version")
    if not isinstance(config, dict):
        raise ConfigRefusedError("config body is not an object")
    return Pushed(version, config, bytes(payload))


def merge_local(pushed: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """The pushed configuration with the install's own sections (LOCAL_SECTIONS) put back,
    and the install's secrets for the sensor brokers it names (`sensor_secrets`)."""
    merged = {k: v for k, v in pushed.items() if k not in LOCAL_SECTIONS}
    merged.update({k: local[k] for k in LOCAL_SECTIONS if k in local})
    if "mqtt_sensors" in merged:
        merged["mqtt_sensors"] = sensor_secrets(merged["mqtt_sensors"], local.get("mqtt_sensors"))
    return merged


_SECRET = frozenset({"password", "ca_file"})


def _broker_key(broker: Any) -> str | None:
    """Everything an MQTT sensor's `mqtt` section says but its secrets, defaults filled in (a
    report leaves out what equals them), as one comparable text; None when it is no valid
    section."""
    if not isinstance(broker, dict):
        return None
    try:
        settings = MqttSettings.model_validate(
            {k: v for k, v in broker.items() if k not in _SECRET}
        )
    except ValueError:  # pydantic's ValidationError: the push is refused later, named
        return None
    return settings.model_dump_json(exclude=set(_SECRET))


def sensor_secrets(pushed: Any, local: Any) -> Any:
    """Pushed MQTT sensors with the install's secrets put back where a sensor's `mqtt` section
    is, but for its secrets, the very one of a sensor broker in the install's own file (same
    host, port, user, TLS, CA text, keepalive …): its password, and its CA file. A push never
    carries a password (the console refuses one: it is shown to every reader of the fleet) nor
    a path on the Pi, so without this an unchanged first push from the running file silenced
    such a sensor (final review). Any difference — another host or port, TLS off, a CA of the
    push's own — and nothing is put back: the secret only goes where and how the install
    sends it."""
    if not isinstance(pushed, list) or not isinstance(local, list):
        return pushed
    known: dict[str, dict[str, Any]] = {}
    for entry in local:
        broker = entry.get("mqtt") if isinstance(entry, dict) else None
        key = _broker_key(broker)
        if key is not None and isinstance(broker, dict):
            known[key] = broker
    out = []
    for entry in pushed:
        broker = entry.get("mqtt") if isinstance(entry, dict) else None
        key = _broker_key(broker)
        mine = known.get(key) if key is not None else None
        if mine is None or not isinstance(broker, dict) or _SECRET & broker.keys():
            out.append(entry)
            continue
        secrets_ = {k: mine[k] for k in _SECRET if mine.get(k) is not None}
        out.append({**entry, "mqtt": {**broker, **secrets_}})
    return out


def changed_later(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level sections that differ and only take effect at the next start."""
    keys = (set(old) | set(new)) - set(HOT_SECTIONS) - set(LOCAL_SECTIONS)
    return sorted(k for k in keys if old.get(k) != new.get(k))


class LastGood:
    """The gateway's last good pushed configuration (the envelope as received, re-checked at
    start) and the highest version it has seen (no replay of an older one)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.envelope = folder / "config.json"
        self.seen = folder / "seen-version"

    def load(self) -> bytes | None:
        """The stored envelope, if any."""
        try:
            return self.envelope.read_bytes()
        except FileNotFoundError:
            return None

    def highest_seen(self) -> int:
        """The highest version seen (0: none)."""
        try:
            return int(self.seen.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def saw(self, version: int) -> None:
        """Remember that `version` was tried (applied or rolled back)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_private(self.seen, f"{max(version, self.highest_seen())}\n")

    def keep(self, raw: bytes) -> None:
        """Store a configuration that polled well."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_private(self.envelope, raw.decode())


def write_ca(folder: Path, pem: str) -> Path:
    """Write a pushed CA (`ca_pem`) into `folder`/ca, 0600, named by the hash of its text
    (the same CA in two pushes is one file), and give its path."""
    digest = hashlib.sha256(pem.encode("utf-8")).hexdigest()
    home = folder / "ca"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = home / f"{digest}.pem"
    write_private(path, pem)
    return path


# -- health of the machine ----------------------------------------------------------------------
THERMAL = Path("/sys/class/thermal")


def cpu_temperature_c(root: Path = THERMAL) -> float | None:
    """The highest thermal zone reading in °C (the Pi's SoC), None where there is none."""
    temps: list[float] = []
    for zone in sorted(root.glob("thermal_zone*/temp")):
        try:
            temps.append(int(zone.read_text().strip()) / 1000)
        except (OSError, ValueError):
            continue
    return max(temps) if temps else None


def disk_free_bytes(path: Path) -> int | None:
    """Free bytes on the file system holding `path` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None
