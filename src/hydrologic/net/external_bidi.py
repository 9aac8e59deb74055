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
* everything a client can make the server hold is bounded (``net/limits.py``, set per port):
  connections (``max_clients``: one more is refused with an error reply), the input one
  connection holds (``max_query_buffer``) and all connections together (``max_input_memory``:
  the connection whose input crosses it is refused with an error reply and closed), and the
  replies queued for a client that does not read them (``max_output_buffer``: it is dropped);
* **fairness**: the program gets at most ``max_pipeline`` requests of one client at a time — with
  a request/response codec, requests handed over and not yet answered; with other codecs,
  requests per tick. A client's further requests stay unparsed in its connection, which stops
  being read (TCP pushes back on that client only) until the program has answered; the others
  go on. So a client pipelining 100,000 commands, or never reading its replies, delays each
  other client by at most its share of a few ticks rather than by its whole backlog;
* when the location has too much unprocessed input, no connection hands over more until it has
  caught up; connections are then served in turn (round robin), so none is starved;
* repeated warnings (refused connections, bad input, dropped slow readers) are rate limited
  (``net/ratelimit.py``): at most one line per kind every 10 s, with a count of the others.

Connections are asyncio ``Protocol``s rather than streams: a client's bytes are parsed as
they arrive, in one synchronous call per read, which is what lets one process answer tens of
thousands of small requests per second.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import operator
import socket
import ssl
from typing import Any, Callable, cast

from ..lang.bidi import ClientId, MembershipEvent
from .auth import HANDSHAKE_TIMEOUT
from ..lang.single_client import SOLE_CLIENT
from .errors import CodecError, FrameError
from .external_codec import ExternalCodec, check_value_type, checked_type, get_codec
from .limits import PortLimits
from .ratelimit import LogLimiter, asyncio_schedule

CLOSE_GRACE = 30.0
"""Seconds a connection closed for a framing error waits for the replies still owed to it."""

_CLOSE: Any = object()  # in a connection's reply queue: close once everything before is written

__all__ = ["ExternalBidiServer", "CLOSE_GRACE"]

log = logging.getLogger("hydrologic.net")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


_first = operator.itemgetter(0)


def _by_client(pairs: list[Any]) -> dict[Any, list[Any]]:
    """Each client's values, in order, from ``(client, value)`` pairs. Runs of one client (a
    state machine's replies come sorted by client) are cut in C by ``groupby``; raises
    ``TypeError``/``ValueError``/``LookupError`` if an element is not a pair."""
    per: dict[Any, list[Any]] = {}
    for cid, run in itertools.groupby(pairs, _first):
        values = [v for _, v in run]
        old = per.get(cid)
        if old is None:
            per[cid] = values
        else:
            old.extend(values)
    return per


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
        self.inflight = 0  # requests handed to the program, not yet answered (request/response)
        self.errors_owed = 0  # error replies in ``owed``, waiting for the replies before them
        self.taken = 0  # units handed to the program since its last tick
        self.held = 0  # bytes of input counted in the server's ``buffered``
        self.paused = False  # reading paused: more requests are waiting in ``decoder``

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport instances
        self.peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass
        srv = self.server
        if len(srv.conns) >= srv.limits.max_clients:
            self.closing = True
            srv.refused += 1
            srv.limiter.info(
                "refused", "bidi port %r: refused a connection from %s: %d clients connected, the port's max_clients",
                srv.name, self.peer, len(srv.conns),
            )
            reply = srv.codec.error_reply("max number of clients reached")
            if reply is not None:
                self.transport.write(reply)
            self.transport.close()
            return
        srv.joined(self)

    def data_received(self, data: bytes) -> None:
        if not self.closing:
            self.take(data)

    def take(self, data: bytes = b"") -> None:
        """Decode what this client sent (``data`` and what was kept from before) and hand the
        program as many of its requests as its share allows; keep the rest, unparsed, and stop
        reading until the program has room for them."""
        srv = self.server
        room = srv.room(self)
        decoder = self.decoder
        errors = False
        if srv.values_only:  # (RESP) every unit is a request of the port's type: nothing to check per unit
            values, fatal = decoder.feed_values(data, room)
            taken = len(values)
            if values:
                self._hand_over_values(values)
        else:
            units, fatal = decoder.feed(data, room)
            taken = len(units)
            if units:
                errors = self._hand_over(units)
        if fatal is None:
            fatal = self._over_limit()
        if fatal is not None:
            self._fail_stream(fatal)
            return
        t = self.transport
        if t is None or t.is_closing():
            return
        if errors and not self.check_output():  # error replies to bad input it does not read
            return
        if taken >= room and decoder.buffered:  # stopped at its share: more may be waiting
            srv.wait(self)
            if not self.paused:
                self.paused = True
                t.pause_reading()
        elif self.paused:
            self.paused = False
            t.resume_reading()

    def check_output(self) -> bool:
        """Drop the connection if more than ``max_output_buffer`` bytes are queued for it (a client
        that does not read its replies); whether it is still open."""
        t = self.transport
        if t is None or t.is_closing():
            return False
        srv = self.server
        limit = srv.limits.max_output_buffer
        if t.get_write_buffer_size() <= limit:
            return True
        srv.slow += 1
        srv.limiter.info(
            "slow", "bidi port %r: dropped client %d %s, which does not read its replies (over %s queued, the port's max_output_buffer)",
            srv.name, self.cid, self.peer, _mib(limit),
        )
        self.closing = True
        t.abort()
        return False

    def _hand_over_values(self, values: list[Any]) -> None:
        """``_hand_over`` for a decoder with ``values_only`` on a port that checks no type."""
        srv = self.server
        cid = self.cid
        n = len(values)
        self.taken += n
        srv.taken.add(self)
        if srv.codec.request_response:
            self._expect(n)
        srv.received += n
        srv.on_requests([(cid, v) for v in values])

    def _hand_over(self, units: list[tuple[bool, Any]]) -> bool:
        """Hand the program the good units; answer the bad ones with an error. Whether it wrote
        (or queued) an error reply."""
        srv = self.server
        cid = self.cid
        of = srv.checked_of
        rr = srv.codec.request_response
        good: list[tuple[ClientId, Any]] = []
        counted = 0  # of ``good``, the requests already counted in ``owed``
        errors = False
        if of is None and srv.codec.decodes_to is not None:
            # every unit is a decoded request of the port's type: nothing to check per unit
            good = [(cid, value) for _, value in units]
        else:
            for ok, value in units:
                if ok and of is not None:
                    why = check_value_type(value, of)
                    if why is not None:
                        ok, value = False, why
                if ok:
                    good.append((cid, value))
                else:
                    if rr and counted < len(good):  # replies owed before this one
                        self._expect(len(good) - counted)
                        counted = len(good)
                    srv.rejected += 1
                    srv.limiter.info("bad-input", "bidi port %r: dropped bad input from client %d %s: %s", srv.name, cid, self.peer, value)
                    self.write_error(f"port {srv.name!r}: {value}")
                    errors = True
        self.taken += len(units)
        srv.taken.add(self)
        if good:
            if rr and counted < len(good):
                self._expect(len(good) - counted)
            srv.received += len(good)
            srv.on_requests(good)
        return errors

    def _over_limit(self) -> FrameError | None:
        """Account this connection's buffered input; the error that closes it if over a limit."""
        srv = self.server
        now = self.decoder.buffered
        grew = now - self.held
        srv.buffered += grew
        self.held = now
        limits = srv.limits
        if now > limits.max_query_buffer:
            srv.over_limit += 1
            return FrameError(
                f"client query buffer limit reached: a request, or requests not yet served, over "
                f"{_mib(limits.max_query_buffer)} (the port's max_query_buffer); send smaller requests"
            )
        if grew > 0 and srv.buffered > limits.max_input_memory:
            srv.over_limit += 1
            srv.limiter.warning(
                "memory", "bidi port %r: refused client %d %s: the port's clients hold %s of input, over its max_input_memory (%s)",
                srv.name, self.cid, self.peer, _mib(srv.buffered), _mib(limits.max_input_memory),
            )
            return FrameError(
                f"the server holds too much unprocessed input from its clients (over "
                f"{_mib(limits.max_input_memory)}, the port's max_input_memory): request refused and connection "
                "closed; retry later"
            )
        return None

    def _fail_stream(self, fatal: FrameError) -> None:
        """The stream cannot go on: answer with an error after what is owed, then close."""
        srv = self.server
        srv.rejected += 1
        srv.limiter.info("closed", "bidi port %r: closing client %d %s: %s", srv.name, self.cid, self.peer, fatal)
        self.closing = True
        self.decoder.discard()
        srv.buffered -= self.held
        self.held = 0
        if self.transport is not None:
            self.transport.pause_reading()
        if srv.codec.request_response:
            self.write_error(str(fatal))
            self._queue(_CLOSE)
            if self.owed:
                asyncio.get_running_loop().call_later(CLOSE_GRACE, self._give_up)
        elif self.taken:
            srv.close_after_tick.append((self, str(fatal)))
        else:
            self.fail(str(fatal))

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
        self.inflight += n
        if self.owed and type(self.owed[-1]) is int:
            self.owed[-1] += n
        else:
            self.owed.append(n)

    def _queue(self, item: Any) -> None:
        """Write ``item`` (bytes, or _CLOSE) now if nothing is owed before it, else after."""
        if any(type(x) is int for x in self.owed):
            self.owed.append(item)
            if item is not _CLOSE:
                self.errors_owed += 1
        else:
            self._emit(item)

    def _emit(self, item: Any) -> None:
        t = self.transport
        if item is _CLOSE:
            self.owed = []
            self.errors_owed = 0
            if t is not None:
                t.close()
        elif t is not None and not t.is_closing():
            t.write(item)

    def replies(self, units: list[bytes]) -> tuple[bytes, bool]:
        """The bytes to write for the program's next replies ``units``, with the error replies
        that were waiting for them in their places; and whether to close after writing them."""
        owed = self.owed
        self.inflight = max(0, self.inflight - len(units))
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
                    self.errors_owed = 0
                    return b"".join(out), True
                self.errors_owed -= 1
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
            self.server.limiter.info(
                "grace", "bidi port %r: client %d still owed replies %gs after a framing error; closing",
                self.server.name, self.cid, CLOSE_GRACE,
            )
            self.transport.close()

    def fail(self, message: str) -> None:
        self.write_error(message)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.left(self)


class ExternalBidiServer:
    """The server side of one ``source_external_bidi`` port on one location instance.

    ``blocked()`` says the location has too much unprocessed input: no request is handed over
    while it holds; ``after_tick()``, called after each of the location's ticks, hands over what
    waited, connection by connection in turn.
    """

    def __init__(
        self,
        name: str,
        codec: str,
        of: type[Any] | None,
        on_requests: Callable[[list[tuple[ClientId, Any]]], None],
        *,
        on_membership: Callable[[list[tuple[ClientId, MembershipEvent]]], None] | None = None,
        blocked: Callable[[], bool] | None = None,
        limits: PortLimits | None = None,
        limiter: LogLimiter | None = None,
    ) -> None:
        self.name = name
        self.codec: ExternalCodec = get_codec(codec)
        self.of = of
        self.checked_of = checked_type(of, self.codec)  # None: every decoded value already is one
        # the decoders of this port return values alone and nothing needs checking per value
        self.values_only = self.checked_of is None and self.codec.decodes_to is not None and self.codec.stream_decoder().values_only
        self.on_requests = on_requests
        self.on_membership = on_membership
        self.blocked: Callable[[], bool] = blocked or (lambda: False)
        self.limits = limits or PortLimits()
        self.limiter = limiter or LogLimiter(log, schedule=asyncio_schedule)
        self._server: asyncio.AbstractServer | None = None
        self.conns: dict[ClientId, _Conn] = {}
        # The first ClientId of this run. A restarted process starts past every id an earlier
        # incarnation could have handed out (``start_client_ids``), so a reply or a request
        # number keyed by client never reaches the wrong client across a restart.
        self._next_id = 1
        self._waiting: dict[_Conn, None] = {}  # connections with requests not yet handed over, in turn
        self.taken: set[_Conn] = set()  # connections that handed over requests since the last tick
        self.close_after_tick: list[tuple[_Conn, str]] = []
        self._warned: set[str] = set()
        self.buffered = 0  # bytes of input held by all connections
        self.received = 0
        self.rejected = 0
        self.sent = 0
        self.dropped = 0
        self.clients_total = 0
        self.refused = 0  # connections refused (max_clients)
        self.over_limit = 0  # connections closed for holding too much input
        self.slow = 0  # connections dropped for not reading their replies

    async def start(self, host: str, port: int = 0, *, tls: ssl.SSLContext | None = None) -> int:
        """Listen on ``host:port`` (0: any); with ``tls``, clients must complete a TLS handshake."""
        loop = asyncio.get_running_loop()
        timeout = HANDSHAKE_TIMEOUT if tls is not None else None
        self._server = await loop.create_server(
            lambda: _Conn(self), host, port, reuse_address=True, ssl=tls, ssl_handshake_timeout=timeout
        )
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
        self.buffered -= conn.held
        conn.held = 0
        self._waiting.pop(conn, None)
        self.taken.discard(conn)
        if self.conns.pop(conn.cid, None) is not None and self.on_membership is not None:
            self.on_membership([(conn.cid, MembershipEvent.LEFT)])

    # ---- fair share of the location's input ----------------------------------------------------

    def room(self, conn: _Conn) -> int:
        """How many more of ``conn``'s requests the program may be handed now."""
        if self.blocked():
            return 0
        if self.codec.request_response:
            return max(0, self.limits.max_pipeline - conn.inflight - conn.errors_owed)
        return max(0, self.limits.max_pipeline - conn.taken)

    def wait(self, conn: _Conn) -> None:
        """``conn`` has requests left over: offer it room again after the next tick, in turn."""
        self._waiting.pop(conn, None)
        self._waiting[conn] = None

    # ---- responses ----------------------------------------------------------------------------

    def publish(self, pairs: list[Any]) -> None:
        """Write each ``(client, value)`` to that client, in order; called after each tick."""
        try:
            per = _by_client(pairs)
        except (TypeError, ValueError, LookupError):  # not all pairs: again, one by one, with warnings
            per = self._by_client_checked(pairs)
        conns = self.conns
        for cid, values in per.items():
            conn = conns.get(cid)
            if cid == SOLE_CLIENT and len(conns) == 1:  # --- single-client ports
                conn = next(iter(conns.values()))
            t = conn.transport if conn is not None else None
            if conn is None or t is None or t.is_closing():
                self.dropped += len(values)
                continue
            try:
                units = conn.decoder.encode_all(values)
            except CodecError:
                units = [self._encode(conn, v) for v in values]
            data, close = conn.replies(units)
            t.write(data)
            if close:
                t.close()
            self.sent += len(units)
            if not close:
                conn.check_output()

    def _by_client_checked(self, pairs: list[Any]) -> dict[Any, list[Any]]:
        """``_by_client``, dropping (with a warning) each element that is not a pair."""
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
        return per

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
        (their earlier requests' responses, produced by that tick, were written first); each
        connection's share starts again, and those with requests waiting hand them over, in turn."""
        if self.close_after_tick:
            closing, self.close_after_tick = self.close_after_tick, []
            for conn, why in closing:
                conn.fail(why)
        if self.taken:
            for conn in self.taken:
                conn.taken = 0
            self.taken = set()
        if self._waiting:
            waiting, self._waiting = self._waiting, {}
            skipped: dict[_Conn, None] = {}
            for conn in waiting:
                if conn.closing:
                    continue
                if self.room(conn) > 0:
                    conn.take()  # still waiting afterwards: back in line (``wait``), behind the skipped
                else:
                    skipped[conn] = None
            if skipped:
                skipped.update(self._waiting)
                self._waiting = skipped

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
