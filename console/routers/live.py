"""`/api/live`: a WebSocket of alarm transitions, work-order changes and equipment status,
limited to the user's sites, resumable from the last event id.

The stream lives only as long as its credentials: it re-checks the access token (and so its
session) or API token every `live.session_check_s` and at once when this console revokes
one, and closes with code 4401 and the reason when they have ended (expired, logged out,
revoked, user disabled). A client keeps the stream across token renewals by sending the new
access token as `{"access_token": "…"}`; the console answers `{"kind": "renewed"}` once the
stream runs on it.

One user holds at most `live.max_streams_per_user` streams: one more is accepted and closed
at once with code 4429 and the reason in the reader's language (a browser cannot read the
body of a refused handshake, only a close code; the web console says which limit was hit and
tries again later). Its streams also count against the console's connection cap
(`console.connections`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, cast

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bldgwatch.console.auth import SecurityContext, User, authenticate
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.errors import UnauthorizedError
from bldgwatch.console.live import LiveEvent, LiveHub, Subscription
from bldgwatch.console.liveness import Liveness
from bldgwatch.console.wsframes import DROP, FRAMES
from bldgwatch.core import i18n
from bldgwatch.core.clock import Clock

logger = logging.getLogger(__name__)

router = APIRouter()

WEBSOCKET_RULES = {
    "/api/live": "any signed-in user of the property team (not a contractor's); token in the "
    "access_token parameter"
}
"""Access rules of WebSocket routes (checked by the route-table test)."""

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
CREDENTIALS_ENDED = 4401
"""Close code when the stream's token or session has ended; the reason says why."""
TOO_MANY_STREAMS = 4429
"""Close code when the user already holds `live.max_streams_per_user` streams."""
MAX_REASON_BYTES = 123
TOO_SLOW = "too slow: reconnect with last_event_id"
"""Close reason (code 1013) of a stream whose queue overflowed."""
OTHER_USER = "a token of another principal cannot renew this stream"
RENEWED = orjson.dumps({"kind": "renewed"}).decode()


def _authenticate(ws: WebSocket, token: str | None) -> User:
    state = ws.app.state
    sessions = cast(sessionmaker[Session], state.sessions)
    with sessions() as session:
        return authenticate(
            session, cast(SecurityContext, state.security), token, cast(Clock, state.clock).now()
        )


def _beat(ws: WebSocket, user: User) -> str:
    """The liveness message: is the data of the user's sites fresh, is the broker up."""
    life = cast(Liveness, ws.app.state.liveness)
    summary = life.summary(user.sites)
    now = cast(Clock, ws.app.state.clock).now()
    return orjson.dumps({"kind": "liveness", "at": now, **asdict(summary)}).decode()


BEAT = LiveEvent(0, "", "liveness", "")
"""Queued by a stream's heartbeat: the pump sends the liveness message in its place."""


@dataclass(slots=True)
class _Wants:
    """What the client asked for after connecting (`{"liveness": true}`): the heartbeat that
    then queues a BEAT for the pump every `live.heartbeat_s`."""

    sub: Subscription
    every_s: float
    heartbeat: asyncio.Task[None] | None = None

    @property
    def liveness(self) -> bool:
        return self.heartbeat is not None

    def start_liveness(self) -> None:
        if self.heartbeat is None:
            self.heartbeat = asyncio.create_task(_heartbeat(self.sub, self.every_s))

    def stop(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()


async def _heartbeat(sub: Subscription, every_s: float) -> None:
    """A BEAT in the stream's queue at once and every `every_s` (none while it is full: a
    client that far behind is being cut off)."""
    while not sub.overflowed:
        with contextlib.suppress(asyncio.QueueFull):
            sub.queue.put_nowait(BEAT)
        await asyncio.sleep(every_s)


class _Credential:
    """The token a stream runs on (renewable in-band), whose it is, and its subscription
    (whose sites follow the user's on every re-check)."""

    def __init__(self, token: str | None, user: User, sub: Subscription) -> None:
        self.token = token
        self.user = user
        self.sub = sub

    def checked(self, user: User) -> None:
        """The credential was found live for `user` (maybe with other sites now)."""
        self.user = user
        self.sub.sites = user.sites


async def _refuse(ws: WebSocket, code: int, message: i18n.Message) -> None:
    """Accept, then close at once with `code` and the message in the reader's language as
    the reason (what a browser's WebSocket can read)."""
    locale = i18n.negotiate(ws.headers.get("accept-language", "")) or i18n.DEFAULT_LOCALE
    reason = message.render(locale)
    logger.info("live stream refused (%d): %s", code, message.render("en"))
    await ws.accept()
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close(code, close_reason(reason))


def close_reason(text: str) -> str:
    """`text` cut to what a close frame carries (123 bytes of UTF-8), on a character."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


SHARE_CHECK_S = 1.0
"""Streams on one token re-checking within this of each other share one look-up (at most a
tenth of `live.session_check_s`)."""


@dataclass(slots=True)
class _Check:
    generation: int
    started: float
    answer: asyncio.Future[User]


class _SharedChecks:
    """The re-checks of the streams on one token, shared: thousands of streams (a wall of
    screens on one API token) cost one look-up per token every `SHARE_CHECK_S` instead of
    one each, and a revocation costs one per token instead of one per stream. An answer is
    reused only when younger than the share window and no revocation came after it began."""

    def __init__(self, ws: WebSocket) -> None:
        self._app = ws.app
        self._checks: dict[str | None, _Check] = {}

    async def check(self, ws: WebSocket, token: str | None, window_s: float) -> User:
        loop = asyncio.get_running_loop()
        now = loop.time()
        generation = cast(SecurityContext, self._app.state.security).revocations.generation
        shared = self._checks.get(token)
        if shared is None or shared.generation != generation or now - shared.started > window_s:
            for key in [k for k, c in self._checks.items() if now - c.started > window_s]:
                del self._checks[key]
            answer = asyncio.ensure_future(run_in_threadpool(_authenticate, ws, token))
            shared = self._checks[token] = _Check(generation, now, answer)
        return await asyncio.shield(shared.answer)


def _shared_checks(ws: WebSocket) -> _SharedChecks:
    state = ws.app.state
    checks = getattr(state, "live_checks", None)
    if checks is None:
        checks = state.live_checks = _SharedChecks(ws)
    return cast(_SharedChecks, checks)


async def _end(ws: WebSocket, why: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close(CREDENTIALS_ENDED, close_reason(why))


async def _watch(ws: WebSocket, cred: _Credential) -> None:
    """Re-check the credential on a timer and on every revocation; close when it ended."""
    security = cast(SecurityContext, ws.app.state.security)
    interval = cast(ConsoleConfig, ws.app.state.cfg).live.session_check_s
    share_s = min(SHARE_CHECK_S, interval / 10)
    checks = _shared_checks(ws)
    revoked = security.revocations.watch()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(revoked.wait(), timeout=interval)
            revoked.clear()
            try:
                cred.checked(await checks.check(ws, cred.token, share_s))
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
    cred.token = token
    cred.checked(renewed)
    await ws.send_text(RENEWED)
    return True


async def _pump(ws: WebSocket, sub: Subscription, beat: Callable[[], str]) -> None:
    """Events as they come and the liveness message for every BEAT in between, from one
    queue (one sender: the two never interleave on the socket). One await per wake-up and
    whatever queued meanwhile sent with it: with thousands of streams, each event costs
    every stream a task step, so the step must be cheap."""
    queue = sub.queue
    extensions = ws.scope.get("extensions", {})
    sub.write = extensions.get(FRAMES)  # from here on, the hub may write
    drop = extensions.get(DROP)
    if drop is not None:
        sub.drop = functools.partial(drop, TRY_AGAIN_LATER, TOO_SLOW)
    while True:
        batch = [await queue.get()]
        sub.busy = True
        while not queue.empty():
            batch.append(queue.get_nowait())
        for event in batch:
            if event is BEAT:
                await ws.send_text(beat())
            elif sub.wants(event):  # queued before the user's sites were narrowed: dropped
                await ws.send_text(event.text)
        sub.busy = False
        if sub.overflowed and queue.empty():
            await ws.close(TRY_AGAIN_LATER, TOO_SLOW)
            return


def _asked(text: str, wants: _Wants) -> None:
    """Take a client's request; anything else it sends (pings) is ignored."""
    try:
        request = orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    if isinstance(request, dict) and request.get("liveness") is True:
        wants.start_liveness()


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
    `hello.complete` is false and the client should reload its lists. A client that sends
    `{"liveness": true}` gets `{"kind": "liveness", "broker", "fresh", "newest_age_s", ...}`
    every heartbeat (live.heartbeat_s) as well: hearing none for three heartbeats, it knows
    the stream itself is gone. Closes with 4401 when the token or its session ends;
    `{"access_token": "…"}` from the client renews it.
    """
    try:
        user = await run_in_threadpool(_authenticate, ws, access_token)
    except UnauthorizedError as err:
        await ws.close(POLICY_VIOLATION, close_reason(str(err)))
        return
    if user.is_contractor:  # the stream carries every alarm and order of the sites
        await ws.close(
            POLICY_VIOLATION, close_reason(i18n.Message("live.no_contractors").render("en"))
        )
        return
    hub = cast(LiveHub, ws.app.state.hub)
    limit = cast(ConsoleConfig, ws.app.state.cfg).live.max_streams_per_user
    if hub.streams_of(user.name) >= limit:  # checked and subscribed with no await between
        await _refuse(ws, TOO_MANY_STREAMS, i18n.Message("live.too_many_streams", {"limit": limit}))
        return
    sub, resume = hub.subscribe(user.sites, last_event_id, principal=user.name)
    try:
        await ws.accept()
        hello = {"kind": "hello", "last_id": hub.last_id, "complete": resume.complete}
        await ws.send_text(orjson.dumps(hello).decode())
        for event in resume.backlog:
            await ws.send_text(event.text)
        wants = _Wants(sub, cast(ConsoleConfig, ws.app.state.cfg).live.heartbeat_s)
        cred = _Credential(access_token, user, sub)
        tasks = [
            asyncio.create_task(_pump(ws, sub, lambda: _beat(ws, cred.user))),
            asyncio.create_task(_watch(ws, cred)),
        ]
        try:
            while True:  # liveness requests, pings and renewals; a disconnect or close ends it
                text = await ws.receive_text()
                _asked(text, wants)
                if not await _renew(ws, cred, text):
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            wants.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
    finally:
        hub.unsubscribe(sub)
