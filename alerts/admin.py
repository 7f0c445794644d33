"""Editing a site's alerting — contacts, rotas, policies, channels — validated, for the
console (which calls these in-process; it runs no SQL on alerts' tables).

Each save checks the document on its own (`alerts.documents`, the channel kind's settings)
and against the site's other documents: a policy's rota, channels and contacts must exist,
a rota's contacts too, and nothing still named by another document may be deleted. Channel
secrets are write-only: given values are sealed with the alerts key (or kept as `env:`/
`file:` references), an absent name keeps the stored value, a null removes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bldgwatch.alerts.channels import KINDS
from bldgwatch.alerts.documents import ID_PATTERN, Contact, Policy, Rota
from bldgwatch.alerts.errors import (
    InvalidDocumentError,
    KeyMissingError,
    SecretError,
    UnknownItemError,
)
from bldgwatch.alerts.models import (
    AlertChannelRow,
    AlertContactRow,
    AlertPolicyRow,
    AlertRotaRow,
)
from bldgwatch.alerts.secrets import SecretBox, check_reference
from bldgwatch.core.db import session_factory

M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger(__name__)


def parse(model: type[M], data: Any) -> M:
    """Validate a document; InvalidDocumentError naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise InvalidDocumentError(f"{where or 'document'}: {first['msg']}", field=where) from err


def _ids(session: Session, model: type[Any], site: str) -> set[str]:
    return set(session.scalars(select(model.id).where(model.site == site)))


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as the console shows it: never its secrets, only which are set."""

    id: str
    kind: str
    enabled: bool
    settings: dict[str, Any]
    secrets_set: list[str]
    updated_at: datetime
    updated_by: str


def channel_view(row: AlertChannelRow, box: SecretBox | None) -> ChannelView:
    """The view of a stored channel (secret names only when the key opens them)."""
    names: list[str] = []
    if box is not None and row.secrets:
        try:
            names = sorted(box.open(row.secrets))
        except SecretError:
            # sealed with another key (the key file replaced or rotated): the channel is still
            # listed — its secrets are set again from the page — not a 500 for the whole list
            logger.warning("channel %s/%s: secrets sealed with another key", row.site, row.id)
            names = ["(sealed)"]
    elif row.secrets:
        names = ["(sealed)"]
    return ChannelView(
        row.id, row.kind, row.enabled, dict(row.document), names, row.updated_at, row.updated_by
    )


class AlertsAdmin:
    """Saves and deletes a site's alerting documents, each in one transaction."""

    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        self._sessions = session_factory(engine)
        self._box = box

    # -- generic --------------------------------------------------------------------------
    @staticmethod
    def _put(
        session: Session, model: type[Any], site: str, doc: BaseModel, *, actor: str, at: datetime
    ) -> Any:
        key = getattr(doc, "id")  # noqa: B009 - every document has an id
        row = session.get(model, (site, key)) or model(site=site, id=key)
        row.document = doc.model_dump(mode="json")
        row.updated_at, row.updated_by = at, actor[:64]
        session.add(row)
        return row

    def _delete(self, model: type[Any], site: str, item_id: str, users: list[str]) -> None:
        if users:
            raise InvalidDocumentError(f"{item_id} is still used by {', '.join(sorted(users))}")
        with self._sessions.begin() as session:
            row = session.get(model, (site, item_id))
            if row is None:
                raise UnknownItemError(f"{item_id} does not exist at site {site}")
            session.delete(row)

    def _policies(self, session: Session, site: str) -> list[Policy]:
        rows = session.scalars(select(AlertPolicyRow).where(AlertPolicyRow.site == site))
        return [Policy.model_validate(r.document) for r in rows]

    def _rotas(self, session: Session, site: str) -> list[Rota]:
        rows = session.scalars(select(AlertRotaRow).where(AlertRotaRow.site == site))
        return [Rota.model_validate(r.document) for r in rows]

    # -- contacts -------------------------------------------------------------------------
    def save_contact(
        self, site: str, data: Mapping[str, Any], *, actor: str, at: datetime
    ) -> Contact:
        """Create or replace a contact."""
        contact = parse(Contact, data)
        with self._sessions.begin() as session:
            self._put(session, AlertContactRow, site, contact, actor=actor, at=at)
        return contact

    def delete_contact(self, site: str, contact_id: str) -> None:
        """Delete a contact no rota or policy names."""
        with self._sessions() as session:
            users = [
                f"rota {r.id}" for r in self._rotas(session, site) if contact_id in r.contacts()
            ]
            users += [
                f"policy {p.id}"
                for p in self._policies(session, site)
                if contact_id in p.contact_ids()
            ]
        self._delete(AlertContactRow, site, contact_id, users)

    # -- rotas ----------------------------------------------------------------------------
    def save_rota(self, site: str, data: Mapping[str, Any], *, actor: str, at: datetime) -> Rota:
        """Create or replace a rota whose contacts all exist."""
        rota = parse(Rota, data)
        with self._sessions.begin() as session:
            missing = sorted(rota.contacts() - _ids(session, AlertContactRow, site))
            if missing:
                raise InvalidDocumentError(f"unknown contacts {missing}", field="cycle")
            self._put(session, AlertRotaRow, site, rota, actor=actor, at=at)
        return rota

    def delete_rota(self, site: str, rota_id: str) -> None:
        """Delete a rota no policy uses."""
        with self._sessions() as session:
            users = [f"policy {p.id}" for p in self._policies(session, site) if p.rota == rota_id]
        self._delete(AlertRotaRow, site, rota_id, users)

    # -- policies -------------------------------------------------------------------------
    def save_policy(
        self,
        site: str,
        data: Mapping[str, Any],
        *,
        actor: str,
        at: datetime,
        position: int | None = None,
    ) -> Policy:
        """Create or replace a policy whose rota, channels and contacts exist."""
        policy = parse(Policy, data)
        with self._sessions.begin() as session:
            self._check_policy(session, site, policy)
            row = self._put(session, AlertPolicyRow, site, policy, actor=actor, at=at)
            if position is not None:
                row.position = position
            elif row.position is None:
                last = session.scalar(
                    select(func.max(AlertPolicyRow.position)).where(AlertPolicyRow.site == site)
                )
                row.position = (last or 0) + 1
        return policy

    @staticmethod
    def _check_policy(session: Session, site: str, policy: Policy) -> None:
        if policy.rota is not None and session.get(AlertRotaRow, (site, policy.rota)) is None:
            raise InvalidDocumentError(f"unknown rota {policy.rota!r}", field="rota")
        missing = sorted(policy.channel_ids() - _ids(session, AlertChannelRow, site))
        if missing:
            raise InvalidDocumentError(f"unknown channels {missing}", field="channels")
        missing = sorted(policy.contact_ids() - _ids(session, AlertContactRow, site))
        if missing:
            raise InvalidDocumentError(f"unknown contacts {missing}", field="steps")

    def delete_policy(self, site: str, policy_id: str) -> None:
        """Delete a policy (escalations under way keep their copy and run to their end)."""
        self._delete(AlertPolicyRow, site, policy_id, [])

    # -- channels -------------------------------------------------------------------------
    def save_channel(
        self,
        site: str,
        channel_id: str,
        *,
        kind: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str | None] | None,
        enabled: bool,
        actor: str,
        at: datetime,
    ) -> ChannelView:
        """Create or replace a channel; its secrets merged as the module says."""
        channel_kind = KINDS.get(kind)
        if channel_kind is None:
            raise InvalidDocumentError(
                f"unknown kind {kind!r}; one of {sorted(KINDS)}", field="kind"
            )
        parsed = parse(channel_kind.settings_model, settings)
        documented = channel_kind.documented_per_min()
        if parsed.rate_per_min is not None and documented and parsed.rate_per_min > documented:
            raise InvalidDocumentError(
                f"rate_per_min {parsed.rate_per_min} is above the {kind} robot's documented "
                f"limit of {documented} a minute; a configured limit can only lower it",
                field="rate_per_min",
            )
        if not re.match(ID_PATTERN, channel_id):
            raise InvalidDocumentError(f"bad channel id {channel_id!r}", field="id")
        with self._sessions.begin() as session:
            row = session.get(AlertChannelRow, (site, channel_id))
            if row is not None and row.kind != kind:
                raise InvalidDocumentError("a channel's kind cannot change", field="kind")
            row = row or AlertChannelRow(site=site, id=channel_id, kind=kind, secrets="")
            values = self._merge_secrets(row.secrets, secrets, channel_kind.secret_names)
            absent = [n for n in channel_kind.required_secrets if n not in values]
            if absent:
                raise InvalidDocumentError(f"secrets {absent} are required", field="secrets")
            row.secrets = self._seal(values)
            row.document = parsed.model_dump(mode="json")
            row.enabled, row.updated_at, row.updated_by = enabled, at, actor[:64]
            session.add(row)
            return channel_view(row, self._box)

    def _merge_secrets(
        self, sealed: str, given: Mapping[str, str | None] | None, names: tuple[str, ...]
    ) -> dict[str, str]:
        unknown = sorted(set(given or {}) - set(names))
        if unknown:
            raise InvalidDocumentError(
                f"unknown secrets {unknown}; this kind takes {list(names)}", field="secrets"
            )
        if sealed and self._box is None:
            raise KeyMissingError(
                "the alerts key is not configured: channel secrets cannot be read"
            )
        values = self._box.open(sealed) if sealed and self._box is not None else {}
        for name, value in (given or {}).items():
            if value is None or value == "":
                values.pop(name, None)
                continue
            try:
                check_reference(value)
            except ValueError as err:
                raise InvalidDocumentError(str(err), field=f"secrets.{name}") from err
            values[name] = value
        return values

    def _seal(self, values: dict[str, str]) -> str:
        if not values:
            return ""
        if self._box is None:
            raise KeyMissingError(
                "the alerts key is not configured: channel secrets cannot be stored"
            )
        return self._box.seal(values)

    def delete_channel(self, site: str, channel_id: str) -> None:
        """Delete a channel no policy uses."""
        with self._sessions() as session:
            users = [
                f"policy {p.id}"
                for p in self._policies(session, site)
                if channel_id in p.channel_ids()
            ]
        self._delete(AlertChannelRow, site, channel_id, users)
