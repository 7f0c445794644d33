"""One WebSocket frame for many streams: the console's WebSocket protocol (uvicorn's, on the
websockets library) offers the app a way to write a text frame built once.

An alarm goes to every open live stream; sent through ASGI it costs each stream a task step,
a message and a frame of its own (with 5,000 streams, far more than the 100 ms an alarm may
take to reach them). `uvicorn` calls this protocol for `/api/live`'s upgrades; it puts a
`FrameWriter` in the scope's extensions (`FRAMES`), through which the live hub writes the
frame it built once for the event straight to the socket — only while the stream can take it
(handshake done, not closing, its send buffer below the high-water mark); otherwise the hub
queues the event for the stream's own sender as before. No compression is negotiated on these
streams (a frame built once must be the same for all).
"""

from __future__ import annotations

from typing import Protocol

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request

FRAMES = "bldgwatch.frames"
"""The scope extension under which a stream's FrameWriter is."""

DROP = "bldgwatch.drop"
"""The scope extension under which a stream's `drop(code, reason)` is."""


class FrameWriter(Protocol):
    def __call__(self, frame: bytes) -> bool: ...


def text_frame(text: bytes) -> bytes:
    """A final, unmasked (server) text frame of `text` (UTF-8)."""
    return Frame(Opcode.TEXT, text).serialize(mask=False, extensions=[])


class FramedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, with a FrameWriter in the scope's extensions."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][FRAMES] = self.write_frame
            scope["extensions"][DROP] = self.drop

    def write_frame(self, frame: bytes) -> bool:
        """Write a frame built by `text_frame`; False (nothing written) when the stream
        cannot take it now: not accepted yet, closing or closed, compressed, or slow (its
        send buffer above the high-water mark)."""
        if (
            not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or self.conn.extensions
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True

    def drop(self, code: int, reason: str) -> None:
        """Close now, even with the send buffer full (an ASGI close would wait for it to
        drain, which a client that stopped reading never lets happen): the close frame goes
        after what is buffered, the app hears the disconnect at once, and the connection is
        cut if the client has not answered within the close timeout."""
        if self.close_sent or self.disconnected or not self.handshake_complete:
            return
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
