"""HL107: a bidi port is completed with per-tick batches instead of a top-level stream."""

import hydrologic as hl
from hydrologic import nondet


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    batch = requests.batch(server.tick(), nondet("each request is answered on its own"))
    port.complete(batch.map(str.upper))  # expect: HL107
