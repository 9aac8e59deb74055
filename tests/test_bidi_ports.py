"""Bidirectional, multi-client External ports (lang/bidi.py): build-time checks, the in-process
driver and the simulator acting as several clients, and a deployed port over real sockets."""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Iterator

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.deploy import LocalDeployment, Localhost

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "bidi_progs.py")


class Server: ...


class Other: ...


class Client: ...


def echo_len() -> tuple[hl.FlowBuilder, hl.ExternalBidi[Any]]:
    flow = hl.FlowBuilder()
    server = flow.process(Server)
    reqs, port = server.source_external_bidi(flow.external(Client), name="len", of=list)
    port.complete(reqs.map(len))
    return flow, port


# ---- building ---------------------------------------------------------------------------------


def test_requests_are_a_keyed_stream_ordered_per_client() -> None:
    flow = hl.FlowBuilder()
    reqs, port = flow.process(Server).source_external_bidi(flow.external(Client), name="p", of=str)
    assert reqs._node.type_str() == "KeyedStream[Process[Server], Unbounded, TotalOrder, ExactlyOnce]"
    port.complete(reqs)
    flow.build()


def test_completing_twice_or_with_a_plain_stream_is_hl403() -> None:
    flow = hl.FlowBuilder()
    reqs, port = flow.process(Server).source_external_bidi(flow.external(Client), name="p", of=str)
    with pytest.raises(hl.CycleError, match="HL403.*KeyedStream of \\(ClientId, response\\)"):
        port.complete(reqs.entries())  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    port.complete(reqs)
    with pytest.raises(hl.CycleError, match="HL403.*already completed"):
        port.complete(reqs)


def test_responses_at_another_location_name_both_locations() -> None:
    flow = hl.FlowBuilder()
    server, other = flow.process(Server), flow.process(Other)
    reqs, port = server.source_external_bidi(flow.external(Client), name="p", of=str)
    elsewhere = reqs.entries().send(other).into_keyed()
    with pytest.raises(hl.LocationError) as e:
        port.complete(elsewhere, ordered=False)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert e.value.code == "HL201" and "Process[Server]" in str(e.value) and "Process[Other]" in str(e.value)


def test_unordered_responses_need_ordered_false() -> None:
    flow = hl.FlowBuilder()
    reqs, port = flow.process(Server).source_external_bidi(flow.external(Client), name="p", of=str)
    with pytest.raises(hl.GuaranteeError, match="HL110") as e:
        port.complete(reqs.weaken_ordering())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert "weaken_ordering" in str(e.value)
    port.complete(reqs.weaken_ordering(), ordered=False)
    flow.build()


def test_source_external_bidi_needs_an_external_and_a_unique_name() -> None:
    flow = hl.FlowBuilder()
    server = flow.process(Server)
    with pytest.raises(hl.LocationError, match="HL204"):
        server.source_external_bidi(flow.process(Other), name="p")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    c = flow.external(Client)
    _, port = server.source_external_bidi(c, name="p")
    with pytest.raises(hl.UsageError, match="already exists"):
        server.source_external_bidi(c, name="p")
    with pytest.raises(hl.CycleError, match="HL401.*bidi port 'p'"):
        flow.build()
    del port


# ---- in one process: several clients ----------------------------------------------------------


def test_in_process_routes_each_response_to_its_client() -> None:
    flow, port = echo_len()
    with flow.run_in_process() as run:
        run.external_send("len", [[1], [1, 2]], client=1)
        run.external_send("len", [[1, 2, 3]], client=2)
        assert run.external_collect("len", client=2) == [3]
        assert run.external_collect("len", client=1) == [1, 2]
        assert run.external_collect("len", client=1) == []
        with pytest.raises(hl.UsageError, match="pass client="):
            run.external_send("len", [[1]])
        a, b = port.client(7), port.client(8)
        a.send_many([[0] * 5, []])
        b.send([0])
        assert b.next() == 1 and a.collect() == [5, 0]


def test_membership_events_in_process() -> None:
    flow = hl.FlowBuilder()
    reqs, port = flow.process(Server).source_external_bidi(flow.external(Client), name="p", of=str)
    port.complete(reqs)
    events = port.membership().entries().sim_output()
    assert port.membership() is port.membership()
    with flow.run_in_process() as run:
        run.external_connect("p", 1)
        port.client(2).connect()
        run.external_disconnect("p", 1)
        assert events.collect() == [(1, hl.MembershipEvent.JOINED), (2, hl.MembershipEvent.JOINED), (1, hl.MembershipEvent.LEFT)]


# ---- the simulator: per-client order under every explored schedule -------------------------------


def test_simulator_explores_client_interleavings_and_keeps_each_clients_order() -> None:
    """A running count over all requests (batched: which clients' requests a tick sees is the
    nondet choice) answers each client in its own request order in every execution."""
    flow = hl.FlowBuilder()
    server = flow.process(Server)
    reqs, port = server.source_external_bidi(flow.external(Client), name="p", of=str)
    tick = server.tick()
    batch = reqs.batch(tick, nondet("clients are concurrent"))
    port.complete(batch.map(str.upper).all_ticks())
    a, b = port.client(1), port.client(2)
    seen: set[tuple[str, ...]] = set()

    def scenario() -> None:
        a.send_many(["x", "y"])
        b.send("z")
        got_a = [a.next(), a.next()]
        got_b = [b.next()]
        assert got_a == ["X", "Y"] and got_b == ["Z"]
        seen.add(tuple(got_a + got_b))

    runs = flow.sim().exhaustive(scenario)
    assert runs > 1 and seen == {("X", "Y", "Z")}


# ---- deployed: real sockets ---------------------------------------------------------------------


@pytest.fixture
def deployed() -> Iterator[LocalDeployment]:
    logs: list[str] = []
    d = Localhost(log=logs.append).start(f"{PROGS}:upper_json")
    d.logs = logs  # type: ignore[attr-defined]
    try:
        yield d
    finally:
        d.stop()


@pytest.mark.timeout(60)
def test_deployed_port_gives_each_connection_its_own_responses(deployed: LocalDeployment) -> None:
    port = deployed.port("upper")
    assert port.kind == "bidi" and port.codec == "json"
    with deployed.output("members") as members:
        clients = [deployed.client("upper") for _ in range(5)]
        try:
            for i, c in enumerate(clients):
                c.send_many([f"c{i}-a", f"c{i}-b"])
            for i, c in enumerate(clients):
                assert c.take(2) == [f"C{i}-A", f"C{i}-B"]
            assert clients[0].request("again") == "AGAIN"
        finally:
            for c in clients:
                c.close()
        events = members.take(10)
        joined = [cid for cid, ev in events if ev == "joined"]
        left = [cid for cid, ev in events if ev == "left"]
        assert len(set(joined)) == 5 and sorted(joined) == sorted(left)


@pytest.mark.timeout(60)
def test_deployed_port_rejects_bad_input_and_keeps_serving(deployed: LocalDeployment) -> None:
    with deployed.client("upper") as c, deployed.client("upper") as other:
        c.send_raw(b"{not json\n" + b"42\n")  # malformed, then not a str
        errors = c.errors(timeout=5)
        errors += c.errors(timeout=5) if len(errors) < 2 else []
        assert len(errors) == 2 and "malformed JSON" in errors[0] and "expected a value of type str" in errors[1]
        c.send("still here")
        assert c.recv() == "STILL HERE"
        c.send_raw(b'"' + b"x" * (2 << 20) + b'"\n')  # over the 1 MiB line limit: the connection ends
        assert other.request("fine") == "FINE"
    assert any("dropped bad input" in line for line in deployed.logs)  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
def test_responses_to_a_client_that_left_are_dropped(deployed: LocalDeployment) -> None:
    addr = deployed.address("upper")
    s = socket.create_connection(addr)
    s.sendall(b'"bye"\n' * 1000)
    s.close()
    time.sleep(0.2)
    with deployed.client("upper") as c:
        assert c.request("hi") == "HI"


def test_resp_error_replies_wait_for_the_replies_owed_to_earlier_requests() -> None:
    """With a request/response codec (RESP), an error reply for a bad request, and the close
    after a framing error, go in request order however late the program's replies come (a
    replicated store answers after consensus, ticks after the error was detected)."""
    from typing import Any

    from hydrologic.net.external_bidi import ExternalBidiServer, _Conn  # pyright: ignore[reportPrivateUsage]

    class Transport:
        def __init__(self) -> None:
            self.out = b""
            self.closed = False

        def write(self, data: bytes) -> None:
            assert not self.closed
            self.out += data

        def close(self) -> None:
            self.closed = True

        def is_closing(self) -> bool:
            return self.closed

        def pause_reading(self) -> None:
            pass

    import asyncio

    async def main() -> None:
        got: list[Any] = []
        srv = ExternalBidiServer("redis", "resp", list, got.extend)
        conn = _Conn(srv)
        t = Transport()
        conn.transport = t  # type: ignore[assignment]
        conn.data_received(b"*1\r\n$4\r\nPING\r\nGET k\r\n*1\r\n:5\r\n")  # two requests, then a framing error
        assert [v for _, v in got] == [[b"PING"], [b"GET", b"k"]]
        assert t.out == b"" and not t.closed  # the error waits for the two replies the program owes
        data, close = conn.replies([b"+PONG\r\n"])
        assert (data, close) == (b"+PONG\r\n", False)
        data, close = conn.replies([b"$-1\r\n"])
        assert data == b"$-1\r\n-ERR Protocol error: expected '$', got ':'\r\n" and close
        # with nothing owed, an error is written at once
        conn2 = _Conn(srv)
        t2 = Transport()
        conn2.transport = t2  # type: ignore[assignment]
        conn2.data_received(b"*1\r\n:5\r\n")
        assert t2.out == b"-ERR Protocol error: expected '$', got ':'\r\n" and t2.closed

    asyncio.run(main())
