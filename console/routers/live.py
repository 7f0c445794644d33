"""`/api/live`: a WebSocket of alarm transitions, work-order changes and equipment status,
limited to the user's sites, resumable from the last event id.

The stream lives only as long as its credentials: it re-checks the access token (and so its
session) or API token every `live.session_check_s` and at once when this console revokes
one, and closes with code 4401 and the reason when they have ended (expired, logged out,
revoked, user disabled). A client keeps the stream across token renewals by sending the new
access token as `{"access_token": "…"}`.
"""

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
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.errors import UnauthorizedError
from bldgwatch.console.live import LiveHub, Subscription
from bldgwatch.core.clock import Clock

logger = logging.getLogger(__name__)

router = APIRouter()

WEBSOCKET_RULES = {"/api/live": "any signed-in user; token in the access_token parameter"}
"""Access rules of WebSocket routes (checked by the route-table test)."""

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
CREDENTIALS_ENDED = 4401
"""Close code when the stream's token or session has ended; the reason says why."""
OTHER_USER = "a token of another principal cannot renew this stream"


def _authenticate(ws: WebSocket, token: str | None) -> User:
    state = ws.app.state
    sessions = cast(sessionmaker[Session], state.sessions)
    with sessions() as session:
        return authenticate(
            session, cast(SecurityContext, state.security), token, cast(Clock, state.clock).now()
        )


class _Credential:
    """The token a stream runs on (renewable in-band) and whose it is."""

    def __init__(self, token: str | None, user: User) -> None:
        self.token = token
        self.user = user


async def _end(ws: WebSocket, why: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close(CREDENTIALS_ENDED, why[:120])


async def _watch(ws: WebSocket, cred: _Credential) -> None:
    """Re-check the credential on a timer and on every revocation; close when it ended."""
    security = cast(SecurityContext, ws.app.state.security)
    interval = cast(ConsoleConfig, ws.app.state.cfg).live.session_check_s
    revoked = security.revocations.watch()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(revoked.wait(), timeout=interval)
            revoked.clear()
            try:
                await run_in_threadpool(_authenticate, ws, cred.token)
            except UnauthorizedError as err:
                await _end(ws, str(err))
                return
    finally:
        security.revocations.unwatch(revoked)


async def _renew(ws: WebSocket, cred: _Credential, text: str) -> bool:
    """Take a renewed access token sent by the client; False when the stream must end."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return True  # a ping or other chatter
    if not isinstance(message, dict) or not isinstance(message.get("access_token"), str):
        return True
    token = str(message["access_token"])
    try:
        renewed = await run_in_threadpool(_authenticate, ws, token)
    except UnauthorizedError as err:
        await _end(ws, str(err))
        return False
    if renewed.name != cred.user.name:
        await _end(ws, OTHER_USER)
        return False
    cred.token, cred.user = token, renewed
    return True


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
    `hello.complete` is false and the client should reload its lists. Closes with 4401 when
    the token or its session ends; `{"access_token": "…"}` from the client renews it.
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
        cred = _Credential(access_token, user)
        tasks = [asyncio.create_task(_pump(ws, sub)), asyncio.create_task(_watch(ws, cred))]
        try:
            while await _renew(ws, cred, await ws.receive_text()):
                pass  # pings and renewals; a disconnect or a close ends the loop
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
    finally:
        hub.unsubscribe(sub)
