"""ordered= may be a bool computed at build time: a TotalOrder stream can feed a port either way."""

import os

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    ordered = os.environ.get("HL_TEST_UNORDERED_PORT") is None  # a bool, not a literal
    reqs = server.source_external(client, name="in", of=str)
    reqs.map(str.upper).send_external(client, name="out", ordered=ordered)
