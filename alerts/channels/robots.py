"""Group robots: WeCom (企业微信), DingTalk (钉钉) and Feishu/Lark (飞书), each from its
provider's public documentation of custom group robots ("webhook" robots).

- WeCom group robot: POST `…/cgi-bin/webhook/send?key=KEY`, body
  `{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}`, content at most 2048
  bytes of UTF-8; answer `{"errcode": 0, "errmsg": "ok"}`; at most 20 messages a minute per
  robot (errcode 45009 when exceeded).
- DingTalk custom robot with the "加签" (signature) setting: `timestamp` (ms) and `sign` =
  Base64(HMAC-SHA256(key = secret, message = timestamp + "\\n" + secret)), URL-encoded, as
  query parameters beside `access_token`; body `{"msgtype": "text", "text": {"content"},
  "at": {"atMobiles", "isAtAll"}}` with `@mobile` in the content; answer errcode 0; 20
  messages a minute per robot (errcode 130101 when sent too fast; the robot is then throttled
  for 10 minutes).
- Feishu/Lark custom bot with "签名校验": body `{"timestamp" (s), "sign", "msg_type":
  "text", "content": {"text"}}`, sign = Base64(HMAC-SHA256(key = timestamp + "\\n" + secret,
  message = "")); `<at user_id="ou_…">name</at>` mentions a member; answer `{"code": 0}`;
  100 messages a minute and 5 a second (code 11232 or HTTP 429 when exceeded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from pydantic import Field

from bldgwatch.alerts.channels.base import (
    Channel,
    ChannelSettings,
    clip,
    json_answer,
    now_ms,
    post_json,
)
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError
from bldgwatch.alerts.render import Notice

WECOM_MAX_BYTES = 2048


def fit_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8 without splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a timestamp (before URL encoding)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark's signature of a timestamp: the key is timestamp + "\\n" + secret."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _answer_code(data: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        if key in data:
            try:
                return int(data[key])
            except (TypeError, ValueError):
                return None
    return None


def _checked(data: dict[str, Any], codes: tuple[str, ...], throttled: set[int]) -> str:
    code = _answer_code(data, *codes)
    answer = clip(str(data))
    if code == 0:
        return answer
    if code in throttled:
        raise DeliveryError(f"throttled (code {code})", retryable=True, response=answer)
    raise DeliveryError(f"refused (code {code})", retryable=False, response=answer)


class WeComSettings(ChannelSettings):
    """A WeCom group robot: the webhook's base URL (its key is a secret)."""

    url: str = Field(
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", description="Webhook base URL."
    )


class WeComRobot(Channel):
    """WeCom group robot: text to the group, @-mentioning the contact's mobile."""

    kind = "wecom"
    settings_model = WeComSettings
    secret_names = ("key",)
    required_secrets = ("key",)
    default_limits = ((20, 60.0),)

    def reaches(self, contact: Contact) -> bool:
        return True  # the group reads it; the mention needs a mobile number

    def send(self, notice: Notice, contact: Contact) -> str:
        settings = self.settings
        assert isinstance(settings, WeComSettings)
        text: dict[str, Any] = {"content": fit_utf8(notice.text, WECOM_MAX_BYTES)}
        if contact.phone:
            text["mentioned_mobile_list"] = [contact.phone]
        resp = post_json(
            self.ctx,
            settings.url,
            {"msgtype": "text", "text": text},
            params={"key": self.secrets["key"]},
        )
        return _checked(json_answer(resp), ("errcode",), {45009})


class DingTalkSettings(ChannelSettings):
    """A DingTalk custom robot: the webhook's base URL (access token and signing secret are
    secrets)."""

    url: str = Field("https://oapi.dingtalk.com/robot/send", description="Webhook base URL.")


class DingTalkRobot(Channel):
    """DingTalk custom robot, signed ("加签") when a signing secret is given."""

    kind = "dingtalk"
    settings_model = DingTalkSettings
    secret_names = ("access_token", "sign_secret")
    required_secrets = ("access_token",)
    default_limits = ((20, 60.0),)

    def reaches(self, contact: Contact) -> bool:
        return True

    def send(self, notice: Notice, contact: Contact) -> str:
        settings = self.settings
        assert isinstance(settings, DingTalkSettings)
        params = {"access_token": self.secrets["access_token"]}
        secret = self.secrets.get("sign_secret")
        if secret:
            timestamp = now_ms(self.ctx)
            params |= {"timestamp": str(timestamp), "sign": dingtalk_sign(secret, timestamp)}
        content = notice.text + (f"\n@{contact.phone}" if contact.phone else "")
        body = {
            "msgtype": "text",
            "text": {"content": content},
            "at": {"atMobiles": [contact.phone] if contact.phone else [], "isAtAll": False},
        }
        resp = post_json(self.ctx, settings.url, body, params=params)
        return _checked(json_answer(resp), ("errcode",), {130101})


class FeishuSettings(ChannelSettings):
    """A Feishu or Lark custom bot: the hook's base URL (its token and signing secret are
    secrets); Lark's is https://open.larksuite.com/open-apis/bot/v2/hook/."""

    url: str = Field("https://open.feishu.cn/open-apis/bot/v2/hook/", description="Hook base URL.")


class FeishuRobot(Channel):
    """Feishu/Lark custom bot, signed when a signing secret is given."""

    kind = "feishu"
    settings_model = FeishuSettings
    secret_names = ("hook_token", "sign_secret")
    required_secrets = ("hook_token",)
    default_limits = ((100, 60.0), (5, 1.0))

    def reaches(self, contact: Contact) -> bool:
        return True

    def send(self, notice: Notice, contact: Contact) -> str:
        settings = self.settings
        assert isinstance(settings, FeishuSettings)
        text = notice.text
        if contact.feishu_open_id:
            text = f'<at user_id="{contact.feishu_open_id}">{contact.name}</at>\n{text}'
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        secret = self.secrets.get("sign_secret")
        if secret:
            timestamp = now_ms(self.ctx) // 1000
            body = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}
        url = settings.url.rstrip("/") + "/" + self.secrets["hook_token"]
        resp = post_json(self.ctx, url, body)
        return _checked(json_answer(resp), ("code", "StatusCode"), {11232})
