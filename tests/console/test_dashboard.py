"""The dashboard page: served at /, with local assets only, labels in English and Chinese."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from sqlalchemy import Engine

from bldgwatch.core.models import AlarmState
from tests.console.conftest import ClientFactory


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.refs.append(value)
            if name == "data-label" and value:
                self.labels.add(value)


def test_page_uses_only_local_assets(sqlite_db: Engine, make_client: ClientFactory) -> None:
    client = make_client(sqlite_db)
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    parser = _Refs()
    parser.feed(resp.text)
    assets = [r for r in parser.refs if r.startswith("/static/")]
    assert len(assets) >= 2  # stylesheet and script
    for ref in parser.refs:
        if ref.startswith("#"):  # views of the page itself
            continue
        assert ref.startswith("/") and not ref.startswith("//"), ref
        assert client.get(ref).status_code == 200, ref
    script = client.get("/static/app.js").text + client.get("/static/views.js").text
    assert not re.search(r"https?://|//cdn", script)
    assert "/api/alarms?open=true" in script and "/api/work-orders?open=true" in script
    assert "/vendor/uPlot.iife.min.js" in script  # the charting library, from npm


def test_labels_cover_the_page_in_both_languages(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    client = make_client(sqlite_db)
    source = client.get("/static/labels.js").text
    labels = json.loads(source.split("BW_LABELS =", 1)[1].strip().rstrip(";"))
    assert set(labels) == {"en", "zh"}
    assert set(labels["en"]) == set(labels["zh"])
    parser = _Refs()
    parser.feed(client.get("/").text)
    assert parser.labels <= set(labels["en"])
    script = client.get("/static/app.js").text + client.get("/static/views.js").text
    for key in set(re.findall(r'\bt\("([a-z_]+)"', script)):
        assert key in labels["en"], key
    assert json.dumps(labels["zh"], ensure_ascii=False).count("报警") >= 2
    for alarm_state in AlarmState:
        assert f"alarm_{alarm_state.value}" in labels["en"]


def test_charting_library_is_served_from_node_modules(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    client = make_client(sqlite_db, user=None)
    resp = client.get("/vendor/uPlot.iife.min.js")
    assert resp.status_code == 200, "run `npm ci` in console/web"
    assert "uPlot" in resp.text[:5000]
    assert client.get("/vendor/uPlot.min.css").status_code == 200
    missing = client.get("/vendor/jquery.js")
    assert missing.status_code == 404
