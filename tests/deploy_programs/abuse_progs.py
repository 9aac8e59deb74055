"""Programs whose bidi ports have small limits, deployed by tests/test_external_abuse.py."""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet
from hydrologic.std.kv import Store, apply_command, serve_sequentially


class Server: ...


class Client: ...


COMMAND: type[list[bytes]] = list  # a request: [b"SET", b"key", b"value"]


def new_store() -> Store:
    return {}


def limited_store(flow: hl.FlowBuilder) -> None:
    """The Redis-protocol store of examples/redis_store.py with tight limits on its port."""
    server = flow.process(Server)
    requests, replies = server.source_external_bidi(
        flow.external(Client),
        name="redis",
        of=COMMAND,
        codec="resp",
        max_clients=3,
        max_query_buffer=2 << 20,
        max_output_buffer=1 << 20,
        max_input_memory=4 << 20,
    )
    replies.complete(
        serve_sequentially(server, requests, new_store, apply_command, nondet("clients are independent"))
    )


def limited_echo(flow: hl.FlowBuilder) -> None:
    """A MessagePack echo port that takes two clients at once and 256 KiB of input per connection."""
    server = flow.process(Server)
    requests, port = server.source_external_bidi(
        flow.external(Client), name="echo", codec="msgpack", max_clients=2, max_query_buffer=256 << 10
    )
    port.complete(requests)
