"""Unit tests of the wire: frames, the internal codec, External codecs and the HMAC handshake."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest

import hydrologic as hl
from hydrologic.net.auth import client_handshake, new_secret, server_handshake
from hydrologic.net.codec import decode_batch, encode_batch
from hydrologic.net.errors import AuthError, CodecError, FrameError
from hydrologic.net.external_codec import check_value_type, get_codec
from hydrologic.net.framing import pack_frame, read_frame


def reader_of(data: bytes) -> asyncio.StreamReader:
    r = asyncio.StreamReader()
    r.feed_data(data)
    r.feed_eof()
    return r


# ---- framing ---------------------------------------------------------------------------------


def test_frames_round_trip_and_end_cleanly() -> None:
    async def go() -> list[bytes | None]:
        r = reader_of(pack_frame(b"abc") + pack_frame(b"") + pack_frame(b"x" * 70_000))
        return [await read_frame(r) for _ in range(4)]

    assert asyncio.run(go()) == [b"abc", b"", b"x" * 70_000, None]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00\x00", "inside a frame header"),
        (b"\x00\x00\x00\x05ab", "inside a frame"),
        (b"\xff\xff\xff\xff", "limit is 1024"),
    ],
    ids=["cut-header", "cut-payload", "oversized"],
)
def test_bad_frames_raise_frame_error(data: bytes, match: str) -> None:
    async def go() -> None:
        await read_frame(reader_of(data), max_size=1024)

    with pytest.raises(FrameError, match=match):
        asyncio.run(go())


# ---- internal codec --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "items",
    [
        [1, 2, 3],
        ["a", None, 1.5, True, b"\x00"],
        [("word", 1), ("other", 2)],  # tuples stay tuples
        [(hl.MemberId(2), "x")],  # MemberId survives (demux needs it)
        [{1, 2}, frozenset({3})],
        [[1, [2, (3,)]]],
        [2**80],  # wider than msgpack's ints
    ],
    ids=["ints", "scalars", "tuples", "member-ids", "sets", "nested", "bigint"],
)
def test_internal_codec_round_trips_exact_python_types(items: list[Any]) -> None:
    out = decode_batch(encode_batch([(7, items)]))
    assert out == [(7, items)]
    assert [type(x) for x in out[0][1]] == [type(x) for x in items]


def test_text_uses_msgpack_numbers_and_containers_use_pickle() -> None:
    assert encode_batch([(1, ["a", 1, None, b"x"])])[:1] == b"M"
    assert encode_batch([(1, [1, 2]), (2, [b"k"])])[:1] == b"M"  # some group starts with bytes
    assert encode_batch([(1, [1, 2.5, True])])[:1] == b"P"  # numbers: pickle is faster than the check
    assert encode_batch([(1, [(1, 2)])])[:1] == b"P"
    assert encode_batch([(1, ["a", (1, 2)])])[:1] == b"P"  # text, but a tuple must stay a tuple
    assert encode_batch([(1, ["a", 2**80])])[:1] == b"P"  # wider than MessagePack's ints


@pytest.mark.parametrize(
    "payload",
    [b"", b"Zjunk", b"M\xc1", b"P not a pickle", b"M" + b"\x01", b"P" + pickle.dumps([("x", [1])]), b"P" + pickle.dumps([(1, 2)])],
    ids=["empty", "unknown-tag", "bad-msgpack", "bad-pickle", "not-a-list", "bad-node-id", "items-not-list"],
)
def test_malformed_internal_payloads_raise_codec_error(payload: bytes) -> None:
    with pytest.raises(CodecError):
        decode_batch(payload)


# ---- External codecs -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["json", "msgpack"])
def test_external_codecs_round_trip_plain_data(name: str) -> None:
    codec = get_codec(name)
    for value in [1, "é", [1, 2], {"k": [True, None]}, 2.5]:
        buf = bytearray(codec.encode(value))
        unit = codec.parse(buf)
        assert unit is not None and not buf
        assert codec.decode(unit) == value


def test_external_codecs_encode_member_ids_as_ints_and_reject_objects() -> None:
    codec = get_codec("json")
    assert codec.encode([hl.MemberId(3), 1]) == b"[3,1]\n"
    with pytest.raises(CodecError, match="cannot encode object"):
        codec.encode(object())
    with pytest.raises(CodecError, match="carries bytes"):
        get_codec("bytes").encode("text")


def test_msgpack_port_never_accepts_extension_types() -> None:
    # An ext type is how a msgpack stream could smuggle an object; External ports refuse it.
    with pytest.raises(CodecError, match="extension type"):
        get_codec("msgpack").decode(b"\xd4\x05\x00")


@pytest.mark.parametrize(("raw", "name"), [(b"{nope\n", "json"), (b"\xc1", "msgpack")])
def test_malformed_client_units_raise_codec_error(raw: bytes, name: str) -> None:
    with pytest.raises(CodecError, match="malformed"):
        get_codec(name).decode(raw)


def test_unknown_codec_names_the_choices() -> None:
    with pytest.raises(CodecError, match=r"\['bytes', 'json', 'lines', 'msgpack', 'resp'\]"):
        get_codec("xml")


@pytest.mark.parametrize(
    ("value", "of", "ok"),
    [("a", str, True), (1, str, False), (True, int, False), (1, float, True), ([1], list, True), (1, None, True), (1, tuple, True)],
)
def test_declared_port_types_are_checked(value: Any, of: type[Any] | None, ok: bool) -> None:
    assert (check_value_type(value, of) is None) == ok


# ---- HMAC handshake --------------------------------------------------------------------------


async def _handshake(server_secret: bytes, client_secret: bytes) -> tuple[Any, Any]:
    result: dict[str, Any] = {}

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            result["server"] = await server_handshake(r, w, server_secret, timeout=2)
        except AuthError as e:
            result["server"] = e
        w.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        await client_handshake(r, w, client_secret, {"loc": 1, "member": None}, timeout=2)
        client: Any = "ok"
    except AuthError as e:
        client = e
    w.close()
    for _ in range(100):
        if "server" in result:
            break
        await asyncio.sleep(0.01)
    server.close()
    return result.get("server"), client


def test_handshake_accepts_the_same_secret_and_returns_the_hello() -> None:
    secret = new_secret()
    server, client = asyncio.run(_handshake(secret, secret))
    assert server == {"loc": 1, "member": None} and client == "ok"


def test_handshake_rejects_a_wrong_secret_on_both_sides() -> None:
    server, client = asyncio.run(_handshake(new_secret(), new_secret()))
    assert isinstance(server, AuthError) and "wrong proof" in str(server)
    assert isinstance(client, AuthError)


def test_handshake_times_out_a_silent_client() -> None:
    async def go() -> Any:
        out: list[Any] = []

        async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                await server_handshake(r, w, b"k" * 32, timeout=0.2)
            except AuthError as e:
                out.append(e)
            w.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        _, w = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        await asyncio.sleep(0.5)
        w.close()
        server.close()
        return out[0]

    assert "no valid handshake within 0.2s" in str(asyncio.run(go()))


def test_a_broadcast_frame_is_encoded_once_and_only_for_the_very_same_objects(monkeypatch: Any) -> None:
    """A flush sends a broadcast's frame to every receiver: encoded once when the frames hold
    the very same objects, never shared between frames that are only equal (``1 == 1.0``)."""
    from hydrologic.net import codec

    calls: list[Any] = []
    real = codec.encode_batch
    monkeypatch.setattr(codec, "encode_batch", lambda g: calls.append(g) or real(g))
    cmd = ("SET", b"k", b"v" * 1024)
    enc = codec.FrameEncoder()
    first = enc.encode([(3, [cmd, cmd])])
    again = enc.encode([(3, [cmd, cmd])])  # another receiver of the same broadcast
    assert again is first and len(calls) == 1
    assert codec.decode_batch(again) == [(3, [cmd, cmd])]
    one_int, one_float = enc.encode([(3, [1])]), enc.encode([(3, [1.0])])
    assert one_int is not one_float and len(calls) == 3
    assert type(codec.decode_batch(one_float)[0][1][0]) is float
    copy = tuple(["SET", b"k", b"v" * 1024])  # equal, but another object: encoded again
    assert copy == cmd and copy is not cmd
    assert codec.decode_batch(enc.encode([(3, [copy, cmd])])) == [(3, [cmd, cmd])] and len(calls) == 4
    assert enc.encode([(4, [cmd, cmd])]) != first  # another edge id
