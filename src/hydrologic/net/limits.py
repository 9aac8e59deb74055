"""Limits of a bidirectional External port: what one client, and all of them, may hold.

A port faces untrusted clients, so everything a client can make the server hold is bounded, as
Redis bounds it (``maxclients``, ``client-query-buffer-limit``, ``client-output-buffer-limit``,
``maxmemory``):

| limit (``source_external_bidi`` keyword) | default | when exceeded |
|---|---|---|
| ``max_clients``: connections at once | 10,000 | a new connection gets an error reply (RESP: ``-ERR max number of clients reached``) and is closed |
| ``max_pipeline``: requests of one client handed to the program and not yet answered (RESP), or handed to it in one tick (other codecs) | 64 | the client's further requests wait in its connection (it stops being read): a client pipelining 100,000 commands takes its turn like everyone else |
| ``max_query_buffer``: bytes of input one connection holds (a partial request, plus requests not yet handed over) | 32 MiB | error reply, connection closed |
| ``max_output_buffer``: bytes of replies queued for one connection that it has not read | 32 MiB | the connection is dropped (a client that does not read its replies) |
| ``max_input_memory``: bytes of input all connections of the port hold together, in one process | 64 MiB | the connection whose input crosses it gets an error reply (RESP: ``-ERR OOM ...``) and is closed |

Each is set per port where the port is declared, e.g.
``loc.source_external_bidi(client, name="redis", codec="resp", max_clients=100)``; ``None``
(the default) means the value above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["PortLimits", "LIMIT_PARAMS"]

MiB = 1 << 20


@dataclass(frozen=True)
class PortLimits:
    """The limits of one bidi port (see the module docstring for each and its default)."""

    max_clients: int = 10_000
    max_pipeline: int = 64
    max_query_buffer: int = 32 * MiB
    max_output_buffer: int = 32 * MiB
    max_input_memory: int = 64 * MiB

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PortLimits:
        """The limits a port's node parameters ask for (a ``None`` or a missing key: the default)."""
        given = {k: params[k] for k in LIMIT_PARAMS if params.get(k) is not None}
        return cls(**given)


LIMIT_PARAMS: tuple[str, ...] = ("max_clients", "max_pipeline", "max_query_buffer", "max_output_buffer", "max_input_memory")
"""The keyword parameters of ``source_external_bidi`` that set a port's limits."""
