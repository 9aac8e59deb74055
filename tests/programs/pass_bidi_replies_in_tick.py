"""Fix for HL107: leave the tick with all_ticks() before completing the port."""

import hydrologic as hl
from hydrologic import nondet


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    batch = requests.batch(server.tick(), nondet("each request is answered on its own"))
    port.complete(batch.map(str.upper).all_ticks())
