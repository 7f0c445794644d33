"""deploy/container/compose.yaml, validated (no container engine here) as `docker compose
config` would: against the Compose specification's JSON schema (the copy check-jsonschema
ships), after the `${...}` interpolation; then the cross-references the schema cannot see:
depends_on names services and waits the right way, named volumes are declared and used,
every long-running service has a healthcheck, no secret is written into the file."""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bldgwatch.install import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "container" / "compose.yaml"
ENV = {"POSTGRES_PASSWORD": "x" * 32}
NO_HEALTHCHECK = {"alerts": "serves no HTTP: its config has no metrics port"}
"""Long-running services without a healthcheck, and why (the compose file says it too)."""


def compose_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text("utf-8"))
    return schema


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ in every string."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg or ""
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return ""

    return re.sub(r"\$\$|\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def load(text: str | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(text if text is not None else COMPOSE.read_text(encoding="utf-8"))
    doc: dict[str, Any] = interpolate(raw, ENV if env is None else env)
    return doc


def dependency_problems(name: str, svc: dict[str, Any], services: dict[str, Any]) -> list[str]:
    """depends_on: names services, waits for one-shots to complete and the rest to be healthy."""
    found: list[str] = []
    depends = svc.get("depends_on") or {}
    if isinstance(depends, list):
        found.append(f"{name}: depends_on without conditions")
        depends = {d: {} for d in depends}
    for other, how in depends.items():
        if other not in services:
            found.append(f"{name}: depends_on names no service {other!r}")
            continue
        condition = how.get("condition", "service_started")
        target = services[other]
        if target.get("restart") == "no":
            if condition != "service_completed_successfully":
                found.append(f"{name}: waits for one-shot {other!r} with {condition}")
        elif condition != "service_healthy":
            found.append(f"{name}: waits for {other!r} with {condition}, not service_healthy")
        elif not (target.get("healthcheck") or {}).get("test"):
            found.append(f"{name}: waits for {other!r} to be healthy; it has no healthcheck")
    return found


def named_volumes(svc: dict[str, Any]) -> set[str]:
    """The named volumes (not bind mounts) a service mounts."""
    names = set()
    for volume in svc.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
        if source and not source.startswith((".", "/", "~")):
            names.add(source)
    return names


def problems(doc: dict[str, Any]) -> list[str]:
    """The cross-references that do not hold in the compose document `doc`."""
    found: list[str] = []
    services: dict[str, Any] = doc.get("services", {})
    declared = set(doc.get("volumes") or {})
    used: set[str] = set()
    for name, svc in services.items():
        mounted = named_volumes(svc)
        used |= mounted
        found += [f"{name}: volume {v!r} is not declared" for v in sorted(mounted - declared)]
        one_shot = svc.get("restart") == "no"
        checked = bool((svc.get("healthcheck") or {}).get("test"))
        if not one_shot and not checked and name not in NO_HEALTHCHECK:
            found.append(f"{name}: no healthcheck")
        found += dependency_problems(name, svc, services)
        for key, value in (svc.get("environment") or {}).items():
            secret = re.search(r"PASSWORD|SECRET|TOKEN", key) and value not in (None, "")
            if secret and str(value) != str(ENV.get(key)):  # ENV: interpolated from .env
                found.append(f"{name}: {key} is written into the file")
    found += [f"volume {v!r} is declared and not used" for v in sorted(declared - used)]
    return found


def test_the_schema_accepts_it() -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(load()), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_schema_refuses_a_broken_file() -> None:
    """The schema is a real check: a misspelt key and a wrong type are refused."""
    doc = load()
    doc["services"]["ingest"]["helthcheck"] = {}
    doc["services"]["console"]["ports"] = "8080:8080"
    schema = compose_schema()
    messages = [
        e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(doc)
    ]
    assert any("helthcheck" in m for m in messages), messages
    assert any("'8080:8080' is not of type 'array'" in m for m in messages), messages


def test_cross_references_hold() -> None:
    assert problems(load()) == []


def test_every_service_runs_and_waits_for_its_migration() -> None:
    services = load()["services"]
    for service in SERVICES:
        svc = services[service]
        assert svc["command"][:2] == ["bldgwatch-service", service]
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
        assert svc["user"] == "10001:10001"
    assert services["migrate"]["command"][:2] == ["bldgwatch", "db-upgrade"]
    for store in ("postgres", "influxdb", "mosquitto"):
        assert services["ingest"]["depends_on"][store]["condition"] == "service_healthy"


def test_a_missing_password_stops_compose() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        load(env={})


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["services"]["rules"]["depends_on"].update(nginx={}), "names no service"),
        (
            lambda d: d["services"]["rules"]["depends_on"]["migrate"].update(
                condition="service_started"
            ),
            "one-shot",
        ),
        (
            lambda d: d["services"]["console"]["depends_on"]["postgres"].update(
                condition="service_started"
            ),
            "not service_healthy",
        ),
        (lambda d: d["services"]["ingest"].pop("healthcheck"), "ingest: no healthcheck"),
        (
            lambda d: d["services"]["mosquitto"]["healthcheck"].pop("test"),
            "it has no healthcheck",
        ),
        (lambda d: d["volumes"].pop("postgres-data"), "not declared"),
        (lambda d: d["volumes"].update(spare=None), "declared and not used"),
        (
            lambda d: d["services"]["postgres"]["environment"].update(POSTGRES_PASSWORD="hunter2"),
            "written into the file",
        ),
    ],
)
def test_each_check_catches_what_breaks_it(change: Any, complaint: str) -> None:
    doc = copy.deepcopy(load())
    change(doc)
    assert any(complaint in line for line in problems(doc)), problems(doc)


def test_gateways_get_accounts_and_come_in_over_tls() -> None:
    """Review 21b M1: a compose install could never receive a reading — no gateway accounts,
    no fleet keys, no published broker port. BLDGWATCH_GATEWAYS (in .env.example) goes to
    `install --gateway`, the broker has a TLS listener on 8883 and publishes it, and the
    docs say how a Pi joins."""
    services = load()["services"]
    setup = services["setup"]
    assert "BLDGWATCH_GATEWAYS" in setup["environment"]
    assert (
        'for g in ${BLDGWATCH_GATEWAYS}; do set -- "$@" "--gateway=$g"; done;'
        in (setup["command"][0])
    )
    example = (COMPOSE.parent / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^BLDGWATCH_GATEWAYS=", example, re.M)
    broker = services["mosquitto"]
    assert "8883:8883" in broker["ports"]
    assert "./certs:/mosquitto/certs:ro" in broker["volumes"]
    conf = (COMPOSE.parent / "mosquitto.conf").read_text(encoding="utf-8")
    tls = conf.split("listener 8883", 1)[1].split("\n\n", 1)[0]
    for line in ("cafile /mosquitto/certs/ca.crt", "certfile /mosquitto/certs/server.crt",
                 "keyfile /mosquitto/certs/server.key"):  # fmt: skip
        assert line in tls
    assert "listener 1883\n" in conf and "1883:1883" not in str(broker["ports"])
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "*How a Pi joins* (compose)" in ops and "BLDGWATCH_GATEWAYS=" in ops


def _doc_block(marker: str) -> list[str]:
    """The shell lines of the fenced block after `<!-- marker -->` in docs/operations.md."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```sh\n(.*?)```", text, re.S)
    assert found, marker
    return found.group(1).strip().splitlines()


@pytest.mark.parametrize("marker", ["compose-backup", "compose-restore"])
def test_the_documented_compose_backup_and_restore_fit_the_compose_file(marker: str) -> None:
    """Review 21b M2: the image has no pg_dump nor influxd, so docs/operations.md gives the
    compose commands: each parses as shell, names a service of compose.yaml, and uses that
    service's database, user and volume path."""
    lines = _doc_block(marker)
    parsed = subprocess.run(["bash", "-n"], input="\n".join(lines), text=True,
                            capture_output=True, check=False)  # fmt: skip
    assert parsed.returncode == 0, parsed.stderr
    services = load()["services"]
    postgres, influx = services["postgres"]["environment"], services["influxdb"]["environment"]
    for line in lines:
        words = shlex.split(line.split(" > ")[0].split(" < ")[0])
        if words[:2] != ["docker", "compose"] or words[2] not in ("exec", "run"):
            continue
        name = next(w for w in words[3:] if not w.startswith("-") and w != "tar")
        assert name in services, line
        if name == "postgres":
            assert f"--username={postgres['POSTGRES_USER']}" in words
            assert f"--dbname={postgres['POSTGRES_DB']}" in words
        if name == "influxdb":
            assert f"-database {influx['INFLUXDB_DB']} " in line or (
                f"-db {influx['INFLUXDB_DB']} " in line
            ), line
        if name == "setup":  # the configs' volume, mounted writable where the line says
            assert "bldgwatch:/srv/bldgwatch" in services["setup"]["volumes"]
            assert "-C /srv/bldgwatch" in line and "--no-deps" in words
    written = {w for line in _doc_block("compose-backup") for w in re.findall(r"backup/\S+", line)}
    read = {w for line in lines for w in re.findall(r"< (backup/\S+)", line)}
    read |= {w for line in lines for w in re.findall(r"tar -xf (backup/\S+)", line)}
    assert read <= written, read - written
    if marker == "compose-restore":
        assert len(read) == 4


def test_the_console_is_published_on_loopback_behind_a_proxy_it_trusts() -> None:
    """Review 21c M4: the console was published as plain HTTP on every host interface, and
    behind the documented reverse proxy every client came from the bridge network's gateway,
    one address to the login limits. It is published on loopback only, the network's
    gateway is pinned and is the console's trusted proxy, and the TLS proxy is documented."""
    doc = load()
    assert doc["services"]["console"]["ports"] == ["127.0.0.1:8080:8080"]
    (net,) = doc["networks"]["default"]["ipam"]["config"]
    gateway = ipaddress.ip_address(net["gateway"])
    assert gateway in ipaddress.ip_network(net["subnet"])
    setup = doc["services"]["setup"]["command"][0]
    assert f"--trusted-proxy={gateway}" in setup
    text = COMPOSE.read_text(encoding="utf-8")
    published = text.split('- "127.0.0.1:8080:8080"')[0].rsplit("ports:", 1)[1]
    assert "TLS" in published and "docs/operations.md" in published  # the comment above it
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    compose_part = ops.split("<!-- compose-tls -->", 1)[1]
    assert "127.0.0.1:8080" in compose_part and "proxy_pass" in compose_part


def _mounted(service: dict[str, Any], path: str) -> tuple[str, str, bool]:
    """(volume, path inside it, read-only) of `path` as `service` sees it."""
    best: tuple[str, str, bool] | None = None
    for spec in service["volumes"]:
        source, target, *mode = spec.split(":")
        if (path == target or path.startswith(target.rstrip("/") + "/")) and (
            best is None or len(target) > len(best[1])
        ):
            best = (source, target, mode == ["ro"])
    assert best is not None, (path, service["volumes"])
    source, target, read_only = best
    return source, path[len(target) :].lstrip("/"), read_only


def test_the_documented_stolen_pi_steps_reach_the_file_the_broker_reads() -> None:
    """Review 21d H2: the documented retire (compose) wrote the new password file into the
    `bldgwatch` volume and restarted the broker, which reads its copy in `mosquitto-auth`
    (filled only by the `broker-auth` one-shot): the lost Pi logged in again. The documented
    sequence, followed through compose.yaml's volumes, must put what setup wrote where the
    broker reads it before the broker restarts."""
    lines = _doc_block("compose-retire")
    parsed = subprocess.run(["bash", "-n"], input="\n".join(lines), text=True,
                            capture_output=True, check=False)  # fmt: skip
    assert parsed.returncode == 0, parsed.stderr
    services = load()["services"]
    conf = (COMPOSE.parent / "mosquitto.conf").read_text(encoding="utf-8")
    reads = {
        name: _mounted(services["mosquitto"], re.search(rf"^{key} (\S+)", conf, re.M).group(1))[:2]  # type: ignore[union-attr]
        for name, key in (("passwd", "password_file"), ("acl", "acl_file"))
    }
    # where each file is, as (volume, path in it), after each documented step
    holds: dict[str, set[tuple[str, str]]] = {"passwd": set(), "acl": set()}
    restarted_after_copy = False
    for line in lines:
        words = shlex.split(line)
        assert words[:2] == ["docker", "compose"], line
        if words[2] == "restart":
            assert words[3:] == ["mosquitto"], line
            restarted_after_copy = all(reads[name] in holds[name] for name in holds)
            continue
        assert words[2] == "run", line
        name = next(w for w in words[3:] if not w.startswith("-"))
        service = services[name]
        if "--retire-gateway=my-site/gw-1" in line:  # install writes under its --root
            root = re.search(r"--root=(\S+)", line).group(1)  # type: ignore[union-attr]
            for file, places in holds.items():
                places.add(_mounted(service, f"{root}/etc/mosquitto/bldgwatch/{file}")[:2])
            continue
        command = " ".join(service["command"])
        copy = re.search(r"install .*?((?:\S+/(?:passwd|acl) )+)(\S+/)$", command)
        assert copy, command
        *sources, target = [*copy.group(1).split(), copy.group(2)]
        volume, inside, read_only = _mounted(service, target)
        assert not read_only, target
        for source in sources:
            file = source.rsplit("/", 1)[1]
            if _mounted(service, source)[:2] in holds[file]:
                holds[file].add((volume, f"{inside}/{file}".lstrip("/")))
    assert restarted_after_copy, (reads, holds)
    assert lines[-1] == "docker compose restart mosquitto"


def test_no_command_line_in_compose_carries_the_database_password() -> None:
    """Review 21d L5: `setup`'s --db and `migrate`'s --url carried POSTGRES_PASSWORD on a
    command line (host `ps`, `docker inspect`). Now the URL comes by environment
    (BLDGWATCH_DATABASE_URL, read by `install` and `db-upgrade`)."""
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    for name, service in raw["services"].items():
        for key in ("command", "entrypoint"):
            said = yaml.safe_dump(service.get(key))
            assert "POSTGRES_PASSWORD" not in said, f"{name}.{key}"
    for name in ("setup", "migrate"):
        assert (
            "${POSTGRES_PASSWORD" in raw["services"][name]["environment"]["BLDGWATCH_DATABASE_URL"]
        )


def test_db_upgrade_takes_the_url_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    bldgwatch = Path(sys.executable).parent / "bldgwatch"
    env = {**os.environ, "BLDGWATCH_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run(
        [str(bldgwatch), "db-upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()
