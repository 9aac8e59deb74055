"""Symmetry reduction: states that differ only by a renaming of interchangeable members are explored once.

Three acceptors of Paxos, or three participants of 2PC, run the same code on the same kind of
input; which of them accepted first is a name, not a behaviour. With ``exhaustive(states=True,
symmetric=[acceptors])`` the state cache keys every state by a *canonical renaming* of the
declared clusters' members: the state in which acceptor 0 accepted and acceptors 1 and 2 did not
has the same key as the one in which acceptor 2 accepted, so the second is pruned like any state
already explored. With ``n`` interchangeable members a state stands for up to ``n!`` others.

**The renaming.** For a permutation ``π`` of a cluster's members, the renamed state writes the
instance of member ``m`` at the position of member ``π(m)`` and every ``MemberId`` of that cluster
(one the runtime made: a sender, ``self_id()``, ``cluster_members()``, which remembers its
cluster) as ``π(m)``, wherever it is: in inboxes, operator state, other locations' state, the
round-robin positions of senders. Sets are ordered after the renaming (the encoding orders a
set's elements by their encoded form), so a set of (acceptor, vote) pairs renames cleanly.

**The canonical choice.** Trying all ``n!`` permutations costs ``n!`` encodings per state. Each
member gets a *signature* instead: its own instance's state encoded with every member of the
cluster written as one placeholder. Members are sorted by signature; members with equal
signatures are then told apart by where else they occur (``MemberRoles``: in which instance's
state, at which place). Members tied on both keep their raw order (``MAX_CANDIDATES``: trying
every order of them measured no more merges). Any renaming is *sound*: two states get one key
only if one is a renaming of the other; a canonical choice only makes more of them meet.

**What the declaration claims** (the search cannot check all of it, like a ``commutative``
claim on a fold): the program treats the cluster's members alike, and refers to them only by the
``MemberId`` values the runtime gave it. A raw id kept as an int (``m.raw_id``) is not renamed
and may merge states that are not alike: while the search runs, the declared clusters' ids are
watched ids (``lang.location.WATCHED_CLUSTERS``), and every ``raw_id`` read from code outside
hydrologic's machinery is reported after the search as a ``SymmetryWarning`` with its file:line.
A ``MemberId`` made by hand (``MemberId(2)``) is detected and that state is keyed without
renaming. What the search does check, with a ``UsageError`` that
names the member: the scenario sends alike to every member or to none between two scheduling
decisions, and never reads one member's output while another member's is also waiting.
Round-robin sends into a symmetric cluster are refused when the search starts (the rotation
order singles out members).
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable

from ..ir.graph import Graph
from ..ir.node import LocationInfo
from ..lang.location import WATCHED_CLUSTERS
from ..types.errors import UsageError
from ..types.site import is_internal
from ._states import MemberRoles, PartCache, Rename, Unknown, Untagged, fingerprint

if TYPE_CHECKING:
    from ._instance import SimInstance
    from ._scheduler import Unit

__all__ = ["Symmetry", "SymmetryError", "SymmetryWarning", "symmetry_for", "canonical_key", "watching", "MAX_CANDIDATES"]


class SymmetryWarning(UserWarning):
    """The program read ``raw_id`` of a member of a cluster declared symmetric: a raw id kept as
    an int is not renamed, so the search may have merged states that are not alike."""


class RawReads:
    """Where code outside hydrologic's own machinery read ``raw_id`` of a watched member
    (``lang.location.WATCHED_CLUSTERS``): (file, line) -> reads, per cluster name."""

    def __init__(self) -> None:
        self.sites: dict[str, dict[tuple[str, int], int]] = {}
        self._internal: dict[Any, bool] = {}

    def reporter(self, name: str) -> Callable[[Any], None]:
        sites = self.sites.setdefault(name, {})
        internal = self._internal

        def report(frame: Any) -> None:
            code = frame.f_code
            inside = internal.get(code)
            if inside is None:
                inside = internal[code] = is_internal(code.co_filename)
            if not inside:
                key = (code.co_filename, frame.f_lineno)
                sites[key] = sites.get(key, 0) + 1

        return report

    def message(self) -> str | None:
        found = {name: s for name, s in self.sites.items() if s}
        if not found:
            return None
        lines: list[str] = []
        for name, s in found.items():
            where = ", ".join(f"{f}:{n} ({k} read(s))" for (f, n), k in sorted(s.items())[:5])
            lines.append(f"{name}: {where}")
        return (
            "symmetric=: the program read `raw_id` of members of a cluster declared symmetric, at "
            + "; ".join(lines)
            + ". A raw id kept as an int in state or messages is not renamed by the symmetry reduction, so the "
            "search may have merged states that are not alike and missed a failure. Keep the MemberId itself "
            "(it compares, hashes and sorts like its raw id), or drop the cluster from symmetric= if members "
            "really are told apart by number."
        )


@contextmanager
def watching(sym: Symmetry | None) -> Generator[RawReads]:
    """While the search runs, the runtime makes the symmetric clusters' ids as watched ids."""
    reads = RawReads()
    if sym is None:
        yield reads
        return
    for (c, _), name in zip(sym.clusters, sym.names):
        WATCHED_CLUSTERS[c] = reads.reporter(name)
    try:
        yield reads
    finally:
        for c, _ in sym.clusters:
            WATCHED_CLUSTERS.pop(c, None)


class SymmetryError(UsageError):
    """HL501: the scenario treats members of a cluster declared symmetric differently. Raised
    as it is, not as a failing execution: the search itself would be unsound, not the program."""

MAX_CANDIDATES = 1
"""Renamings fingerprinted per state when members still tie after their signatures and places;
past it, the tied members keep their raw order.

Trying every order of the tied members and keeping the smallest key (24 renamings, all orders of
four members, until 2026-12-07) made those states meet under every renaming, but members that
tie on both their own state and every place they occur in are nearly always interchangeable in
that state as well, so every order gives the same key: measured, one renaming instead of up to 24
left the searches alike (2PC with two participants 155 states either way, three participants 720
against 719, the quorum register 66 and 685 either way, the Paxos f = 1 race 315,981 runs against
315,445), and made the race's search about 10% faster (a key was 1.56 fingerprints on average)."""


@dataclass(frozen=True)
class Symmetry:
    """The declared symmetric clusters: (cluster location id, its instance indices by member)."""

    clusters: tuple[tuple[int, tuple[int, ...]], ...]
    names: tuple[str, ...] = field(default=())

    @property
    def cluster_ids(self) -> frozenset[int]:
        return frozenset(c for c, _ in self.clusters)

    def key(self, inst: SimInstance, env: tuple[type, ...], cache: PartCache | None = None) -> Canonical | None:
        return canonical_key(inst, self, env, cache)

    def check_scenario(self, pending: dict[int, dict[int, list[Any]]]) -> None:
        scenario_check(pending, self)


def symmetry_for(graph: Graph, by_loc: dict[int, list[int]], locations: Iterable[LocationInfo]) -> Symmetry | None:
    """Check the declaration against the program: each location is a cluster with at least two
    members, and no round-robin channel leads into it."""
    clusters: list[tuple[int, tuple[int, ...]]] = []
    names: list[str] = []
    for loc in locations:
        if not loc.is_cluster:
            raise UsageError("HL501", f"symmetric= names {loc}, which is not a cluster: only a cluster's members can be interchangeable")
        for n in graph.nodes:
            if n.op == "network" and n.params["to"] is loc and n.params["mode"] == "round_robin":
                raise UsageError(
                    "HL501",
                    f"symmetric= names {loc}, but the round_robin send at {n.site} rotates over its members in "
                    "order, which treats them differently; drop it from symmetric= or send with broadcast/demux",
                )
        if loc.id not in {c for c, _ in clusters} and len(by_loc[loc.id]) > 1:
            clusters.append((loc.id, tuple(by_loc[loc.id])))
            names.append(str(loc))
    return Symmetry(tuple(clusters), tuple(names)) if clusters else None


@dataclass
class Canonical:
    key: bytes
    index_map: dict[int, int]  # instance -> the instance whose position it takes in the key
    renamed: bool  # a non-identity renaming gave the key
    untagged: bool  # a hand-made MemberId forced the key without renaming

    def units(self, sleep: Iterable[Unit]) -> frozenset[Unit]:
        """A sleep set in the coordinates of this renaming."""
        return map_units(sleep, self.index_map)


def canonical_key(inst: SimInstance, sym: Symmetry, env: tuple[type, ...], cache: PartCache | None = None) -> Canonical | None:
    """The key of ``inst``'s state under its canonical renaming; None if the state cannot be
    encoded (it is then never merged, as without symmetry). ``cache``: encoded parts of recent
    states, by location stamp (``_states.PartCache``)."""
    blank: Rename = {c: (-1,) * len(idxs) for c, idxs in sym.clusters}
    roles = MemberRoles(env, blank, inst, cache)
    try:
        per_cluster = _distinct_signatures(roles, sym)
        if per_cluster is None:
            per_cluster = _orders_by_roles(roles, sym)
    except (Unknown, TypeError, RecursionError):
        return None
    return _best(inst, sym, env, per_cluster, cache)


def _distinct_signatures(roles: MemberRoles, sym: Symmetry) -> list[list[tuple[int, ...]]] | None:
    """The one member order per cluster when the members' own signatures all differ (then where
    else each member occurs cannot change the order, and the rest of the state need not be
    encoded to choose it); None if two members of a cluster tie."""
    out: list[list[tuple[int, ...]]] = []
    for _c, idxs in sym.clusters:
        sigs = [roles.signature(i) for i in idxs]
        if len(set(sigs)) != len(sigs):
            return None
        out.append([tuple(sorted(range(len(idxs)), key=lambda m: sigs[m]))])
    return out


def _orders_by_roles(roles: MemberRoles, sym: Symmetry) -> list[list[tuple[int, ...]]]:
    """The member orders to try per cluster, from each member's signature and where it occurs
    in the rest of the state (``MemberRoles``); the signatures already made are reused."""
    sigs, where = roles.everything()
    # An occurrence's place, named the same way in every renaming of the state: the instance it is
    # in by its signature's rank (instances of renamed clusters) or its index (the others), or
    # "own" for a member's own instance.
    sym_idx = {i for _c, idxs in sym.clusters for i in idxs}
    rank = {sig: r for r, sig in enumerate(sorted({sigs[i] for i in sym_idx}))}
    per_cluster: list[list[tuple[int, ...]]] = []
    for c, idxs in sym.clusters:
        keys: list[tuple[Any, ...]] = []
        for m, i in enumerate(idxs):
            places: list[tuple[Any, int]] = []
            for part, at in where.get((c, m), ()):
                if part == i:
                    places.append((("own", 0), at))
                elif isinstance(part, int):
                    places.append((("r", rank[sigs[part]]) if part in sym_idx else ("i", part), at))
                else:
                    places.append((("o", part), at))
            places.sort()
            keys.append((sigs[i], places))
        per_cluster.append(_orders(keys))
    return per_cluster


def _best(
    inst: SimInstance, sym: Symmetry, env: tuple[type, ...], per_cluster: list[list[tuple[int, ...]]], cache: PartCache | None = None
) -> Canonical | None:
    """The smallest key over the candidate renamings (``per_cluster``: the member orders to try)."""
    total = math.prod(len(o) for o in per_cluster)
    if total > MAX_CANDIDATES:
        per_cluster = [o[:1] for o in per_cluster]
    best: Canonical | None = None
    for combo in itertools.product(*per_cluster):
        order = list(range(len(inst.locs)))
        rename: Rename = {}
        moved: set[int] = set()
        index_map: dict[int, int] = {}
        for (c, idxs), seq in zip(sym.clusters, combo):
            new_of = [0] * len(idxs)
            for j, m in enumerate(seq):  # position j takes member seq[j]
                order[idxs[j]] = idxs[m]
                new_of[m] = j
                index_map[idxs[m]] = idxs[j]
                if m != j:
                    moved.add(m)
            rename[c] = tuple(new_of)
        try:
            key = fingerprint(inst, env, order, rename, frozenset(moved), cache)
        except Untagged:
            plain = fingerprint(inst, env)
            return None if plain is None else Canonical(plain, {}, False, True)
        if key is None:
            return None
        if best is None or key < best.key:
            best = Canonical(key, index_map, bool(moved), False)
    return best


def _orders(keys: list[tuple[Any, ...]]) -> list[tuple[int, ...]]:
    """The member orders to try: sorted by key, every order within a group of equal keys."""
    ranked = sorted(range(len(keys)), key=lambda m: keys[m])
    groups = [list(g) for _, g in itertools.groupby(ranked, key=lambda m: keys[m])]
    if math.prod(math.factorial(len(g)) for g in groups) > MAX_CANDIDATES:
        return [tuple(ranked)]
    out: list[tuple[int, ...]] = []
    for parts in itertools.product(*(itertools.permutations(g) for g in groups)):
        out.append(tuple(m for p in parts for m in p))
    return out


def map_units(units: Iterable[Unit], index_map: dict[int, int]) -> frozenset[Unit]:
    """A sleep set in the coordinates of the canonical renaming."""
    if not index_map:
        return frozenset(units)
    return frozenset((index_map.get(u[0], u[0]), u[1], u[2]) for u in units)


def scenario_check(pending: dict[int, dict[int, list[Any]]], sym: Symmetry) -> None:
    """Between two scheduling decisions the scenario must have sent alike to every member of a
    symmetric cluster (or to none); clears what it checked."""
    for c, idxs in sym.clusters:
        sent = pending.get(c)
        if not sent:
            continue
        first = sent.get(0, [])
        for m in range(len(idxs)):
            if sent.get(m, []) != first:
                name = sym.names[[x for x, _ in sym.clusters].index(c)]
                raise SymmetryError(
                    "HL501",
                    f"the scenario sent {_show(sent.get(m, []))} to member {m} of {name} but {_show(first)} to member 0 "
                    f"before the next scheduling decision; {name} is declared symmetric (symmetric=...), which holds only "
                    "if the scenario treats its members alike: send the same inputs to every member, or drop it from symmetric=",
                )
        pending[c] = {}


def _show(sent: list[Any]) -> str:
    """``sent``: (where the input port was built, the values) per send."""
    return "nothing" if not sent else "; ".join(f"{', '.join(repr(v) for v in values)} (input built at {site})" for site, values in sent)
