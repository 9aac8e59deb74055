"""External ports under abuse: limits, fairness and quiet logs (net/external_bidi.py, net/limits.py).

* the stream decoders hand over a bounded number of requests and keep the rest unparsed;
* deployed (real processes and sockets, the ``redis`` client): a request over a connection's query
  buffer limit, input over the port's memory cap, a connection over ``max_clients``, and a client
  that never reads its replies are each refused or dropped with an error while other clients go
  on; 4 well-behaved clients keep a low p99 latency while one client pipelines 100,000 commands
  without reading, on the single-node and on the replicated store.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator, cast

import pytest
import redis

from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.net.external_codec import get_codec
from hydrologic.net.resp import RespRequestParser

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_store.py")
REPLICATED = str(ROOT / "examples" / "redis_replicated.py")


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


# ---- deployed: limits ---------------------------------------------------------------------------

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "abuse_progs.py")


@pytest.fixture(scope="module")
def limited() -> Iterator[LocalDeployment]:
    """The Redis-protocol store with max_clients=3, a 2 MiB query buffer, a 1 MiB output buffer and
    4 MiB of input for all connections."""
    logs: list[str] = []
    d = Localhost(log=logs.append).start(f"{PROGS}:limited_store")
    d.logs = logs  # type: ignore[attr-defined]
    try:
        yield d
    finally:
        d.stop()


def _port(d: LocalDeployment) -> int:
    return d.port("redis").port


def _stats(d: LocalDeployment) -> dict[str, Any]:
    bidi: dict[str, Any] = d.stats("Server")["bidi"]["redis"]
    return bidi


def _read_to_end(s: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (or resets it)."""
    s.settimeout(timeout)
    out = b""
    while True:
        try:
            chunk = s.recv(1 << 16)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk


def _wait(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.timeout(60)
def test_a_request_over_the_query_buffer_limit_gets_an_error_and_its_connection_closes(limited: LocalDeployment) -> None:
    port = _port(limited)
    good = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2)
    try:
        assert good.set("qb:k", "v") is True
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            # pipelined requests before the big one are answered first, then the error, then the close
            s.sendall(b"PING\r\n*3\r\n$3\r\nSET\r\n$4\r\nqb:x\r\n$%d\r\n" % (3 << 20))
            try:
                for _ in range(48):
                    s.sendall(b"x" * (64 << 10))
            except OSError:
                pass  # closed by the server once over the limit
            reply = _read_to_end(s)
        assert reply.startswith(b"+PONG\r\n-ERR client query buffer limit reached"), reply[:200]
        assert b"max_query_buffer" in reply
        # the other client goes on, and the refused request left nothing behind
        assert good.get("qb:k") == b"v" and good.get("qb:x") is None
        assert _stats(limited)["buffered"] == 0
    finally:
        good.close()


@pytest.mark.timeout(60)
def test_input_over_the_ports_memory_cap_is_refused_and_the_others_are_served(limited: LocalDeployment) -> None:
    port = _port(limited)
    body = 3 << 19  # 1.5 MiB requests: three of them are more than the 4 MiB the port may hold
    part = body - (100 << 10)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        for i, s in enumerate(socks):  # two requests, each held partly sent (1.4 MiB each)
            s.sendall(b"*3\r\n$3\r\nSET\r\n$5\r\nmem:%d\r\n$%d\r\n" % (i, body) + b"a" * part)
        _wait(lambda: _stats(limited)["buffered"] >= 2 * part)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as third:
            third.sendall(b"*3\r\n$3\r\nSET\r\n$5\r\nmem:2\r\n$%d\r\n" % body)
            try:
                third.sendall(b"a" * body + b"\r\n")
            except OSError:
                pass
            reply = _read_to_end(third)
        assert reply.startswith(b"-ERR the server holds too much unprocessed input"), reply[:200]
        assert b"max_input_memory" in reply
        for s in socks:  # the two held requests complete and are served
            s.sendall(b"a" * (body - part) + b"\r\n")
            s.settimeout(10)
            assert s.recv(100) == b"+OK\r\n"
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2)
        assert r.strlen("mem:0") == body and r.strlen("mem:1") == body and r.exists("mem:2") == 0
        r.delete("mem:0", "mem:1")
        r.close()
    finally:
        for s in socks:
            s.close()
    assert any("max_input_memory" in line for line in limited.logs)  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
def test_connections_over_max_clients_are_refused_with_one_warning(limited: LocalDeployment) -> None:
    port = _port(limited)
    _wait(lambda: _stats(limited)["clients"] == 0)
    clients = [redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2) for _ in range(3)]
    try:
        for i, c in enumerate(clients):
            assert c.set(f"mc:{i}", i) is True  # three clients connected (the port's max_clients)
        before = _stats(limited)["refused"]
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                assert _read_to_end(s) == b"-ERR max number of clients reached\r\n"
        assert _stats(limited)["refused"] == before + 20
        assert [c.get(f"mc:{i}") for i, c in enumerate(clients)] == [b"0", b"1", b"2"]  # they go on
        clients.pop().close()
        _wait(lambda: _stats(limited)["clients"] == 2)
        newcomer = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2)
        assert newcomer.get("mc:0") == b"0"  # a place is free again
        clients.append(newcomer)
    finally:
        for c in clients:
            c.close()
    logs = cast("list[str]", getattr(limited, "logs"))
    refusals = [line for line in logs if "refused a connection" in line]
    assert len(refusals) == 1, refusals  # rate limited: one line per 10 s


@pytest.mark.timeout(60)
def test_a_client_that_never_reads_is_dropped_at_its_output_limit(limited: LocalDeployment) -> None:
    port = _port(limited)
    good = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2)
    try:
        assert good.set("out:big", b"v" * (200 << 10)) is True
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 10)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET out:big\r\n" * 200)  # 40 MiB of replies; it reads none of them
            _wait(lambda: _stats(limited)["slow"] >= 1)
            got = _read_to_end(s)
        assert len(got) < 200 * (200 << 10)  # dropped before it got everything it asked for
        assert good.strlen("out:big") == 200 << 10 and good.get("out:none") is None
    finally:
        good.close()
    assert any("does not read its replies" in line for line in limited.logs)  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
def test_limits_with_another_codec_use_its_error_reply() -> None:
    with Localhost(log=lambda _: None).start(f"{PROGS}:limited_echo") as d:
        with d.client("echo") as a:
            b = d.client("echo")
            assert a.request("hi") == "hi" and b.request([1, 2]) == [1, 2]
            with d.client("echo") as third:  # max_clients=2
                assert third.recv() == {"error": "max number of clients reached"}
            b.close()
            _wait(lambda: d.stats("Server")["bidi"]["echo"]["clients"] == 1)
            big = d.client("echo")
            big.send(b"x" * (512 << 10))  # one frame over the connection's 256 KiB
            err = big.recv()
            assert "client query buffer limit reached" in err["error"]
            big.close()
            assert a.request("still here") == "still here"


# ---- deployed: fairness ---------------------------------------------------------------------------


def _pipeline(n: int) -> bytes:
    return b"".join(b"*3\r\n$3\r\nSET\r\n$8\r\nab:%05d\r\n$1\r\nx\r\n" % i for i in range(n))


def _latencies_beside_an_abuser(port: int, seconds: float, interval: float, n: int = 100_000) -> tuple[list[float], socket.socket]:
    """Latencies of 4 clients each doing a request every ``interval`` for ``seconds``, counted from
    when each request was due (a stall counts for every request it delayed), while one more
    client pipelines ``n`` SETs without reading a reply. A client that times out counts as an
    infinite latency."""
    lat: list[float] = []
    start = time.perf_counter() + 0.3
    stop_at = start + seconds

    def run(i: int) -> None:
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2)
        try:
            r.set(f"good:{i}", 0)
            k = 0
            while (due := start + k * interval + i * interval / 4) < stop_at:
                time.sleep(max(0.0, due - time.perf_counter()))
                if k % 2:
                    r.get(f"good:{i}")
                else:
                    r.set(f"good:{i}", k)
                lat.append(time.perf_counter() - due)
                k += 1
        except redis.RedisError:
            lat.append(float("inf"))
        finally:
            r.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, start - time.perf_counter()))
    abuser = socket.create_connection(("127.0.0.1", port))
    threading.Thread(target=abuser.sendall, args=(_pipeline(n),), daemon=True).start()
    for t in threads:
        t.join()
    return lat, abuser


def _p99(xs: list[float]) -> float:
    return sorted(xs)[int(0.99 * len(xs))]


@pytest.mark.timeout(60)
def test_one_client_pipelining_100k_commands_does_not_stall_the_others() -> None:
    with Localhost(log=lambda _: None).start(EXAMPLE + ":build") as d:
        port = d.port("redis").port
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=10).set("warm", 1)
        lat, abuser = _latencies_beside_an_abuser(port, seconds=4.0, interval=0.01)
        with abuser:
            assert len(lat) >= 1500
            # one command of each well-behaved client waits for at most one share of the other's
            # pipeline (64 commands), not for all of it (100,000 commands: 0.5-0.7 s here)
            assert _p99(lat) < 0.15, f"p99 {_p99(lat) * 1e3:.0f} ms"
            r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
            _wait(lambda: r.get("ab:99999") == b"x", 20)  # and the pipelining client is served too
            r.close()


@pytest.mark.timeout(90)
def test_one_client_pipelining_100k_commands_does_not_stall_the_replicated_store() -> None:
    sizes = {"Replicas": 3, "Acceptors": 3}
    with Localhost(log=lambda _: None).start(REPLICATED + ":build", sizes) as d:
        port = d.port("redis").port
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
        assert r.set("warm", 1) is True  # a leader is in office
        lat, abuser = _latencies_beside_an_abuser(port, seconds=5.0, interval=0.02)
        with abuser:
            # every command waits for consensus: ~5 ms alone, a few shares of the pipelining
            # client's commands beside it; without fairness its 100,000 commands come first (~30 s)
            assert _p99(lat) < 1.0, f"p99 {_p99(lat) * 1e3:.0f} ms"
            assert r.exists("ab:00999") == 1  # the pipelining client is served meanwhile
        r.close()
