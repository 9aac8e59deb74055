"""Quorum collection: release each key once enough responses for it have arrived.

Responses from a cluster arrive in no particular order and possibly at different times on
different runs, yet "key k reached n responses" is a monotone fact: once true it stays true. So
the result needs no nondet site: a commutative count per key, a threshold, and a top-level
``unique`` (which remembers the keys already released) give the same set of released keys on
every run, each exactly once.

The function is ``reached_quorum`` (``hydrologic.std.reached_quorum``); ``hydrologic.std.quorum``
is this module. Calling the module, as ``from hydrologic.std import quorum; quorum(r, n)`` did
when the function was exported under the module's name, still works and warns.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any, TypeVar

from ..lang.keyed_stream import KeyedStream
from ..lang.stream import Stream
from ..types.errors import UsageError
from ..types.markers import ExactlyOnce, NoOrder, Unbounded
from ..types.nondet import proof
from ..types.site import caller_site

__all__ = ["reached_quorum", "quorum"]

K = TypeVar("K")
V = TypeVar("V")
L = TypeVar("L")


def reached_quorum(
    responses: KeyedStream[K, V, Any, Unbounded, NoOrder, ExactlyOnce], min_count: int
) -> Stream[K, Any, Unbounded, NoOrder, ExactlyOnce]:
    """Each key, once, as soon as it has at least ``min_count`` responses.

    ``responses`` must be exactly-once (a duplicated response would count twice; deduplicate
    with ``.entries().unique().into_keyed()`` if your channel retries).
    """
    if not isinstance(min_count, int) or min_count < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"quorum needs min_count >= 1, got {min_count!r}", site=caller_site())
    counts = responses.fold(
        lambda: 0,
        lambda n, _v: n + 1,
        commutative=proof("counting responses does not depend on their order"),
    )
    reached = counts.entries().filter(lambda kc: kc[1] >= min_count).map(lambda kc: kc[0])
    return reached.unique()


quorum = reached_quorum  # `from hydrologic.std.quorum import quorum` keeps working


class _CallableModule(types.ModuleType):
    """This module, callable like the function that used to shadow it in ``hydrologic.std``."""

    def __call__(
        self, responses: KeyedStream[K, V, Any, Unbounded, NoOrder, ExactlyOnce], min_count: int
    ) -> Stream[K, Any, Unbounded, NoOrder, ExactlyOnce]:
        warnings.warn(
            "calling the module hydrologic.std.quorum is deprecated: call hydrologic.std.reached_quorum",
            DeprecationWarning,
            stacklevel=2,
        )
        return reached_quorum(responses, min_count)


sys.modules[__name__].__class__ = _CallableModule
