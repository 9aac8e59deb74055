"""HL401: a bidi port whose responses are never defined: its clients would wait forever."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    requests, _port = server.source_external_bidi(client, name="kv", of=str)  # expect: HL401
    requests.entries().sim_output()
