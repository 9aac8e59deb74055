"""HL201: a bidi port's responses are computed at another process and never sent back."""

import hydrologic as hl


class Server: ...


class Worker: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    worker = flow.process(Worker)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    answers = requests.entries().send(worker).map(lambda e: (e[0], e[1].upper())).into_keyed()
    port.complete(answers, ordered=False)  # expect: HL201
