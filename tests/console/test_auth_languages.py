"""Sign-in, password-policy and session refusals in the reader's language (issue 14: every
problem document through the catalogue). The suite's client reads English; these requests
ask for zh-CN."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.policy import ZXCVBN_WARNINGS, guess_warning
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.i18n import Message
from tests.console.conftest import PASSWORD, ClientFactory
from tests.console.seed import T0
from tests.console.support import assert_problem

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    return make_client(sqlite_db, clock=ManualClock(T0), user=None)


def _login(client: TestClient, user: str) -> dict[str, str]:
    resp = client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    tokens: dict[str, str] = resp.json()
    return tokens


def _as(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def test_a_bad_login_is_refused_in_chinese(client: TestClient) -> None:
    data = {"username": "viewer", "password": "wrong password"}
    zh = client.post("/api/auth/token", data=data, headers=ZH)
    body = assert_problem(zh, 401, "用户名或密码错误")
    assert "wrong" not in body["detail"]
    en = client.post("/api/auth/token", data=data, headers={"Accept-Language": "en"})
    assert_problem(en, 401, "wrong user name or password")


def test_a_weak_password_is_refused_in_chinese(client: TestClient) -> None:
    admin = _login(client, "admin")["access_token"]
    body = {"name": "li.wei", "password": " " * 12, "roles": ["technician"], "sites": ["demo"]}
    blank = client.post("/api/users", json=body, headers=_as(admin, **ZH))
    assert_problem(blank, 400, "密码不能只由空格或其他空白字符组成")
    guessable = {**body, "password": "password123"}
    common = client.post("/api/users", json=guessable, headers=_as(admin, **ZH))
    found = assert_problem(
        common, 400, "密码太容易被猜中（这是一个非常常用的密码；", "至少需要 10^8 次"
    )
    assert "common" not in found["detail"]  # zxcvbn's English warning is translated too
    assert found["errors"][0]["name"] == "password"
    english = client.post("/api/users", json=guessable, headers=_as(admin))
    assert_problem(english, 400, "password is too easy to guess")


def test_an_ended_session_is_refused_in_chinese(client: TestClient) -> None:
    tokens = _login(client, "viewer")
    out = client.post("/api/auth/logout", headers=_as(tokens["access_token"]))
    assert out.status_code == 200, out.text
    sid = tokens["session_id"]
    after = client.get("/api/alarms", headers=_as(tokens["access_token"], **ZH))
    assert_problem(after, 401, f"会话 {sid} 已结束（已退出登录）：请重新登录")
    refresh = client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=ZH
    )
    assert_problem(refresh, 401, f"会话 {sid} 已结束（已退出登录）")


def test_no_credentials_and_a_too_eager_login_are_refused_in_chinese(client: TestClient) -> None:
    assert_problem(client.get("/api/alarms", headers=ZH), 401, "需要登录")
    for _ in range(5):
        client.post("/api/auth/token", data={"username": "viewer", "password": "nope"})
    data = {"username": "viewer", "password": PASSWORD}
    blocked = client.post("/api/auth/token", data=data, headers=ZH)
    assert_problem(blocked, 429, "viewer 登录失败次数过多；请在 1 秒后重试")


def test_every_zxcvbn_warning_has_its_text_in_both_languages() -> None:
    for warning, slug in ZXCVBN_WARNINGS.items():
        message = guess_warning(warning)
        assert message == Message(f"policy.why.{slug}")
        assert message.render("en") == warning[0].lower() + warning[1:]
        assert message.render("zh-CN") != message.render("en")
    assert guess_warning("Something new from zxcvbn") == "something new from zxcvbn"


def test_the_request_limits_answer_in_chinese(client: TestClient) -> None:
    """The limits in front of every route read Accept-Language themselves (no route ran)."""
    admin = _as(_login(client, "admin")["access_token"], **ZH)
    big = b"x" * (2 * 1024 * 1024)
    json_type = {"content-type": "application/json"}
    declared = client.post("/api/users", content=big, headers={**admin, **json_type})
    assert_problem(declared, 413, "请求体超过 1048576 字节")
    assert declared.json()["title"] == "内容过大"  # review 19c-r L5: was "Content Too Large"
    deep = b"[" * 100 + b"]" * 100
    nested = client.post("/api/alarms/a1/comments", content=deep, headers={**admin, **json_type})
    assert_problem(nested, 400, "JSON 请求体嵌套超过 32 层")
