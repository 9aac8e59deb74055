"""A key-value store's state machine, and a service that runs any state machine for many clients.

Two layers, so that each can be reused on its own:

* ``apply_command(store, command) -> reply`` is a **plain function**: it applies one Redis-style
  command (``[b"SET", b"k", b"v"]``) to a ``dict[bytes, bytes]`` and returns the reply as a
  RESP value (``net/resp.py``). It never blocks, never reads a clock, and is deterministic, so
  any component that puts commands in an order — a single process here, a Paxos log in a
  replicated store — gets the same store by applying the same commands in the same order.
* ``serve_sequentially(server, requests, init, apply, nondet)`` runs a state machine at one
  process for many clients: each client's requests are applied in the order that client sent
  them, interleaved with other clients' at tick granularity, and each reply goes back keyed by
  its client, in request order. It is written with the public language API only.

Why this is linearizable (read-after-write): every command, read or write, goes through the one
ordered path. A tick applies the requests it released to the state and emits their replies at
its end; the next tick starts from the state the previous one left (``tick.cycle_with_initial``).
So a reply (an acknowledged ``SET``) is released only after its effect is in the state, and any
request sent after the client saw that reply is applied in a later tick, which sees it. Which
requests of concurrent clients a tick releases is the one nondet site (``batch``); every choice
is a valid linearization because it keeps each client's order (the simulator explores them).

An atomic section (``stream.atomic(tick)`` ... ``snapshot_atomic``, docs/tutorial.md) gives the
same guarantee to programs that serve reads on a *separate* path from writes. A RESP server
cannot use a separate path: replies on one connection must come in request order (clients
pipeline), and ``INCR`` reads and writes in one step.
"""

from __future__ import annotations

import hmac
import operator
from typing import Any, Callable, TypeVar, cast

from ..lang.bidi import ClientId
from ..lang.keyed_stream import KeyedStream
from ..lang.location import TopLevel
from ..net.resp import RespError, strict_int
from ..types.markers import ExactlyOnce, TotalOrder, Unbounded
from ..types.nondet import NonDet, nondet as make_nondet

__all__ = [
    "apply_command",
    "apply_commands",
    "serve_sequentially",
    "Store",
    "Reply",
    "COMMANDS",
    # --- AUTH / requirepass
    "AuthedStore",
    "apply_authenticated",
    "NOAUTH",
    "WRONGPASS",
]

Store = dict[bytes, bytes]
Reply = Any
"""A RESP reply: ``str`` (simple string), ``bytes`` (bulk), ``int``, ``None`` (null), ``list``, ``RespError``."""

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Loc = TypeVar("Loc", bound=TopLevel)

_INT64 = (-(1 << 63), (1 << 63) - 1)
_NOT_INT = RespError("ERR value is not an integer or out of range")
_SYNTAX = RespError("ERR syntax error")
_OK = "OK"


def _arity(name: bytes) -> RespError:
    return RespError(f"ERR wrong number of arguments for '{name.decode(errors='replace').lower()}' command")


def _to_int(raw: bytes) -> int | None:
    """Redis's strict integer parsing: an optional '-', no '+', spaces or leading zeros, int64."""
    return strict_int(raw)


def _get(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) != 2:
        return _arity(cmd[0])
    return store.get(cmd[1])


def _set(store: Store, cmd: list[bytes]) -> Reply:
    n = len(cmd)
    if n < 3:
        return _arity(cmd[0])
    key, value = cmd[1], cmd[2]
    if n == 3:
        store[key] = value
        return _OK
    nx = xx = get = False
    for opt in cmd[3:]:
        o = opt.upper()
        if o == b"NX" and not xx:
            nx = True
        elif o == b"XX" and not nx:
            xx = True
        elif o == b"GET":
            get = True
        elif o in (b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL"):
            return RespError("ERR key expiry (EX/PX/EXAT/PXAT/KEEPTTL) is not supported by this store")
        else:
            return _SYNTAX
    old = store.get(key)
    if (nx and old is not None) or (xx and old is None):
        return old if get else None
    store[key] = value
    return old if get else _OK


def _del(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) < 2:
        return _arity(cmd[0])
    n = 0
    for k in cmd[1:]:
        if store.pop(k, None) is not None:
            n += 1
    return n


def _exists(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) < 2:
        return _arity(cmd[0])
    return sum(1 for k in cmd[1:] if k in store)


def _incr_by(store: Store, key: bytes, by: int) -> Reply:
    old = store.get(key)
    cur = 0 if old is None else _to_int(old)
    if cur is None:
        return _NOT_INT
    new = cur + by
    if not _INT64[0] <= new <= _INT64[1]:
        return RespError("ERR increment or decrement would overflow")
    store[key] = str(new).encode()
    return new


def _incr(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) != 2:
        return _arity(cmd[0])
    return _incr_by(store, cmd[1], 1 if cmd[0].upper() == b"INCR" else -1)


def _incrby(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) != 3:
        return _arity(cmd[0])
    by = _to_int(cmd[2])
    if by is None:
        return _NOT_INT
    return _incr_by(store, cmd[1], by if cmd[0].upper() == b"INCRBY" else -by)


def _mget(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) < 2:
        return _arity(cmd[0])
    return [store.get(k) for k in cmd[1:]]


def _mset(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) < 3 or len(cmd) % 2 == 0:
        return _arity(cmd[0])
    for i in range(1, len(cmd), 2):
        store[cmd[i]] = cmd[i + 1]
    return _OK


def _append(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) != 3:
        return _arity(cmd[0])
    v = store.get(cmd[1], b"") + cmd[2]
    store[cmd[1]] = v
    return len(v)


def _strlen(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) != 2:
        return _arity(cmd[0])
    return len(store.get(cmd[1], b""))


def _dbsize(store: Store, cmd: list[bytes]) -> Reply:
    return len(store) if len(cmd) == 1 else _arity(cmd[0])


def _flush(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) > 2 or (len(cmd) == 2 and cmd[1].upper() not in (b"SYNC", b"ASYNC")):
        return _SYNTAX
    store.clear()
    return _OK


# ---- connection and introspection commands (they do not touch the store) -------------------------


def _ping(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) > 2:
        return _arity(cmd[0])
    return "PONG" if len(cmd) == 1 else cmd[1]


def _echo(store: Store, cmd: list[bytes]) -> Reply:
    return cmd[1] if len(cmd) == 2 else _arity(cmd[0])


def _select(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) != 2:
        return _arity(cmd[0])
    return _OK if cmd[1] == b"0" else RespError("ERR DB index is out of range")


def _quit(store: Store, cmd: list[bytes]) -> Reply:
    return _OK


# What `CONFIG GET` reports: redis-benchmark reads `save` and `appendonly` when it starts.
CONFIG = {b"save": b"", b"appendonly": b"no", b"databases": b"1", b"maxmemory": b"0"}


def _config(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) < 2:
        return _arity(cmd[0])
    sub = cmd[1].upper()
    if sub == b"GET":
        if len(cmd) < 3:
            return _arity(b"config|get")
        out: list[bytes] = []
        for name, value in CONFIG.items():
            if any(_glob(p.lower(), name) for p in cmd[2:]):
                out += [name, value]
        return out
    if sub in (b"SET", b"RESETSTAT", b"REWRITE"):
        return RespError(f"ERR CONFIG {sub.decode(errors='replace')} is not supported by this store")
    return RespError(f"ERR unknown subcommand '{cmd[1].decode(errors='replace')}'. Try CONFIG HELP.")


def _glob(pattern: bytes, name: bytes) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name.decode(errors="replace"), pattern.decode(errors="replace"))


def _command(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) == 1:
        return []
    sub = cmd[1].upper()
    if sub == b"COUNT":
        return len(COMMANDS)
    if sub in (b"DOCS", b"INFO", b"LIST"):
        return []
    return RespError(f"ERR unknown subcommand '{cmd[1].decode(errors='replace')}'. Try COMMAND HELP.")


def _client(store: Store, cmd: list[bytes]) -> Reply:
    if len(cmd) < 2:
        return _arity(cmd[0])
    sub = cmd[1].upper()
    if sub in (b"SETNAME", b"SETINFO"):
        return _OK
    if sub == b"GETNAME":
        return None
    return RespError(f"ERR unknown subcommand '{cmd[1].decode(errors='replace')}'. Try CLIENT HELP.")


def _hello(store: Store, cmd: list[bytes]) -> Reply:
    """``HELLO [2|3]``: the server's description; the port's codec switches the connection to
    RESP3's forms of null and maps after ``HELLO 3`` (net/resp.py)."""
    proto = 2 if len(cmd) < 2 else _to_int(cmd[1])
    if proto not in (2, 3):
        return RespError("NOPROTO unsupported protocol version")
    return {"server": "hydrologic", "version": "7.0.0", "proto": proto, "id": 0, "mode": "standalone", "role": "master", "modules": []}


def _info(store: Store, cmd: list[bytes]) -> Reply:
    return (
        "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nhydrologic:1\r\n"
        f"# Keyspace\r\ndb0:keys={len(store)},expires=0\r\n"
    ).encode()


COMMANDS: dict[bytes, Callable[[Store, list[bytes]], Reply]] = {
    b"GET": _get,
    b"SET": _set,
    b"DEL": _del,
    b"UNLINK": _del,
    b"EXISTS": _exists,
    b"INCR": _incr,
    b"DECR": _incr,
    b"INCRBY": _incrby,
    b"DECRBY": _incrby,
    b"MGET": _mget,
    b"MSET": _mset,
    b"APPEND": _append,
    b"STRLEN": _strlen,
    b"DBSIZE": _dbsize,
    b"FLUSHDB": _flush,
    b"FLUSHALL": _flush,
    b"PING": _ping,
    b"ECHO": _echo,
    b"SELECT": _select,
    b"QUIT": _quit,
    b"CONFIG": _config,
    b"COMMAND": _command,
    b"CLIENT": _client,
    b"HELLO": _hello,
    b"INFO": _info,
}
"""Every command the store understands, by upper-case name."""

_WRITES = frozenset({b"SET", b"DEL", b"UNLINK", b"INCR", b"DECR", b"INCRBY", b"DECRBY", b"MSET", b"APPEND", b"FLUSHDB", b"FLUSHALL"})


def is_write(command: list[bytes]) -> bool:
    """Whether ``command`` may change the store (a replicated store must order these)."""
    return bool(command) and command[0].upper() in _WRITES


def unknown_command(command: list[bytes]) -> RespError:
    """Redis's own wording: ``ERR unknown command 'FOO', with args beginning with: 'a' 'b' ``."""
    name = command[0].decode(errors="replace")
    args = "".join(f"'{a.decode(errors='replace')[:128]}' " for a in command[1:])
    return RespError(f"ERR unknown command '{name[:128]}', with args beginning with: {args}")


_NOT_A_COMMAND = RespError("ERR a command is a non-empty array of bulk strings")


def apply_command(store: Store, command: list[bytes]) -> Reply:
    """Apply one command to ``store`` (in place) and return its reply. Deterministic and total:
    a malformed command (not a non-empty list of bytes) gets an error reply, never an exception."""
    if not isinstance(command, list) or not command:  # pyright: ignore[reportUnnecessaryIsInstance]
        return _NOT_A_COMMAND
    for a in command:  # a loop, not all(<genexpr>): this check runs for every request
        if a.__class__ is not bytes:
            return _NOT_A_COMMAND
    name = command[0]
    f = COMMANDS.get(name)
    if f is None:
        f = COMMANDS.get(name.upper())
        if f is None:
            return unknown_command(command)
    return f(store, command)


def apply_commands(store: Store, commands: list[list[bytes]]) -> list[Reply]:
    """Apply commands in order; their replies, in the same order."""
    return [apply_command(store, c) for c in commands]


# ---- running a state machine for many clients ---------------------------------------------------


def serve_sequentially(
    server: Loc,
    requests: KeyedStream[ClientId, Req, Loc, Unbounded, TotalOrder, ExactlyOnce],
    init: Callable[[], S],
    apply: Callable[[S, Req], Resp],
    nondet: NonDet,
) -> KeyedStream[ClientId, Resp, Loc, Unbounded, TotalOrder, ExactlyOnce]:
    """Apply every client's requests to one state, each client's in its own order; the replies
    keyed by client, in request order (see the module docstring for why this is linearizable).

    ``server`` is a process, or a cluster whose every member serves its own clients with its own
    state (a bidi port on a cluster gives each member its own port).
    ``init()`` makes the initial state (called once, in the first tick that has requests);
    ``apply(state, request)`` may update the state in place and returns the reply. ``nondet`` is
    the caller's reason for accepting any interleaving of concurrent clients.
    """
    tick = server.tick()
    batch = requests.batch(
        tick,
        make_nondet(
            "which requests of concurrent clients a tick takes only decides how clients interleave; "
            "each client's requests keep their order, so every choice is a valid linearization",
            nondet,
        ),
    )
    # Python's sort is stable and a keyed batch keeps each client's order, so sorting by client
    # gives one deterministic order that still has each client's requests in the order sent.
    ordered = batch.entries().sort(key=_client_of)
    state_handle, state = tick.cycle_with_initial(tick.singleton(cast("S | None", None)))
    step = state.zip(ordered.collect_list()).map(lambda sc: _step(sc, init, apply))
    state_handle.complete_next_tick(step.map(_state_of))
    replies = step.flat_map_ordered(_replies_of)
    return replies.into_keyed().all_ticks()


_client_of: Callable[[tuple[ClientId, Any]], int] = operator.itemgetter(0)
"""An entry's client (``itemgetter``: the sort calls it once per request, and in C)."""


def _step(
    sc: tuple[S | None, list[tuple[ClientId, Req]]], init: Callable[[], S], apply: Callable[[S, Req], Resp]
) -> tuple[S | None, list[tuple[ClientId, Resp]]]:
    state, reqs = sc
    if not reqs:
        return state, []
    if state is None:
        state = init()
    return state, [(cid, apply(state, r)) for cid, r in reqs]


def _state_of(step: tuple[S | None, list[tuple[ClientId, Resp]]]) -> S | None:
    return step[0]


def _replies_of(step: tuple[S | None, list[tuple[ClientId, Resp]]]) -> list[tuple[ClientId, Resp]]:
    return step[1]


# --- AUTH / requirepass


NOAUTH = RespError("NOAUTH Authentication required.")
WRONGPASS = RespError("WRONGPASS invalid username-password pair or user is disabled.")
_NO_PASSWORD = RespError(
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
_HELLO_NOAUTH = RespError(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
    "option can be used to authenticate the client and select the RESP protocol version at the same time"
)


class AuthedStore:
    """A store and the clients that proved the password (``apply_authenticated``'s state).

    Client ids are never reused (a bidi port numbers its connections once), so a client that
    disconnects is never mistaken for a new one; its id stays in ``authed`` (one int per
    authenticated connection over the server's life).
    """

    def __init__(self) -> None:
        self.store: Store = {}
        self.authed: set[int] = set()


def _password_ok(password: bytes | None, user: bytes, given: bytes) -> bool:
    if user != b"default":
        return False
    return password is None or hmac.compare_digest(given, password)


def apply_authenticated(state: AuthedStore, request: tuple[ClientId, list[bytes]], password: bytes | None) -> Reply:
    """``apply_command`` behind Redis's ``requirepass``: with a ``password``, a client must send
    ``AUTH <password>`` (or ``AUTH default <password>``, or ``HELLO <proto> AUTH default <password>``)
    before anything but ``AUTH``/``HELLO``/``QUIT``, and is answered ``-NOAUTH Authentication
    required.`` until it does; a wrong password is ``-WRONGPASS ...``. Replies use redis-server's
    wording. Without a password every command runs, and ``AUTH <password>`` is an error as in Redis."""
    cid, cmd = request
    if not isinstance(cmd, list) or not cmd or not all(type(a) is bytes for a in cmd):  # pyright: ignore[reportUnnecessaryIsInstance]
        return apply_command(state.store, cmd)
    name = cmd[0].upper()
    if name == b"AUTH":
        if len(cmd) not in (2, 3):
            return _arity(cmd[0]) if len(cmd) < 2 else _SYNTAX
        if len(cmd) == 2 and password is None:
            return _NO_PASSWORD
        user, given = (b"default", cmd[1]) if len(cmd) == 2 else (cmd[1], cmd[2])
        if not _password_ok(password, user, given):
            return WRONGPASS
        state.authed.add(cid)
        return _OK
    if name == b"HELLO":
        upper = [a.upper() for a in cmd]
        if b"AUTH" in upper[2:]:
            at = upper.index(b"AUTH", 2)
            if len(cmd) < at + 3:
                return _SYNTAX
            if not _password_ok(password, cmd[at + 1], cmd[at + 2]):
                return WRONGPASS
            state.authed.add(cid)
        elif password is not None and cid not in state.authed:
            return _HELLO_NOAUTH
    elif password is not None and cid not in state.authed and name != b"QUIT":
        return NOAUTH
    return apply_command(state.store, cmd)
