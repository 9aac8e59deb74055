"""External ports with a codec chosen by the user: ``lines`` and a codec class of the program's own.

Deployed over real processes; clients are raw sockets (as ``nc`` would be) and the client API.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

import hydrologic as hl
from hydrologic.deploy import Localhost
from hydrologic.net import CodecError, ExternalCodec

from deploy_programs.codec_progs import CsvCodec

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "codec_progs.py")
pytestmark = pytest.mark.timeout(60)


def _lines(sock: socket.socket, n: int) -> list[bytes]:
    buf = b""
    sock.settimeout(10)
    while buf.count(b"\n") < n:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {buf!r}"
        buf += chunk
    return buf.split(b"\n")[:n]


def test_lines_and_custom_codec_ports_deployed() -> None:
    with Localhost(log=lambda _: None).start(f"{PROGS}:ports") as d:
        kinds = {(p.name, p.kind, p.codec) for p in d.ports()}
        assert {("shout", "bidi", "lines"), ("words", "input", "lines"), ("echo", "output", "lines"), ("csv", "bidi", "csv")} <= kinds

        # a line client such as nc: CRLF or LF, one reply line per request line
        with socket.create_connection(d.address("shout"), timeout=10) as s:
            s.sendall(b"hello\r\nworld\n")
            assert _lines(s, 2) == [b"HELLO", b"WORLD"]
            s.sendall(b"\xff\xfe\n")  # not UTF-8: an error line, and the connection goes on
            (err,) = _lines(s, 1)
            assert err.startswith(b"error: port 'shout': a line that is not UTF-8")
            s.sendall(b"still here\n")
            assert _lines(s, 1) == [b"STILL HERE"]

        with d.output("echo", of=str) as echo, d.input("words", of=str) as words:
            words.send_many(["a", "b c"])
            assert echo.take(2) == ["<a>", "<b c>"]

        # a typed handle checks what it receives
        with d.output("echo", of=int) as wrong, d.input("words", of=str) as words:
            words.send("d")
            with pytest.raises(CodecError, match=r"port at .*: expected a value of type int, got str"):
                wrong.recv()

        # the program's own codec, from the deployment's client and from an outside program
        with d.client("csv") as csv:
            assert csv.request(["a", "b", "c"]) == ["c", "b", "a"]
        with hl.net.connect_bidi(d.address("csv"), codec=CsvCodec()) as outside:
            assert outside.request(["x", "y"]) == ["y", "x"]
        with socket.create_connection(d.address("csv"), timeout=10) as s:
            s.sendall(b"1,2,3\n")
            assert _lines(s, 1) == [b"3,2,1"]


def test_lines_codec_refuses_what_it_cannot_carry() -> None:
    codec = hl.net.external_codec.get_codec("lines")  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
    assert codec.encode("ok") == b"ok\n"  # pyright: ignore[reportUnknownMemberType]
    with pytest.raises(CodecError, match="cannot contain a line break"):
        codec.encode("two\nlines")  # pyright: ignore[reportUnknownMemberType]
    with pytest.raises(CodecError, match="carries str"):
        codec.encode(3)  # pyright: ignore[reportUnknownMemberType]


class _Nameless(ExternalCodec):
    framed = False

    def decode(self, raw: bytes) -> Any:
        return raw

    def encode(self, value: Any) -> bytes:
        return bytes(value)


class _OtherCsv(_Nameless):
    name = "csv"


class _Json(_Nameless):
    name = "json"


class C: ...


@pytest.mark.parametrize(
    ("codec", "message"),
    [
        ("yaml", r"unknown codec 'yaml'; choose one of bytes, json, msgpack, resp, lines, or pass a hydrologic.net.ExternalCodec subclass"),
        (_Nameless, r"a codec class needs a `name` of its own .* got ''"),
        (_Json, r"a codec class needs a `name` of its own \(not one of bytes, json"),
        (42, r"unknown codec 42"),
    ],
)
def test_a_bad_codec_is_hl501_at_the_users_line(codec: Any, message: str) -> None:
    flow = hl.FlowBuilder()
    p = flow.process(C)
    with pytest.raises(hl.BuildError, match="HL501.*" + message):
        p.source_external(flow.external(C), name="in", codec=codec)


def test_two_codecs_with_one_name_are_refused() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(C)
    p.source_external(flow.external(C), name="a", codec=CsvCodec)
    with pytest.raises(hl.BuildError, match=r"HL501.*two different codecs are named 'csv'"):
        p.source_external(flow.external(C), name="b", codec=_OtherCsv)
