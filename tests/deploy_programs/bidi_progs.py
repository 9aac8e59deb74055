"""Programs with bidirectional External ports, deployed by tests/test_bidi_ports.py."""

from __future__ import annotations

import hydrologic as hl


class Server: ...


class Client: ...


def upper_json(flow: hl.FlowBuilder) -> None:
    """Each client's strings come back upper-cased, to that client only; joins/leaves are
    reported on the output port ``members``."""
    server = flow.process(Server)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="upper", of=str, codec="json")
    port.complete(requests.map(str.upper))
    port.membership().entries().map(lambda e: [e[0], e[1].value]).send_external(client, name="members", codec="json")
