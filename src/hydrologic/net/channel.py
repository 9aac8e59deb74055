"""Internal channels: authenticated TCP connections between the instances of a deployment.

There is **one connection per (sender instance, receiver instance)**, opened by the sender, and
it carries every network edge between the two. TCP keeps each connection FIFO, so each
receiver sees every sender's messages in the order they were sent, and the
receiver knows who sent a frame from the connection's authenticated hello — as in Hydro, no
sender tag travels with the data.

Backpressure is TCP's own. A receiver stops reading when its pending input exceeds its limit
(``InboundHandler.gate``); the kernel buffers fill; the sender's transport buffer passes its
high-water mark, and the sender's tick loop waits in ``OutLink.wait_writable`` before running
the next tick, so it stops reading its own inputs in turn. Memory stays bounded on every hop.

A connection that breaks (the peer died, reset, or sent a malformed frame) is closed and
logged; the sending process keeps running, drops (and counts) what it would have sent there
while the connection is down, and reconnects with backoff (Hydro issue #3130 is the
counter-example this avoids: there, a sender panicked when its peer went away). Whether a *new*
connection may carry an ordered channel again is the receiver's decision, made in the deploy
layer from the sender's incarnation in the hello: yes from a restarted sender, no from the same
incarnation after a break, since its lost messages would be a silent gap. A newer incarnation
may also arrive while the old one's connection is still open (its machine hung or was cut off
and was declared dead): the receiver then ``supersede``s the old connection, unheard.

With TLS (``tls.py``; across hosts by default), each connection is a mutual TLS 1.3 session
first, and the HMAC handshake and every frame travel inside it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import ssl
from typing import Any, Protocol

from .auth import HANDSHAKE_TIMEOUT, client_handshake, server_handshake
from .errors import AuthError, NetError
from .framing import MAX_FRAME, close_writer, read_frame, write_frame

__all__ = ["Address", "PeerKey", "OutLink", "InboundHandler", "InternalServer", "set_nodelay", "HIGH_WATER"]

Address = tuple[str, int]
PeerKey = tuple[int, "int | None"]
HIGH_WATER = 1 << 20
"""Bytes a sender may have queued towards one peer before its tick loop waits (1 MiB)."""

DOWN_WARNING_AFTER = 10.0
"""Seconds a lost channel may stay down before a warning says so: losing one is logged at INFO
(a peer that stops or restarts closes its connections; a restart is back within about a second)."""

log = logging.getLogger("hydrologic.net")


def set_nodelay(writer: asyncio.StreamWriter) -> None:
    sock: Any = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not a TCP socket
            pass


class OutLink:
    """The sending end of the connection to one peer instance."""

    def __init__(
        self,
        label: str,
        addr: Address,
        secret: bytes,
        hello: dict[str, Any],
        *,
        reconnect: bool = False,
        high_water: int = HIGH_WATER,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.label = label
        self._tls = tls
        self.addr = addr
        self._secret = secret
        self._hello = hello
        self.reconnect = reconnect
        self.high_water = high_water
        self.writer: asyncio.StreamWriter | None = None
        self.up = False
        self.closed = False
        self.quiet = False  # the deployment is stopping: a lost connection is expected
        self.ever_lost = False  # a connection to this peer broke (or never opened) at least once
        # Frames queued while the connection is down, written first when it is back (oldest
        # dropped past ``high_water`` bytes): the peer's next incarnation gets a contiguous
        # suffix of what was sent, and a burst during a restart is not lost.
        self._held: collections.deque[bytes] = collections.deque()
        self._held_bytes = 0
        self._kick = asyncio.Event()
        self.sent_frames = 0
        self.dropped_frames = 0
        self._watch: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        self._reapers: set[asyncio.Task[None]] = set()

    async def connect(self, attempts: int = 50, delay: float = 0.05) -> bool:
        """Open and authenticate the connection, retrying while the peer is not listening yet."""
        last: BaseException | None = None
        for i in range(attempts):
            if self.closed:
                return False
            try:
                await self._open()
                return True
            except (OSError, NetError, asyncio.TimeoutError) as e:  # ssl.SSLError is an OSError
                last = e
                await asyncio.sleep(min(delay * (1.5**i), 1.0))
        log.warning("could not connect to %s at %s:%d: %s", self.label, *self.addr, last)
        return False

    async def _open(self) -> None:
        if self._tls is None:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.addr), 5.0)
        else:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    *self.addr, ssl=self._tls, server_hostname=self.addr[0], ssl_handshake_timeout=HANDSHAKE_TIMEOUT
                ),
                5.0 + HANDSHAKE_TIMEOUT,
            )
        try:
            set_nodelay(writer)
            await client_handshake(reader, writer, self._secret, self._hello)
        except BaseException:
            self._close_in_background(writer)
            raise
        writer.transport.set_write_buffer_limits(high=self.high_water)
        self.writer = writer
        self.up = True
        while self._held:
            write_frame(writer, self._held.popleft())
            self.sent_frames += 1
        self._held_bytes = 0
        if self._watch is not None:
            self._watch.cancel()  # it watched a connection that is already gone
        self._watch = asyncio.ensure_future(self._watch_peer(reader, writer))

    async def _watch_peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The receiver never writes after the handshake, so any read result means the
        # connection is gone: EOF (peer closed or died) or an error (reset).
        try:
            await reader.read(1)
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            return
        # Only the watcher of the current connection may report it lost: the EOF of a connection
        # that was already replaced (lost on a write, then reopened) must not close its successor,
        # which the receiver would then see as a break inside one incarnation.
        if self.writer is writer:
            self._lost("the peer closed the connection")

    def _lost(self, why: str) -> None:
        if not self.up:
            return
        self.up = False
        self.ever_lost = True
        if self.writer is not None:
            self._close_in_background(self.writer)
        if self.closed or self.quiet:
            return
        # INFO: a peer that stops or restarts closes its connections, and the supervisor reports
        # a death itself; only a channel that stays down needs a human (``_reconnect_loop``).
        log.info(
            "channel to %s lost (%s); messages to it are dropped while it is down%s",
            self.label,
            why,
            "; reconnecting" if self.reconnect else "",
        )
        self.retry_later()

    def _close_in_background(self, writer: asyncio.StreamWriter) -> None:
        """Close ``writer`` without waiting here, yet retrieve how the connection ended (see
        ``close_writer``): a reset left unretrieved is reported at exit."""
        try:
            reaper = asyncio.get_running_loop().create_task(close_writer(writer))
        except RuntimeError:  # no loop running (a test driving the channel by hand)
            writer.close()
        else:
            self._reapers.add(reaper)
            reaper.add_done_callback(self._reapers.discard)

    def retry_later(self) -> None:
        """Keep trying to (re)open the connection in the background, with backoff."""
        self.ever_lost = True
        if self.reconnect and self._retry is None and not self.closed:
            self._retry = asyncio.ensure_future(self._reconnect_loop())

    @property
    def held_frames(self) -> int:
        """Frames waiting for the connection to come back."""
        return len(self._held)

    def reconnect_now(self) -> None:
        """The peer is known to be back (a supervisor said so): retry without waiting out the backoff."""
        self._kick.set()

    def repoint(self, addr: Address) -> None:
        """The peer now listens at ``addr`` (a new incarnation that could not have its old port or
        host again): drop any connection to the old address and connect to the new one at once.
        Frames held while the peer was down are written there first, as after any reconnection."""
        if addr == self.addr:
            self.reconnect_now()
            return
        log.info("channel to %s: the peer moved from %s:%d to %s:%d", self.label, *self.addr, *addr)
        self.addr = addr
        if self.up:
            self._lost(f"the peer moved to {addr[0]}:{addr[1]}")
        elif self._retry is not None:
            self._retry.cancel()  # it may be waiting on the old address
            self._retry = None
            self.retry_later()
        else:
            self.retry_later()
        self.reconnect_now()

    async def _reconnect_loop(self) -> None:
        delay = 0.1
        loop = asyncio.get_running_loop()
        since = loop.time()
        warned = False
        try:
            while not self.closed and not self.up:
                # Cleared before the attempt, not after it fails: a kick that comes while an
                # attempt is failing (the peer reported back just then) must cut the next wait.
                self._kick.clear()
                try:
                    await self._open()
                    log.info("channel to %s re-established", self.label)
                    break
                except (OSError, NetError, asyncio.TimeoutError) as e:
                    if not warned and not self.quiet and loop.time() - since >= DOWN_WARNING_AFTER:
                        warned = True
                        log.warning(
                            "channel to %s still down after %.0f s (%s); %d frame(s) held, %d dropped; still reconnecting",
                            self.label, loop.time() - since, e, len(self._held), self.dropped_frames,
                        )
                    try:
                        await asyncio.wait_for(self._kick.wait(), delay)
                        delay = 0.1
                    except asyncio.TimeoutError:
                        delay = min(delay * 2, 2.0)
        finally:
            if self._retry is asyncio.current_task():  # not a loop that repoint() replaced
                self._retry = None

    def send(self, payload: bytes) -> bool:
        """Queue one frame; returns False if the connection is down (the frame is then held for
        the reconnection, or dropped and counted if this link does not reconnect)."""
        w = self.writer
        if not self.up or w is None or w.transport.is_closing():
            if self.up:
                self._lost("the connection is closing")
            if self.reconnect and not self.closed:
                self._held.append(payload)
                self._held_bytes += len(payload)
                while self._held_bytes > self.high_water and len(self._held) > 1:
                    self._held_bytes -= len(self._held.popleft())
                    self.dropped_frames += 1
            else:
                self.dropped_frames += 1
            return False
        write_frame(w, payload)
        self.sent_frames += 1
        return True

    def backlog(self) -> int:
        w = self.writer
        if not self.up or w is None:
            return 0
        return w.transport.get_write_buffer_size()

    async def wait_writable(self) -> None:
        """Wait until the queued bytes fall below the high-water mark (or the link breaks)."""
        w = self.writer
        if w is None or not self.up or self.backlog() <= self.high_water:
            return
        try:
            await w.drain()
        except (OSError, RuntimeError) as e:  # ConnectionResetError & co.
            self._lost(f"{type(e).__name__}: {e}")

    async def close(self) -> None:
        self.closed = True
        for t in (self._watch, self._retry):
            if t is not None:
                t.cancel()
        w = self.writer
        self.up = False
        if w is not None and not w.transport.is_closing():
            try:
                await asyncio.wait_for(w.drain(), 2.0)
            except (OSError, RuntimeError, asyncio.TimeoutError):
                pass
        if w is not None:
            await close_writer(w)


class InboundHandler(Protocol):
    """What the receiving side of a location does with authenticated connections."""

    def accept(self, hello: dict[str, Any]) -> tuple[Any, str | None]:
        """Admit a sender: returns (key, None), or (None, why it is refused)."""
        ...

    def on_frame(self, key: Any, payload: bytes) -> None:
        """Deliver one frame (raise ``NetError`` to fail-stop the connection)."""
        ...

    def on_closed(self, key: Any, why: str) -> None: ...

    async def gate(self) -> None:
        """Wait while this location has too much unprocessed input (receive backpressure)."""
        ...


class InternalServer:
    """Accepts internal connections, authenticates them, and feeds frames to a handler.

    With ``tls`` (a server context that requires client certificates, ``tls.py``) every
    connection first completes a mutual TLS handshake, then the HMAC handshake inside it. A
    connection that fails the HMAC handshake is counted in ``rejected``; one that fails the TLS
    handshake never reaches this class (asyncio closes it, logging only in debug mode), because
    upgrading an accepted connection ourselves races with the stream reader, which may already
    have buffered the client's first TLS record as plain bytes.
    """

    def __init__(
        self, secret: bytes, handler: InboundHandler, *, max_frame: int = MAX_FRAME, tls: ssl.SSLContext | None = None
    ) -> None:
        self._secret = secret
        self._tls = tls
        self._handler = handler
        self._max_frame = max_frame
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._by_key: dict[Any, asyncio.StreamWriter] = {}  # the current connection of each admitted sender
        self._reapers: set[asyncio.Task[None]] = set()
        self.rejected = 0

    def supersede(self, key: Any) -> bool:
        """Close the connection admitted as ``key``, if any, without reporting it closed: the
        handler is admitting a newer connection under the same key (a new incarnation of a peer
        whose old connection never closed: a hung or cut-off machine). Nothing more read on the
        old connection is delivered. Returns whether there was one."""
        old = self._by_key.pop(key, None)
        if old is None:
            return False
        reaper = asyncio.ensure_future(close_writer(old))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        return True

    async def start(self, host: str, port: int = 0) -> int:
        timeout = HANDSHAKE_TIMEOUT if self._tls is not None else None
        self._server = await asyncio.start_server(self._serve, host, port, ssl=self._tls, ssl_handshake_timeout=timeout)
        sock = self._server.sockets[0]
        bound: int = sock.getsockname()[1]
        return bound

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._conns.add(writer)
        key: Any = None
        why = "closed"
        try:
            try:
                hello = await server_handshake(reader, writer, self._secret)
            except (AuthError, OSError) as e:
                self.rejected += 1
                log.info("rejected an unauthenticated connection from %s: %s", peer, e)
                return
            key, refusal = self._handler.accept(hello)
            if refusal is not None:
                self.rejected += 1
                log.info("refused a connection from %s (%s): %s", peer, hello, refusal)
                return
            self._by_key[key] = writer
            set_nodelay(writer)
            while True:
                await self._handler.gate()
                payload = await read_frame(reader, self._max_frame)
                if payload is None:
                    why = "the peer closed the connection"
                    break
                if self._by_key.get(key) is not writer:  # superseded by a newer connection
                    break
                self._handler.on_frame(key, payload)
        except NetError as e:
            why = f"{type(e).__name__}: {e}"
            log.warning("closing the channel from %s: %s", peer if key is None else key, why)
        except (OSError, asyncio.IncompleteReadError) as e:
            why = f"{type(e).__name__}: {e}"
        except asyncio.CancelledError:
            why = "shutting down"
        except Exception as e:  # a bug in delivery must not take the process down
            why = f"internal error {type(e).__name__}: {e}"
            log.exception("closing the channel from %s after an internal error", key)
        finally:
            self._conns.discard(writer)
            if key is not None and self._by_key.get(key) is writer:
                del self._by_key[key]
                self._handler.on_closed(key, why)
            await close_writer(writer)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await asyncio.gather(*(close_writer(w) for w in list(self._conns)))
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            except asyncio.TimeoutError:  # pragma: no cover
                pass
