"""RESP2 codec (net/resp.py): requests in (arrays of bulk strings, inline commands), replies out,
and malformed or oversized input refused with Redis's own error wording, never an exception.

Every test runs twice: with hiredis's C reader (the ``fast`` extra, part of ``dev``) and with the
pure-Python parser (``HYDROLOGIC_RESP_PARSER=python``); a differential fuzz test checks that both
give the same requests, errors and buffered bytes for the same input, split and throttled alike.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings, strategies as st

import hydrologic.net.resp as resp
from hydrologic.net.errors import CodecError, FrameError
from hydrologic.net.external_codec import get_codec
from hydrologic.net.resp import (
    PARSER_ENV,
    RespError,
    RespRequestParser,
    encode_reply,
    fast_parser_available,
    parse_value,
    split_inline,
    strict_int,
)


@pytest.fixture(autouse=True, params=["fast", "python"])
def parser_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test with new parsers on hiredis's C reader, then on the pure-Python path."""
    kind: str = request.param
    if kind == "fast":
        assert fast_parser_available(), "hiredis is part of the dev extra: pip install -e '.[dev]'"
        monkeypatch.delenv(PARSER_ENV, raising=False)
        monkeypatch.setattr(resp, "_SMALL_READ", 0)  # hiredis even for the smallest reads
    else:
        monkeypatch.setenv(PARSER_ENV, "python")
    assert RespRequestParser().fast is (kind == "fast")
    return kind


def req(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


# ---- replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, wire",
    [
        ("OK", b"+OK\r\n"),
        (RespError("ERR unknown command 'FOO'"), b"-ERR unknown command 'FOO'\r\n"),
        (RespError("ERR two\r\nlines"), b"-ERR two  lines\r\n"),
        (42, b":42\r\n"),
        (-7, b":-7\r\n"),
        (True, b":1\r\n"),
        (b"hello", b"$5\r\nhello\r\n"),
        (b"", b"$0\r\n\r\n"),
        (None, b"$-1\r\n"),
        ("two\r\nlines", b"$10\r\ntwo\r\nlines\r\n"),
        ([b"a", None, 1, "OK"], b"*4\r\n$1\r\na\r\n$-1\r\n:1\r\n+OK\r\n"),
        ([], b"*0\r\n"),
        ((b"x", [b"y"]), b"*2\r\n$1\r\nx\r\n*1\r\n$1\r\ny\r\n"),
        (1.5, b"$3\r\n1.5\r\n"),
    ],
)
def test_replies_encode_as_redis_does(value: object, wire: bytes) -> None:
    assert encode_reply(value) == wire


def test_unencodable_reply_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match="cannot carry a set"):
        encode_reply({1, 2})


def test_resp3_forms_after_hello_3() -> None:
    assert encode_reply({"proto": 3}) == b"*2\r\n+proto\r\n:3\r\n"
    assert encode_reply({"proto": 3}, resp3=True) == b"%1\r\n+proto\r\n:3\r\n"
    assert encode_reply([None], resp3=True) == b"*1\r\n_\r\n"
    dec = get_codec("resp").stream_decoder()
    assert dec.encode(None) == b"$-1\r\n"
    dec.feed(req(b"HELLO", b"3"))
    assert dec.encode(None) == b"_\r\n"
    dec.feed(b"HELLO 2\r\n")
    assert dec.encode(None) == b"$-1\r\n"


@given(
    st.recursive(
        st.one_of(st.binary(max_size=20), st.integers(-(2**63), 2**63 - 1), st.none(), st.text(alphabet="abc OK", max_size=8)),
        lambda inner: st.lists(inner, max_size=4),
        max_leaves=12,
    )
)
@settings(max_examples=200, deadline=None)
def test_replies_round_trip(value: object) -> None:
    wire = encode_reply(value)
    assert parse_value(wire) == value
    buf = bytearray(wire + b"+next\r\n")
    assert get_codec("resp").parse(buf) == wire and bytes(buf) == b"+next\r\n"


# ---- requests ---------------------------------------------------------------------------------


def test_arrays_of_bulk_strings_parse_incrementally_byte_by_byte() -> None:
    wire = req(b"SET", b"key", b"va\r\nl") + req(b"GET", b"key") + b"*0\r\n"
    p = RespRequestParser()
    got: list[object] = []
    for i in range(len(wire)):
        out, err = p.feed(wire[i : i + 1])
        assert err is None
        got += out
    assert got == [[b"SET", b"key", b"va\r\nl"], [b"GET", b"key"]]
    assert not p.buf


def test_pipelined_requests_in_one_read() -> None:
    out, err = RespRequestParser().feed(req(b"PING") * 100)
    assert err is None and out == [[b"PING"]] * 100


def test_inline_commands_as_telnet_and_redis_cli_send_them() -> None:
    out, err = RespRequestParser().feed(b'SET k "hello world"\r\nGET k\n\r\n  \r\nECHO \'it\\\'s\' "a\\x41\\n"\r\n')
    assert err is None
    assert out == [[b"SET", b"k", b"hello world"], [b"GET", b"k"], [b"ECHO", b"it's", b"aA\n"]]
    assert split_inline(b"a  b\tc") == [b"a", b"b", b"c"]


@pytest.mark.parametrize(
    "wire, message",
    [
        (b"*2\r\n$3\r\nGET\r\n$xx\r\n", "invalid bulk length"),
        (b"*1\r\n$-5\r\n", "invalid bulk length"),
        (b"*x\r\n", "invalid multibulk length"),
        (b"*99999999\r\n", "invalid multibulk length"),
        (b"*1\r\n:5\r\n", "expected '$', got ':'"),
        (b"*1\r\n$3\r\nGETXX\r\n", "not terminated by CRLF"),
        (b'SET k "open\r\n', "unbalanced quotes"),
        (b"x" * 70_000, "too big inline request"),
        (b"*1\r\n$" + b"9" * 70_000, "too big bulk count string"),
    ],
)
def test_malformed_requests_end_the_stream_with_a_protocol_error(wire: bytes, message: str) -> None:
    p = RespRequestParser()
    out, err = p.feed(req(b"PING") + wire)
    assert out == [[b"PING"]]  # what came before the error is still served
    assert isinstance(err, FrameError) and "Protocol error" in str(err) and message in str(err)
    assert p.feed(req(b"PING")) == ([], None)  # nothing after the error is parsed


def test_oversized_request_is_refused_before_its_payload_arrives() -> None:
    p = RespRequestParser(max_request=1000)
    out, err = p.feed(b"*2\r\n$3\r\nSET\r\n$5000\r\n")
    assert out == [] and err is not None and "larger than 1000 bytes" in str(err)
    ok = RespRequestParser(max_request=1000)
    assert ok.feed(req(b"SET", b"x" * 990))[1] is None


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_garbage_never_raises(data: bytes) -> None:
    p = RespRequestParser()
    out, err = p.feed(data)
    assert err is None or isinstance(err, FrameError)
    for r in out:
        assert isinstance(r, list) and r and all(isinstance(a, bytes) for a in r)
    try:
        parse_value(data)
    except CodecError:
        pass


def test_codec_error_reply_and_decode() -> None:
    codec = get_codec("resp")
    assert codec.error_reply("bad") == b"-ERR bad\r\n"
    assert codec.error_reply("ERR bad") == b"-ERR bad\r\n"
    assert codec.decode(req(b"GET", b"k")) == [b"GET", b"k"]
    assert codec.decode(b"PING\r\n") == [b"PING"]
    with pytest.raises(CodecError):
        codec.decode(b"$5\r\nab\r\n")


def test_stream_reader_path_reads_one_request_at_a_time() -> None:
    async def go() -> list[object]:
        reader = asyncio.StreamReader()
        reader.feed_data(req(b"SET", b"a", b"1") + b"PING\r\n" + req(b"GET", b"a"))
        reader.feed_eof()
        codec = get_codec("resp")
        out: list[object] = []
        while (raw := await codec.read(reader)) is not None:
            out.append(codec.decode(raw))
        return out

    assert asyncio.run(go()) == [[b"SET", b"a", b"1"], [b"PING"], [b"GET", b"a"]]


# ---- integers exactly as redis-server reads them ------------------------------------------------

# Each row was checked against redis-server 7.0.15: the bytes, then a PING, on a fresh connection.
# ``None``: redis-server answers the request (or ignores an empty one) and then PONG; otherwise the
# wording of its protocol error.
REDIS_SERVER_VERDICTS: list[tuple[bytes, str | None]] = [
    (b"*1\r\n$4\r\nPING\r\n", None),
    (b"*0\r\n", None),
    (b"*-1\r\n", None),
    (b"*-5\r\n", None),  # any negative count is an empty request
    (b"*-9223372036854775808\r\n", None),
    (b"*1\r\n$0\r\n\r\n", None),  # one empty argument
    (b"*01\r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*00\r\n", "invalid multibulk length"),
    (b"*+1\r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"* 1\r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*1 \r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*-0\r\n", "invalid multibulk length"),
    (b"*-01\r\n", "invalid multibulk length"),
    (b"*-\r\n", "invalid multibulk length"),
    (b"*\r\n", "invalid multibulk length"),
    (b"*0x1\r\n", "invalid multibulk length"),
    (b"*1.0\r\n", "invalid multibulk length"),
    (b"*1_0\r\n", "invalid multibulk length"),
    (b"*-9223372036854775809\r\n", "invalid multibulk length"),
    (b"*9223372036854775808\r\n", "invalid multibulk length"),
    (b"*1\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$03\r\nGET\r\n", "invalid bulk length"),
    (b"*1\r\n$00\r\n\r\n", "invalid bulk length"),
    (b"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$ 4\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$4 \r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$1_0\r\nPINGPINGPI\r\n", "invalid bulk length"),
    (b"*1\r\n$-0\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$-\r\n", "invalid bulk length"),
    (b"*1\r\n$\r\n", "invalid bulk length"),
    (b"*1\r\n$\xd9\xa4\r\nPING\r\n", "invalid bulk length"),  # ARABIC-INDIC DIGIT FOUR
]


@pytest.mark.parametrize("wire, error", REDIS_SERVER_VERDICTS)
def test_lengths_are_read_exactly_as_redis_server_reads_them(wire: bytes, error: str | None) -> None:
    out, err = RespRequestParser().feed(wire + req(b"PING"))
    if error is None:
        assert err is None and out[-1] == [b"PING"]
    else:
        assert isinstance(err, FrameError) and f"Protocol error: {error}" in str(err)
        assert [b"PING"] not in out


@pytest.mark.parametrize("wire, error", [(w, e) for w, e in REDIS_SERVER_VERDICTS if w.startswith(b"*1\r\n$")])
def test_stream_reader_path_reads_lengths_as_strictly(wire: bytes, error: str | None) -> None:
    async def go() -> object:
        reader = asyncio.StreamReader()
        reader.feed_data(wire + req(b"PING"))
        reader.feed_eof()
        return await get_codec("resp").read(reader)

    if error is None:
        assert asyncio.run(go()) == wire
    else:
        with pytest.raises(FrameError, match=error):
            asyncio.run(go())


@pytest.mark.parametrize("raw", [b"1", b"-1", b"0", b"99", b"-99", b"9223372036854775807", b"-9223372036854775808"])
def test_strict_int_accepts_canonical_int64(raw: bytes) -> None:
    assert strict_int(raw) == int(raw) and strict_int(bytearray(raw)) == int(raw)


@pytest.mark.parametrize(
    "raw", [b"", b"+1", b" 1", b"1 ", b"01", b"-0", b"-01", b"00", b"1_0", b"-", b"1.0", b"1e3", b"0x1",
            b"9223372036854775808", b"-9223372036854775809", b"\xd9\xa4", b"\xef\xbc\x91", b"1\r", b"\t1"],
)
def test_strict_int_refuses_what_redis_refuses(raw: bytes) -> None:
    assert strict_int(raw) is None


def _canonical(raw: bytes) -> bool:
    """``raw`` is the decimal spelling Python itself gives to an int64 (the one form Redis takes)."""
    try:
        v = int(raw)
    except ValueError:
        return False
    return str(v).encode() == raw and -(2**63) <= v < 2**63


_NUMERIC = st.binary(max_size=22) | st.text(alphabet="0123456789-+_ \t.", max_size=22).map(str.encode) | st.integers(-(2**64), 2**64).map(lambda v: str(v).encode())


@given(_NUMERIC)
@settings(max_examples=1000, deadline=None)
def test_strict_int_accepts_exactly_the_canonical_spelling_of_an_int64(raw: bytes) -> None:
    v = strict_int(raw)
    assert (v is not None) == _canonical(raw)
    if v is not None:
        assert str(v).encode() == raw


@given(_NUMERIC, _NUMERIC)
@settings(max_examples=500, deadline=None)
def test_fuzzed_length_headers_frame_only_when_canonical(count: bytes, length: bytes) -> None:
    n = int(length) if _canonical(length) else 0
    payload = b"x" * max(0, min(n, 64))
    wire = b"*" + count + b"\r\n$" + length + b"\r\n" + payload + b"\r\n"
    p = RespRequestParser()
    out, err = p.feed(wire + req(b"PING"))
    if not _canonical(count):
        assert err is not None and "invalid multibulk length" in str(err) and out == []
    elif int(count) <= 0:  # an empty request, then the bulk header is taken as an inline command
        assert err is None or "invalid multibulk length" not in str(err)
    elif int(count) > 1 << 20:
        assert err is not None and "invalid multibulk length" in str(err)
    elif not _canonical(length) or n < 0:
        assert err is not None and "invalid bulk length" in str(err) and out == []
    elif n <= 64 and int(count) == 1:
        assert err is None and out == [[payload], [b"PING"]]


# ---- the C reader and the pure-Python parser agree on everything ----------------------------------

_FRAGMENTS = [
    b"*1\r\n:5\r\n", b"*1\r\n+PING\r\n", b"*2\r\n$3\r\nGET\r\n$-1\r\n", b"*-1\r\n", b"*-3\r\n", b"*0\r\n",
    b"*1\r\n=5\r\ntxt:a\r\n", b"*1\r\n(12\r\n", b"*1\r\n*1\r\n$1\r\na\r\n", b"*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"*1\r\n_\r\n", b"*1\r\n#t\r\n", b"*1\r\n,1.5\r\n", b"*1\r\n-ERR x\r\n", b"*1\r\n$4\r\nPINGxx",
    b"*1\r\n$3\r\nab\r\nX", b"*2\r\n+aaaaaaaaaa\r\n=5\r\ntxt:a\r\n", b"*1\r\n|1\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"+OK\r\n", b":1\r\n", b"$3\r\nabc\r\n", b"PING\r\n", b'SET k "a b"\r\n', b"\r\n", b"*01\r\n$1\r\na\r\n",
    b"*1\r\n$03\r\nabc\r\n", b"*1\r\n$2000\r\n", b"*3\r\n$3\r\nSET\r\n", b"*1\r\n$1\r\n\r\r\n",
]
_REQUEST = st.lists(st.binary(max_size=12) | st.sampled_from([b"\r\n", b"\r", b"\n", b"$1\r\n", b"*"]), min_size=1, max_size=4).map(
    lambda args: req(*args)
)
_STREAM = st.lists(_REQUEST | st.sampled_from(_FRAGMENTS) | st.binary(max_size=8), max_size=12).map(b"".join)


def _drive(fast: bool, wire: bytes, cuts: list[int], quota: int, small: int = 0) -> list[object]:
    """Everything a parser reports for ``wire`` fed in pieces, ``quota`` requests per call
    (reads of at most ``small`` bytes, with nothing left over, skip hiredis)."""
    saved = resp._SMALL_READ
    resp._SMALL_READ = small
    try:
        return _feed_all(RespRequestParser(max_request=1000, fast=fast), wire, cuts, quota)
    finally:
        resp._SMALL_READ = saved


def _feed_all(p: RespRequestParser, wire: bytes, cuts: list[int], quota: int) -> list[object]:
    trace: list[object] = []
    pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)])]
    for piece in pieces + [b""] * 40:
        out, err = p.feed(piece, quota)
        trace.append((out, None if err is None else str(err), p.buffered))
    return trace


@given(_STREAM, st.lists(st.integers(0, 400), max_size=5), st.sampled_from([-1, 1, 2, 3, 64]))
@settings(max_examples=600, deadline=None)
def test_c_reader_and_python_parser_agree(wire: bytes, cuts: list[int], quota: int) -> None:
    cuts = sorted({min(c, len(wire)) for c in cuts})
    python = _drive(False, wire, cuts, quota)
    assert _drive(True, wire, cuts, quota) == python
    assert _drive(True, wire, cuts, quota, small=128) == python  # small reads in pure Python


@pytest.mark.parametrize("fragment", _FRAGMENTS)
def test_what_hiredis_reads_differently_gets_the_strict_verdict(fragment: bytes) -> None:
    wire = req(b"PING") + fragment + req(b"GET", b"k")
    for cuts in ([], [len(req(b"PING")) + 3], list(range(1, len(wire)))):
        assert _drive(True, wire, cuts, -1) == _drive(False, wire, cuts, -1)


def test_requests_over_max_request_are_refused_on_both_paths_before_the_payload() -> None:
    for fast in (True, False):
        p = RespRequestParser(max_request=100, fast=fast)
        out, err = p.feed(req(b"GET", b"k") + b"*2\r\n$3\r\nSET\r\n$500\r\nxx")
        assert out == [[b"GET", b"k"]] and err is not None and "larger than 100 bytes" in str(err)
        p = RespRequestParser(max_request=100, fast=fast)
        out, err = p.feed(req(b"SET", b"x" * 200))
        assert out == [] and err is not None and "larger than 100 bytes" in str(err)


def test_fast_parser_without_hiredis_is_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import hydrologic.net.resp as resp

    monkeypatch.setattr(resp, "_hiredis", None)
    assert not resp.fast_parser_available()
    with pytest.raises(ImportError, match=r"pip install 'hydrologic\[fast\]'"):
        RespRequestParser(fast=True)
    assert RespRequestParser().fast is False


@pytest.mark.parametrize("header", [b"*100000000\r\n", b"*1\r\n*99999999\r\n", b"*1\r\n>99999999\r\n", b"*1\r\n%99999999\r\n"])
def test_a_huge_declared_count_costs_no_memory_up_front(header: bytes) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        for cuts in ([], [3], [len(header) - 1]):
            p = RespRequestParser()
            wire = header + b"$1\r\nx\r\n"
            for a, b in zip([0, *cuts], [*cuts, len(wire)]):
                p.feed(wire[a:b])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated for a {len(header)}-byte header"
