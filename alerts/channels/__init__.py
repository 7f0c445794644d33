"""Channel kinds: e-mail (SMTP), WeCom, DingTalk and Feishu/Lark group robots, a generic JSON
webhook, and SMS through a provider adapter (Alibaba Cloud SMS).

`KINDS` is the registry the service and the console's validation use; each kind names its
settings model, its secrets and its documented rate limits.
"""

from __future__ import annotations

from bldgwatch.alerts.channels.base import Channel, ChannelSettings, SendContext
from bldgwatch.alerts.channels.email import SmtpEmail
from bldgwatch.alerts.channels.robots import DingTalkRobot, FeishuRobot, WeComRobot
from bldgwatch.alerts.channels.sms import SmsChannel
from bldgwatch.alerts.channels.webhook import JsonWebhook

KINDS: dict[str, type[Channel]] = {
    kind.kind: kind
    for kind in (SmtpEmail, WeComRobot, DingTalkRobot, FeishuRobot, JsonWebhook, SmsChannel)
}

__all__ = ["KINDS", "Channel", "ChannelSettings", "SendContext"]
