"""A generic JSON webhook: the notice as a JSON document, signed with HMAC-SHA256 when the
channel has a signing secret.

Body: `{"schema": 1, "kind": "bldgwatch.alert", "language", "subject", "text", "alarms",
"recipient": {"id", "name", "email", "phone"}, "params"}`. With a secret, the headers
`X-Bldgwatch-Timestamp` (seconds) and `X-Bldgwatch-Signature: sha256=<hex>` carry
HMAC-SHA256(secret, timestamp + "." + body), so the receiver can check origin and age.
Any 2xx answer is a delivery.
"""

from __future__ import annotations

import hashlib
import hmac

import orjson
from pydantic import Field

from bldgwatch.alerts.channels.base import Channel, ChannelSettings, clip, now_ms, post_json
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.render import Notice


def webhook_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """The `X-Bldgwatch-Signature` value of a body sent at `timestamp_s`."""
    message = str(timestamp_s).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class WebhookSettings(ChannelSettings):
    """Where to POST."""

    url: str = Field(description="The receiver's URL (http or https).")


class JsonWebhook(Channel):
    """POSTs each notice as JSON to one URL."""

    kind = "webhook"
    settings_model = WebhookSettings
    secret_names = ("signing_secret",)

    def reaches(self, contact: Contact) -> bool:
        return True

    def send(self, notice: Notice, contact: Contact) -> str:
        settings = self.settings
        assert isinstance(settings, WebhookSettings)
        body = orjson.dumps(
            {
                "schema": 1,
                "kind": "bldgwatch.alert",
                "language": notice.language,
                "subject": notice.subject,
                "text": notice.text,
                "alarms": list(notice.alarm_ids),
                "recipient": {
                    "id": contact.id,
                    "name": contact.name,
                    "email": contact.email,
                    "phone": contact.phone,
                },
                "params": notice.sms_params,
            }
        )
        headers = {}
        secret = self.secrets.get("signing_secret")
        if secret:
            timestamp = now_ms(self.ctx) // 1000
            headers = {
                "X-Bldgwatch-Timestamp": str(timestamp),
                "X-Bldgwatch-Signature": webhook_signature(secret, timestamp, body),
            }
        resp = post_json(self.ctx, settings.url, body, headers=headers)
        return clip(f"HTTP {resp.status_code} {resp.text}")
