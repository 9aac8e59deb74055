"""A key-value store that speaks the Redis protocol (RESP2), on one process.

    python -m hydrologic run examples/redis_store.py:build     # prints the port; Ctrl-C stops
    redis-cli -p <port> SET greeting hello
    redis-cli -p <port> GET greeting
    redis-benchmark -p <port> -t set,get -q

Set ``HL_REDIS_PORT`` to serve on a fixed port instead of one chosen by the OS.

Password, like redis-server's ``requirepass``::

    python examples/redis_store.py --requirepass s3cret --port 6380   # serves until Ctrl-C
    redis-cli -p 6380 GET k                  # NOAUTH Authentication required.
    redis-cli -p 6380 -a s3cret GET k        # AUTH first, then GET

(``HL_REDIS_REQUIREPASS=s3cret hydrologic run examples/redis_store.py:build`` does the same: the
password reaches the store's process in its environment, never on a command line.) A client must
send ``AUTH <password>`` (or ``HELLO 3 AUTH default <password>``) first; until then every command
gets ``-NOAUTH Authentication required.``, and a wrong password gets ``-WRONGPASS ...``. Across
untrusted networks, also deploy with ``external_tls=`` so that the password does not travel in
the clear.

Commands: GET, SET (NX/XX/GET), DEL, EXISTS, INCR/DECR/INCRBY/DECRBY, MGET, MSET, APPEND,
STRLEN, DBSIZE, FLUSHDB, PING, ECHO, SELECT 0, and what clients send when they connect (CONFIG
GET, COMMAND, CLIENT SETNAME/SETINFO, HELLO 2, INFO). Anything else is answered
``-ERR unknown command 'FOO', ...``; wrong arity and ``INCR`` on a non-integer get Redis's own
errors; a malformed request gets ``-ERR Protocol error: ...`` and its connection is closed.

The program is three lines of dataflow: a bidirectional External port (each client's requests,
keyed by the client), the store's state machine run for all clients (``hydrologic.std.kv``), and
the replies routed back to each client's connection. Every command, read or write, goes through
the one ordered path, so an acknowledged SET is visible to every later GET (read-after-write;
``hydrologic.std.kv`` says why), and each connection gets its replies in request order
(pipelining works). The state machine, ``apply_command(store, command) -> reply``, is a plain
function: a replicated store applies it to the commands of its log.
"""

from __future__ import annotations

import argparse
import os

import hydrologic as hl
from hydrologic import nondet
from hydrologic.std.kv import AuthedStore, Store, apply_authenticated, apply_command, serve_sequentially


class Server: ...


class RedisClient: ...


COMMAND: type[list[bytes]] = list  # a request: [b"SET", b"key", b"value"] (a plain type at run time, so the port checks it)


def new_store() -> Store:
    return {}


def store(
    server: hl.Process[Server], redis: hl.External[RedisClient], port: int | None = None, requirepass: str | None = None
) -> hl.ExternalBidi[hl.Process[Server]]:
    """The Redis-protocol store at ``server``, serving the bidi port ``redis``; returns the port
    (tests act as its clients with ``port.client(n)``). With ``requirepass``, clients must AUTH."""
    requests, replies = server.source_external_bidi(redis, name="redis", of=COMMAND, codec="resp", port=port)
    why = nondet("concurrent clients are independent: a store may order their commands either way")
    if requirepass is None:
        replies.complete(serve_sequentially(server, requests, new_store, apply_command, why))
    else:
        # AUTH is per connection, so the state machine sees which client sent each command.
        password = requirepass.encode()
        replies.complete(
            serve_sequentially(
                server,
                requests.map_with_key(lambda kv: kv),
                AuthedStore,
                lambda state, req: apply_authenticated(state, req, password),
                why,
            )
        )
    return replies


def build(flow: hl.FlowBuilder) -> None:
    port = os.environ.get("HL_REDIS_PORT")
    store(flow.process(Server), flow.external(RedisClient), int(port) if port else None, os.environ.get("HL_REDIS_REQUIREPASS") or None)


def serve(requirepass: str, port: int | None) -> None:
    """Serve until Ctrl-C, with a password (``--requirepass``)."""
    os.environ["HL_REDIS_REQUIREPASS"] = requirepass  # the store's process rebuilds the program with it
    if port is not None:
        os.environ["HL_REDIS_PORT"] = str(port)
    with hl.deploy.Localhost(log=print, log_level="WARNING").start(f"{os.path.abspath(__file__)}:build") as d:
        print(f"store listening on 127.0.0.1:{d.port('redis').port}, password required", flush=True)
        try:
            d.wait()
        except KeyboardInterrupt:
            pass


def main() -> None:
    """Demo client: deploy the store on a local process, talk RESP to it, print the replies."""
    with hl.deploy.Localhost(log=lambda _: None, log_level="WARNING").start(f"{os.path.abspath(__file__)}:build") as d:
        print(f"store listening on 127.0.0.1:{d.port('redis').port} (try: redis-cli -p {d.port('redis').port})")
        with d.client("redis") as a, d.client("redis") as b:
            for client, words in (
                (a, ["SET", "greeting", "hello"]),
                (b, ["GET", "greeting"]),
                (a, ["INCR", "visits"]),
                (b, ["INCR", "visits"]),
                (a, ["INCR", "greeting"]),
                (b, ["FOO", "bar"]),
            ):
                reply = client.request([w.encode() for w in words])
                print(f"client {'a' if client is a else 'b'}: {' '.join(words)} -> {reply!r}")
            a.send_many([[b"SET", b"k", str(i).encode()] for i in range(100)])
            acked = a.take(100)
            print(f"b reads a's last acknowledged write: {b.request([b'GET', b'k']) == b'99' and acked == ['OK'] * 100}")


if __name__ == "__main__":
    args = argparse.ArgumentParser(description="the Redis-protocol store: a demo, or a server with --requirepass")
    args.add_argument("--requirepass", help="serve until Ctrl-C, requiring AUTH with this password")
    args.add_argument("--port", type=int, default=None, help="with --requirepass: the port (default: chosen by the OS)")
    opts = args.parse_args()
    if opts.requirepass:
        serve(opts.requirepass, opts.port)
    else:
        main()
