"""Each channel against a local sink: the payload and the signature as the provider
documents them, and how each provider's refusals are read (retry, fall back).

The checks of the signatures are written here from the providers' descriptions, not taken
from the code under test: DingTalk "加签" (HMAC-SHA256 keyed with the secret over
timestamp + "\\n" + secret, Base64, URL-encoded), Feishu "签名校验" (HMAC-SHA256 keyed with
timestamp + "\\n" + secret over nothing, Base64), Alibaba Cloud's RPC signature (its
documented worked example, and a recomputation over the parameters the sink received).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from bldgwatch.alerts.channels import KINDS, Channel, SendContext
from bldgwatch.alerts.channels.email import SmtpSettings
from bldgwatch.alerts.channels.robots import DingTalkSettings, FeishuSettings, WeComSettings
from bldgwatch.alerts.channels.sms import SmsSettings, aliyun_signature
from bldgwatch.alerts.channels.webhook import WebhookSettings
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError
from bldgwatch.alerts.render import Notice
from bldgwatch.core.clock import ManualClock
from tests.alerts.sinks import HttpSink, SmtpSink

NOW = datetime(2026, 12, 5, 19, 0, 5, tzinfo=UTC)
ZHANG = Contact(
    id="zhang", name="张三", phone="13800138000", email="zhang@example.com", feishu_open_id="ou_abc"
)
NOTICE = Notice(
    language="zh-CN",
    subject="【P1 紧急报警】困人（平层关人）",
    text="【P1 紧急报警】困人（平层关人）\n设备：1号客梯 (E-01)\n救援时限：还剩 28 分钟",
    sms_params={
        "priority": "P1",
        "fault": "困人（平层关人）",
        "equipment": "Passenger lift number one in the core shaft (E-01)",
        "time": "12-06 03:00",
        "rescue": "还剩 28 分钟",
        "count": "1",
        "link": "https://c/ack/x",
    },
    alarm_ids=("a1",),
)


@pytest.fixture
def ctx() -> Iterator[SendContext]:
    with httpx.Client() as http:
        yield SendContext(http=http, timeout_s=5, clock=ManualClock(NOW))


def make(
    kind: str, settings: dict[str, object], secrets: dict[str, str], ctx: SendContext
) -> Channel:
    cls = KINDS[kind]
    return cls(f"{kind}-1", cls.settings_model.model_validate(settings), secrets, ctx)


# -- WeCom ---------------------------------------------------------------------------------
def test_wecom_group_robot_payload(http_sink: HttpSink, ctx: SendContext) -> None:
    robot = make(
        "wecom", {"url": f"{http_sink.url}/cgi-bin/webhook/send"}, {"key": "wk-123456"}, ctx
    )
    long_notice = Notice("zh-CN", "s", NOTICE.text + "很长" * 1000, {}, ("a1",))
    robot.send(long_notice, ZHANG)
    (req,) = http_sink.wait(1)
    assert (req.method, req.path, req.query) == (
        "POST",
        "/cgi-bin/webhook/send",
        {"key": "wk-123456"},
    )
    assert req.headers["Content-Type"].startswith("application/json")
    body = req.json()
    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800138000"]
    assert body["text"]["content"].startswith("【P1 紧急报警】")
    assert len(body["text"]["content"].encode("utf-8")) <= 2048  # the documented limit
    assert set(body) == {"msgtype", "text"}


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        ({"errcode": 45009, "errmsg": "freq"}, True),
        ({"errcode": 93000, "errmsg": "bad key"}, False),
    ],
)
def test_wecom_refusals(
    http_sink: HttpSink, ctx: SendContext, answer: dict[str, object], retryable: bool
) -> None:
    http_sink.default = (200, orjson.dumps(answer))
    robot = make("wecom", {"url": f"{http_sink.url}/send"}, {"key": "wk-123456"}, ctx)
    with pytest.raises(DeliveryError) as err:
        robot.send(NOTICE, ZHANG)
    assert err.value.retryable is retryable
    assert str(answer["errcode"]) in err.value.response


# -- DingTalk ------------------------------------------------------------------------------
def test_dingtalk_signed_robot(http_sink: HttpSink, ctx: SendContext) -> None:
    secret = "SEC7f3a9c1e2b4d6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d"
    robot = make(
        "dingtalk",
        {"url": f"{http_sink.url}/robot/send"},
        {"access_token": "dt-abcdef", "sign_secret": secret},
        ctx,
    )
    robot.send(NOTICE, ZHANG)
    (req,) = http_sink.wait(1)
    assert req.path == "/robot/send"
    query = req.query
    assert query["access_token"] == "dt-abcdef"
    timestamp = query["timestamp"]
    assert timestamp == str(int(NOW.timestamp() * 1000))  # milliseconds
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == expected
    raw_sign = re.search(r"sign=([^&]+)", req.raw_query)
    assert raw_sign and urllib.parse.unquote(raw_sign.group(1)) == expected
    assert "+" not in raw_sign.group(1) and "/" not in raw_sign.group(1)  # URL-encoded
    body = req.json()
    assert body["msgtype"] == "text"
    assert body["text"]["content"].endswith("@13800138000")  # the @ must be in the text too
    assert body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}


def test_dingtalk_throttled_is_retryable(http_sink: HttpSink, ctx: SendContext) -> None:
    http_sink.default = (200, b'{"errcode": 130101, "errmsg": "send too fast"}')
    robot = make(
        "dingtalk", {"url": f"{http_sink.url}/robot/send"}, {"access_token": "dt-abcdef"}, ctx
    )
    with pytest.raises(DeliveryError) as err:
        robot.send(NOTICE, ZHANG)
    assert err.value.retryable
    assert "sign" not in http_sink.requests[0].query  # unsigned robot: no signature


# -- Feishu / Lark -------------------------------------------------------------------------
def test_feishu_signed_bot(http_sink: HttpSink, ctx: SendContext) -> None:
    secret = "fs-sign-secret-9876"
    bot = make(
        "feishu",
        {"url": f"{http_sink.url}/open-apis/bot/v2/hook/"},
        {"hook_token": "hk-0011", "sign_secret": secret},
        ctx,
    )
    bot.send(NOTICE, ZHANG)
    (req,) = http_sink.wait(1)
    assert req.path == "/open-apis/bot/v2/hook/hk-0011"
    body = req.json()
    timestamp = body["timestamp"]
    assert timestamp == str(int(NOW.timestamp()))  # seconds
    key = f"{timestamp}\n{secret}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "text"
    assert body["content"]["text"].startswith('<at user_id="ou_abc">张三</at>\n【P1')
    assert set(body) == {"timestamp", "sign", "msg_type", "content"}


@pytest.mark.parametrize(
    ("status", "answer", "retryable"),
    [
        (200, b'{"code": 19021, "msg": "sign match fail"}', False),
        (200, b'{"code": 11232, "msg": "frequency limited"}', True),
        (429, b'{"code": 9499}', True),
        (503, b"upstream down", True),
    ],
)
def test_feishu_refusals(
    http_sink: HttpSink, ctx: SendContext, status: int, answer: bytes, retryable: bool
) -> None:
    http_sink.default = (status, answer)
    bot = make("feishu", {"url": f"{http_sink.url}/hook/"}, {"hook_token": "hk-0011"}, ctx)
    with pytest.raises(DeliveryError) as err:
        bot.send(NOTICE, ZHANG)
    assert err.value.retryable is retryable


# -- generic webhook -----------------------------------------------------------------------
def test_json_webhook_signed(http_sink: HttpSink, ctx: SendContext) -> None:
    hook = make(
        "webhook", {"url": f"{http_sink.url}/alerts"}, {"signing_secret": "wh-secret-42"}, ctx
    )
    answer = hook.send(NOTICE, ZHANG)
    (req,) = http_sink.wait(1)
    assert answer.startswith("HTTP 200")
    timestamp = req.headers["X-Bldgwatch-Timestamp"]
    mac = hmac.new(
        b"wh-secret-42", timestamp.encode() + b"." + req.body, hashlib.sha256
    ).hexdigest()
    assert req.headers["X-Bldgwatch-Signature"] == f"sha256={mac}"
    body = req.json()
    assert body["kind"] == "bldgwatch.alert" and body["alarms"] == ["a1"]
    assert body["recipient"]["phone"] == "13800138000"
    assert body["text"] == NOTICE.text


# -- SMS: Alibaba Cloud --------------------------------------------------------------------
def test_aliyun_signature_matches_the_documented_example() -> None:
    """The worked example of Alibaba Cloud's SMS documentation ("签名机制"): these parameters
    and AccessKeySecret `testSecret` sign to zJDF+Lrzhj/ThnlvIToysFRq6t4=."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def _rpc_signature(params: dict[str, str], secret: str) -> str:
    """The signature as the documentation describes it, written again for the check."""

    def enc(text: str) -> str:
        return urllib.parse.quote(text, safe="~").replace("%7E", "~")

    canonical = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    to_sign = "GET&%2F&" + enc(canonical)
    return base64.b64encode(
        hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()


SMS = {
    "endpoint": "",
    "access_key_id": "LTAI-test",
    "sign_name": "示例物业",
    "templates": {"zh-CN": "SMS_100000001", "en": "SMS_100000002"},
    "template_params": ["priority", "fault", "equipment", "rescue", "link"],
    "param_max_chars": 20,
}


def test_aliyun_send_sms_request(http_sink: HttpSink, ctx: SendContext) -> None:
    sms = make(
        "sms", {**SMS, "endpoint": f"{http_sink.url}/"}, {"access_key_secret": "ak-secret-xyz"}, ctx
    )
    answer = sms.send(NOTICE, ZHANG)
    (req,) = http_sink.wait(1)
    assert "'Code': 'OK'" in answer
    assert req.method == "GET" and req.path == "/"
    query = req.query
    signature = query.pop("Signature")
    assert signature == _rpc_signature(query, "ak-secret-xyz")
    assert {
        k: query[k] for k in ("Action", "Version", "SignatureMethod", "SignatureVersion", "Format")
    } == {
        "Action": "SendSms",
        "Version": "2017-05-25",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Format": "JSON",
    }
    assert query["Timestamp"] == "2026-12-05T19:00:05Z"
    assert (query["PhoneNumbers"], query["SignName"], query["TemplateCode"]) == (
        "13800138000",
        "示例物业",
        "SMS_100000001",  # the recipient's language
    )
    assert orjson.loads(query["TemplateParam"]) == {
        "priority": "P1",
        "fault": "困人（平层关人）",
        "equipment": "Passenger lift numbe",  # cut to param_max_chars
        "rescue": "还剩 28 分钟",
        "link": "https://c/ack/x",
    }
    assert "%20" in req.raw_query and "+" not in req.raw_query  # RFC 3986 encoding


@pytest.mark.parametrize(
    ("code", "retryable", "retry_after"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", True, 60.0),
        ("isv.MOBILE_NUMBER_ILLEGAL", False, None),
        ("isp.SYSTEM_ERROR", True, None),
    ],
)
def test_aliyun_refusals(
    http_sink: HttpSink, ctx: SendContext, code: str, retryable: bool, retry_after: float | None
) -> None:
    http_sink.default = (200, orjson.dumps({"Code": code, "Message": "no"}))
    sms = make(
        "sms", {**SMS, "endpoint": f"{http_sink.url}/"}, {"access_key_secret": "ak-secret-xyz"}, ctx
    )
    with pytest.raises(DeliveryError) as err:
        sms.send(NOTICE, ZHANG)
    assert (err.value.retryable, err.value.retry_after) == (retryable, retry_after)


def test_sms_needs_a_mobile_number(ctx: SendContext) -> None:
    sms = make("sms", {**SMS, "endpoint": "http://127.0.0.1:9/"}, {"access_key_secret": "x"}, ctx)
    assert not sms.reaches(Contact(id="x", name="X"))
    assert sms.reaches(ZHANG)


# -- e-mail --------------------------------------------------------------------------------
def test_email_through_a_real_smtp_server(smtp_sink: SmtpSink, ctx: SendContext) -> None:
    mail = make(
        "email",
        {
            "host": "127.0.0.1",
            "port": smtp_sink.port,
            "security": "none",
            "allow_plain_login": True,  # the sink is a relay on this machine
            "username": "alerts",
            "sender": "duty@example.com",
        },
        {"password": "smtp-pass-123"},
        ctx,
    )
    answer = mail.send(NOTICE, ZHANG)
    (got,) = smtp_sink.wait(1)
    assert answer.startswith("250")
    assert smtp_sink.logins == ["alerts"]
    assert got.recipients == ["zhang@example.com"]
    assert got.message["Subject"] == NOTICE.subject
    assert "张三" in got.message["To"]
    assert got.message.get_content().replace("\r\n", "\n").rstrip("\n") == NOTICE.text


@pytest.mark.parametrize(
    ("reply", "retryable"), [("550 no such user", False), ("451 try later", True)]
)
def test_email_refusals(smtp_sink: SmtpSink, ctx: SendContext, reply: str, retryable: bool) -> None:
    smtp_sink.refuse = reply
    mail = make(
        "email",
        {
            "host": "127.0.0.1",
            "port": smtp_sink.port,
            "security": "none",
            "sender": "d@example.com",
        },
        {},
        ctx,
    )
    with pytest.raises(DeliveryError) as err:
        mail.send(NOTICE, ZHANG)
    assert err.value.retryable is retryable
    assert mail.reaches(ZHANG) and not mail.reaches(Contact(id="x", name="X"))


def test_settings_of_each_kind_are_checked() -> None:
    for kind, settings in (
        ("wecom", WeComSettings),
        ("dingtalk", DingTalkSettings),
        ("feishu", FeishuSettings),
        ("webhook", WebhookSettings),
        ("sms", SmsSettings),
        ("email", SmtpSettings),
    ):
        assert KINDS[kind].settings_model is settings
    with pytest.raises(ValueError, match="template_params"):
        SmsSettings.model_validate({**SMS, "template_params": ["bogus"]})


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"security": "none", "username": "alerts"}, "username"),
        ({"security": "none", "username": "alerts", "allow_plain_login": False}, "username"),
        (
            {"host": "mail.example.com", "security": "none", "allow_plain_login": True},
            "allow_plain_login",
        ),
        ({"host": "10.0.0.5", "allow_plain_login": True, "username": "a"}, "allow_plain_login"),
    ],
)
def test_a_login_in_clear_is_refused_naming_the_field(
    settings: dict[str, object], field: str
) -> None:
    """A password never goes over a plain connection, except to a relay on this machine
    when `allow_plain_login` says so."""
    with pytest.raises(ValueError) as err:
        SmtpSettings.model_validate({"host": "127.0.0.1", "sender": "d@example.com", **settings})
    assert [e["loc"] for e in err.value.errors()] == [(field,)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "settings",
    [
        {"security": "starttls", "username": "alerts"},
        {"security": "tls", "username": "alerts"},
        {"security": "none"},  # no login: nothing secret on the wire
        {"security": "none", "username": "alerts", "allow_plain_login": True},
        {"host": "::1", "security": "none", "username": "a", "allow_plain_login": True},
        {"host": "localhost", "security": "none", "username": "a", "allow_plain_login": True},
    ],
)
def test_logins_over_tls_or_to_a_local_relay_are_accepted(settings: dict[str, object]) -> None:
    parsed = SmtpSettings.model_validate(
        {"host": "127.0.0.1", "sender": "d@example.com", **settings}
    )
    assert parsed.username == settings.get("username")
