"""Request/response plumbing: pair responses with the requests they answer; shard by key."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ..lang.location import Location, MemberId
from ..lang.singleton import Singleton
from ..lang.stream import Stream
from ..types.markers import AtLeastOnce, Bounded, NoOrder, Unbounded

__all__ = ["join_responses", "partition_by_key"]

Id = TypeVar("Id")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
T = TypeVar("T")
C = TypeVar("C")
L = TypeVar("L", bound=Location)
B = TypeVar("B", bound=Unbounded)
O = TypeVar("O", bound=NoOrder)  # noqa: E741
R = TypeVar("R", bound=AtLeastOnce)



def join_responses(
    requests: Stream[tuple[Id, Req], Any, Any, Any, Any], responses: Stream[tuple[Id, Resp], Any, Any, NoOrder, Any]
) -> Stream[tuple[Id, tuple[Req, Resp]], Any, Any, NoOrder, Any]:
    """(id, (request, response)) for every response whose request is known, whichever came first.

    Both sides must be at the same location (send the responses back first). The pairing is a
    symmetric hash join: its output order depends on arrival order (NoOrder), its contents do not.
    """
    return requests.join(responses)


def partition_by_key(
    items: Stream[T, L, B, O, R], key: Callable[[T], object], members: Singleton[tuple[MemberId[C], ...], L, Bounded]
) -> Stream[tuple[MemberId[C], T], L, B, O, R]:
    """Address each item to the member chosen by a stable hash of ``key(item)``, ready for ``demux``.

    ``members`` is ``loc.cluster_members(cluster)`` at the items' location. The hash is the same
    in every process (Python's ``hash()`` of a str is salted per process), so every process of a
    deployment sends a given key to the same member.
    """

    def address(pair: tuple[T, tuple[MemberId[C], ...]]) -> tuple[MemberId[C], T]:
        x, ms = pair
        return (ms[_stable_hash(key(x)) % len(ms)], x)

    return items.cross_singleton(members).map(address)


def _stable_hash(value: object) -> int:
    import zlib

    return zlib.crc32(repr(value).encode())
