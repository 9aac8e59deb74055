"""The server of a bidirectional, multi-client External port (``source_external_bidi``).

Every accepted connection gets a fresh ``ClientId`` (1, 2, 3, ... per port and run). What a
client sends is decoded incrementally (``ExternalCodec.stream_decoder``) and handed to the
location as ``(client, value)`` pairs, in the order that client sent them; the program's
responses, ``(client, value)`` pairs, are written to that client's connection in the order the
program produced them. Connect and disconnect are reported as ``(client, JOINED/LEFT)`` when the
program asked for ``membership()``.

Untrusted clients cannot hurt the process (SPEC §6):

* a unit that does not decode, or is not of the port's declared type, is answered with an error
  reply in the port's codec and dropped; the connection goes on;
* a stream that cannot be framed any more (a malformed RESP request, a frame over the size
  limit) is answered with an error reply and the connection is closed — after the responses to
  the requests that came before the error have been written, when there were any (the close
  waits for the end of the next tick);
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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport instances
        self.peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass
        self.server._joined(self)  # pyright: ignore[reportPrivateUsage]

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        srv = self.server
        units, fatal = self.decoder.feed(data)
        if units:
            cid = self.cid
            of = srv.of
            good: list[tuple[ClientId, Any]] = []
            for ok, value in units:
                if ok and of is not None:
                    why = check_value_type(value, of)
                    if why is not None:
                        ok, value = False, why
                if ok:
                    good.append((cid, value))
                else:
                    srv.rejected += 1
                    log.warning("bidi port %r: dropped bad input from client %d %s: %s", srv.name, cid, self.peer, value)
                    self.write_error(f"port {srv.name!r}: {value}")
            if good:
                srv.received += len(good)
                srv.on_requests(good)
        if fatal is not None:
            srv.rejected += 1
            log.warning("bidi port %r: closing client %d %s: %s", srv.name, self.cid, self.peer, fatal)
            self.closing = True
            if self.transport is not None:
                self.transport.pause_reading()
            if units:
                srv._close_after_tick.append((self, str(fatal)))  # pyright: ignore[reportPrivateUsage]
            else:
                self.fail(str(fatal))
            return
        if srv.blocked() and self.transport is not None:
            srv._pause(self)  # pyright: ignore[reportPrivateUsage]

    def write_error(self, message: str) -> None:
        reply = self.server.codec.error_reply(message)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)

    def fail(self, message: str) -> None:
        self.write_error(message)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server._left(self)  # pyright: ignore[reportPrivateUsage]


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
        self._next_id = 1
        self._paused: list[_Conn] = []
        self._resuming = False
        self._close_after_tick: list[tuple[_Conn, str]] = []
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

    def _joined(self, conn: _Conn) -> None:
        conn.cid = ClientId(self._next_id)
        self._next_id += 1
        self.clients_total += 1
        self.conns[conn.cid] = conn
        if self.on_membership is not None:
            self.on_membership([(conn.cid, MembershipEvent.JOINED)])

    def _left(self, conn: _Conn) -> None:
        if self.conns.pop(conn.cid, None) is not None and self.on_membership is not None:
            self.on_membership([(conn.cid, MembershipEvent.LEFT)])

    # ---- backpressure -------------------------------------------------------------------------

    def _pause(self, conn: _Conn) -> None:
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
            t.write(units[0] if len(units) == 1 else b"".join(units))
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
        if self._close_after_tick:
            closing, self._close_after_tick = self._close_after_tick, []
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
