"""SMS through a provider adapter. One provider is implemented: Alibaba Cloud SMS (阿里云短信,
Dysmsapi `SendSms`, API version 2017-05-25), from its public documentation.

The call is an RPC-style GET to the endpoint with the common parameters (AccessKeyId,
Action, Format, RegionId, SignatureMethod=HMAC-SHA1, SignatureNonce, SignatureVersion=1.0,
Timestamp in UTC `yyyy-MM-ddTHH:mm:ssZ`, Version) and SendSms's own (PhoneNumbers, SignName,
TemplateCode, TemplateParam as JSON). The signature ("signature mechanism for RPC APIs"):
sort the parameters by name, percent-encode names and values (RFC 3986: only A–Z a–z 0–9
- _ . ~ unencoded, space as %20), join as `name=value` with `&`; the string to sign is
`GET&%2F&` + percent-encode(that query); Signature = Base64(HMAC-SHA1(AccessKeySecret + "&",
string to sign)). The answer is `{"Code": "OK", "BizId", "RequestId", "Message"}`.

Chinese SMS go out only through a template approved in advance, so a message is the
template's code plus its variables: the notice's SMS parameters (priority, fault, equipment,
time, rescue, count, link), of which the channel sends those its template names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import ClassVar, Literal, Protocol

import httpx
import orjson
from pydantic import Field, field_validator

from bldgwatch.alerts.channels.base import (
    Channel,
    ChannelSettings,
    SendContext,
    check_status,
    clip,
    json_answer,
)
from bldgwatch.alerts.documents import Contact, Language
from bldgwatch.alerts.errors import DeliveryError
from bldgwatch.alerts.render import Notice

SMS_PARAMS = ("priority", "fault", "equipment", "time", "rescue", "count", "link")


class SmsSettings(ChannelSettings):
    """An SMS provider account: the templates per language and what they take."""

    provider: Literal["aliyun"] = Field("aliyun", description="The provider adapter.")
    endpoint: str = Field("https://dysmsapi.aliyuncs.com/", description="API endpoint.")
    region: str = Field("cn-hangzhou", description="RegionId.")
    access_key_id: str = Field(description="AccessKey ID (its secret is a channel secret).")
    sign_name: str = Field(description="Approved SMS signature (签名), e.g. the company name.")
    templates: dict[Language, str] = Field(
        description="Approved template code per language, e.g. {zh-CN: SMS_123456789}."
    )
    template_params: list[str] = Field(
        default_factory=lambda: ["priority", "fault", "equipment", "time", "rescue"],
        description=f"Variables the templates take, of: {', '.join(SMS_PARAMS)}.",
    )
    param_max_chars: int = Field(
        35, ge=1, le=500, description="Longest value of one variable the provider accepts."
    )

    @field_validator("template_params")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SMS_PARAMS))
        if unknown:
            raise ValueError(f"unknown template variables {unknown}; known: {SMS_PARAMS}")
        return value

    @field_validator("templates")
    @classmethod
    def _some(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("give at least one template")
        return value


def percent_encode(value: str) -> str:
    """Alibaba Cloud's percent-encoding (RFC 3986 unreserved characters left as they are)."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    """The RPC signature of a request's parameters (before URL encoding)."""
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class SmsProvider(Protocol):
    """What an SMS provider adapter does: send one templated message to one number."""

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> str:
        """Send; return the provider's answer. DeliveryError when refused."""
        ...


_THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"}
_PROVIDER_FAULTS = {"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError"}


class AliyunSms:
    """Alibaba Cloud SMS `SendSms` (RPC API, signature version 1.0)."""

    def __init__(self, settings: SmsSettings, secret: str, ctx: SendContext) -> None:
        self._settings = settings
        self._secret = secret
        self._ctx = ctx

    def request_params(
        self, phone: str, template: str, params: Mapping[str, str]
    ) -> dict[str, str]:
        """Every parameter of the request but the signature."""
        return {
            "AccessKeyId": self._settings.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self._settings.region,
            "SignName": self._settings.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": orjson.dumps(dict(params)).decode(),
            "Timestamp": self._ctx.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> str:
        request = self.request_params(phone, template, params)
        signature = aliyun_signature(request, self._secret)
        query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in request.items())
        url = f"{self._settings.endpoint}?Signature={percent_encode(signature)}&{query}"
        try:
            resp = self._ctx.http.get(url, timeout=self._ctx.timeout_s)
        except httpx.HTTPError as err:
            raise DeliveryError(f"{type(err).__name__}", retryable=True) from err
        if resp.status_code >= 500:
            check_status(resp)
        data = json_answer(resp)
        code = str(data.get("Code", ""))
        answer = clip(str(data))
        if code == "OK":
            return answer
        if code in _THROTTLED:
            raise DeliveryError(code, retryable=True, response=answer, retry_after=60.0)
        raise DeliveryError(
            code or f"HTTP {resp.status_code}", retryable=code in _PROVIDER_FAULTS, response=answer
        )


class SmsChannel(Channel):
    """SMS to the contact's mobile number through the configured provider."""

    kind = "sms"
    settings_model = SmsSettings
    secret_names = ("access_key_secret",)
    required_secrets = ("access_key_secret",)
    providers: ClassVar[dict[str, type[AliyunSms]]] = {"aliyun": AliyunSms}

    def reaches(self, contact: Contact) -> bool:
        return bool(contact.phone)

    def send(self, notice: Notice, contact: Contact) -> str:
        settings = self.settings
        assert isinstance(settings, SmsSettings)
        by_language = {str(k): v for k, v in settings.templates.items()}
        template = by_language.get(notice.language) or next(iter(by_language.values()))
        params = {
            name: notice.sms_params.get(name, "")[: settings.param_max_chars]
            for name in settings.template_params
        }
        provider = self.providers[settings.provider](
            settings, self.secrets["access_key_secret"], self.ctx
        )
        return provider.send(contact.phone or "", template, params)
