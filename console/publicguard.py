"""What stands between an anonymous sender and the desk: the honeypot, the request limits
per client address and per request point, the proof of work, the sizes and the phone number.

Order of the checks (`PublicGuard.admit`): the address limit counts every try from the
address (a sender hurts only itself); the honeypot and the proof of work come next; only a
request that passed them counts against its point's limit, so nobody can block a QR code for
its real users without doing the work for every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bldgwatch.console.config import ServiceDeskSettings
from bldgwatch.console.errors import BadParameterError, TooManyAttemptsError, UnprocessableError
from bldgwatch.console.proofofwork import ProofOfWork, ProofRefused
from bldgwatch.console.windowlimit import WindowLimit
from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.config import AttachmentSettings

PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,22}[0-9]$")
"""A phone number: digits with spaces, dashes or brackets, an optional leading +."""
PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic"]
MAX_LOCATION_CHARS = 200


@dataclass(frozen=True, slots=True)
class Sent:
    """The form's fields the guard checks."""

    honeypot: str | None
    challenge: str | None
    solution: str | None
    description: str
    location: str
    phone: str | None


class PublicGuard:
    """The console's abuse protection of the public request form (one per app)."""

    def __init__(
        self, settings: ServiceDeskSettings, *, secret: bytes, clock: Clock, folder: Path
    ) -> None:
        self.settings = settings
        window = timedelta(seconds=settings.window_s)
        self.pow = ProofOfWork(
            secret,
            clock,
            difficulty=settings.pow_difficulty,
            ttl=timedelta(seconds=settings.pow_ttl_s),
        )
        self.by_address = WindowLimit(clock, limit=settings.address_requests, window=window)
        self.by_code = WindowLimit(clock, limit=settings.code_requests, window=window)
        self.photos = AttachmentStore(
            AttachmentSettings(
                folder=folder, max_bytes=settings.max_photo_bytes, types=list(PHOTO_TYPES)
            )
        )

    def admit(self, sent: Sent, *, address: str, code: str) -> None:
        """Raise the problem of the first check the request fails, in the order above."""
        wait = self.by_address.take(address)
        if wait is not None:
            raise TooManyAttemptsError(
                Message("error.request.limit_address", {"wait": str(wait)}), retry_after_s=wait
            )
        if sent.honeypot:
            raise BadParameterError(Message("error.request.honeypot"), param="website")
        try:
            self.pow.spend(sent.challenge, sent.solution)
        except ProofRefused as err:
            if err.retry_after_s is not None:
                raise TooManyAttemptsError(err.message, retry_after_s=err.retry_after_s) from err
            raise BadParameterError(err.message, param="solution") from err
        wait = self.by_code.take(code)
        if wait is not None:
            raise TooManyAttemptsError(
                Message("error.request.limit_code", {"wait": str(wait)}), retry_after_s=wait
            )
        self.check_fields(sent)

    def check_fields(self, sent: Sent) -> None:
        """The description, location and phone (UnprocessableError naming the field)."""
        most = self.settings.max_description_chars
        n = len(sent.description)
        if not sent.description.strip():
            raise UnprocessableError(
                Message("error.request.description_empty"), param="description"
            )
        if n > most:
            params = {"max": most, "n": n}
            raise UnprocessableError(
                Message("error.request.description_long", params), param="description"
            )
        if len(sent.location) > MAX_LOCATION_CHARS:
            params = {"max": MAX_LOCATION_CHARS, "n": len(sent.location)}
            raise UnprocessableError(
                Message("error.request.location_long", params), param="location"
            )
        if sent.phone and not PHONE.fullmatch(sent.phone):
            raise UnprocessableError(Message("error.request.phone"), param="phone")
