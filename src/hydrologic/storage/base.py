"""The store contract the tick engine writes through, and the in-memory store."""

from __future__ import annotations

import threading
from typing import Any, Callable, Literal, Protocol, runtime_checkable

from ..types.errors import HydroRuntimeError, UsageError

__all__ = [
    "DELETE",
    "FSYNC_MODES",
    "FsyncMode",
    "IncrementalState",
    "MemoryStore",
    "Record",
    "StorageError",
    "Store",
    "check_fsync_mode",
]

FsyncMode = Literal["always", "batch", "never"]
FSYNC_MODES: tuple[FsyncMode, ...] = ("always", "batch", "never")


class _Delete:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()
"""A record's value that removes its key."""

Record = tuple[str, Any, Any]
"""``(name, key, value)``: a durable accumulator's name, its key (``None`` for a scan) and its
new value, or ``DELETE``."""


@runtime_checkable
class IncrementalState(Protocol):
    """A durable ``scan`` accumulator that persists itself record by record.

    A durable scan normally writes its whole accumulator after each tick that stepped it: right
    for a small value, ruinous for a large one that changes a little per tick (an acceptor's log
    of accepted values). An accumulator with these two methods is written as the records it says
    changed instead, and rebuilt from the live records after a restart, so each tick writes what
    it changed, not what it holds.

    ``durable_records()``: the ``(key, value | DELETE)`` pairs changed since the previous call
    (called once at the end of each tick that stepped the scan; forget them after answering).
    Keys are any picklable, hashable values except ``None``.
    ``restore_records(records)``: called on a fresh ``init()`` value with every live record
    (``{key: value}``), before the first step of a restarted instance.
    """

    def durable_records(self) -> list[tuple[Any, Any]]: ...

    def restore_records(self, records: dict[Any, Any]) -> None: ...


class StorageError(HydroRuntimeError):
    """The store cannot keep its promise: an unwritable directory, a full disk, a corrupt file."""


def check_fsync_mode(mode: str) -> FsyncMode:
    if mode not in FSYNC_MODES:
        raise UsageError(
            "HL501",
            f"fsync must be one of {', '.join(FSYNC_MODES)}, got {mode!r}",
            fix="always: fsync before each tick's messages leave; batch (default): one fsync covers the "
            "ticks written meanwhile (group commit); never: write to the OS only (survives a killed "
            "process, not a machine crash). See docs/storage.md.",
        )
    return mode


class Store:
    """Durable keyed records. Writes are numbered (``seq``); ``durable_seq`` is the highest
    number known durable under the store's fsync mode. ``on_durable`` (set by a driver) is called,
    possibly from another thread, when ``durable_seq`` advances."""

    fsync: FsyncMode = "never"

    def __init__(self, label: str = "") -> None:
        self.label = label  # the location instance, for error messages
        self.seq: int = 0  # number of the last write
        self.durable_seq: int = 0
        self.on_durable: Callable[[int], None] | None = None
        self.error: StorageError | None = None  # set when a background write failed
        self._lock = threading.Lock()

    def recover(self) -> dict[str, dict[Any, Any]]:
        """Every live record: ``{name: {key: value}}``."""
        raise NotImplementedError

    def write(self, records: list[Record]) -> int:
        """Append one tick's records (all or nothing on recovery); returns its ``seq``."""
        raise NotImplementedError

    def sync(self) -> None:
        """Block until every write so far is durable."""

    def close(self) -> None:
        """Make every write durable and release the files."""

    def _advance(self, seq: int) -> None:
        with self._lock:
            if seq <= self.durable_seq:
                return
            self.durable_seq = seq
        cb = self.on_durable
        if cb is not None:
            cb(seq)


class MemoryStore(Store):
    """Records in memory: durable at once. What survives a crash is whatever keeps the object
    (the simulator keeps it across a simulated crash of its instance; a process loses it)."""

    def __init__(self, label: str = "") -> None:
        super().__init__(label)
        self.data: dict[str, dict[Any, Any]] = {}
        self.writes = 0

    def recover(self) -> dict[str, dict[Any, Any]]:
        return {name: dict(kv) for name, kv in self.data.items()}

    def write(self, records: list[Record]) -> int:
        data = self.data
        for name, key, value in records:
            kv = data.get(name)
            if kv is None:
                kv = data[name] = {}
            if value is DELETE:
                kv.pop(key, None)
                continue
            try:
                kv[key] = _snapshot(value)
            except Exception as e:
                raise StorageError(
                    f"location {self.label}: durable state {name!r} holds a value that cannot be stored "
                    f"({type(e).__name__}: {e}); durable accumulators must be picklable"
                ) from e
        self.seq += 1
        self.writes += 1
        self._advance(self.seq)
        return self.seq


def _snapshot(value: Any) -> Any:
    """A copy no later in-place update of the live accumulator can reach (what a disk write
    would keep), by the same pickling the log store uses."""
    import pickle

    return pickle.loads(pickle.dumps(value, protocol=5))
