"""External ports under abuse: limits, fairness and quiet logs (net/external_bidi.py, net/limits.py).

* the stream decoders hand over a bounded number of requests and keep the rest unparsed;
* deployed (real processes and sockets, the ``redis`` client): a request over a connection's query
  buffer limit, input over the port's memory cap, a connection over ``max_clients``, and a client
  that never reads its replies are each refused or dropped with an error while other clients go
  on; 4 well-behaved clients keep a low p99 latency while one client pipelines 100,000 commands
  without reading, on the single-node and on the replicated store.
"""

from __future__ import annotations

from hydrologic.net.external_codec import get_codec
from hydrologic.net.resp import RespRequestParser


def req(*words: bytes) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%b\r\n" % (len(w), w) for w in words)


# ---- decoders: a bounded number of requests at a time ---------------------------------------------


def test_resp_parser_takes_at_most_max_requests_and_keeps_the_rest_unparsed() -> None:
    p = RespRequestParser()
    wire = b"".join(req(b"SET", b"k%d" % i, b"v") for i in range(10)) + b"*2\r\n$3\r\nGET"
    out, err = p.feed(wire, 3)
    assert err is None and out == [[b"SET", b"k%d" % i, b"v"] for i in range(3)]
    assert p.buffered == len(wire) - 3 * len(req(b"SET", b"k0", b"v"))
    out, err = p.feed(b"", 0)
    assert out == [] and err is None
    out, err = p.feed(b"\r\n$1\r\nk\r\n", 100)  # the rest, and the partial request completed
    assert err is None and len(out) == 8 and out[-1] == [b"GET", b"k"] and p.buffered == 0
    # a framing error is found when its turn comes, after the requests before it
    p = RespRequestParser()
    out, err = p.feed(req(b"PING") * 2 + b"*1\r\n:5\r\n", 1)
    assert out == [[b"PING"]] and err is None
    out, err = p.feed(b"", 5)
    assert out == [[b"PING"]] and err is not None and "Protocol error" in str(err)
    p.discard()
    assert p.buffered == 0 and p.feed(req(b"PING")) == ([], None)


def test_unit_decoders_take_at_most_max_units() -> None:
    dec = get_codec("json").stream_decoder()
    units, err = dec.feed(b'1\n"two"\n[3]\nnot json\n{"a"', 2)
    assert units == [(True, 1), (True, "two")] and err is None and dec.buffered > 0
    units, err = dec.feed(b": 5}\n", -1)
    assert [ok for ok, _ in units] == [True, False, True] and units[2] == (True, {"a": 5}) and dec.buffered == 0
    dec.discard()
    assert dec.feed(b"1\n") == ([], None)
