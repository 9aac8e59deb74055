"""RESP2, the Redis serialization protocol, as an External port codec (``codec="resp"``).

Requests (client → server) are arrays of bulk strings (``*3\\r\\n$3\\r\\nSET\\r\\n...``), or
*inline* commands — one line of space-separated words, with ``"..."``/``'...'`` quoting, as
``redis-cli`` and ``telnet`` may send — and decode to ``list[bytes]``: ``[b"SET", b"k", b"v"]``.

Replies (server → client) are encoded from Python values:

| value | RESP2 |
|---|---|
| ``str`` without CR/LF | simple string ``+OK`` |
| ``RespError("ERR ...")`` | error ``-ERR ...`` |
| ``int`` (``bool`` as 0/1) | integer ``:42`` |
| ``bytes`` (or a ``str`` with CR/LF, or a ``float``) | bulk string ``$3\\r\\nabc`` |
| ``None`` | null bulk string ``$-1`` |
| ``list``/``tuple`` | array of the encoded items |
| ``dict`` | flat array of keys and values (a map ``%`` after ``HELLO 3``) |

A connection that sends ``HELLO 3`` (redis-py 8 does so by default) gets the RESP3 forms of
null (``_``) and maps from then on; every other reply is the same in both protocols.

Untrusted input never crashes the server: a malformed request is answered with
``-ERR Protocol error: ...`` (Redis's own wording) and, since a byte stream cannot be resynchronised
after a framing error, the connection is closed once the requests before it are answered.
A request whose declared size exceeds ``MAX_REQUEST`` (or an inline line longer than
``MAX_INLINE``) is refused the same way before its payload is buffered. Counts and lengths are
read exactly as redis-server reads them (``strict_int``: ``$03``, ``$+3``, ``$1_0`` are refused);
where redis-server is laxer than its own protocol (it takes any byte after a CR as the LF, and
skips the two bytes after a bulk payload unread) this parser is stricter and refuses the request.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any, cast

from .errors import CodecError, FrameError

_hiredis: Any  # the optional C reader (``pip install 'hydrologic[fast]'``), or None
_ProtocolError: type[Exception]
try:
    _hiredis = importlib.import_module("hiredis")
    _ProtocolError = _hiredis.ProtocolError
except ImportError:  # pragma: no cover - installs without the extra
    _hiredis = None
    _ProtocolError = Exception

__all__ = [
    "RespError",
    "RespRequestParser",
    "encode_reply",
    "parse_value",
    "split_inline",
    "strict_int",
    "fast_parser_available",
    "PARSER_ENV",
    "MAX_REQUEST",
    "MAX_INLINE",
    "MAX_ARGS",
]

MAX_REQUEST = 16 << 20
"""Largest request accepted (the sum of its arguments' declared lengths), 16 MiB."""
MAX_INLINE = 64 << 10
"""Longest inline command or header line accepted, 64 KiB (Redis's ``PROTO_INLINE_MAX_SIZE``)."""
MAX_ARGS = 1 << 20
"""Most arguments in one request (Redis's limit for a multibulk count)."""

_CRLF = b"\r\n"


class RespError:
    """An error reply: ``RespError("ERR unknown command 'FOO'")`` is sent as ``-ERR unknown ...``.

    A plain value (hashable, comparable, picklable), so programs can produce it in pure functions
    and send it between processes like any other reply.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RespError) and other.message == self.message

    def __hash__(self) -> int:
        return hash(("RespError", self.message))

    def __repr__(self) -> str:
        return f"RespError({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RespError, (self.message,))


# ---- replies ------------------------------------------------------------------------------------


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


_SIMPLE = {"OK": b"+OK\r\n", "PONG": b"+PONG\r\n", "QUEUED": b"+QUEUED\r\n"}


def encode_replies(values: list[Any]) -> list[bytes]:
    """``encode_reply`` of each value (RESP2), with the usual replies (``OK``, a bulk string)
    written inline: a server encodes a tick's replies at once, and a call per reply was most of
    the cost."""
    simple = _SIMPLE
    return [
        simple[v] if v.__class__ is str and v in simple
        else b"$%d\r\n%b\r\n" % (len(v), v) if v.__class__ is bytes
        else encode_reply(v)
        for v in values
    ]


def encode_reply(value: Any, resp3: bool = False) -> bytes:
    """The RESP2 bytes of one reply (see the module table); ``CodecError`` if not representable.

    ``resp3=True`` (a connection that switched with ``HELLO 3``) writes ``None`` as RESP3's null
    ``_`` and a ``dict`` as a map; without it a ``dict`` is a flat array of keys and values.
    """
    t: type[object] = type(cast(object, value))
    if t is bytes:
        return b"$%d\r\n%b\r\n" % (len(value), value)
    if t is str:
        simple = _SIMPLE.get(value)
        if simple is not None:
            return simple
        if "\r" in value or "\n" in value:
            return _bulk(value.encode())
        return b"+%b\r\n" % value.encode()
    if value is None:
        return b"_\r\n" if resp3 else b"$-1\r\n"
    if t is bool:
        return b":1\r\n" if value else b":0\r\n"
    if t is int:
        return b":%d\r\n" % value
    if t is RespError:
        msg = cast(RespError, value).message.replace("\r", " ").replace("\n", " ")
        return b"-%b\r\n" % msg.encode()
    if isinstance(value, (list, tuple)):
        items = cast("list[Any]", value)
        return b"*%d\r\n" % len(items) + b"".join(encode_reply(x, resp3) for x in items)
    if isinstance(value, dict):
        d: dict[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        body = b"".join(encode_reply(k, resp3) + encode_reply(v, resp3) for k, v in d.items())
        return (b"%%%d\r\n" % len(d) if resp3 else b"*%d\r\n" % (2 * len(d))) + body
    if isinstance(value, (bytearray, memoryview)):
        return _bulk(bytes(cast(Any, value)))
    if isinstance(value, int):  # int subclasses (e.g. IntEnum)
        return b":%d\r\n" % int(value)
    if isinstance(value, float):
        return _bulk(repr(value).encode())
    if isinstance(value, str):
        return encode_reply(str(value), resp3)
    raise CodecError(f"a RESP reply cannot carry a {t.__name__}: {value!r:.60}")


# ---- requests -----------------------------------------------------------------------------------


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command like Redis's ``sdssplitargs``: words, ``"..."`` with backslash
    escapes (``\\n``, ``\\r``, ``\\t``, ``\\xHH``, ...) and ``'...'`` with ``\\'`` only."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    out: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\r\n\v\f":
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    raise FrameError("Protocol error: unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _ishex(line[i + 2]) and _ishex(line[i + 3]):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    cur.append({0x6E: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x61: 7}.get(line[i], line[i]))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in b" \t\r\n\v\f":
                        raise FrameError("Protocol error: unbalanced quotes in request")
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    raise FrameError("Protocol error: unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in b" \t\r\n\v\f":
                        raise FrameError("Protocol error: unbalanced quotes in request")
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \t\r\n\v\f":
                    break
                if c == 0x22:
                    inq = True
                elif c == 0x27:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        out.append(bytes(cur))


def _ishex(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 70 or 97 <= c <= 102


_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


def strict_int(raw: bytes | bytearray) -> int | None:
    """The integer ``raw`` spells exactly as redis-server reads one (its ``string2ll``), else None.

    ASCII digits with an optional leading ``-``; no ``+``, no spaces, no ``_``, no leading zeros
    (``0`` itself is fine, ``-0`` is not), and within a signed 64-bit integer. Redis applies this to
    multibulk counts, bulk lengths and integer arguments alike, so ``$04``, ``$+4``, ``$4 `` and
    ``$1_0`` are refused as lengths and ``INCRBY k 1_0`` as a value.
    """
    n = len(raw)
    if n == 0 or n > 20:
        return None
    if raw.isdigit():  # bytes.isdigit: ASCII digits only
        if raw[0] == 0x30 and n > 1:
            return None
        v = int(raw)
        return v if v <= _I64_MAX else None
    if raw[0] == 0x2D and n > 1 and raw[1] != 0x30 and raw[1:].isdigit():
        v = int(raw)
        return v if v >= _I64_MIN else None
    return None


def _int(raw: bytes | bytearray, what: str) -> int:
    v = strict_int(raw)
    if v is None:
        raise FrameError(f"Protocol error: invalid {what}")
    return v


PARSER_ENV = "HYDROLOGIC_RESP_PARSER"
"""Environment variable: ``python`` makes new parsers use the pure-Python path even when hiredis is
installed (to compare the two, or to rule the C parser out)."""


def fast_parser_available() -> bool:
    """Whether hiredis (``pip install 'hydrologic[fast]'``) is installed, so parsers can use its C reader."""
    return _hiredis is not None


_FORMATS: dict[int, bytes] = {}
_F1 = b"*1\r\n$%d\r\n%b\r\n"
_F2 = b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
_F3 = b"*3\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"


def _canonical(request: Any) -> bytes:
    """The one encoding the strict parser accepts for ``request``, an array of bulk strings
    (``TypeError``/``ValueError`` if ``request`` is anything else)."""
    k = len(request)
    if k == 3:  # SET k v, and the like: unrolled, twice as fast as the general case
        a, b, c = request
        return _F3 % (len(a), a, len(b), b, len(c), c)
    if k == 2:
        a, b = request
        return _F2 % (len(a), a, len(b), b)
    if k == 1:
        (a,) = request
        return _F1 % (len(a), a)
    f = _FORMATS.get(k)
    if f is None:
        if k > 64:
            return b"*%d\r\n" % k + b"".join([b"$%d\r\n%b\r\n" % (len(a), a) for a in request])
        f = _FORMATS[k] = b"*%d\r\n" % k + b"$%d\r\n%b\r\n" * k
    return f % tuple([x for a in request for x in (len(a), a)])


class RespRequestParser:
    """Incremental parser of one connection's requests.

    ``feed(data)`` returns every request completed by ``data`` (each a ``list[bytes]``) and, if
    the stream turned out malformed, the ``FrameError`` that ends it (requests before the error
    are still returned; nothing after it is parsed). ``feed(data, max_requests)`` parses at most
    that many requests and keeps the rest of the bytes, unparsed, for a later ``feed`` (a server
    takes a client's pipelined requests a few at a time); ``buffered`` is how many bytes it keeps.

    With hiredis installed (``fast``, the default then), arrays of bulk strings are split by
    hiredis's C reader, and every request it returns is checked byte for byte against the one
    encoding this parser accepts for it (``*<n>``, then ``$<len>`` and the bytes for each
    argument, canonical integers, CRLF everywhere): so hiredis decides nothing on its own. Whatever
    hiredis would read differently (inline commands, ``*-1``, nested or non-bulk elements, a bulk
    string not followed by CRLF, a malformed or oversized header) fails that check or hiredis's own
    and is handed to the pure-Python parser from that byte on, which gives the same requests and
    the same errors as without hiredis. A request still incomplete after a read has its headers
    checked by the pure-Python parser too, so oversized requests are refused before their payload
    arrives either way.
    """

    def __init__(self, max_request: int = MAX_REQUEST, max_inline: int = MAX_INLINE, fast: bool | None = None) -> None:
        self.buf = bytearray()
        self.max_request = max_request
        self.max_inline = max_inline
        self.failed = False
        if fast is None:
            fast = _hiredis is not None and os.environ.get(PARSER_ENV, "") != "python"
        elif fast and _hiredis is None:
            raise ImportError("the fast RESP parser needs hiredis: pip install 'hydrologic[fast]'")
        self.fast = fast
        # hiredis's reader holds exactly the bytes of ``buf`` (those not yet returned as requests);
        # None while it must be re-created (after the pure-Python parser took over some bytes).
        self._reader: Any = _hiredis.Reader() if fast and _hiredis is not None else None

    @property
    def buffered(self) -> int:
        return len(self.buf)

    def discard(self) -> None:
        """Drop the buffered bytes; nothing more is parsed (the connection is being closed)."""
        self.failed = True
        self.buf = bytearray()
        self._reader = None

    def feed(self, data: bytes, max_requests: int = -1) -> tuple[list[Any], FrameError | None]:
        if self.failed:
            return [], None
        # With nothing left over from the last read (the usual case), parse ``data`` itself;
        # slices of bytes are bytes, so arguments are copied once.
        buf: bytes | bytearray
        old = len(self.buf)
        if old:
            self.buf += data
            buf = self.buf
        else:
            buf = data
        out: list[Any] = []
        pos = 0
        n = len(buf)
        try:
            reader = self._reader if self.fast else None
            if reader is not None and not old and n <= _SMALL_READ:
                # one or two small requests: the pure-Python parser is as fast, and the reader,
                # which holds nothing now, stays in step unless bytes are left over
                pos = self._take(buf, 0, out, max_requests)
                if pos < n:
                    self._reader = None
                reader = None
            elif self.fast:
                if reader is not None:  # it holds the bytes left over: look at their end, and ``data``
                    if _too_big_for_reader(buf[old - 24 :] if old > 24 else buf):
                        reader = None
                    else:
                        reader.feed(data)
                elif old <= _RESYNC_MAX and not _too_big_for_reader(buf):
                    reader = _new_reader(buf)
                self._reader = reader
                if reader is None:
                    pos = self._take(buf, 0, out, max_requests)
                else:
                    pos, trusted = self._take_fast(reader, buf, out, max_requests)
                    if pos < n and len(out) != max_requests:
                        # an anomaly, or an incomplete request (whose headers are checked now)
                        before = pos
                        pos = self._take(buf, pos, out, max_requests)
                        if not trusted or pos != before:
                            self._reader = None  # re-created from the bytes left, at a later feed
            else:
                pos = self._take(buf, 0, out, max_requests)
        except FrameError as e:
            self.failed = True
            self.buf = bytearray()
            self._reader = None
            return out, e
        if buf is data:
            if pos < n:
                self.buf += data[pos:]
        elif pos:
            del self.buf[:pos]
        return out, None

    def _take_fast(self, reader: Any, buf: bytes | bytearray, out: list[Any], max_requests: int) -> tuple[int, bool]:
        """Requests split by hiredis and confirmed byte for byte; the position after the last one,
        and whether hiredis's reader is still in step (False: the bytes from there on need the
        pure-Python parser)."""
        got: list[Any] = []
        gets = reader.gets
        trusted = True
        try:
            while len(got) != max_requests:
                v = gets()
                if v is False:
                    break
                got.append(v)
        except _ProtocolError:
            trusted = False
        if not got:
            return 0, trusted
        whole = b""
        try:
            k = len(got[0])
            try:  # a pipeline of one command (SET k v, GET k...): the format inline, no call per request
                if k == 3:
                    whole = b"".join([_F3 % (len(a), a, len(b), b, len(c), c) for a, b, c in got])
                elif k == 2:
                    whole = b"".join([_F2 % (len(a), a, len(b), b) for a, b in got])
                else:
                    raise ValueError
            except (TypeError, ValueError):
                whole = b"".join([_canonical(v) for v in got])
            ok = len(whole) <= self.max_request and buf.startswith(whole)
        except (TypeError, ValueError):
            ok = False
        if ok:  # the usual case: all of them at once
            out.extend([v for v in got if v])  # `*0` is an empty request, ignored
            return len(whole), trusted
        pos = 0  # one by one, up to the first that is not what the strict parser reads there
        for v in got:
            try:
                c = _canonical(v)
            except (TypeError, ValueError):
                return pos, False
            if len(c) > self.max_request or not buf.startswith(c, pos):
                return pos, False  # (a request this large: the pure-Python parser checks its size)
            if v:
                out.append(v)
            pos += len(c)
        return pos, trusted

    def _take(self, buf: bytes | bytearray, pos: int, out: list[Any], max_requests: int) -> int:
        """The pure-Python parser: requests from ``pos`` on into ``out``; the position after them."""
        n = len(buf)
        find = buf.find
        while pos < n and len(out) != max_requests:
            if buf[pos] == 0x2A:  # '*': an array of bulk strings
                nl = find(_CRLF, pos)
                if nl < 0:
                    if n - pos > self.max_inline:
                        raise FrameError("Protocol error: too big mbulk count string")
                    break
                count = _int(buf[pos + 1 : nl], "multibulk length")
                if count > MAX_ARGS:
                    raise FrameError("Protocol error: invalid multibulk length")
                p = nl + 2
                args: list[bytes] = []
                size = 0
                complete = True
                for _ in range(count):
                    if p >= n:
                        complete = False
                        break
                    if buf[p] != 0x24:  # '$'
                        raise FrameError(f"Protocol error: expected '$', got '{chr(buf[p])}'")
                    nl = find(_CRLF, p)
                    if nl < 0:
                        if n - p > self.max_inline:
                            raise FrameError("Protocol error: too big bulk count string")
                        complete = False
                        break
                    ln = _int(buf[p + 1 : nl], "bulk length")
                    size += ln
                    if ln < 0 or size > self.max_request:
                        raise FrameError(
                            f"Protocol error: invalid bulk length"
                            + (f" (request larger than {self.max_request} bytes)" if ln >= 0 else "")
                        )
                    start = nl + 2
                    end = start + ln
                    if end + 2 > n:
                        complete = False
                        break
                    if buf[end] != 0x0D or buf[end + 1] != 0x0A:
                        raise FrameError("Protocol error: bulk string not terminated by CRLF")
                    args.append(bytes(buf[start:end]))
                    p = end + 2
                if not complete:
                    break
                pos = p
                if args:  # `*0` and `*-1` are empty requests, ignored (as Redis does)
                    out.append(args)
            else:  # an inline command: one line
                nl = find(b"\n", pos)
                if nl < 0:
                    if n - pos > self.max_inline:
                        raise FrameError("Protocol error: too big inline request")
                    break
                if nl - pos > self.max_inline:
                    raise FrameError("Protocol error: too big inline request")
                words = split_inline(bytes(buf[pos:nl]))
                pos = nl + 1
                if words:
                    out.append(words)
        return pos


# hiredis allocates a whole list when it reads an aggregate's header (``*100000000`` would cost
# 800 MB at once), so it never sees one with 5 digits or more: such input (a request of 10,000
# arguments or more, or a payload that spells one) goes to the pure-Python parser, which grows its
# lists as the arguments arrive and refuses counts over MAX_ARGS.
_BIG_ARRAY = re.compile(rb"\*[0-9]{5}")
_BIG_AGGREGATE = re.compile(rb"[%~>|][0-9]{5}")
_SMALL_READ = 128
"""Reads up to this many bytes (one or two small requests), with nothing left over, are parsed in
pure Python even with hiredis: at that size its per-call overhead cancels its speed."""
_RESYNC_MAX = 4096
"""Most bytes left over from the pure-Python parser that a new hiredis reader is given (larger
leftovers, e.g. a large request arriving in pieces, stay with the pure-Python parser)."""


def _too_big_for_reader(data: bytes | bytearray) -> bool:
    if _BIG_ARRAY.search(data) is not None:
        return True
    if b"%" in data or b"~" in data or b">" in data or b"|" in data:
        return _BIG_AGGREGATE.search(data) is not None
    return False


def _new_reader(pending: bytes | bytearray) -> Any:
    assert _hiredis is not None
    reader = _hiredis.Reader()
    if pending:
        reader.feed(bytes(pending))
    return reader


# ---- generic values (the client side, and whole units) -------------------------------------------


def _value_end(buf: bytes | bytearray, pos: int, depth: int = 0) -> int:
    """Index just past the RESP value starting at ``pos``, or -1 if incomplete."""
    if pos >= len(buf):
        return -1
    nl = buf.find(_CRLF, pos)
    if nl < 0:
        if len(buf) - pos > MAX_INLINE:
            raise FrameError("RESP line too long")
        return -1
    t = buf[pos]
    if t in b"+-:":
        return nl + 2
    if t == 0x24:  # '$'
        ln = _int(buf[pos + 1 : nl], "bulk length")
        if ln < 0:
            return nl + 2
        if ln > MAX_REQUEST:
            raise FrameError("Protocol error: invalid bulk length")
        end = nl + 2 + ln + 2
        return end if end <= len(buf) else -1
    if t == 0x2A:  # '*'
        count = _int(buf[pos + 1 : nl], "multibulk length")
        if depth > 32 or count > MAX_ARGS:
            raise FrameError("Protocol error: invalid multibulk length")
        p = nl + 2
        for _ in range(max(count, 0)):
            p = _value_end(buf, p, depth + 1)
            if p < 0:
                return -1
        return p
    return nl + 2  # an inline command


def _parse(buf: bytes, pos: int) -> tuple[Any, int]:
    nl = buf.index(_CRLF, pos)
    t = buf[pos]
    line = buf[pos + 1 : nl]
    if t == 0x2B:  # '+'
        return line.decode(errors="replace"), nl + 2
    if t == 0x2D:  # '-'
        return RespError(line.decode(errors="replace")), nl + 2
    if t == 0x3A:  # ':'
        return _int(line, "integer"), nl + 2
    if t == 0x24:
        ln = _int(line, "bulk length")
        if ln < 0:
            return None, nl + 2
        return buf[nl + 2 : nl + 2 + ln], nl + 2 + ln + 2
    if t == 0x2A:
        count = _int(line, "multibulk length")
        if count < 0:
            return None, nl + 2
        items: list[Any] = []
        p = nl + 2
        for _ in range(count):
            v, p = _parse(buf, p)
            items.append(v)
        return items, p
    return split_inline(buf[pos:nl]), nl + 2


def parse_value(raw: bytes) -> Any:
    """Decode one complete RESP value (a reply, or a request: inline commands become word lists)."""
    try:
        if not raw:
            raise CodecError("empty RESP unit")
        if raw[0] not in b"+-:$*":  # an inline command, one line
            return split_inline(raw.rstrip(b"\r\n"))
        value, end = _parse(raw, 0)
    except (ValueError, IndexError, FrameError) as e:
        raise CodecError(f"malformed RESP value: {e}") from None
    if end != len(raw):
        raise CodecError("malformed RESP value: trailing bytes")
    return value


def value_end(buf: bytes | bytearray) -> int:
    """Length of the complete RESP value at the front of ``buf``, or -1 if it is incomplete."""
    return _value_end(buf, 0)
