"""`/api/preferences`: the signed-in user's own settings — the console's language and the
audible alarm cue (on or off per priority, how often it repeats, muted) — kept on the server
so they follow the user from one desk to the next."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from bldgwatch.console.auth import AnyAccount
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.models import PreferenceRow
from bldgwatch.console.problems import problem_docs
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import LOCALES

router = APIRouter(prefix="/api", tags=["auth"])

Language = Annotated[str, Field(pattern="^(zh-CN|en)$", description=" or ".join(LOCALES))]


class CueSetting(BaseModel):
    """The audible cue of one alarm priority."""

    model_config = ConfigDict(extra="forbid")

    sound: bool = Field(description="Sound a tone for unacknowledged alarms of this priority.")
    every_s: int = Field(ge=2, le=600, description="Repeat the tone this often until acked.")


DEFAULT_CUE: dict[str, CueSetting] = {
    "1": CueSetting(sound=True, every_s=5),
    "2": CueSetting(sound=True, every_s=15),
    "3": CueSetting(sound=True, every_s=60),
    "4": CueSetting(sound=False, every_s=120),
}
"""Emergencies repeat every few seconds; low-priority alarms are silent by default."""


class Preferences(BaseModel):
    """A user's settings of the console."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"language": "zh-CN", "muted": False, "cue": {"1": {"sound": True, "every_s": 5}}}
            ]
        },
    )

    language: Language | None = Field(
        None, description="The console's language; null: the browser's, then the site's."
    )
    muted: bool = Field(False, description="No sound at all (the header says so).")
    cue: dict[str, CueSetting] = Field(
        default_factory=lambda: dict(DEFAULT_CUE), description="By priority '1' … '4'."
    )


def _of(row: PreferenceRow | None) -> Preferences:
    if row is None:
        return Preferences()
    cue = dict(DEFAULT_CUE)
    cue.update({p: CueSetting.model_validate(c) for p, c in (row.cue or {}).items() if p in cue})
    return Preferences(language=row.language, muted=row.muted, cue=cue)


@router.get(
    "/preferences",
    response_model=Preferences,
    responses=problem_docs(401, 503),
    summary="My console settings",
)
def get_preferences(*, session: DbSession, user: AnyAccount) -> Preferences:
    """The caller's language and alarm cue (defaults until changed)."""
    return _of(session.get(PreferenceRow, user.name))


def _store(engine: Engine, user: str, prefs: Preferences, now: datetime) -> None:
    with session_factory(engine).begin() as session:
        row = session.get(PreferenceRow, user) or PreferenceRow(user=user)
        row.language, row.muted = prefs.language, prefs.muted
        row.cue = {p: c.model_dump() for p, c in prefs.cue.items()}
        row.updated_at = now
        session.add(row)


@router.put(
    "/preferences",
    response_model=Preferences,
    responses=problem_docs(400, 401, 422, 503),
    summary="Change my console settings",
)
def put_preferences(
    *, engine: DbEngine, clock: AppClock, user: AnyAccount, body: Preferences
) -> Preferences:
    """Replace the caller's settings; priorities left out keep their defaults."""
    cue = {**DEFAULT_CUE, **{p: c for p, c in body.cue.items() if p in DEFAULT_CUE}}
    prefs = Preferences(language=body.language, muted=body.muted, cue=cue)
    _store(engine, user.name, prefs, clock.now())
    return prefs
