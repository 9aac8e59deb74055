"""The Python client API for External ports (blocking sockets; no event loop needed).

    with connect_input(("127.0.0.1", port), codec="json") as words:
        words.send_many(["a", "b"])
    with connect_output(("127.0.0.1", port), codec="json") as counts:
        print(counts.take(2, timeout=5))

A deployment hands out clients already pointed at the right address and codec:
``deployment.input("words")`` / ``deployment.output("counts")``.
"""

from __future__ import annotations

import socket
import time
from types import TracebackType
from typing import Any, Iterable, Iterator

from .errors import NetError
from .external_codec import ExternalCodec, get_codec

__all__ = ["PortClient", "InputClient", "OutputClient", "DuplexClient", "connect_input", "connect_output", "connect_bidi"]


class PortClient:
    """A connection to one External port."""

    def __init__(self, address: tuple[str, int], codec: str | ExternalCodec, *, connect_timeout: float = 10.0) -> None:
        self.address = address
        self.codec: ExternalCodec = get_codec(codec)
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                self.sock = socket.create_connection(address, timeout=max(0.1, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._eof = False

    def _next_unit(self, timeout: float | None) -> bytes | None:
        """The next unit the server sent, or None if none came within ``timeout`` / at EOF."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            unit = self.codec.parse(self._buf)
            if unit is not None:
                return unit
            if self._eof:
                return None
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except (socket.timeout, BlockingIOError):
                return None
            if not chunk:
                self._eof = True
                continue
            self._buf += chunk

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class InputClient(PortClient):
    """Sends values into a ``source_external`` port."""

    def send(self, value: Any) -> None:
        self.sock.settimeout(None)
        self.sock.sendall(self.codec.encode(value))

    def send_many(self, values: Iterable[Any]) -> None:
        self.sock.settimeout(None)
        self.sock.sendall(b"".join(map(self.codec.encode, values)))

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, framing included (for testing how a server handles bad input)."""
        self.sock.settimeout(None)
        self.sock.sendall(data)

    def errors(self, timeout: float = 0.0) -> list[str]:
        """Error replies the server sent for rejected input, waiting up to ``timeout`` for the first."""
        out: list[str] = []
        unit = self._next_unit(timeout)
        while unit is not None:
            value = self.codec.decode(unit)
            out.append(str(value.get("error", value)) if isinstance(value, dict) else str(value))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            unit = self._next_unit(0.0)
        return out


class OutputClient(PortClient):
    """Receives the values a ``send_external`` port emits."""

    def recv(self, timeout: float | None = 10.0) -> Any:
        """The next value; raises ``TimeoutError`` if none arrives within ``timeout``."""
        unit = self._next_unit(timeout)
        if unit is None:
            if self._eof:
                raise NetError(f"output port at {self.address[0]}:{self.address[1]} closed the connection")
            raise TimeoutError(f"no value from the output port at {self.address[0]}:{self.address[1]} within {timeout}s")
        return self.codec.decode(unit)

    def take(self, n: int, timeout: float = 10.0) -> list[Any]:
        """Exactly ``n`` values, waiting up to ``timeout`` seconds in total."""
        deadline = time.monotonic() + timeout
        out: list[Any] = []
        while len(out) < n:
            out.append(self.recv(max(0.0, deadline - time.monotonic())))
        return out

    def drain(self, quiet: float = 0.3, timeout: float = 10.0) -> list[Any]:
        """Every value until none arrives for ``quiet`` seconds (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        out: list[Any] = []
        while time.monotonic() < deadline:
            unit = self._next_unit(quiet)
            if unit is None:
                break
            out.append(self.codec.decode(unit))
        return out

    def __iter__(self) -> Iterator[Any]:
        while True:
            unit = self._next_unit(None)
            if unit is None:
                return
            yield self.codec.decode(unit)


class DuplexClient(InputClient, OutputClient):
    """One client of a bidirectional port (``source_external_bidi``): sends requests and receives
    the responses addressed to this connection."""

    def request(self, value: Any, timeout: float = 10.0) -> Any:
        """Send one request and wait for its response (for request/response protocols)."""
        self.send(value)
        return self.recv(timeout)


def connect_bidi(address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, timeout: float = 10.0) -> DuplexClient:
    return DuplexClient(address, codec, connect_timeout=timeout)


def connect_input(address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, timeout: float = 10.0) -> InputClient:
    return InputClient(address, codec, connect_timeout=timeout)


def connect_output(address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, timeout: float = 10.0) -> OutputClient:
    return OutputClient(address, codec, connect_timeout=timeout)
