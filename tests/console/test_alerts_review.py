"""Review of issue 16: the console's alerting routes attacked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks
from bldgwatch.core.clock import ManualClock
from tests.alerts.seed import BOX, KEY, seed_site
from tests.console.conftest import ClientFactory
from tests.console.seed import add, assets
from tests.console.test_alerts import NOW, _entrapment


@pytest.fixture
def client(
    sqlite_db: Engine, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> TestClient:
    monkeypatch.setenv("BLDGWATCH_ALERTS_KEY", KEY.decode())
    add(sqlite_db, *assets())
    return make_client(sqlite_db, clock=ManualClock(NOW), user="supervisor")


@pytest.mark.parametrize("at", ["9999-12-31T20:00:00Z", "0001-01-01T00:00:00Z"])
def test_on_call_at_the_ends_of_time_is_a_4xx(
    client: TestClient, sqlite_db: Engine, at: str
) -> None:
    """FINDING (medium): `GET /api/alerts/{site}/rotas/{id}/on-call?at=…` takes any aware
    datetime; at the ends of the calendar the rota arithmetic in the site's zone
    (`astimezone`, `date ± 1 day`) overflows and the console answers 500 instead of a
    problem document naming `at`. (A typo'd year in the on-call page's date picker does it.)"""
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    resp = client.get("/api/alerts/demo/rotas/duty/on-call", params={"at": at})
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:200])


def _link_for_li(sqlite_db: Engine) -> str:
    alarm_id, _ = _entrapment(sqlite_db).split()
    with Session(sqlite_db) as session:
        token = acklinks.issue(
            session,
            BOX.link_key,
            alarm_id=alarm_id,
            site="demo",
            contact_id="li",  # li reads English (tests.alerts.seed.PEOPLE)
            message_id=None,
            now=NOW,
            ttl=timedelta(hours=12),
        )
        session.commit()
    return token


def test_a_used_link_answers_in_its_recipients_language(
    client: TestClient, sqlite_db: Engine
) -> None:
    """FINDING (low): every refusal page of `/ack/{token}` is Chinese (`_html("zh-CN", …)`)
    with the English detail inside, whoever the link was sent to. Li reads English; her
    second tap on her link (the first acknowledged) shows `无法使用此链接：this acknowledge
    link was already used at 2026-12-05T19:00:00+00:00` — Chinese frame, English reason, a
    UTC time instead of the site's zone. The issue wants texts in the recipient's language
    (the token's row names the recipient once the signature is good)."""
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    token = _link_for_li(sqlite_db)
    phone = TestClient(client.app)
    first = phone.post(f"/ack/{token}")
    assert first.status_code == 200 and 'lang="en"' in first.text
    again = phone.post(f"/ack/{token}")
    assert again.status_code == 409
    assert 'lang="en"' in again.text, again.text
    assert "+00:00" not in again.text  # the site's zone, as on the first page


def test_a_policy_with_eighty_thousand_globs_is_refused(
    client: TestClient, sqlite_db: Engine
) -> None:
    """FINDING (high): `AlarmMatch` lists (rules, fault codes, equipment types, buildings),
    like a rota's holidays and overrides, have no length limit; only the console's body limit
    stands in the way. A policy with 80,000 distinct rule globs (under the 1 MiB body
    limit) is saved (200), and then `policy_applies` takes ~7 s per alarm on this machine (fnmatch
    compiles every glob; its cache holds 32,768) — on the alerts worker thread, for every
    alarm of the site, so a flood of 1,000 alarms waits hours and the p99 < 2 s promise is
    gone. A pasted or generated list must be refused with a 4xx naming the field."""
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    policy = {
        "id": "huge",
        "match": {"rules": [f"r{i}.*x" for i in range(80_000)]},
        "rota": "duty",
        "steps": [{"after_min": 0, "notify": ["primary"]}],
        "channels": ["ding"],
    }
    resp = client.put("/api/alerts/demo/policies/huge", json=policy)
    assert 400 <= resp.status_code < 500, resp.status_code
