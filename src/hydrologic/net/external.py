"""Servers for External ports: where clients outside the program connect.

Each ``source_external`` port listens on its own TCP port; every decoded value from every
connected client is handed to the location (``on_values``). Each ``send_external`` port
listens too, and every value the program emits is written to every connected client.

These ports face untrusted clients: their codecs are explicit (``external_codec.py``), input
that does not decode or has the wrong type gets an error reply and is dropped, and nothing a
client sends can stop the process. A client that stops reading an output port is disconnected
once it has ``CLIENT_BUFFER`` bytes queued, rather than stalling the program for everyone.
Values emitted while no client is connected are kept (up to ``UNCLAIMED_LIMIT``, oldest dropped
first) and delivered to the first client that connects. Repeated warnings (refused clients, bad
input, slow readers) are rate limited (``ratelimit.py``): one line per kind every 10 s, with a
count of the others.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from typing import Any, Awaitable, Callable

from .channel import set_nodelay
from .framing import close_writer
from .auth import HANDSHAKE_TIMEOUT
from .errors import CodecError, NetError
from .external_codec import MAX_LINE, check_value_type, get_codec
from .ratelimit import LogLimiter, asyncio_schedule

__all__ = ["ExternalInput", "ExternalOutput", "CLIENT_BUFFER", "UNCLAIMED_LIMIT"]

CLIENT_BUFFER = 16 << 20
UNCLAIMED_LIMIT = 100_000

log = logging.getLogger("hydrologic.net")


class ExternalInput:
    """The server side of a ``source_external`` port."""

    def __init__(
        self,
        name: str,
        codec: str,
        of: type[Any] | None,
        on_values: Callable[[list[Any]], None],
        gate: Callable[[], Awaitable[None]],
        single_client: bool = False,
    ) -> None:
        self.name = name
        # A port whose stream is typed TotalOrder promises one ordered sequence: with two clients
        # connected at once their interleaving would be an unmarked nondeterminism, so such a
        # port serves one client at a time. Declaring order=NoOrder admits many.
        self.single_client = single_client
        self.codec = get_codec(codec)
        self.of = of
        self._on_values = on_values
        self._gate = gate
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self.limiter = LogLimiter(log, schedule=asyncio_schedule)
        self.received = 0
        self.rejected = 0

    async def start(self, host: str, port: int = 0, *, tls: ssl.SSLContext | None = None) -> int:
        """Listen on ``host:port`` (0: any); with ``tls``, clients must complete a TLS handshake."""
        timeout = HANDSHAKE_TIMEOUT if tls is not None else None
        self._server = await asyncio.start_server(
            self._serve, host, port, limit=MAX_LINE + 1, ssl=tls, ssl_handshake_timeout=timeout
        )
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        set_nodelay(writer)
        if self.single_client and self._conns:
            self.rejected += 1
            self.limiter.info("refused", "external port %r: refused a second concurrent client %s (the port is ordered)", self.name, peer)
            reply = self.codec.error_reply(
                f"port {self.name!r} is ordered (TotalOrder) and already has a client; "
                "declare source_external(..., order=NoOrder) to accept several"
            )
            if reply is not None:
                writer.write(reply)
            await close_writer(writer)
            return
        self._conns.add(writer)
        codec = self.codec
        try:
            while True:
                await self._gate()
                raw = await codec.read(reader)
                if raw is None:
                    return
                # No await suspends while the reader has buffered data, so a fast client's
                # values all land before the location's next tick: one tick per batch.
                ok, value = self._decode(raw, writer, peer)
                if ok:
                    self.received += 1
                    self._on_values([value])
        except NetError as e:
            self.limiter.info("closed", "external port %r: closing the connection from %s: %s", self.name, peer, e)
            reply = self.codec.error_reply(str(e))
            if reply is not None and not writer.transport.is_closing():
                writer.write(reply)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(writer)
            await close_writer(writer)

    def _decode(self, raw: bytes, writer: asyncio.StreamWriter, peer: Any) -> tuple[bool, Any]:
        try:
            value = self.codec.decode(raw)
            why = check_value_type(value, self.of)
            if why is not None:
                raise CodecError(why)
        except CodecError as e:
            self.rejected += 1
            self.limiter.info("bad-input", "external port %r: dropped bad input from %s: %s", self.name, peer, e)
            reply = self.codec.error_reply(f"port {self.name!r}: {e}")
            if reply is not None and not writer.transport.is_closing():
                writer.write(reply)
            return False, None
        return True, value

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await asyncio.gather(*(close_writer(w) for w in list(self._conns)))


class ExternalOutput:
    """The server side of a ``send_external`` port."""

    def __init__(self, name: str, codec: str) -> None:
        self.name = name
        self.codec = get_codec(codec)
        self._server: asyncio.Server | None = None
        self._clients: list[asyncio.StreamWriter] = []
        self._unclaimed: collections.deque[bytes] = collections.deque(maxlen=UNCLAIMED_LIMIT)
        self._warned: set[str] = set()
        self.limiter = LogLimiter(log, schedule=asyncio_schedule)
        self.sent = 0

    async def start(self, host: str, port: int = 0, *, tls: ssl.SSLContext | None = None) -> int:
        """Listen on ``host:port`` (0: any); with ``tls``, clients must complete a TLS handshake."""
        timeout = HANDSHAKE_TIMEOUT if tls is not None else None
        self._server = await asyncio.start_server(self._serve, host, port, ssl=tls, ssl_handshake_timeout=timeout)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        set_nodelay(writer)
        if self._unclaimed:
            writer.writelines(list(self._unclaimed))
            self._unclaimed.clear()
        self._clients.append(writer)
        try:
            await reader.read()  # clients do not write to output ports; wait for them to leave
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if writer in self._clients:
                self._clients.remove(writer)
            await close_writer(writer)

    def publish(self, values: list[Any]) -> None:
        units: list[bytes] = []
        for v in values:
            try:
                units.append(self.codec.encode(v))
            except CodecError as e:
                key = type(v).__name__
                if key not in self._warned:
                    self._warned.add(key)
                    log.error("external port %r: cannot send a %s (dropped; logged once per type): %s", self.name, key, e)
        if not units:
            return
        self.sent += len(units)
        if not self._clients:
            self._unclaimed.extend(units)
            return
        for w in list(self._clients):
            if w.transport.is_closing():
                continue
            w.writelines(units)
            if w.transport.get_write_buffer_size() > CLIENT_BUFFER:
                self.limiter.info(
                    "slow", "external port %r: disconnecting a client that stopped reading (over %d bytes queued)", self.name, CLIENT_BUFFER
                )
                self._clients.remove(w)
                w.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._clients):
            try:
                await asyncio.wait_for(w.drain(), 1.0)
            except (OSError, RuntimeError, asyncio.TimeoutError):
                pass
            await close_writer(w)
