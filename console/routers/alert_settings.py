"""A site's alerting, edited by supervisors: contacts, on-call rotas (and who is on call),
notification policies, channels. Reads are for engineers and supervisors (contacts carry
phone numbers). The console checks who may and which site; the owner (`alerts.admin`)
validates and writes, `alerts.queries` reads."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.alerts import queries
from bldgwatch.alerts.admin import AlertsAdmin, ChannelView
from bldgwatch.alerts.documents import ID_PATTERN, Contact, Policy, Rota
from bldgwatch.alerts.errors import InvalidDocumentError, KeyMissingError, UnknownItemError
from bldgwatch.alerts.secrets import SecretBox
from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import ENGINEER, SUPERVISOR, Supervisor, User, require
from bldgwatch.console.deps import AlertsBox, AppClock, DbEngine, DbSession
from bldgwatch.console.errors import BadParameterError, NotFoundError, UnavailableError, said
from bldgwatch.console.paging import Page, Paging, When
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_alerts import ChannelIn, ChannelOut, Deleted, OnCallOut, Person
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import DEFAULT_TIMEZONE
from bldgwatch.maintenance import queries as maintenance_queries

router = APIRouter(prefix="/api/alerts/{site}", tags=["alerts"])

AlertReader = Annotated[User, Depends(require(ENGINEER, SUPERVISOR, what="reading_alert_settings"))]
SiteId = Annotated[str, Path(max_length=64, description="Site id.")]
ItemId = Annotated[
    str,
    Path(pattern=ID_PATTERN, description="Id within the site: letters, digits, '_', '.', '-'."),
]
READ_DOCS = problem_docs(401, 403, 404, 422, 503)
D = TypeVar("D", bound=BaseModel)
D_co = TypeVar("D_co", bound=BaseModel, covariant=True)


# Saving and deleting are audited: who, when, from where, and with what outcome.
ContactSaved = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_SAVE, "alerts:{site}/contact/{item_id}"))
]
ContactDeleted = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_DELETE, "alerts:{site}/contact/{item_id}"))
]
RotaSaved = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_SAVE, "alerts:{site}/rota/{item_id}"))
]
RotaDeleted = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_DELETE, "alerts:{site}/rota/{item_id}"))
]
PolicySaved = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_SAVE, "alerts:{site}/policy/{item_id}"))
]
PolicyDeleted = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_DELETE, "alerts:{site}/policy/{item_id}"))
]
ChannelSaved = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_SAVE, "alerts:{site}/channel/{item_id}"))
]
ChannelDeleted = Annotated[
    AuditEntry, Depends(Audited(audit.ALERTS_DELETE, "alerts:{site}/channel/{item_id}"))
]
WRITE_DOCS = problem_docs(400, 401, 403, 404, 422, 503)


def site_of(session: Session, user: User, site: str, noted: AuditEntry | None = None) -> str:
    """The site id, or a 404 when it does not exist or is not one of the user's."""
    if noted is not None:
        noted.site = site
    if not user.may_see(site) or maintenance_queries.site(session, site) is None:
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    return site


@contextlib.contextmanager
def owner_errors() -> Iterator[None]:
    """The owner's refusals as problems: 400 naming the field, 404, 503 without the key."""
    try:
        yield
    except InvalidDocumentError as err:
        raise BadParameterError(err.detail, param=err.field) from err
    except UnknownItemError as err:
        raise NotFoundError(said(err)) from err
    except KeyMissingError as err:
        raise UnavailableError(said(err)) from err


def _page(items: list[Any], paging: Paging) -> Page[Any]:
    return Page[Any](
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
    )


def _named(doc: Any, path_id: str) -> dict[str, Any]:
    """The document under the path's id (the path names the item; a body's `id` follows it)."""
    return {**doc.model_dump(mode="json"), "id": path_id}


def _admin(engine: Engine, box: SecretBox | None) -> AlertsAdmin:
    return AlertsAdmin(engine, box)


class _Saves(Protocol[D_co]):
    """How the owner saves one kind of document (`AlertsAdmin.save_contact`, ...)."""

    def __call__(
        self, admin: AlertsAdmin, site: str, data: Mapping[str, Any], /, *, actor: str, at: datetime
    ) -> D_co: ...


@dataclass(frozen=True, slots=True)
class _Edit:
    """One save or delete of a site's item: the site checked (and noted for the audit), the
    owner called, its refusals turned into problems."""

    noted: AuditEntry
    session: Session
    engine: Engine
    user: User
    site: str
    item_id: str

    def _site(self) -> str:
        return site_of(self.session, self.user, self.site, self.noted)

    def save(self, save: _Saves[D], body: BaseModel, at: datetime) -> D:
        """Save a contact, rota or policy under the path's id."""
        site = self._site()
        with owner_errors():
            admin = _admin(self.engine, None)
            return save(admin, site, _named(body, self.item_id), actor=self.user.name, at=at)

    def delete(self, delete: Callable[[AlertsAdmin, str, str], None]) -> Deleted:
        """Delete a contact, rota, policy or channel."""
        with owner_errors():
            delete(_admin(self.engine, None), self._site(), self.item_id)
        return Deleted(site=self.site, id=self.item_id)


# -- contacts ------------------------------------------------------------------------------
@router.get("/contacts", response_model=Page[Contact], responses=READ_DOCS, summary="List contacts")
def list_contacts(
    *, session: DbSession, user: AlertReader, site: SiteId, paging: Paging
) -> Page[Any]:
    """The people alerts can reach at the site, by id."""
    return _page(queries.contacts(session, site_of(session, user, site)), paging)


@router.put(
    "/contacts/{item_id}", response_model=Contact, responses=WRITE_DOCS, summary="Save a contact"
)
def put_contact(
    *,
    noted: ContactSaved,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
    body: Contact,
) -> Contact:
    """Create or replace a contact (name, language, e-mail, mobile, Feishu open_id)."""
    edit = _Edit(noted, session, engine, user, site, item_id)
    return edit.save(AlertsAdmin.save_contact, body, clock.now())


@router.delete(
    "/contacts/{item_id}", response_model=Deleted, responses=WRITE_DOCS, summary="Delete a contact"
)
def delete_contact(
    *,
    noted: ContactDeleted,
    session: DbSession,
    engine: DbEngine,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
) -> Deleted:
    """Delete a contact that no rota or policy names (400 names who still does)."""
    return _Edit(noted, session, engine, user, site, item_id).delete(AlertsAdmin.delete_contact)


# -- rotas ---------------------------------------------------------------------------------
@router.get("/rotas", response_model=Page[Rota], responses=READ_DOCS, summary="List rotas")
def list_rotas(*, session: DbSession, user: AlertReader, site: SiteId, paging: Paging) -> Page[Any]:
    """The site's on-call rotas."""
    return _page(queries.rotas(session, site_of(session, user, site)), paging)


@router.put("/rotas/{item_id}", response_model=Rota, responses=WRITE_DOCS, summary="Save a rota")
def put_rota(
    *,
    noted: RotaSaved,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
    body: Rota,
) -> Rota:
    """Create or replace a rota: shifts (local handover times), the cycle of primary/backup
    pairs from the anchor date, holidays, overrides, the supervisor."""
    edit = _Edit(noted, session, engine, user, site, item_id)
    return edit.save(AlertsAdmin.save_rota, body, clock.now())


@router.delete(
    "/rotas/{item_id}", response_model=Deleted, responses=WRITE_DOCS, summary="Delete a rota"
)
def delete_rota(
    *,
    noted: RotaDeleted,
    session: DbSession,
    engine: DbEngine,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
) -> Deleted:
    """Delete a rota no policy uses."""
    return _Edit(noted, session, engine, user, site, item_id).delete(AlertsAdmin.delete_rota)


def _person(session: Session, site: str, contact_id: str | None) -> Person | None:
    if contact_id is None:
        return None
    known = {c.id: c.name for c in queries.contacts(session, site)}
    return Person(id=contact_id, name=known.get(contact_id))


@router.get(
    "/rotas/{item_id}/on-call",
    response_model=OnCallOut,
    responses=READ_DOCS,
    summary="Who is on call",
)
def on_call(
    *,
    session: DbSession,
    clock: AppClock,
    user: AlertReader,
    site: SiteId,
    item_id: ItemId,
    at: Annotated[
        When | None,
        Query(description="When (default: now), ISO 8601 with a zone, years 1970-2199."),
    ] = None,
) -> OnCallOut:
    """Who the rota puts on call at `at`, its shift and the handovers, in the site's zone."""
    site = site_of(session, user, site)
    when: datetime = at or clock.now()
    who = queries.who_is_on_call(session, site, item_id, when, DEFAULT_TIMEZONE)
    if who is None:
        raise NotFoundError(Message("error.rota.not_found", {"rota": str(item_id), "site": site}))
    primary = _person(session, site, who.primary)
    assert primary is not None
    return OnCallOut(
        rota=item_id,
        at=when,
        shift=who.shift,
        starts_at=who.starts_at,
        ends_at=who.ends_at,
        source=who.source,
        primary=primary,
        backup=_person(session, site, who.backup),
        supervisor=_person(session, site, who.supervisor),
    )


# -- policies ------------------------------------------------------------------------------
@router.get("/policies", response_model=Page[Policy], responses=READ_DOCS, summary="List policies")
def list_policies(
    *, session: DbSession, user: AlertReader, site: SiteId, paging: Paging
) -> Page[Any]:
    """The site's notification policies in order."""
    return _page(queries.policies(session, site_of(session, user, site)), paging)


@router.put(
    "/policies/{item_id}", response_model=Policy, responses=WRITE_DOCS, summary="Save a policy"
)
def put_policy(
    *,
    noted: PolicySaved,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
    body: Policy,
    position: Annotated[
        int | None, Query(ge=0, le=10_000, description="Place in the list.")
    ] = None,
) -> Policy:
    """Create or replace a policy: which alarms, when, whom (rota roles or contacts) in which
    steps, through which channels, repeats and quiet hours."""

    def save(
        admin: AlertsAdmin, site: str, data: Mapping[str, Any], *, actor: str, at: datetime
    ) -> Policy:
        return admin.save_policy(site, data, actor=actor, at=at, position=position)

    edit = _Edit(noted, session, engine, user, site, item_id)
    return edit.save(save, body, clock.now())


@router.delete(
    "/policies/{item_id}", response_model=Deleted, responses=WRITE_DOCS, summary="Delete a policy"
)
def delete_policy(
    *,
    noted: PolicyDeleted,
    session: DbSession,
    engine: DbEngine,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
) -> Deleted:
    """Delete a policy; escalations under way run to their end with their copy."""
    return _Edit(noted, session, engine, user, site, item_id).delete(AlertsAdmin.delete_policy)


# -- channels ------------------------------------------------------------------------------
def _channel_out(view: ChannelView) -> ChannelOut:
    return ChannelOut(**asdict(view))


@router.get(
    "/channels", response_model=Page[ChannelOut], responses=READ_DOCS, summary="List channels"
)
def list_channels(
    *, session: DbSession, box: AlertsBox, user: AlertReader, site: SiteId, paging: Paging
) -> Page[Any]:
    """The site's channels; secrets are never shown, only which are set."""
    views = queries.channels(session, site_of(session, user, site), box)
    return _page([_channel_out(v) for v in views], paging)


@router.put(
    "/channels/{item_id}", response_model=ChannelOut, responses=WRITE_DOCS, summary="Save a channel"
)
def put_channel(
    *,
    noted: ChannelSaved,
    session: DbSession,
    engine: DbEngine,
    box: AlertsBox,
    clock: AppClock,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
    body: ChannelIn,
) -> ChannelOut:
    """Create or replace a channel; secrets are sealed with the alerts key (503 without it)."""
    with owner_errors():
        view = _admin(engine, box).save_channel(
            site_of(session, user, site, noted),
            item_id,
            kind=body.kind,
            settings=body.settings,
            secrets=body.secrets,
            enabled=body.enabled,
            actor=user.name,
            at=clock.now(),
        )
    return _channel_out(view)


@router.delete(
    "/channels/{item_id}", response_model=Deleted, responses=WRITE_DOCS, summary="Delete a channel"
)
def delete_channel(
    *,
    noted: ChannelDeleted,
    session: DbSession,
    engine: DbEngine,
    user: Supervisor,
    site: SiteId,
    item_id: ItemId,
) -> Deleted:
    """Delete a channel no policy uses."""
    return _Edit(noted, session, engine, user, site, item_id).delete(AlertsAdmin.delete_channel)
