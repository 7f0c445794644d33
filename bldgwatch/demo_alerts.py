"""The demo's alerting: who is on duty at Demo Tower and how they are reached.

Nothing in the demo reaches the internet: its one enabled channel is a JSON webhook to a
sink the demo runs on loopback (`NoticeSink`), which appends every notice it receives to
`var/demo/notices.jsonl`. A DingTalk robot is set up too, disabled and with its token
referenced from the environment, to show a real channel's shape in the console. The data is
written through the owner's admin functions, as a supervisor's edits in the console are.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bldgwatch.alerts.admin import AlertsAdmin
from bldgwatch.alerts.secrets import SecretBox, write_key_file

logger = logging.getLogger(__name__)

SITE = "demo"
CONTACTS: list[dict[str, Any]] = [
    {"id": "zhang", "name": "张工", "language": "zh-CN", "phone": "13800000001"},
    {"id": "li", "name": "李工", "language": "zh-CN", "phone": "13800000002"},
    {"id": "wang", "name": "Wang Wei", "language": "en", "email": "wang@demo.invalid"},
    {"id": "chen", "name": "陈经理", "language": "zh-CN", "phone": "13800000003"},
]
ROTA: dict[str, Any] = {
    "id": "engineering",
    "name": "工程部值班",
    "shifts": [{"name": "白班", "start": "08:30"}, {"name": "夜班", "start": "20:30"}],
    "cycle": [{"primary": "zhang", "backup": "wang"}, {"primary": "li", "backup": "wang"}],
    "anchor": "2026-01-01",
    "supervisor": "chen",
}
POLICIES: list[dict[str, Any]] = [
    {
        "id": "urgent",
        "name": "P1/P2：值班主责，5 分钟后备班，15 分钟后经理",
        "match": {"priorities": [1, 2]},
        "rota": "engineering",
        "steps": [
            {"after_min": 0, "notify": ["primary"]},
            {"after_min": 5, "notify": ["backup"]},
            {"after_min": 15, "notify": ["supervisor"]},
        ],
        "repeat_every_min": 2,
        "max_repeats": 5,
        "channels": ["local-sink"],
    },
    {
        "id": "routine",
        "name": "P3/P4：通知值班主责一次，夜间免打扰",
        "match": {"priorities": [3, 4]},
        "rota": "engineering",
        "steps": [{"after_min": 0, "notify": ["primary"]}],
        "channels": ["local-sink"],
        "quiet_hours": {"start": "22:00", "end": "07:00", "priorities": [3, 4]},
    },
]


def ensure_key(path: Path) -> Path:
    """The demo's alerts key file, made (mode 0600) when missing."""
    if not path.exists():
        write_key_file(path)
    return path


def seed_alerting(engine: Engine, *, key: bytes, sink_url: str, at: datetime) -> None:
    """Contacts, the rota, the channels and the policies of the demo site (idempotent)."""
    admin = AlertsAdmin(engine, SecretBox(key))
    for contact in CONTACTS:
        admin.save_contact(SITE, contact, actor="demo", at=at)
    admin.save_rota(SITE, ROTA, actor="demo", at=at)
    admin.save_channel(
        SITE,
        "local-sink",
        kind="webhook",
        settings={"url": sink_url},
        secrets=None,
        enabled=True,
        actor="demo",
        at=at,
    )
    admin.save_channel(
        SITE,
        "dingtalk-duty",
        kind="dingtalk",
        settings={},
        enabled=False,
        actor="demo",
        at=at,
        secrets={"access_token": "env:BLDGWATCH_ALERTS_DINGTALK_TOKEN"},
    )
    for position, policy in enumerate(POLICIES):
        admin.save_policy(SITE, policy, actor="demo", at=at, position=position)


class _Handler(BaseHTTPRequestHandler):
    sink: NoticeSink

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.sink.keep(self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


class NoticeSink:
    """A webhook receiver on loopback that appends each notice (one JSON line) to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"sink": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where the channel posts."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/notices"

    def keep(self, body: bytes) -> None:
        """Append one notice."""
        with self._lock, self.path.open("ab") as fh:
            fh.write(body.replace(b"\n", b" ") + b"\n")
            self.count += 1

    def start(self) -> None:
        """Serve in the background."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
