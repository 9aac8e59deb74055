"""Durable keyed records for one location instance, with group commit.

One job: keep the durable accumulators of a location (``scan(..., durable=)``,
``KeyedStream.fold(..., durable=)``) across a crash of its process. The tick engine hands
the store each tick's changed records; the store says when they are durable, and the driver
releases that tick's outgoing messages only then (output gating). ``MemoryStore`` keeps them in
memory (``run_in_process``, the simulator); ``LogStore`` in an append-only, checksummed log file
with batched ``fsync`` (``docs/storage.md``).
"""

from __future__ import annotations

from .base import DELETE, FSYNC_MODES, FsyncMode, IncrementalState, MemoryStore, Record, StorageError, Store, check_fsync_mode
from .log import LogStore, open_store

__all__ = [
    "DELETE",
    "FSYNC_MODES",
    "FsyncMode",
    "IncrementalState",
    "LogStore",
    "MemoryStore",
    "Record",
    "StorageError",
    "Store",
    "check_fsync_mode",
    "open_store",
]
