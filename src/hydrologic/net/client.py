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
import ssl
import time
from types import TracebackType
from typing import Any, Generic, Iterable, Iterator, overload

from typing_extensions import Self, TypeVar

from .errors import CodecError, NetError
from .external_codec import ExternalCodec, check_value_type, get_codec

# --- typed port handles: what a client sends (TI) and receives (TO), Any unless given ``of=``
TI = TypeVar("TI", default=Any)
TO = TypeVar("TO", default=Any)

__all__ = ["PortClient", "InputClient", "OutputClient", "DuplexClient", "connect_input", "connect_output", "connect_bidi"]


class PortClient:
    """A connection to one External port."""

    def __init__(
        self, address: tuple[str, int], codec: str | ExternalCodec, *, connect_timeout: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> None:
        """Connect to the port at ``address`` (retrying until ``connect_timeout``); with ``tls``
        (a client context trusting the port's certificate), over TLS."""
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
        if tls is not None:
            plain = self.sock
            try:
                self.sock = tls.wrap_socket(plain, server_hostname=address[0])
            except BaseException:
                plain.close()
                raise
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class InputClient(PortClient, Generic[TI]):
    """Sends values into a ``source_external`` port (``InputClient[int]`` when made with ``of=int``:
    the checkers then refuse sending anything else)."""

    def send(self, value: TI) -> None:
        self.sock.settimeout(None)
        self.sock.sendall(self.codec.encode(value))

    def send_many(self, values: Iterable[TI]) -> None:
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


class OutputClient(PortClient, Generic[TO]):
    """Receives the values a ``send_external`` port emits (``OutputClient[int]`` when made with
    ``of=int``, which also checks each value as it arrives: ``CodecError`` if it is not one)."""

    of: type[Any] | None = None

    def _value(self, unit: bytes) -> TO:
        value: TO = self.codec.decode(unit)
        if self.of is not None:
            problem = check_value_type(value, self.of)
            if problem is not None:
                raise CodecError(f"port at {self.address[0]}:{self.address[1]}: {problem}")
        return value

    def recv(self, timeout: float | None = 10.0) -> TO:
        """The next value; raises ``TimeoutError`` if none arrives within ``timeout``."""
        unit = self._next_unit(timeout)
        if unit is None:
            if self._eof:
                raise NetError(f"output port at {self.address[0]}:{self.address[1]} closed the connection")
            raise TimeoutError(f"no value from the output port at {self.address[0]}:{self.address[1]} within {timeout}s")
        return self._value(unit)

    def take(self, n: int, timeout: float = 10.0) -> list[TO]:
        """Exactly ``n`` values, waiting up to ``timeout`` seconds in total."""
        deadline = time.monotonic() + timeout
        out: list[TO] = []
        while len(out) < n:
            out.append(self.recv(max(0.0, deadline - time.monotonic())))
        return out

    def drain(self, quiet: float = 0.3, timeout: float = 10.0) -> list[TO]:
        """Every value until none arrives for ``quiet`` seconds (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        out: list[TO] = []
        while time.monotonic() < deadline:
            unit = self._next_unit(quiet)
            if unit is None:
                break
            out.append(self._value(unit))
        return out

    def __iter__(self) -> Iterator[TO]:
        while True:
            unit = self._next_unit(None)
            if unit is None:
                return
            yield self._value(unit)


class DuplexClient(InputClient[TI], OutputClient[TO]):
    """One client of a bidirectional port (``source_external_bidi``): sends requests and receives
    the responses addressed to this connection (``DuplexClient[Req, Resp]`` with ``of=``/``replies=``)."""

    def request(self, value: TI, timeout: float = 10.0) -> TO:
        """Send one request and wait for its response (for request/response protocols)."""
        self.send(value)
        return self.recv(timeout)


def _typed(client: Any, of: type[Any] | None) -> Any:
    client.of = of
    return client


@overload
def connect_bidi(address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> DuplexClient: ...
@overload
def connect_bidi(
    address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, of: type[TI], replies: type[TO], timeout: float = 10.0,
    tls: ssl.SSLContext | None = None,
) -> DuplexClient[TI, TO]: ...
def connect_bidi(
    address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, of: type[Any] | None = None,
    replies: type[Any] | None = None, timeout: float = 10.0,
    tls: ssl.SSLContext | None = None,
) -> Any:
    """A connection to a two-way port; ``of``/``replies`` type what it sends and receives (replies
    are checked as they arrive)."""
    return _typed(DuplexClient(address, codec, connect_timeout=timeout, tls=tls), replies)


@overload
def connect_input(address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> InputClient: ...
@overload
def connect_input(
    address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, of: type[TI], timeout: float = 10.0, tls: ssl.SSLContext | None = None
) -> InputClient[TI]: ...
def connect_input(
    address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, of: type[Any] | None = None, timeout: float = 10.0,
    tls: ssl.SSLContext | None = None,
) -> Any:
    """A connection to an input port; ``of`` types what it sends."""
    return InputClient(address, codec, connect_timeout=timeout, tls=tls)


@overload
def connect_output(address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> OutputClient: ...
@overload
def connect_output(
    address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, of: type[TO], timeout: float = 10.0, tls: ssl.SSLContext | None = None
) -> OutputClient[TO]: ...
def connect_output(
    address: tuple[str, int], codec: str | ExternalCodec = "msgpack", *, of: type[Any] | None = None, timeout: float = 10.0,
    tls: ssl.SSLContext | None = None,
) -> Any:
    """A connection to an output port; ``of`` types, and checks, what it receives."""
    return _typed(OutputClient(address, codec, connect_timeout=timeout, tls=tls), of)
