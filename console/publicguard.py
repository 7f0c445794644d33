"""What stands between an anonymous sender and the desk: the honeypot, the request limits
per client address and per request point, the proof of work, the sizes and the phone number.

Order of the checks (`PublicGuard.admit`): the address limit counts every try from the
address group (an IPv6 /64 counts as one address; a sender hurts only itself); the honeypot
and the proof of work come next, then the point's limit is checked, then the fields. The
point's limit counts only requests that were stored (`PublicGuard.taken`), and the proof is
spent only when the request passed every check (`PublicGuard.spend`, after the photo): requests
that are refused cannot fill a QR code's limit nor the spent-challenge set.
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
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.config import AttachmentSettings

PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,22}[0-9]$")
"""A phone number: digits with spaces, dashes or brackets, an optional leading +."""
PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"]
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
        """Raise the problem of the first check the request fails, in the order above;
        counts the try against `address` (the client's address group), nothing else."""
        wait = self.by_address.take(address)
        if wait is not None:
            raise TooManyAttemptsError(
                Message("error.request.limit_address", {"wait": str(wait)}), retry_after_s=wait
            )
        if sent.honeypot:
            raise BadParameterError(Message("error.request.honeypot"), param="website")
        self._proof(sent, address=address, code=code, spend=False)
        wait = self.by_code.wait_s(code)
        if wait is not None:
            raise TooManyAttemptsError(
                Message("error.request.limit_code", {"wait": str(wait)}), retry_after_s=wait
            )
        self.check_fields(sent)

    def spend(self, sent: Sent, *, address: str, code: str) -> None:
        """Spend the request's proof of work, once it passed every check."""
        self._proof(sent, address=address, code=code, spend=True)

    def taken(self, code: str) -> None:
        """Count a stored request against its point's limit."""
        self.by_code.note(code)

    def _proof(self, sent: Sent, *, address: str, code: str, spend: bool) -> None:
        act = self.pow.spend if spend else self.pow.check
        try:
            act(sent.challenge, sent.solution, code=code, client=address)
        except ProofRefused as err:
            raise BadParameterError(err.message, param=err.field) from err

    def check_fields(self, sent: Sent) -> None:
        """The description, location and phone (UnprocessableError naming the field)."""
        most = self.settings.max_description_chars
        n = len(sent.description)
        if blank(sent.description):
            raise UnprocessableError(
                Message("error.request.description_empty"), param="description"
            )
        if n > most:
            params = {"max": most, "n": n}
            raise UnprocessableError(
                Message("error.request.description_long", params), param="description"
            )
        if sent.location and blank(sent.location):
            raise UnprocessableError(Message("error.text.blank"), param="location")
        hidden = first_hidden(sent.location)
        if hidden is not None:
            found = Message("error.text.hidden", {"code": hidden})
            raise UnprocessableError(found, param="location")
        if len(sent.location) > MAX_LOCATION_CHARS:
            params = {"max": MAX_LOCATION_CHARS, "n": len(sent.location)}
            raise UnprocessableError(
                Message("error.request.location_long", params), param="location"
            )
        if sent.phone and not PHONE.fullmatch(sent.phone):
            raise UnprocessableError(Message("error.request.phone"), param="phone")
