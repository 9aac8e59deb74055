"""The table of explored states shared by the processes of one parallel search (``workers=``).

Workers that kept tables of their own explored the same states over and over: the subtrees they
are handed meet in the same states (that merging is what the state cache is for), so two workers
with the 2PC reach scenario explored 1,682 states where one process explored 853, and took as
long. This table lives in an anonymous shared memory mapping made before the workers are forked,
so every process reads and writes the same one.

Layout: a header (entries used), then ``capacity`` slots of (16-byte key, 8-byte sleep mask),
open addressing with linear probing; an all-zero key marks an empty slot. Keys are the state
cache's BLAKE2b fingerprints (hashed again to 16 bytes when longer: the fault point's suffix).
One lock (a process-shared semaphore) guards every lookup-and-update, which is what makes the
sleep-set rule below safe: a lost update of a stored set could prune a visit that must run.

Sleep sets (``_states.StateTable.visit``: prune a visit only if the stored set is a subset of its
own, else store the intersection) are stored as bit masks over the program's units (one bit per
tick and observation of every instance, numbered from the plan). Bit 63 stands for "some unit
past the 63rd": a stored set with it is never taken as a subset (a state so stored is visited
again, which costs time, never a state), and a visit's own units past the 63rd are left out of
its mask (a smaller set only prunes less).

A full table (more than 7/8 of its slots used) stops recording new states: they are explored
every time they are reached, as without the cache, so a too-small table costs time, not states.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import struct
from typing import TYPE_CHECKING, Iterable, cast

if TYPE_CHECKING:
    from ._plan import Plan
    from ._scheduler import Unit

__all__ = ["MaskSet", "SharedStates", "unit_bits"]

_SLOT = struct.Struct("<16sQ")
_HEADER = struct.Struct("<QQ")  # entries used, entries refused because the table was full
_EMPTY = bytes(16)
_OVERFLOW = 1 << 63
DEFAULT_CAPACITY = 1 << 20
"""Slots of the shared table (24 MiB): far more than any search that ends in minutes reaches."""


def unit_bits(plan: Plan) -> dict[Unit, int]:
    """A bit per unit: every tick (kind 0) and observation (kind 1) of every instance, in order."""
    bits: dict[Unit, int] = {}
    n = 0
    for i, info in enumerate(plan.instances):
        lp = plan.locs[info.loc.id]
        for j in range(len(lp.ticks)):
            bits[(i, 0, j)] = n
            n += 1
        for j in range(len(lp.observations)):
            bits[(i, 1, j)] = n
            n += 1
    return bits


class MaskSet:
    """A stored sleep set, as a set of units for ``in``. A unit past bit 62 counts as in it when
    the overflow bit is set: whether it was asleep is unknown, and taking it as asleep only makes
    the search explore it again (``Scheduler.pick``)."""

    __slots__ = ("mask", "bits")

    def __init__(self, mask: int, bits: dict[Unit, int]) -> None:
        self.mask = mask
        self.bits = bits

    def __contains__(self, u: object) -> bool:
        b: int = self.bits.get(cast("Unit", u), 63)
        if b >= 63:
            return bool(self.mask & _OVERFLOW)
        return bool(self.mask >> b & 1)


class SharedStates:
    """Explored states with their sleep sets, in memory shared with forked processes."""

    def __init__(self, bits: dict[Unit, int], capacity: int = DEFAULT_CAPACITY) -> None:
        assert capacity & (capacity - 1) == 0, "capacity must be a power of two"
        self.capacity = capacity
        self.bits = bits
        self.mem = mmap.mmap(-1, _HEADER.size + capacity * _SLOT.size)  # MAP_SHARED: children see writes
        self.lock = multiprocessing.get_context("fork").Lock()
        # after a visit that found the state stored with a set that is not a subset of its own:
        # that set (the units asleep when it was explored); None after any other visit
        self.before: MaskSet | None = None

    # ---- what a visit does ---------------------------------------------------------------------

    def mask(self, units: Iterable[Unit]) -> int:
        """A sleep set as a mask (units past bit 62 are set as the overflow bit)."""
        m = 0
        bits = self.bits
        for u in units:
            b = bits.get(u, 63)
            m |= _OVERFLOW if b >= 63 else 1 << b
        return m

    def visit(self, key: bytes, units: Iterable[Unit]) -> bool:
        """True: prune (the state was explored with a sleep set contained in ``units``).
        Otherwise the state is recorded, or its stored set narrowed to the intersection."""
        if len(key) != 16:
            key = hashlib.blake2b(key, digest_size=16).digest()
        mine = self.mask(units)
        mine_known = mine & ~_OVERFLOW  # for the subset test, only the units the mask can name
        cap = self.capacity - 1
        h = int.from_bytes(key[:8], "little") & cap
        mem = self.mem
        self.before = None
        with self.lock:
            while True:
                off = _HEADER.size + h * _SLOT.size
                k, stored = _SLOT.unpack_from(mem, off)
                if k == _EMPTY:
                    used, refused = _HEADER.unpack_from(mem, 0)
                    if used * 8 >= self.capacity * 7:  # full: explore it, record nothing
                        _HEADER.pack_into(mem, 0, used, refused + 1)
                        return False
                    _SLOT.pack_into(mem, off, key, mine)
                    _HEADER.pack_into(mem, 0, used + 1, refused)
                    return False
                if k == key:
                    if not stored & _OVERFLOW and stored & ~mine_known == 0:
                        return True
                    narrowed = stored & mine
                    if narrowed != stored:
                        _SLOT.pack_into(mem, off, key, narrowed)
                    self.before = MaskSet(stored, self.bits)
                    return False
                h = (h + 1) & cap

    def add(self, key: bytes, units: Iterable[Unit]) -> None:
        """Record a state explored before the table was shared (this process's own table)."""
        self.visit(key, units)

    # ---- counts ---------------------------------------------------------------------------------

    @property
    def used(self) -> int:
        return int(_HEADER.unpack_from(self.mem, 0)[0])

    @property
    def refused(self) -> int:
        """States not recorded because the table was full."""
        return int(_HEADER.unpack_from(self.mem, 0)[1])

    def close(self) -> None:
        self.mem.close()
