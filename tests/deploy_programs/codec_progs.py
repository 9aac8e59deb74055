"""Programs whose External ports speak the ``lines`` codec and a codec of the program's own."""

from __future__ import annotations

from typing import Any

import hydrologic as hl
from hydrologic.net import CodecError, ExternalCodec


class Server: ...


class Client: ...


class CsvCodec(ExternalCodec):
    """One line of comma-separated fields per value (a list of str)."""

    name = "csv"
    framed = False

    def decode(self, raw: bytes) -> Any:
        try:
            return raw.rstrip(b"\r\n").decode().split(",")
        except UnicodeDecodeError as e:
            raise CodecError(f"a csv line that is not UTF-8: {e}") from None

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):  # pyright: ignore[reportUnknownVariableType]
            raise CodecError(f"a csv port carries lists of str, got {value!r:.60}")
        return ",".join(value).encode() + b"\n"  # pyright: ignore[reportUnknownArgumentType]

    def error_reply(self, message: str) -> bytes | None:
        return self.encode(["error", message.replace(",", ";").replace("\n", " ")])


def ports(flow: hl.FlowBuilder) -> None:
    """``shout``: a many-client ``lines`` port answering each line upper-cased; ``words`` in and
    ``echo`` out: one-way ``lines`` ports; ``csv``: a many-client port with the program's own
    codec, answering each row reversed."""
    server = flow.process(Server)
    client = flow.external(Client)
    lines, shout = server.source_external_bidi(client, name="shout", of=str, codec="lines")
    shout.complete(lines.map(str.upper))
    words = server.source_external(client, name="words", of=str, codec="lines")
    words.map(lambda w: f"<{w}>").send_external(client, name="echo", codec="lines", ordered=True)
    rows, csv = server.source_external_bidi(client, name="csv", codec=CsvCodec)
    csv.complete(rows.map(_reverse))


def _reverse(row: list[str]) -> list[str]:
    return row[::-1]


def single(flow: hl.FlowBuilder) -> None:
    """``one``: a single-client ``lines`` port answering each line upper-cased, numbered in order."""
    server = flow.process(Server)
    client = flow.external(Client)
    lines, one = server.bind_single_client(client, name="one", of=str, codec="lines")
    one.complete(lines.enumerate().map(lambda p: f"{p[0]}:{p[1].upper()}"))
