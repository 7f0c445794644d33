"""Request dependencies: database session, time-series store, clock, alerts key (all from
`app.state`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.alerts.secrets import SecretBox
from bldgwatch.core.clock import Clock
from bldgwatch.core.tsdb import TimeSeriesStore


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed (and rolled back: the console only reads) afterwards."""
    sessions = cast(sessionmaker[Session], request.app.state.sessions)
    with sessions() as session:
        yield session


def get_store(request: Request) -> TimeSeriesStore:
    """The InfluxDB store shared by all requests."""
    return cast(TimeSeriesStore, request.app.state.store)


def get_engine(request: Request) -> Engine:
    """The SQLAlchemy engine (for health checks)."""
    return cast(Engine, request.app.state.engine)


def get_clock(request: Request) -> Clock:
    """The clock that defines "now" (default reading windows)."""
    return cast(Clock, request.app.state.clock)


def get_alerts_box(request: Request) -> SecretBox | None:
    """The alerts key (channel secrets, acknowledge links), or None when not configured."""
    return cast("SecretBox | None", request.app.state.alerts_box)


DbSession = Annotated[Session, Depends(get_session)]
Store = Annotated[TimeSeriesStore, Depends(get_store)]
DbEngine = Annotated[Engine, Depends(get_engine)]
AppClock = Annotated[Clock, Depends(get_clock)]
AlertsBox = Annotated[SecretBox | None, Depends(get_alerts_box)]
