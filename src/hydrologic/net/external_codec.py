"""Codecs of External ports: what clients outside the program send and receive.

External ports face untrusted clients, so their codecs are explicit and never unpickle:

| codec | unit on the wire | values |
|---|---|---|
| ``bytes`` | length-prefixed frame (4-byte big-endian length) | ``bytes`` |
| ``json`` | one UTF-8 JSON document per line (``\\n``-terminated) | JSON values (arrays arrive as lists) |
| ``msgpack`` | length-prefixed frame holding one MessagePack value (no ext types) | MessagePack values |
| ``lines`` | one UTF-8 text line (``\\n``-terminated) | ``str`` without line breaks |
| ``resp`` | the Redis protocol (requests are command arrays) | ``list`` requests, RESP replies |

A program may also pass its own ``ExternalCodec`` subclass as ``codec=`` (docs/ports.md).

A unit that does not decode, or whose value is not of the port's declared type (``of=``), is
answered with an error reply on the same connection (``{"error": "..."}`` in the port's own
codec; ``bytes`` ports only log, since any bytes are a valid value) and dropped; the
connection stays open and the process keeps serving.
"""

from __future__ import annotations

import copy
import typing
import asyncio
from typing import Any, cast

import msgspec

from ..lang.collection import custom_codec
from ..lang.location import MemberId
from .errors import CodecError, FrameError
from .framing import HEADER, MAX_FRAME, pack_frame, read_frame
from .resp import MAX_REQUEST, RespError, RespRequestParser, encode_replies, encode_reply, parse_value, strict_int, value_end

__all__ = ["ExternalCodec", "get_codec", "CODECS", "check_value_type", "MAX_LINE"]

MAX_LINE = 1024 * 1024
"""Longest JSON line accepted from a client (1 MiB)."""


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, MemberId):
        return obj.raw_id  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    raise TypeError(f"{type(obj).__name__} has no representation in this codec")


def _reject_ext(code: int, data: memoryview) -> Any:
    raise CodecError(f"MessagePack extension type {code} is not accepted on an external port")


class ExternalCodec:
    """One wire format for an External port (see the module docstring for the table)."""

    name = ""
    framed = True
    request_response = False
    """Every request gets exactly one response, in order (RESP): an error reply for a bad request
    must then wait for the responses to the requests before it, wherever they come from."""
    decodes_to: type[Any] | None = None
    """The type of every value the stream decoder yields, if it has one (RESP: ``list``): such a
    decoder yields only decoded units (``(True, value)``; malformed input ends the stream), and a
    port declared ``of=`` that type needs no per-value check."""

    def decode(self, raw: bytes) -> Any:
        raise NotImplementedError

    def encode(self, value: Any) -> bytes:
        """The whole wire unit (framing included) for ``value``; ``CodecError`` if impossible."""
        raise NotImplementedError

    def error_reply(self, message: str) -> bytes | None:
        return self.encode({"error": message})

    def stream_decoder(self) -> StreamDecoder:
        """An incremental decoder of one connection's input (used by bidi ports, server side)."""
        return UnitDecoder(self)

    async def read(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next raw unit from a client, or ``None`` at a clean end of stream."""
        if self.framed:
            return await read_frame(reader, MAX_FRAME)
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            if not e.partial.strip():
                return None
            return e.partial  # a last line without its newline
        except asyncio.LimitOverrunError:
            raise FrameError(f"JSON line longer than {MAX_LINE} bytes") from None
        return line

    def parse(self, buf: bytearray) -> bytes | None:
        """Remove and return one complete unit from the front of ``buf`` (client side), if any."""
        if self.framed:
            if len(buf) < HEADER.size:
                return None
            (size,) = HEADER.unpack_from(buf)
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes exceeds the limit {MAX_FRAME}")
            if len(buf) < HEADER.size + size:
                return None
            unit = bytes(buf[HEADER.size : HEADER.size + size])
            del buf[: HEADER.size + size]
            return unit
        i = buf.find(b"\n")
        if i < 0:
            if len(buf) > MAX_LINE:
                raise FrameError(f"JSON line longer than {MAX_LINE} bytes")
            return None
        unit = bytes(buf[: i + 1])
        del buf[: i + 1]
        return unit


class BytesCodec(ExternalCodec):
    name = "bytes"

    def decode(self, raw: bytes) -> Any:
        return raw

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise CodecError(f"a `bytes` port carries bytes, got {type(value).__name__}: {value!r:.60}")
        return pack_frame(bytes(cast(Any, value)))

    def error_reply(self, message: str) -> bytes | None:
        return None


class LinesCodec(ExternalCodec):
    """One UTF-8 text line per value (``\n``-terminated, a ``\r`` before it dropped): the
    protocol of ``nc``, telnet and most line-oriented tools. Values are ``str`` without newlines."""

    name = "lines"
    framed = False

    def decode(self, raw: bytes) -> Any:
        try:
            return raw.rstrip(b"\n").rstrip(b"\r").decode()
        except UnicodeDecodeError as e:
            raise CodecError(f"a line that is not UTF-8: {e}") from None

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise CodecError(f"a `lines` port carries str, got {type(value).__name__}: {value!r:.60}")
        if "\n" in value or "\r" in value:
            raise CodecError(f"a `lines` value cannot contain a line break: {value!r:.60}")
        return value.encode() + b"\n"

    def error_reply(self, message: str) -> bytes | None:
        return self.encode("error: " + message.replace("\n", " ").replace("\r", " "))


class JsonLinesCodec(ExternalCodec):
    name = "json"
    framed = False

    def __init__(self) -> None:
        self._dec = msgspec.json.Decoder()
        self._enc = msgspec.json.Encoder(enc_hook=_enc_hook)

    def decode(self, raw: bytes) -> Any:
        try:
            return self._dec.decode(raw)
        except msgspec.DecodeError as e:
            raise CodecError(f"malformed JSON line: {e}") from None

    def encode(self, value: Any) -> bytes:
        try:
            return self._enc.encode(value) + b"\n"
        except (TypeError, OverflowError, msgspec.EncodeError) as e:
            raise CodecError(f"cannot encode {type(value).__name__} as JSON: {e}") from None


class MsgpackCodec(ExternalCodec):
    name = "msgpack"

    def __init__(self) -> None:
        self._dec = msgspec.msgpack.Decoder(ext_hook=_reject_ext)
        self._enc = msgspec.msgpack.Encoder(enc_hook=_enc_hook)

    def decode(self, raw: bytes) -> Any:
        try:
            return self._dec.decode(raw)
        except CodecError:
            raise
        except msgspec.DecodeError as e:
            raise CodecError(f"malformed MessagePack frame: {e}") from None

    def encode(self, value: Any) -> bytes:
        try:
            return pack_frame(self._enc.encode(value))
        except (TypeError, OverflowError, msgspec.EncodeError) as e:
            raise CodecError(f"cannot encode {type(value).__name__} as MessagePack: {e}") from None


class StreamDecoder:
    """Turns the bytes of one connection into values as they arrive.

    ``feed(data)`` returns ``(units, fatal)``: each unit is ``(True, value)`` or ``(False, why)``
    for a unit that did not decode (the connection goes on), and ``fatal`` is the error that
    ends the stream (nothing after it can be framed), or None. ``feed(data, max_units)`` decodes
    at most that many units and keeps the rest of the bytes for a later ``feed`` (``b""`` to go
    on with what is kept); ``buffered`` is the number of bytes kept.
    """

    def feed(self, data: bytes, max_units: int = -1) -> tuple[list[tuple[bool, Any]], FrameError | None]:
        raise NotImplementedError

    @property
    def buffered(self) -> int:
        raise NotImplementedError

    def discard(self) -> None:
        """Drop what is buffered; nothing more is decoded (the connection is being closed)."""
        raise NotImplementedError

    def encode(self, value: Any) -> bytes:
        """The wire unit of a response on this connection (a protocol may switch versions)."""
        raise NotImplementedError

    def encode_all(self, values: list[Any]) -> list[bytes]:
        """``encode`` of each value, in order (``CodecError`` if one cannot be encoded)."""
        encode = self.encode
        return [encode(v) for v in values]

    # A decoder whose every unit decodes (it has no per-unit errors, only a fatal one) may also
    # return the values alone: a server's hot path then makes no ``(True, value)`` pair per
    # request only to take it apart again.
    values_only = False

    def feed_values(self, data: bytes, max_units: int = -1) -> tuple[list[Any], FrameError | None]:
        """``feed`` without the ``True`` of each unit; only for decoders with ``values_only``."""
        raise NotImplementedError


class UnitDecoder(StreamDecoder):
    """The stream decoder of a codec with ``parse`` (framing) and ``decode`` (one unit)."""

    def __init__(self, codec: ExternalCodec) -> None:
        self.codec = codec
        self.buf = bytearray()
        self.failed = False

    @property
    def buffered(self) -> int:
        return len(self.buf)

    def discard(self) -> None:
        self.failed = True
        self.buf = bytearray()

    def feed(self, data: bytes, max_units: int = -1) -> tuple[list[tuple[bool, Any]], FrameError | None]:
        if self.failed:
            return [], None
        self.buf += data
        out: list[tuple[bool, Any]] = []
        codec = self.codec
        try:
            while len(out) != max_units:
                unit = codec.parse(self.buf)
                if unit is None:
                    break
                try:
                    out.append((True, codec.decode(unit)))
                except CodecError as e:
                    out.append((False, str(e)))
            return out, None
        except FrameError as e:
            self.discard()
            return out, e

    def encode(self, value: Any) -> bytes:
        return self.codec.encode(value)


class _RespStreamDecoder(StreamDecoder):
    """RESP requests of one connection; replies in RESP2, or RESP3 after ``HELLO 3``."""

    def __init__(self) -> None:
        self.parser = RespRequestParser()
        self.resp3 = False

    @property
    def buffered(self) -> int:
        return len(self.parser.buf)

    def discard(self) -> None:
        self.parser.discard()

    values_only = True

    def feed(self, data: bytes, max_units: int = -1) -> tuple[list[tuple[bool, Any]], FrameError | None]:
        reqs, err = self.feed_values(data, max_units)
        return [(True, r) for r in reqs], err

    def feed_values(self, data: bytes, max_units: int = -1) -> tuple[list[Any], FrameError | None]:
        reqs, err = self.parser.feed(data, max_units)
        # ``HELLO 3`` switches this connection's replies to RESP3. One search over the joined
        # command names (in C) instead of a comparison per request: the loop runs only when
        # some name could be HELLO.
        if reqs and b"HELLO" in b" ".join([r[0] for r in reqs]).upper():
            for r in reqs:
                if len(r) >= 2 and r[0].upper() == b"HELLO":
                    self.resp3 = r[1] == b"3"
        return reqs, err

    def encode(self, value: Any) -> bytes:
        return encode_reply(value, self.resp3)

    def encode_all(self, values: list[Any]) -> list[bytes]:
        if self.resp3:
            return [encode_reply(v, True) for v in values]
        return encode_replies(values)


class RespCodec(ExternalCodec):
    """RESP2, the Redis protocol (``net/resp.py``): requests are ``list[bytes]``, replies any
    value of the table there; errors are ``-ERR ...`` replies."""

    name = "resp"
    framed = False
    request_response = True
    decodes_to = list

    def decode(self, raw: bytes) -> Any:
        return parse_value(raw)

    def encode(self, value: Any) -> bytes:
        return encode_reply(value)

    def error_reply(self, message: str) -> bytes | None:
        return encode_reply(RespError(message if message.startswith("ERR ") else f"ERR {message}"))

    def stream_decoder(self) -> StreamDecoder:
        return _RespStreamDecoder()

    async def read(self, reader: asyncio.StreamReader) -> bytes | None:
        """One request (an array of bulk strings, or an inline line), as raw bytes."""
        try:
            line = await reader.readuntil(b"\n")
            if not line.startswith(b"*"):
                return line
            count = _resp_int(line[1:], "multibulk length")
            parts = [line]
            size = 0
            for _ in range(max(count, 0)):
                hdr = await reader.readuntil(b"\n")
                if not hdr.startswith(b"$"):
                    raise FrameError(f"Protocol error: expected '$', got {hdr[:1]!r}")
                ln = _resp_int(hdr[1:], "bulk length")
                size += ln
                if ln < 0 or size > MAX_REQUEST:
                    raise FrameError("Protocol error: invalid bulk length")
                parts += (hdr, await reader.readexactly(ln + 2))
            return b"".join(parts)
        except asyncio.IncompleteReadError as e:
            if not e.partial.strip():
                return None
            raise FrameError("Protocol error: connection closed inside a request") from None
        except asyncio.LimitOverrunError:
            raise FrameError("Protocol error: too big inline request") from None

    def parse(self, buf: bytearray) -> bytes | None:
        end = value_end(buf)
        if end < 0:
            return None
        unit = bytes(buf[:end])
        del buf[:end]
        return unit


def _resp_int(line: bytes, what: str) -> int:
    """The length on a header line (its CRLF included), read as strictly as redis-server does."""
    v = strict_int(line[:-2]) if line.endswith(b"\r\n") else None
    if v is None:
        raise FrameError(f"Protocol error: invalid {what}")
    return v


CODECS: dict[str, type[ExternalCodec]] = {
    "bytes": BytesCodec,
    "json": JsonLinesCodec,
    "msgpack": MsgpackCodec,
    "resp": RespCodec,
    # --- lines and codecs chosen by the user
    "lines": LinesCodec,
}


def get_codec(name: str | ExternalCodec) -> ExternalCodec:
    """A fresh codec: built in, or the ``ExternalCodec`` subclass a program passed as ``codec=``
    (registered under its ``name`` while building), or ``name`` itself if it is a codec."""
    if isinstance(name, ExternalCodec):
        return name
    cls = CODECS.get(name)
    if cls is not None:
        return cls()
    custom = custom_codec(name)
    if isinstance(custom, type) and issubclass(custom, ExternalCodec):
        return custom()
    if isinstance(custom, ExternalCodec):
        return copy.copy(custom)
    raise CodecError(f"unknown external codec {name!r}; choose one of {sorted(CODECS)}, or an ExternalCodec subclass")


_CHECKABLE: tuple[type[Any], ...] = (str, int, float, bool, bytes, list, dict)


def checked_type(of: type[Any] | None, codec: ExternalCodec | None = None) -> type[Any] | None:
    """What ``check_value_type`` checks values against for a port of ``of`` (its container type),
    or None when there is nothing to check: ``of`` is not a plain checkable type, or ``codec``
    only ever yields values of that type."""
    origin = typing.get_origin(of)
    if origin is not None:
        of = origin
    if of is None or of not in _CHECKABLE:
        return None
    if codec is not None and codec.decodes_to is of:
        return None
    return of


def check_value_type(value: Any, of: type[Any] | None) -> str | None:
    """Why ``value`` is not an ``of`` (None if it is, or if ``of`` is not a checkable plain type).

    A parameterised type (``dict[str, Any]``, ``list[int]``, ``tuple[str, int]``) is checked by its
    container (``typing.get_origin``): that is what a wire codec can vouch for; element types
    remain the program's business.
    """
    origin = typing.get_origin(of)
    if origin is not None:
        of = origin
    if of is None or of not in _CHECKABLE:
        return None
    ok = isinstance(value, of)
    if of is int and isinstance(value, bool):
        ok = False
    if of is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True  # JSON writes 1.0 as 1
    if ok:
        return None
    return f"expected a value of type {of.__name__}, got {type(value).__name__}: {value!r:.60}"
