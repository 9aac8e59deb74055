"""Fix for HL110: deduplicate the resent requests before the exactly-once port."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    reqs = server.source_external(client, name="in", of=str, retries=hl.AtLeastOnce)
    reqs.unique().map(str.upper).send_external(client, name="out", delivery="exactly_once")
