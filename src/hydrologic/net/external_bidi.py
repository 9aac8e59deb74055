"""The server of a bidirectional, multi-client External port (``source_external_bidi``).

Every accepted connection gets a fresh ``ClientId`` (1, 2, 3, ... per port and run). What a
client sends is decoded incrementally (``ExternalCodec.stream_decoder``) and handed to the
location as ``(client, value)`` pairs, in the order that client sent them; the program's
responses, ``(client, value)`` pairs, are written to that client's connection in the order the
program produced them. Connect and disconnect are reported as ``(client, JOINED/LEFT)`` when the
program asked for ``membership()``.

Untrusted clients cannot hurt the process:

* a unit that does not decode, or is not of the port's declared type, is answered with an error
  reply in the port's codec and dropped; the connection goes on;
* a stream that cannot be framed any more (a malformed RESP request, a frame over the size
  limit) is answered with an error reply and the connection is closed — after the responses to
  the requests that came before the error have been written. With a request/response codec
  (RESP: one reply per request, in order) an error reply waits for the replies to the requests
  before it however many ticks the program takes to produce them (a replicated store answers
  after consensus), and the close waits for them too, for at most ``CLOSE_GRACE`` seconds; with
  other codecs the close waits for the end of the next tick;
* responses for a client that has gone are dropped (counted in ``dropped``);
* a client that stops reading is disconnected once ``CLIENT_BUFFER`` bytes are queued for it;
* when the location has too much unprocessed input, every connection stops reading until it
  has caught up (backpressure reaches the clients through TCP).

Connections are asyncio ``Protocol``s rather than streams: a client's bytes are parsed as
they arrive, in one synchronous call per read, which is what lets one process answer tens of
thousands of small requests per second.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Awaitable, Callable, cast

from ..lang.bidi import ClientId, MembershipEvent
from .errors import CodecError
from .external import CLIENT_BUFFER
from .external_codec import ExternalCodec, check_value_type, get_codec

CLOSE_GRACE = 30.0
"""Seconds a connection closed for a framing error waits for the replies still owed to it."""

_CLOSE: Any = object()  # in a connection's reply queue: close once everything before is written

__all__ = ["ExternalBidiServer"]

log = logging.getLogger("hydrologic.net")


class _Conn(asyncio.Protocol):
    def __init__(self, server: ExternalBidiServer) -> None:
        self.server = server
        self.decoder = server.codec.stream_decoder()
        self.transport: asyncio.Transport | None = None
        self.cid = ClientId(0)
        self.peer: Any = None
        self.closing = False
        # Request/response codecs only: what this connection is owed, in order: an int n for n
        # replies the program has yet to produce, bytes for an error reply to write after them,
        # _CLOSE to close the connection there.
        self.owed: list[Any] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport instances
        self.peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass
        self.server.joined(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        srv = self.server
        units, fatal = self.decoder.feed(data)
        if units:
            cid = self.cid
            of = srv.of
            good: list[tuple[ClientId, Any]] = []
            counted = 0  # of ``good``, the requests already counted in ``owed``
            for ok, value in units:
                if ok and of is not None:
                    why = check_value_type(value, of)
                    if why is not None:
                        ok, value = False, why
                if ok:
                    good.append((cid, value))
                else:
                    if srv.codec.request_response and counted < len(good):  # replies owed before this one
                        self._expect(len(good) - counted)
                        counted = len(good)
                    srv.rejected += 1
                    log.warning("bidi port %r: dropped bad input from client %d %s: %s", srv.name, cid, self.peer, value)
                    self.write_error(f"port {srv.name!r}: {value}")
            if good:
                if srv.codec.request_response and counted < len(good):
                    self._expect(len(good) - counted)
                srv.received += len(good)
                srv.on_requests(good)
        if fatal is not None:
            srv.rejected += 1
            log.warning("bidi port %r: closing client %d %s: %s", srv.name, self.cid, self.peer, fatal)
            self.closing = True
            if self.transport is not None:
                self.transport.pause_reading()
            if srv.codec.request_response:
                self.write_error(str(fatal))
                self._queue(_CLOSE)
                if self.owed:
                    asyncio.get_running_loop().call_later(CLOSE_GRACE, self._give_up)
            elif units:
                srv.close_after_tick.append((self, str(fatal)))
            else:
                self.fail(str(fatal))
            return
        if srv.blocked() and self.transport is not None:
            srv.pause(self)

    def write_error(self, message: str) -> None:
        reply = self.server.codec.error_reply(message)
        if reply is None:
            return
        if self.server.codec.request_response:
            self._queue(reply)  # after the replies owed to earlier requests
        elif self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)

    # ---- replies in request order (request/response codecs) -----------------------------------

    def _expect(self, n: int) -> None:
        if self.owed and type(self.owed[-1]) is int:
            self.owed[-1] += n
        else:
            self.owed.append(n)

    def _queue(self, item: Any) -> None:
        """Write ``item`` (bytes, or _CLOSE) now if nothing is owed before it, else after."""
        if any(type(x) is int for x in self.owed):
            self.owed.append(item)
        else:
            self._emit(item)

    def _emit(self, item: Any) -> None:
        t = self.transport
        if item is _CLOSE:
            self.owed = []
            if t is not None:
                t.close()
        elif t is not None and not t.is_closing():
            t.write(item)

    def replies(self, units: list[bytes]) -> tuple[bytes, bool]:
        """The bytes to write for the program's next replies ``units``, with the error replies
        that were waiting for them in their places; and whether to close after writing them."""
        owed = self.owed
        if not owed or (len(owed) == 1 and type(owed[0]) is int):  # nothing waits behind them
            if owed:
                left = owed[0] - len(units)
                if left > 0:
                    owed[0] = left
                else:
                    owed.clear()
            return (units[0] if len(units) == 1 else b"".join(units)), False
        out: list[bytes] = []
        i = 0
        while True:
            if owed and type(owed[0]) is not int:  # an error reply (or the close) is due
                item = owed.pop(0)
                if item is _CLOSE:
                    owed.clear()
                    return b"".join(out), True
                out.append(item)
            elif i < len(units):
                if not owed:  # more replies than requests: written as they come
                    out.extend(units[i:])
                    break
                take = min(owed[0], len(units) - i)
                out.extend(units[i : i + take])
                i += take
                if take == owed[0]:
                    owed.pop(0)
                else:
                    owed[0] -= take
            else:
                break
        return b"".join(out), False

    def _give_up(self) -> None:
        if self.owed and self.transport is not None and not self.transport.is_closing():
            log.warning("bidi port %r: client %d still owed replies %gs after a framing error; closing", self.server.name, self.cid, CLOSE_GRACE)
            self.transport.close()

    def fail(self, message: str) -> None:
        self.write_error(message)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.left(self)


class ExternalBidiServer:
    """The server side of one ``source_external_bidi`` port on one location instance."""

    def __init__(
        self,
        name: str,
        codec: str,
        of: type[Any] | None,
        on_requests: Callable[[list[tuple[ClientId, Any]]], None],
        *,
        on_membership: Callable[[list[tuple[ClientId, MembershipEvent]]], None] | None = None,
        gate: Callable[[], Awaitable[None]] | None = None,
        blocked: Callable[[], bool] | None = None,
    ) -> None:
        self.name = name
        self.codec: ExternalCodec = get_codec(codec)
        self.of = of
        self.on_requests = on_requests
        self.on_membership = on_membership
        self._gate = gate
        self.blocked: Callable[[], bool] = blocked or (lambda: False)
        self._server: asyncio.AbstractServer | None = None
        self.conns: dict[ClientId, _Conn] = {}
        # The first ClientId of this run. A restarted process starts past every id an earlier
        # incarnation could have handed out (``start_client_ids``), so a reply or a request
        # number keyed by client never reaches the wrong client across a restart.
        self._next_id = 1
        self._paused: list[_Conn] = []
        self._resuming = False
        self.close_after_tick: list[tuple[_Conn, str]] = []
        self._warned: set[str] = set()
        self.received = 0
        self.rejected = 0
        self.sent = 0
        self.dropped = 0
        self.clients_total = 0

    async def start(self, host: str, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Conn(self), host, port, reuse_address=True)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    # ---- membership ---------------------------------------------------------------------------


    def start_client_ids(self, incarnation: int) -> None:
        """Number this incarnation's clients from ``incarnation * 2**32 + 1``: never an earlier one's."""
        self._next_id = (incarnation << 32) + 1
    def joined(self, conn: _Conn) -> None:
        conn.cid = ClientId(self._next_id)
        self._next_id += 1
        self.clients_total += 1
        self.conns[conn.cid] = conn
        if self.on_membership is not None:
            self.on_membership([(conn.cid, MembershipEvent.JOINED)])

    def left(self, conn: _Conn) -> None:
        if self.conns.pop(conn.cid, None) is not None and self.on_membership is not None:
            self.on_membership([(conn.cid, MembershipEvent.LEFT)])

    # ---- backpressure -------------------------------------------------------------------------

    def pause(self, conn: _Conn) -> None:
        assert conn.transport is not None
        conn.transport.pause_reading()
        self._paused.append(conn)
        if not self._resuming and self._gate is not None:
            self._resuming = True
            asyncio.ensure_future(self._resume())

    async def _resume(self) -> None:
        try:
            if self._gate is not None:
                await self._gate()
        finally:
            self._resuming = False
            paused, self._paused = self._paused, []
            for c in paused:
                if not c.closing and c.transport is not None and not c.transport.is_closing():
                    c.transport.resume_reading()

    # ---- responses ----------------------------------------------------------------------------

    def publish(self, pairs: list[Any]) -> None:
        """Write each ``(client, value)`` to that client, in order; called after each tick."""
        per: dict[Any, list[Any]] = {}
        for pair in pairs:
            try:
                cid, value = pair
            except (TypeError, ValueError):
                self._warn_once("shape", f"bidi port {self.name!r}: a response is not a (client, value) pair: {pair!r:.80}")
                self.dropped += 1
                continue
            values = per.get(cid)
            if values is None:
                per[cid] = [value]
            else:
                values.append(value)
        for cid, values in per.items():
            conn = self.conns.get(cid)
            t = conn.transport if conn is not None else None
            if conn is None or t is None or t.is_closing():
                self.dropped += len(values)
                continue
            units = [self._encode(conn, v) for v in values]
            data, close = conn.replies(units)
            t.write(data)
            if close:
                t.close()
            self.sent += len(units)
            if t.get_write_buffer_size() > CLIENT_BUFFER:
                log.warning("bidi port %r: disconnecting client %d, which stopped reading", self.name, cid)
                t.abort()

    def _encode(self, conn: _Conn, value: Any) -> bytes:
        try:
            return conn.decoder.encode(value)
        except CodecError as e:
            self._warn_once(type(value).__name__, f"bidi port {self.name!r}: cannot send a {type(value).__name__}: {e}")
            # an error reply keeps a request/response client's replies paired with its requests
            err = self.codec.error_reply(f"the server produced a response it cannot encode ({type(value).__name__})")
            return err if err is not None else b""

    def after_tick(self) -> None:
        """The location finished a tick: connections that failed after sending requests close now
        (their earlier requests' responses, produced by that tick, were written first)."""
        if self.close_after_tick:
            closing, self.close_after_tick = self.close_after_tick, []
            for conn, why in closing:
                conn.fail(why)

    def _warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.error("%s (logged once)", msg)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.conns.values()):
            if conn.transport is not None:
                conn.transport.close()
