"""`/api/live`: a WebSocket of alarm transitions, work-order changes and equipment status,
limited to the user's sites, resumable from the last event id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, cast

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bldgwatch.console.auth import SecurityContext, User, authenticate
from bldgwatch.console.errors import UnauthorizedError
from bldgwatch.console.live import LiveHub, Subscription
from bldgwatch.core.clock import Clock

logger = logging.getLogger(__name__)

router = APIRouter()

WEBSOCKET_RULES = {"/api/live": "any signed-in user; token in the access_token parameter"}
"""Access rules of WebSocket routes (checked by the route-table test)."""

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


def _authenticate(ws: WebSocket, token: str | None) -> User:
    state = ws.app.state
    sessions = cast(sessionmaker[Session], state.sessions)
    with sessions() as session:
        return authenticate(
            session, cast(SecurityContext, state.security), token, cast(Clock, state.clock).now()
        )


async def _pump(ws: WebSocket, sub: Subscription) -> None:
    while True:
        event = await sub.queue.get()
        await ws.send_text(event.text)
        if sub.overflowed and sub.queue.empty():
            await ws.close(TRY_AGAIN_LATER, "too slow: reconnect with last_event_id")
            return


@router.websocket("/api/live")
async def live(
    ws: WebSocket,
    access_token: Annotated[
        str | None, Query(description="Access token or API token (browsers cannot send headers).")
    ] = None,
    last_event_id: Annotated[
        int | None, Query(ge=0, description="Resume after this event id.")
    ] = None,
) -> None:
    """Send `{"id", "kind", "site", "data"}` JSON texts; first a `hello` with the newest id.

    kind: `alarm` (an AlarmEvent), `work_order` (a WorkOrderEvent), `equipment` (gateway
    state and device availability). When events after `last_event_id` are no longer kept,
    `hello.complete` is false and the client should reload its lists.
    """
    try:
        user = await run_in_threadpool(_authenticate, ws, access_token)
    except UnauthorizedError as err:
        await ws.close(POLICY_VIOLATION, str(err)[:120])
        return
    hub = cast(LiveHub, ws.app.state.hub)
    await ws.accept()
    sub, resume = hub.subscribe(user.sites, last_event_id)
    try:
        hello = {"kind": "hello", "last_id": hub.last_id, "complete": resume.complete}
        await ws.send_text(orjson.dumps(hello).decode())
        for event in resume.backlog:
            await ws.send_text(event.text)
        pump = asyncio.create_task(_pump(ws, sub))
        try:
            while True:  # the client may send pings; a disconnect ends the loop
                await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await pump
    finally:
        hub.unsubscribe(sub)
