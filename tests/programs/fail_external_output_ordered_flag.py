"""HL110: ordered= computed at build time may be True, and the stream is merged in arrival order."""

import os

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    ordered = os.environ.get("HL_TEST_UNORDERED_PORT") is None  # a bool, not a literal
    a = server.source_external(client, name="a", of=int)
    b = server.source_external(client, name="b", of=int)
    a.merge_unordered(b).send_external(client, name="out", ordered=ordered)  # expect: HL110
