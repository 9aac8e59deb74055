"""Fix for HL204: send to the process with .send(...); send_external faces an External client."""

import hydrologic as hl


class Server: ...


class Auditor: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    auditor = flow.process(Auditor)
    client = flow.external(Client)
    events = server.source_external(client, name="events", of=str)
    events.send(auditor).for_each(print)
    events.send_external(client, name="audit")
