"""Single-client ports (``bind_single_client``): one External client at a time, requests as an
ordered stream, responses as an ordered stream sent to that client."""

from __future__ import annotations

import os
import socket
import time

import pytest

import hydrologic as hl
from hydrologic.deploy import Localhost
from hydrologic.lang.single_client import SingleClient

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "codec_progs.py")


class S: ...


class C: ...


def _program() -> tuple[hl.FlowBuilder, SingleClient[str]]:
    flow = hl.FlowBuilder()
    server = flow.process(S)
    lines, port = server.bind_single_client(flow.external(C), name="one", of=str, codec="lines")
    port.complete(lines.enumerate().map(lambda p: f"{p[0]}:{p[1].upper()}"))
    return flow, port.client()


def test_single_client_port_in_process_answers_in_order() -> None:
    flow, client = _program()
    with flow.run_in_process():
        client.send_many(["a", "b"])
        assert client.collect() == ["0:A", "1:B"]
        client.send("c")
        assert client.collect() == ["2:C"]


def test_single_client_port_in_the_simulator_has_one_execution() -> None:
    flow, client = _program()

    def scenario() -> None:
        client.send_many(["x", "y", "z"])
        client.assert_yields_only(["0:X", "1:Y", "2:Z"])

    assert flow.sim().exhaustive(scenario) == 1


def _lines(sock: socket.socket, n: int) -> list[bytes]:
    buf = b""
    sock.settimeout(10)
    while buf.count(b"\n") < n:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n")[:n]


@pytest.mark.timeout(60)
def test_deployed_single_client_port_serves_one_connection_at_a_time() -> None:
    with Localhost(log=lambda _: None).start(f"{PROGS}:single") as d:
        assert [(p.name, p.kind, p.codec) for p in d.ports()] == [("one", "bidi", "lines")]
        first = socket.create_connection(d.address("one"), timeout=10)
        first.sendall(b"hello\nworld\n")
        assert _lines(first, 2) == [b"0:HELLO", b"1:WORLD"]
        # a second client while the first is connected: refused with an error line, then closed
        with socket.create_connection(d.address("one"), timeout=10) as second:
            assert _lines(second, 1) == [b"error: max number of clients reached"]
            second.settimeout(10)
            assert second.recv(100) == b""
        first.close()
        deadline = time.monotonic() + 10
        while True:  # the port notices the close at its next read
            with socket.create_connection(d.address("one"), timeout=10) as third:
                third.sendall(b"again\n")
                got = _lines(third, 1)
                if got != [b"error: max number of clients reached"] or time.monotonic() > deadline:
                    break
            time.sleep(0.05)
        assert got == [b"2:AGAIN"]  # the requests are one ordered stream across clients
        with d.client("one", of=str, replies=str) as api:
            assert api.request("via api") == "3:VIA API"
