#!/opt/bldgwatch/bin/python
"""bldgwatch-service: a bldgwatch service as a container runs it, and the image's health probe.

    bldgwatch-service SERVICE [KEY=VALUE ...] [-- MORE ARGUMENTS]
    bldgwatch-service probe [URL]

SERVICE is ingest, rules, maintenance, alerts or console. Its config is the one
`bldgwatch install --root $BLDGWATCH_ROOT` wrote, `$BLDGWATCH_ROOT/etc/bldgwatch/SERVICE.yaml`
(BLDGWATCH_CONFIG names another file). What differs per container is given as KEY=VALUE
(a dotted key, a YAML value; `{pod}` in a value is the host name, i.e. the pod's name):
`instance={pod}` gives each replica its own MQTT session, `metrics_port=9100` opens the
/healthz and /metrics the probes read. The changed config is written to $TMPDIR (0600) and
the service started on it with `exec`, so it is the container's main process and gets its
signals. `SERVICE.env` beside the config (KEY=VALUE lines, what systemd's EnvironmentFile
reads: the console's BLDGWATCH_SECRET) fills variables the environment does not set.

`probe` GETs URL (default: $BLDGWATCH_HEALTH_URL) and exits 0 on 200, 1 otherwise; without
either it exits 0 (a role without a health endpoint is as healthy as it is running).
The image has neither curl nor wget; this is its HEALTHCHECK.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

SERVICES = ("ingest", "rules", "maintenance", "alerts", "console")
USAGE = (
    "usage: bldgwatch-service SERVICE [KEY=VALUE ...] [-- ARGS]\n"
    "       bldgwatch-service probe [URL]\n"
    f"SERVICE: {', '.join(SERVICES)}"
)


class UsageError(Exception):
    """A bad command line or config; the message says what."""


def pod_name(environ: dict[str, str] | os._Environ[str]) -> str:
    """The host name as an MQTT topic level and client id part (letters, digits, - and _)."""
    host = environ.get("HOSTNAME") or os.uname().nodename
    return re.sub(r"[^A-Za-z0-9_-]", "_", host) or "pod"


def apply_overrides(doc: dict[str, Any], pairs: list[str], pod: str) -> dict[str, Any]:
    """`doc` with each KEY=VALUE set (dotted keys reach into mappings)."""
    result: dict[str, Any] = dict(doc)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise UsageError(f"{pair!r}: expected KEY=VALUE (a dotted key)")
        value = yaml.safe_load(raw.replace("{pod}", pod)) if raw else ""
        *parents, leaf = key.split(".")
        node = result
        for part in parents:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[leaf] = value
    return result


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (blank lines and # comments skipped), as systemd's EnvironmentFile."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise UsageError(f"{path}:{number}: expected KEY=VALUE")
        values[key] = value
    return values


def prepare(
    argv: list[str], environ: dict[str, str] | os._Environ[str], tmp: Path
) -> tuple[list[str], dict[str, str]]:
    """The command to exec and its environment for `bldgwatch-service SERVICE ...`."""
    if not argv or argv[0] not in SERVICES:
        raise UsageError(USAGE)
    service, rest = argv[0], argv[1:]
    extra: list[str] = []
    if "--" in rest:
        at = rest.index("--")
        rest, extra = rest[:at], rest[at + 1 :]
    root = Path(environ.get("BLDGWATCH_ROOT", "/srv/bldgwatch"))
    config = Path(environ.get("BLDGWATCH_CONFIG") or root / "etc/bldgwatch" / f"{service}.yaml")
    env = dict(environ)
    env_file = config.with_name(f"{service}.env")
    if env_file.exists():
        for key, value in read_env_file(env_file).items():
            env.setdefault(key, value)
    if rest:
        try:
            doc = yaml.safe_load(config.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise UsageError(f"{config}: cannot read the config: {err}") from err
        if not isinstance(doc, dict):
            raise UsageError(f"{config}: the top level must be a mapping")
        doc = apply_overrides(doc, rest, pod_name(environ))
        tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{service}-", suffix=".yaml", dir=tmp)
        with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
            yaml.safe_dump(doc, out, sort_keys=False, allow_unicode=True)
        config = Path(name)
    return ["bldgwatch", service, "--config", str(config), *extra], env


def probe(url: str | None) -> int:
    """0 when `url` answers 200 (or there is nothing to ask), else 1."""
    if not url:
        return 0
    if not url.startswith(("http://", "https://")):
        print(f"probe: not an http(s) URL: {url!r}", file=sys.stderr)  # noqa: T201
        return 1
    try:
        with urllib.request.urlopen(url, timeout=4) as answer:  # noqa: S310 - checked above
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as err:
        print(f"probe: {url}: {err}", file=sys.stderr)  # noqa: T201
        return 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["probe"]:
        return probe(argv[1] if len(argv) > 1 else os.environ.get("BLDGWATCH_HEALTH_URL"))
    try:
        command, env = prepare(argv, os.environ, Path(tempfile.gettempdir()) / "bldgwatch")
    except UsageError as err:
        print(f"bldgwatch-service: {err}", file=sys.stderr)  # noqa: T201
        return 2
    try:
        os.execvpe(command[0], command, env)  # noqa: S606 - the service replaces this process
    except OSError as err:
        print(f"bldgwatch-service: cannot start {command[0]}: {err}", file=sys.stderr)  # noqa: T201
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
