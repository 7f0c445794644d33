"""The web application: built by `make web` into console/web/dist and served by the console
with local assets only, the right caching, and index.html for every page path; the API docs
(/docs, /redoc) load nothing from the internet."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.routers import dashboard
from bldgwatch.core.models import AlarmState
from tests.console.conftest import ClientFactory

WEB = Path(__file__).resolve().parents[2] / "console" / "web"


class _Refs(HTMLParser):
    """Every URL a page loads: src and href attributes, and url(...) in inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.refs.append(value)

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _refs(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    if not (dashboard.DIST_DIR / "index.html").is_file():
        pytest.fail(f"the web application is not built in {dashboard.DIST_DIR}: run `make web`")
    return make_client(sqlite_db, user=None)


def test_page_uses_only_local_assets(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "no-cache"  # a new build shows at the next load
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    refs = _refs(resp.text).refs
    assets = [r for r in refs if r.startswith("/assets/")]
    assert any(r.endswith(".js") for r in assets) and any(r.endswith(".css") for r in assets)
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        got = client.get(ref)
        assert got.status_code == 200, ref
        if ref.startswith("/assets/"):  # named by content hash
            assert got.headers["cache-control"] == "public, max-age=31536000, immutable", ref
    chunks = [f"/assets/{p.name}" for p in (dashboard.DIST_DIR / "assets").glob("*.js")]
    bundle = "".join(client.get(r).text for r in chunks)  # the pages load lazily
    assert "/api/alarms" in bundle and "/api/work-orders" in bundle and "/api/live" in bundle


def test_client_routes_get_the_application(client: TestClient) -> None:
    index = client.get("/").text
    for path in ("/alarms", "/board", "/work-orders/12", "/equipment/demo/P-01", "/my-work"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.text == index, path
        assert resp.headers["cache-control"] == "no-cache"
    assert client.get("/favicon.svg").headers["content-type"].startswith("image/svg")


def test_the_service_worker_keeps_the_built_application_and_no_api(client: TestClient) -> None:
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert worker.headers["cache-control"] == "no-cache"  # a new build replaces it at once
    listed = re.search(r"const FILES = (\[.*?\]);", worker.text)
    assert listed is not None
    files = json.loads(listed.group(1))
    built = sorted(f"/assets/{p.name}" for p in (dashboard.DIST_DIR / "assets").iterdir())
    assert [f for f in files if f.startswith("/assets/")] == built
    assert not [f for f in files if f.startswith(("/api", "/vendor")) or f == "/index.html"]
    assert re.search(r'const VERSION = "[0-9a-f]{16}";', worker.text)


def test_missing_files_and_api_paths_are_404_problems(client: TestClient) -> None:
    paths = ("/assets/missing-abc123.js", "/vendor/jquery.js", "/nothing.js", "/api/nope")
    for path in paths:
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "html" not in resp.headers["content-type"], path
    scrape = client.get("/metrics")  # the live stream's counters for Prometheus, never a page
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    assert "bldgwatch_console_" in scrape.text
    assert client.post("/api/nope").status_code == 404  # the fallback never shadows the API
    assert client.post("/alarms").status_code == 405


def test_unbuilt_application_is_a_clear_503(
    sqlite_db: Engine, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dashboard, "DIST_DIR", tmp_path)
    resp = make_client(sqlite_db, user=None).get("/alarms")
    assert resp.status_code == 503
    assert "make web" in resp.json()["detail"]


def test_charting_libraries_are_bundled_from_npm(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    names = {p.name for p in (dashboard.DIST_DIR / "assets").glob("*.js")}
    assert any(n.startswith("echarts-") for n in names), names
    trend = next((dashboard.DIST_DIR / "assets").glob("EquipmentView-*.js")).read_text()
    assert "uPlot" in trend or "u-legend" in trend  # uPlot is compiled into the trend page


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_everything_from_the_console(client: TestClient, page: str) -> None:
    resp = client.get(page)
    assert resp.status_code == 200
    # the browser may fetch only from the console (ReDoc's sidebar logo would come from a CDN)
    policy = resp.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "http" not in policy and "*" not in policy
    html = resp.text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html
    refs = _refs(html).refs
    assert len(refs) >= 2 if page == "/docs" else len(refs) >= 1  # script (and style), icon
    for ref in refs:
        got = client.get(ref)
        assert got.status_code == 200, ref
        assert len(got.content) > 0, ref
    scripts = "".join(_refs(html).scripts)
    assert "/openapi.json" in scripts or "/openapi.json" in html
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "bldgwatch console"


def test_alarm_states_of_the_ui_match_the_domain() -> None:
    # The UI's list of states (each labelled in both catalogues, checked by vitest).
    source = (WEB / "src" / "alarms.ts").read_text(encoding="utf-8")
    block = source.split("export const ALARM_STATES = [", 1)[1].split("]", 1)[0]
    assert set(re.findall(r'"([a-z_]+)"', block)) == {s.value for s in AlarmState}
