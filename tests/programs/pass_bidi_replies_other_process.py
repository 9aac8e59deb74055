"""Fix for HL201: send the responses back to the port's process, keyed by client, first."""

import hydrologic as hl


class Server: ...


class Worker: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    worker = flow.process(Worker)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    answers = requests.entries().send(worker).map(lambda e: (e[0], e[1].upper()))
    port.complete(answers.send(server).into_keyed(), ordered=False)
