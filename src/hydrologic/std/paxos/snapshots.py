"""Incremental checkpoints of a replica's state machine, and copies of it made a slice at a time.

A replica (``checkpointed_replica``) checkpoints, writes its checkpoint to disk and sends its
state to a peer that fell behind. Done by pickling the whole state machine, each of these is
O(state) work in one tick of the replica, which for a large store starves the replica's other
work (the Paxos proposer's heartbeats among it). A state machine that implements
``IncrementalCheckpoint`` is handled as a map of records instead:

* a **checkpoint** writes only the records whose keys changed since the previous one (a
  *delta*) and the new checkpoint slot, in one tick's write (one atomic frame of the durable
  log); the checkpoint on disk is the first full copy plus every delta since, which the store
  folds together when it compacts its log;
* a **copy of the whole state** (sent to a peer, or written after installing a peer's state) is
  a ``FuzzyCopy``: the list of keys taken once, then ``chunk`` records per tick read from the
  live state while commands keep being applied, and at the end the records of every key that
  changed since the copy started. The slices and that last patch together are the state at the
  slot the copy ends at, whatever changed in between.

Any other state (a tuple, a plain dataclass) is one record, ``"state"``, holding the pickled
whole: each checkpoint and each transfer pickles all of it, in one tick, and a transfer travels
in one message, so it is bound by the channels' frame limit (64 MiB).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Protocol, TypeVar, runtime_checkable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WHOLE = "state"
"""The one record key of a state machine that is not an ``IncrementalCheckpoint``."""


@runtime_checkable
class IncrementalCheckpoint(Protocol):
    """A state machine seen as a map of records, so that a replica checkpoints and transfers it
    a bounded slice at a time (module docstring). Keys are hashable and picklable, values
    picklable.

    * ``all_keys()``: every key of the state now (the replica takes ``list()`` of it once per
      full copy);
    * ``changed_keys()``: the keys whose value changed (set, replaced or deleted) since the
      previous call, then forgets them; the replica calls it after every tick that applied
      commands, so apply must record what it changes (``TrackedDict`` does it for a dict);
    * ``dump_keys(keys)``: ``(key, value)`` for each of ``keys`` present now (absent keys are
      left out); the values must not change afterwards (return copies of mutable values);
    * ``load_keys(items)``: add those records to a fresh ``init()`` state (a restart from a
      checkpoint, or a peer's state installed).
    """

    def all_keys(self) -> Iterable[Hashable]: ...

    def changed_keys(self) -> Iterable[Hashable]: ...

    def dump_keys(self, keys: Iterable[Hashable]) -> list[tuple[Hashable, Any]]: ...

    def load_keys(self, items: Iterable[tuple[Hashable, Any]]) -> None: ...


class TrackedDict(dict[K, V]):
    """A dict that records the keys set or deleted through it (``changed``), for state machines
    that implement ``IncrementalCheckpoint`` over a dict updated in place."""

    __slots__ = ("changed",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed: set[K] = set()  # the initial contents are not changes

    def __setitem__(self, key: K, value: V) -> None:
        self.changed.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: K) -> None:
        self.changed.add(key)
        super().__delitem__(key)

    def pop(self, key: K, *default: Any) -> Any:
        self.changed.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[K, V]:
        k, v = super().popitem()
        self.changed.add(k)
        return k, v

    def setdefault(self, key: K, default: Any = None) -> Any:
        if key not in self:
            self.changed.add(key)
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        more: dict[Any, Any] = dict(*args, **kwargs)
        self.changed.update(more)
        super().update(more)

    def clear(self) -> None:
        self.changed.update(self)
        super().clear()

    def __reduce__(self) -> tuple[Any, ...]:
        return (TrackedDict, (dict(self),))

    def drain(self) -> set[K]:
        """The keys changed since the previous call."""
        out, self.changed = self.changed, set()
        return out


# ---- the state as records: incremental, or one pickled record ------------------------------------


def is_incremental(state: Any) -> bool:
    return isinstance(state, IncrementalCheckpoint)


def keys_of(state: Any) -> list[Hashable]:
    return list(state.all_keys()) if is_incremental(state) else [WHOLE]


def dump(state: Any, keys: Iterable[Hashable]) -> list[tuple[Hashable, Any]]:
    if is_incremental(state):
        return list(state.dump_keys(keys))
    return [(WHOLE, pickle.dumps(state, protocol=5))] if WHOLE in keys else []


def load(init: Callable[[], Any], items: Iterable[tuple[Hashable, Any]]) -> Any:
    """A fresh state holding ``items``."""
    state = init()
    if is_incremental(state):
        state.load_keys(items)
        state.changed_keys()  # loading is not a change
        return state
    for key, value in items:
        if key == WHOLE:
            state = pickle.loads(value)
    return state


@dataclass(eq=False)
class FuzzyCopy:
    """A copy of the state made ``chunk`` keys per tick while the state keeps changing (module
    docstring). The owner adds every tick's changed keys to ``dirty``."""

    keys: list[Hashable]
    pos: int = 0
    dirty: set[Hashable] = field(default_factory=lambda: set())

    def next_slice(self, state: Any, chunk: int) -> tuple[list[tuple[Hashable, Any]], list[Hashable] | None]:
        """The next slice's records; and on the last slice, also the keys deleted since the copy
        started (``None`` before it). A key changed since the start is left for the last slice."""
        keys = self.keys[self.pos : self.pos + chunk]
        self.pos += len(keys)
        dirty = self.dirty
        if self.pos < len(self.keys):
            return dump(state, [k for k in keys if k not in dirty]), None
        records = dump(state, [k for k in keys if k not in dirty] + list(dirty))
        present = {k for k, _ in records}
        return records, [k for k in dirty if k not in present]


@dataclass(eq=False)
class Incoming:
    """A peer's state arriving in chunks: kept aside until every chunk is here."""

    transfer: int
    chunks: dict[int, Any] = field(default_factory=lambda: {})
    last: int | None = None  # the index of the last chunk, once it came
    idle: int = 0  # clock ticks since the latest chunk

    def complete(self) -> bool:
        return self.last is not None and len(self.chunks) == self.last + 1

    def records(self) -> dict[Hashable, Any]:
        """Every chunk in order, then the last one's deletions: the peer's state."""
        out: dict[Hashable, Any] = {}
        for i in range(len(self.chunks)):
            out.update(self.chunks[i].records)
        assert self.last is not None
        for k in self.chunks[self.last].deleted:
            out.pop(k, None)
        return out
