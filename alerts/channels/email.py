"""E-mail through an SMTP server (the standard library's smtplib): plain text, UTF-8."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from bldgwatch.alerts.channels.base import Channel, ChannelSettings, clip
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError
from bldgwatch.alerts.render import Notice


class SmtpSettings(ChannelSettings):
    """The mail server and the sender (the login password is a secret)."""

    host: str = Field(description="SMTP host.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS).")
    security: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="none, starttls (upgrade) or tls (implicit, port 465)."
    )
    allow_plain_login: bool = Field(
        False,
        description="Log in over an unencrypted connection (security none); only for a relay "
        "on this machine (host 127.0.0.1, ::1 or localhost), whose traffic never leaves it.",
    )
    username: str | None = Field(
        None,
        description="Login user, if the server needs one; the login needs security starttls "
        "or tls (see allow_plain_login).",
    )
    sender: str = Field(description="From address.")
    sender_name: str = Field("bldgwatch", description="From name.")

    @field_validator("allow_plain_login")
    @classmethod
    def _loopback_only(cls, allow: bool, info: ValidationInfo) -> bool:
        host = info.data.get("host")
        if allow and host is not None and not _loopback(host):
            raise ValueError(
                f"a plain login is allowed only to a relay on this machine, not {host!r}"
            )
        return allow

    @field_validator("username")
    @classmethod
    def _login_encrypted(cls, username: str | None, info: ValidationInfo) -> str | None:
        security = info.data.get("security")
        if username and security == "none" and not info.data.get("allow_plain_login"):
            raise ValueError(
                "a login over security none would send the password in clear: use starttls "
                "or tls (or allow_plain_login for a relay on this machine)"
            )
        return username


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpEmail(Channel):
    """One message per recipient to the contact's e-mail address."""

    kind = "email"
    settings_model = SmtpSettings
    secret_names = ("password",)

    def reaches(self, contact: Contact) -> bool:
        return bool(contact.email)

    def _message(self, notice: Notice, contact: Contact) -> EmailMessage:
        settings = self.settings
        assert isinstance(settings, SmtpSettings)
        msg = EmailMessage()
        msg["From"] = formataddr((settings.sender_name, settings.sender))
        msg["To"] = formataddr((contact.name, contact.email or ""))
        msg["Subject"] = notice.subject
        msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
        msg.set_content(notice.text, charset="utf-8")
        return msg

    def send(self, notice: Notice, contact: Contact) -> str:
        settings = self.settings
        assert isinstance(settings, SmtpSettings)
        message = self._message(notice, contact)
        timeout = self.ctx.timeout_s
        try:
            if settings.security == "tls":
                context = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
            with smtp:
                if settings.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, self.secrets.get("password", ""))
                refused = smtp.send_message(message)
        except smtplib.SMTPResponseException as err:
            said = err.smtp_error
            text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
            answer = clip(f"{err.smtp_code} {text}")
            raise DeliveryError(
                f"SMTP {err.smtp_code}", retryable=400 <= err.smtp_code < 500, response=answer
            ) from err
        except smtplib.SMTPRecipientsRefused as err:
            # A 4xx refusal (mailbox busy, greylisting) may pass later; a 5xx will not.
            later = all(400 <= code < 500 for code, _ in err.recipients.values())
            raise DeliveryError(
                "recipient refused", retryable=later, response=clip(str(err.recipients))
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"{type(err).__name__}: {err}", retryable=True) from err
        if refused:
            raise DeliveryError("recipient refused", retryable=False, response=clip(str(refused)))
        return clip(f"250 accepted {message['Message-ID']}")
