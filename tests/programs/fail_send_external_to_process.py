"""HL204: send_external delivers to a client outside the program; a process is not one."""

import hydrologic as hl


class Server: ...


class Auditor: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    auditor = flow.process(Auditor)
    client = flow.external(Client)
    events = server.source_external(client, name="events", of=str)
    events.send_external(auditor, name="audit")  # expect: HL204
