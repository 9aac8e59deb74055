"""The RESP store's per-request fast paths give exactly what the general paths give.

The server encodes a tick's replies in one pass (``encode_replies``), groups replies by client
with ``groupby`` (``_by_client``) and takes a connection's requests as plain values
(``feed_values``); each has a general twin kept for odd input. These tests pin the fast paths to
the twins, including the inputs that must fall back.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydrologic.net.errors import CodecError
from hydrologic.net.external_bidi import _by_client  # pyright: ignore[reportPrivateUsage]
from hydrologic.net.external_codec import get_codec
from hydrologic.net.resp import RespError, encode_replies, encode_reply


def req(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


replies = st.recursive(
    st.one_of(
        st.binary(max_size=20), st.integers(-(2**63), 2**63 - 1), st.none(), st.booleans(),
        st.sampled_from(["OK", "PONG", "QUEUED", "other", "with\r\nnewline"]),
        st.text(max_size=8).map(lambda m: RespError(m)),
    ),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(replies, max_size=20))
@settings(max_examples=300, deadline=None)
def test_encoding_a_ticks_replies_at_once_is_encoding_each(values: list[Any]) -> None:
    assert encode_replies(values) == [encode_reply(v) for v in values]
    dec = get_codec("resp").stream_decoder()
    assert dec.encode_all(values) == [dec.encode(v) for v in values]


def test_a_reply_that_cannot_be_encoded_raises_from_the_batch_too() -> None:
    with pytest.raises(CodecError):
        encode_replies([b"ok", {1, 2}])


def _checked(pairs: list[Any]) -> dict[Any, list[Any]]:
    per: dict[Any, list[Any]] = {}
    for cid, value in pairs:
        per.setdefault(cid, []).append(value)
    return per


@given(st.lists(st.tuples(st.integers(0, 4), st.integers()), max_size=40))
def test_grouping_replies_by_client_keeps_each_clients_order(pairs: list[tuple[int, int]]) -> None:
    got = _by_client(pairs)
    assert got == _checked(pairs)
    assert list(got) == list(_checked(pairs))  # clients in order of first reply


@pytest.mark.parametrize("bad", [[(1, "a"), 7], [(1, "a"), (1, 2, 3)], [(1, "a"), {"k": 1}], [(1, "a"), ()]])
def test_grouping_refuses_what_is_not_a_pair_so_the_server_can_warn(bad: list[Any]) -> None:
    with pytest.raises((TypeError, ValueError, LookupError)):
        _by_client(bad)


def test_plain_values_are_the_units_without_their_flag_and_hello_still_switches() -> None:
    a = get_codec("resp").stream_decoder()
    b = get_codec("resp").stream_decoder()
    assert a.values_only
    data = req(b"SET", b"k", b"v") + req(b"hello", b"3") + req(b"GET", b"k")
    units, err = a.feed(data)
    values, err2 = b.feed_values(data)
    assert err is None and err2 is None
    assert [v for _, v in units] == values == [[b"SET", b"k", b"v"], [b"hello", b"3"], [b"GET", b"k"]]
    assert all(ok for ok, _ in units)
    assert b.encode(None) == b"_\r\n"  # lower-case hello 3, in the middle of a pipeline
    b.feed_values(req(b"HeLLo", b"2"))
    assert b.encode(None) == b"$-1\r\n"
    b.feed_values(req(b"HEL", b"LO") + req(b"SET", b"HELLO", b"3"))  # HELLO only as an argument
    assert b.encode(None) == b"$-1\r\n"


def test_a_pipeline_of_one_command_and_a_mixed_one_parse_alike() -> None:
    dec = get_codec("resp").stream_decoder()
    sets = b"".join(req(b"SET", b"key:%d" % i, b"x" * i) for i in range(40))
    gets = b"".join(req(b"GET", b"key:%d" % i) for i in range(40))
    mixed = b"".join(req(b"SET", b"k", b"v") + req(b"GET", b"k") + req(b"PING") for _ in range(20))
    for data in (sets, gets, mixed):
        values, err = dec.feed_values(data)
        assert err is None and b"".join(req(*v) for v in values) == data
    values, err = dec.feed_values(sets[:-1] + b"X" + gets)  # a bulk string not ended by CRLF
    assert err is not None and len(values) == 39
