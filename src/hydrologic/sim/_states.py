"""State caching for the exhaustive search: prune an execution that reaches a state already explored.

The exhaustive search is stateless: it re-runs the scenario for every decision sequence. Many
sequences lead to the *same* global state: two acceptors that handle their requests in either
order, a batch split in two ticks whose results the receiver folds the same way, a reply seen in
this tick or the next when nothing depends on it yet. Everything after such a state is then
explored once per path that reaches it. With ``states=True`` the search keeps a table of the
states it has explored, keyed by a fingerprint taken at every scheduling decision (the point
where the next unit of work is picked); an execution that reaches a state already in the table
stops there (it is counted as pruned, not as an execution), because the subtree under that state
has been (or is being) explored from its first visit.

**What the fingerprint covers**, so that equal fingerprints mean equal futures:

* every location instance: the state of every operator (accumulators, scan states, `unique`
  sets, join tables, batch buffers, deferred data, output buffers not yet read by the scenario,
  observation buffers), its inboxes, its arrivals not yet fed, whether each tick has run yet (all
  that is ever read of its tick count), the snapshot versions not yet revealed and the one shown
  last, whether it is down, its durable store;
* the network's round-robin positions, virtual time and the timers' last firing, the pending
  absence checks, the memory of invariants (``world.memory``), whether the execution ended;
* **where the scenario is**: the scenario is a Python function that cannot be copied, but it is
  deterministic given what the driver returned to it. The instance logs every driver call it
  receives and every value taken from an output (``SimInstance.log``); the log is part of the key,
  so two states merge only if the scenario saw exactly the same values in the same calls and is
  paused in the same call at the same point.

Values are encoded structurally (type, then contents; lists and dicts in their order, sets by
their contents, objects through their attributes; the same mutable object met twice is encoded as
a reference, so aliasing within a part of the key (a location's state, the log, ...: see
``fingerprint``) is part of it; tuples and frozen dataclasses are values and are
encoded by contents), written out with ``marshal`` at version 2 (``_serialize``; not pickled, nor
with marshal's later versions: those write an object met twice as a back-reference, so equal values
would get different bytes depending on which objects happen to be shared), and hashed with BLAKE2b
(128 bits). The key is *canonical*: equal states get equal
keys whatever the process's hash seed and whatever history built them. A set's or frozenset's
iteration order is not part of it: Python does not fix that order (it follows the hash seed and
the set's history), so a program cannot rely on it, and the plain search does not explore it
either; elements are put in an order computed from their contents alone. Every object the
encoding memoizes is kept alive until the key is made, so a temporary freed during the encoding
cannot hand its id to a later object. A value
the encoder does not understand (a generator, a socket, a C object without attributes) makes that
state *unknown*: it is never merged, so the search stays exhaustive.

A class may say which part of its instances a later step can read, with a method
``__sim_state__(self)`` returning that part (``std.paxos``'s proposer and acceptor states leave
out the messages of their latest step, which only that step's outputs read).

**Sleep sets.** A state is reached with a sleep set (units a sibling branch already ran first, see
``_scheduler``). Its first visit explores every unit not in that set; a later visit is pruned only
if the stored sleep set is a subset of its own (it would explore no more than the first did); the
table then keeps the intersection (Godefroid's condition for combining sleep sets with state
caching). Such a revisit runs only the units asleep at the first visit and awake now
(``Scheduler.pick``): every unit awake then ran from this state with everything below it.

With a fault budget (``crashes=``, ``leaves=``, ``joins=``) the key also covers the fault
state: the budgets left, who is down, who is absent from the cluster, the spares that never
joined, every instance's incarnation. Crashes and restarts are decisions taken before a pick,
and what follows them is a function of that state, so states merge across different fault
schedules that led to the same place (a crash before or after an acceptor's idle tick).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import marshal
import types
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable, cast

from ..ir.graph import Graph
from ..ir.node import Node
from ..lang.location import MemberId, _WatchedMemberId  # pyright: ignore[reportPrivateUsage]
from ..runtime.ops import Batch, Op, RuntimeContext, Snapshot
from ..runtime.ops.base import _Absent  # pyright: ignore[reportPrivateUsage]
from ..runtime.tick import LocationRuntime
from ..storage import MemoryStore

if TYPE_CHECKING:
    from ._shared_states import SharedStates
    from ._symmetry import Symmetry
    from ._choices import PrefixChooser
    from ._instance import SimInstance
    from ._location import SimLocation
    from ._scheduler import Unit

__all__ = ["StateTable", "PartCache", "fingerprint", "location_part", "MemberRoles", "Untagged", "Unknown", "Rename"]

# Values written into the key as they are. ``_Absent`` (an operator's "no value yet", a sixth of
# the values met) is written as ``_ABSENT_KEY``, an encoding nothing else has: the key is
# serialized with ``marshal``, which writes only built-in types.
_ATOMS: frozenset[type] = frozenset({int, str, float, bool, bytes, complex, type(None)})
# Revisiting a state explored before with a larger sleep set runs only the units asleep then
# and awake now (``Scheduler.pick``); a switch for comparing against exploring every awake unit.
REFINE = True

_ABSENT_KEY = ("ABSENT",)
# Objects that are the machinery around the state, not state: an operator's node, the graph, the
# objects one execution is made of (met through closures of hooks): encoded by their type only.
_SKIP_ATTRS: dict[type, frozenset[str]] = {
    Batch: frozenset({"node", "ctx", "in_tick", "release"}),  # release: decided afresh before every tick
    Snapshot: frozenset({"node", "ctx", "in_tick", "choose"}),  # choose: decided afresh before every tick
}
_OP_SKIP = frozenset({"node", "ctx", "in_tick"})
# An operator's functions (the user's, and the hooks the simulator wraps around them) are fixed
# when it is built; only ``Batch.release``/``Snapshot.choose`` change, and are decided afresh
# before every use. So an operator's callable attributes are wiring, not state.
_CALLABLES: frozenset[type] = frozenset(
    {types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.BuiltinMethodType, functools.partial}
)


class Unknown(Exception):
    """A value the fingerprint cannot encode: the state it belongs to is never merged."""


def _env_types() -> tuple[type, ...]:
    from ._choices import DrawChooser, PrefixChooser, RandomChooser, UniformChooser
    from ._decider import Decider
    from ._instance import SimInstance
    from ._location import SimLocation
    from ._network import Network
    from ._plan import Plan
    from ._scheduler import Scheduler
    from ._trace import Trace

    return (
        Graph, LocationRuntime, RuntimeContext, SimInstance, SimLocation, Decider, Network, Scheduler,
        Trace, Plan, PrefixChooser, RandomChooser, UniformChooser, DrawChooser,
    )


_CONTAINERS = (tuple, list, deque, set, frozenset, dict)
_BUILTIN_BASES = frozenset({int, str, float, bytes, bytearray, complex})
_KINDS: dict[type[Any], str] = {}


def _kind(t: type[Any]) -> str:
    """How instances of ``t`` are encoded: "tuple" (a named tuple), "items"/"pairs" (another
    container's subclass), "builtin" (a subclass of another builtin), "value" (a frozen
    dataclass), else "object". Tuples and frozen dataclasses are values: encoded by contents,
    never as a reference to an equal object met before."""
    k = _KINDS.get(t)
    if k is None:
        params = getattr(t, "__dataclass_params__", None)
        if issubclass(t, tuple):  # a named tuple: a value, like a tuple
            k = "tuple"
        elif issubclass(t, (list, deque, set, frozenset)):
            k = "items"
        elif issubclass(t, dict):
            k = "pairs"
        elif not _BUILTIN_BASES.isdisjoint(t.__mro__):
            k = "builtin"
        elif params is not None and getattr(params, "frozen", False):
            k = "value"
        else:
            k = "object"
        _KINDS[t] = k
    return k


def _items(x: Any) -> Iterable[Any]:
    out: Iterable[Any] = iter(x)
    return out


def _pairs(x: Any) -> Iterable[tuple[Any, Any]]:
    out: Iterable[tuple[Any, Any]] = iter(x.items())
    return out

_MEMBER_IDS: frozenset[type] = frozenset({MemberId, _WatchedMemberId})
_IMMUTABLE: frozenset[type] = frozenset({frozenset, *_MEMBER_IDS})
_MEMBER_ID_HEAD = ("O", MemberId.__module__, MemberId.__qualname__, "raw_id")
_EMPTY_LIST = ("L",)
_EMPTY_DICT = ("D",)
_CONTAINER_TYPES: frozenset[type] = frozenset({list, dict, set, deque})  # mutable: numbered for aliasing
# per type: are its instances values (encoded by contents, never as a reference)? See ``enc``.
_IS_VALUE: dict[type, bool] = {}


class Untagged(Exception):
    """A ``MemberId`` made by hand, met while encoding a state with members renamed: it cannot be
    renamed (it does not say which cluster it names), so the state is encoded as it is."""


Rename = dict[int, tuple[int, ...]]
"""Per cluster location id, the new raw id of each member (``_symmetry``)."""


class _Encoder:
    """Encodes a value as nested tuples of atoms (see the module docstring).

    ``rename``: with the symmetry reduction, the members of some clusters are renamed in the
    encoding (``MemberId`` values that name their cluster). ``moved``: the raw ids that the
    renaming changes; a hand-made ``MemberId`` with one of them raises ``Untagged``."""

    def __init__(self, env: tuple[type, ...], rename: Rename | None = None, moved: frozenset[int] = frozenset()) -> None:
        self.env = env
        self.rename = rename
        self.moved = moved
        self.memo: dict[int, int] = {}
        # the location being encoded: its operators whose ``recomputed`` attributes are dead
        # between ticks (``LocPlan.transient``); set by ``location_part``
        self.transient: frozenset[int] = frozenset()
        # every object in ``memo`` is kept alive until the key is made: a temporary (a slice, what
        # ``__sim_state__`` returns) freed during the encoding could otherwise leave its id to a
        # later object, which would then be encoded as a reference to it
        self.keep: list[Any] = []

    def enc(self, x: Any) -> Any:
        # Atoms inside containers are written out in place (``a if a.__class__ in atoms``): most
        # of a state's values are ints and strings, and a call per value was a third of the cost.
        t: type[Any] = x.__class__
        if t in _ATOMS:
            return x
        if t is _Absent:
            return _ABSENT_KEY
        atoms = _ATOMS
        enc = self.enc
        if t is tuple:
            if self.rename is not None and x and x[0].__class__ in _MEMBER_IDS:
                every = self._every_member(x)
                if every is not None:
                    return every
            return ("T", *[v if v.__class__ in atoms else enc(v) for v in x])
        if t is Node:
            return ("N", x.id)
        if t in _MEMBER_IDS:  # what ``_other`` gives it, without the walk
            if self.rename is not None:
                return _MEMBER_ID_HEAD + (self._renamed(x),)
            return _MEMBER_ID_HEAD + (x.raw_id,)
        is_value = _IS_VALUE.get(t)
        if is_value is None:
            is_value = _IS_VALUE[t] = t not in _CONTAINER_TYPES and (t in _IMMUTABLE or _kind(t) in ("value", "tuple"))
        if is_value:
            return self._other(x, t)  # a value: equal values are interchangeable, shared or not
        i = id(x)
        ref = self.memo.get(i)
        if ref is not None:
            return ("R", ref)
        self.memo[i] = len(self.memo)
        self.keep.append(x)
        if t is list or t is deque:
            return ("L", *[v if v.__class__ in atoms else enc(v) for v in x])
        if t is dict:
            out: list[Any] = ["D"]
            for k, v in x.items():
                out.append(k if k.__class__ in atoms else enc(k))
                out.append(v if v.__class__ in atoms else enc(v))
            return tuple(out)
        if t is set:
            return ("S", *self._members(x))
        return self._other(x, t)

    def _every_member(self, x: tuple[Any, ...]) -> tuple[str, int] | None:
        """``cluster_members()`` of a renamed cluster (every member, in raw order): the same
        under every renaming, since the program is claimed not to depend on that order."""
        assert self.rename is not None
        c: int | None = x[0].cluster_of
        if c is None:
            return None
        r = self.rename.get(c)
        if r is None or len(x) != len(r):
            return None
        for i, m in enumerate(x):
            if m.__class__ not in _MEMBER_IDS:
                return None
            mid = cast("MemberId[Any]", m)
            if mid.raw_id != i or mid.cluster_of != c:
                return None
        return ("ALL", c)

    def _renamed(self, x: MemberId[Any]) -> int:
        assert self.rename is not None
        c = x.cluster_of
        if c is None:
            if x.raw_id in self.moved:
                raise Untagged()
            return x.raw_id
        r = self.rename.get(c)
        return x.raw_id if r is None else r[x.raw_id]

    def _members(self, x: Any) -> list[Any]:
        """A set's elements encoded in a canonical order (Python fixes no iteration order for a
        set: it follows the process's hash seed and the set's history). Elements are ordered by
        an encoding that shares nothing with the rest of the key, then encoded in that order, so
        the references they hold are numbered the same way whatever order the set iterates in."""
        items = list(x)
        if len(items) > 1:
            if all(v.__class__ in _ATOMS for v in items):
                items.sort(key=_atom_key)
            else:
                items.sort(key=lambda v: repr(_Encoder(self.env, self.rename, self.moved).enc(v)))
        return [self.enc(v) for v in items]

    def _other(self, x: Any, t: type) -> Any:
        plan = _PLANS.get(t)
        if plan is None:
            plan = _PLANS[t] = _plan_for(t, self.env)
        how = plan[0]
        if how == _OP:  # an operator: its state, not its wiring (the common case: checked first)
            skip: frozenset[str] = plan[2]
            if self.transient and x.node.id in self.transient:
                skip = skip | cast("frozenset[str]", getattr(t, "recomputed"))
            fields: list[Any] = [*plan[1]]
            enc = self.enc
            memo = self.memo
            for k, v in x.__dict__.items():
                if k not in skip:
                    c = v.__class__
                    if c in _ATOMS:
                        fields.append(k)
                        fields.append(v)
                    elif c is _Absent:
                        fields.append(k)
                        fields.append(_ABSENT_KEY)
                    elif (c is list or c is dict) and not v:  # what ``enc`` writes, without the call
                        fields.append(k)
                        i = id(v)
                        ref = memo.get(i)
                        if ref is None:
                            memo[i] = len(memo)
                            self.keep.append(v)
                            fields.append(_EMPTY_LIST if c is list else _EMPTY_DICT)
                        else:
                            fields.append(("R", ref))
                    elif c not in _CALLABLES:
                        fields.append(k)
                        fields.append(enc(v))
            return tuple(fields)
        if how == _CONST:  # the same encoding for every instance (a type, a stateless object)
            return plan[1] if len(plan) == 2 else ("Y", x.__module__, x.__qualname__)
        if isinstance(x, enum.Enum):
            return ("E", t.__qualname__, x.name)
        if how == _ENV:
            return ("V", t.__qualname__)
        if t is MemoryStore:  # its records and write counters (not its lock or callback)
            return ("MS", self.enc(x.data), x.seq, x.durable_seq)
        if t is types.FunctionType:
            cells = tuple(self.enc(c.cell_contents) for c in (x.__closure__ or ()))
            return ("F", id(x.__code__), x.__qualname__, cells, self.enc(x.__defaults__))
        if t is types.MethodType:
            return ("M", self.enc(x.__func__), self.enc(x.__self__))
        if t is types.BuiltinFunctionType or t is types.BuiltinMethodType:
            owner = x.__self__
            return ("B", x.__qualname__, None if isinstance(owner, types.ModuleType) else self.enc(owner))
        if t is functools.partial:
            return ("P", self.enc(x.func), self.enc(x.args), self.enc(x.keywords))
        if t is object:  # a sentinel made with object(): its identity is the value
            return ("X", id(x))
        fields = ["O", t.__module__, t.__qualname__]
        live = plan[1]
        if live is not None:  # the class says which part of it the future can depend on
            fields.append(self.enc(live(x)))
            return tuple(fields)
        kind = _kind(t)
        if kind == "items" and _is_set(t):
            fields.append(tuple(self._members(x)))
        elif kind == "items" or kind == "tuple":  # a named tuple, a list subclass...
            fields.append(tuple(self.enc(v) for v in _items(x)))
        elif kind == "pairs":
            fields.append(tuple((self.enc(k), self.enc(v)) for k, v in _pairs(x)))
        elif kind == "builtin":  # another builtin's subclass: its contents are unknown
            raise Unknown(t.__qualname__)
        d = getattr(x, "__dict__", None)
        slots: list[str] = plan[2]
        if d is None and not slots and not _stateless(t) and len(fields) == 3:
            raise Unknown(t.__qualname__)
        if d is not None:
            if "node" in d and type(d["node"]) is Node:  # operator-like: its state, not its wiring
                skip = _SKIP_ATTRS.get(t, _OP_SKIP)
                for k, v in d.items():
                    if k not in skip and type(v) not in _CALLABLES:
                        fields.append(k)
                        fields.append(self.enc(v))
            else:
                enc = self.enc
                for k, v in d.items():
                    fields.append(k)
                    fields.append(v if v.__class__ in _ATOMS else enc(v))
        for s in slots:
            if hasattr(x, s):
                v = getattr(x, s)
                fields.append(s)
                fields.append(v if v.__class__ in _ATOMS else self.enc(v))
        return tuple(fields)


class _RoleEncoder(_Encoder):
    """Encodes with the renamed clusters' members blanked, and records where each member occurs
    (``_symmetry``'s role signatures): per (cluster, raw id), the places as (``part``, position),
    ``part`` being what the caller set for the part being encoded, position the number of mutable
    objects met in that part so far (the traversal's order is canonical; counting every value
    would cost a call per value); inside a set, the set's own position (the order of elements that
    differ only by member ids is not canonical, the set's place is)."""

    def __init__(self, env: tuple[type, ...], rename: Rename) -> None:
        super().__init__(env, rename)
        self.where: dict[tuple[int, int], list[tuple[Any, int]]] = {}
        self.part_where: list[tuple[tuple[int, int], int]] = []  # the places met in this part
        self.part_untagged = False  # a MemberId made by hand met in this part
        self.part_in_set = False  # a renamed member met inside a set in this part
        self.part: Any = None
        self.set_pos: int | None = None

    def start(self, part: Any) -> None:
        """Encode the next part as if alone: an object it shares with an earlier part (a message
        in a sender's buffer and in a receiver's inbox) is written out, not as a reference, so
        a part's encoding does not depend on which parts came before it."""
        self.part = part
        self.memo = {}
        self.part_where = []
        self.part_untagged = False
        self.part_in_set = False

    def _members(self, x: Any) -> list[Any]:
        if self.set_pos is not None:
            return super()._members(x)
        self.set_pos = len(self.memo)
        try:
            return super()._members(x)
        finally:
            self.set_pos = None

    def _renamed(self, x: MemberId[Any]) -> int:
        c = x.cluster_of
        assert self.rename is not None
        if c is not None and c in self.rename:
            at = len(self.memo) if self.set_pos is None else self.set_pos
            if self.set_pos is not None:
                self.part_in_set = True
            self.where.setdefault((c, x.raw_id), []).append((self.part, at))
            self.part_where.append(((c, x.raw_id), at))
            return -1
        if c is None:
            self.part_untagged = True
        return x.raw_id


class MemberRoles:
    """Every instance's state encoded with the members of the renamed clusters blanked (its
    *signature*), and where each of those members occurs in the whole state (``_RoleEncoder``):
    an occurrence in an instance's part is recorded under that instance's index, one elsewhere
    under "log", "stores", "memory" or "checks".

    Built part by part, because the symmetric members' own signatures often settle the renaming
    alone (``_symmetry``): those are encoded first, and the rest of the state only if two of them
    tie. A part's encoding does not depend on the parts encoded before it (``_RoleEncoder.start``),
    so the order does not change a signature or a place."""

    def __init__(self, env: tuple[type, ...], rename: Rename, inst: SimInstance, cache: PartCache | None = None) -> None:
        self._e = _RoleEncoder(env, rename)
        self._inst = inst
        self._sigs: dict[int, bytes] = {}
        self._cache = cache

    def signature(self, i: int) -> bytes:
        """Instance ``i``'s signature (``Unknown``/``TypeError`` if it cannot be encoded)."""
        sig = self._sigs.get(i)
        if sig is not None:
            return sig
        e, st, cache = self._e, self._inst.locs[i], self._cache
        hit = None if cache is None else cache.roles.get((i, st.stamp))
        if hit is not None:
            sig, places, _ = hit
            where = e.where
            for member, at in places:
                where.setdefault(member, []).append((i, at))
        else:
            e.start(i)
            sig = _serialize(location_part(e, st))
            if cache is not None:
                places = tuple(e.part_where)
                spots = None if e.part_untagged or e.part_in_set else _placeholders(sig, len(places))
                cache.roles[(i, st.stamp)] = (sig, places, spots)
        self._sigs[i] = sig
        return sig

    def everything(self) -> tuple[list[bytes], dict[tuple[int, int], list[tuple[Any, int]]]]:
        """Every instance's signature, and every member's places in the whole state."""
        inst = self._inst
        sigs = [self.signature(i) for i in range(len(inst.locs))]
        e = self._e
        e.start("log")
        e.enc(inst.log)
        e.start("stores")
        e.enc(inst.stores)
        e.start("memory")
        e.enc(inst.memory)
        e.start("checks")
        e.enc([(c.expected, c.consumed) for c in inst.checks])
        return sigs, e.where


# How ``_Encoder._other`` encodes instances of a type, worked out once per type (an encoding walks
# thousands of objects of a few dozen types, and these checks were most of its cost):
# (_OP, header, attributes to skip): an operator, whose non-callable attributes are its state;
# (_CONST, encoding) or (_CONST,) for a type: every instance encodes the same; (_ENV, None): the
# machinery around the state; (_GENERAL, __sim_state__ or None, slots): anything else.
_OP, _CONST, _ENV, _GENERAL = 0, 1, 2, 3
_PLANS: dict[type, tuple[Any, ...]] = {}


def _plan_for(t: type[Any], env: tuple[type, ...]) -> tuple[Any, ...]:  # noqa: C901
    from ..runtime.ops import Op

    live = getattr(t, "__sim_state__", None)
    slots: list[str] = [
        s for c in t.__mro__ for s in getattr(c, "__slots__", ()) if s not in ("__dict__", "__weakref__")  # pyright: ignore[reportUnknownVariableType]
    ]
    if issubclass(t, type):
        return (_CONST,)
    if issubclass(t, enum.Enum):
        return (_GENERAL, live, slots)
    if issubclass(t, env):
        return (_ENV, None)
    if issubclass(t, Op) and live is None and _kind(t) == "object" and not slots:
        return (_OP, ("O", t.__module__, t.__qualname__), _SKIP_ATTRS.get(t, _OP_SKIP))
    if t is not object and live is None and not slots and _kind(t) == "object" and _stateless(t):
        return (_CONST, ("O", t.__module__, t.__qualname__))
    return (_GENERAL, live, slots)


def _is_set(t: type[Any]) -> bool:
    return issubclass(t, (set, frozenset))


def _atom_key(v: Any) -> tuple[str, str]:
    return (v.__class__.__name__, repr(v))


def _stateless(t: type[Any]) -> bool:
    """A class whose instances carry no data beyond a container's items (``__slots__ = ()`` all
    the way up to ``object`` or a builtin container)."""
    return all("__slots__" in vars(c) for c in t.__mro__ if c is not object and c not in _CONTAINERS)


def location_part(e: _Encoder, st: SimLocation) -> tuple[Any, ...]:
    """The encoding of one location instance's state."""
    rt = st.rt
    e.transient = st.lp.transient
    try:
        return (
            st.dead,
            st.started,
            e.enc(st.arrivals[st.arrivals_pos:]),
            tuple(n > 0 for n in st.ticks_run.values()),  # only "has it run yet" is ever read
            e.enc(st.versions),
            e.enc(st.last_version),
            e.enc(st.current),
            _inbox(e, rt.inbox),
            _ops(e, st.keyed_ops),
            rt.write_seq,
        )
    finally:
        e.transient = frozenset()


def _ops(e: _Encoder, ops: list[tuple[int, Op]]) -> tuple[Any, ...]:
    """A location's operators (``SimLocation.keyed_ops``), but not the ``stateless`` and
    ``fusable`` ones: those hold nothing between runs by contract (their functions are wiring,
    and they never read ``value`` or ``first``), so every state of the location has them alike;
    about half of a location's operators."""
    enc = e.enc
    return tuple([(i, enc(op)) for i, op in ops])


def _inbox(e: _Encoder, inbox: dict[tuple[int, int], list[list[Any]]]) -> tuple[Any, ...]:
    """A runtime's per-edge inboxes: the edges that hold data, with it. Most edges are empty
    between passes, and their lists are the inbox's own (replaced, never shared, when taken),
    so an empty one says nothing beyond the layout, which every state of the location shares."""
    return tuple([(k, e.enc(v)) for k, v in inbox.items() if v])


def fingerprint(
    inst: SimInstance,
    env: tuple[type, ...] | None = None,
    order: list[int] | None = None,
    rename: Rename | None = None,
    moved: frozenset[int] = frozenset(),
    cache: PartCache | None = None,
) -> bytes | None:
    """The key of ``inst``'s global state and the scenario's position; None if it has a value
    the encoder does not understand.

    With the symmetry reduction (``_symmetry``), ``order`` lists the instances in the order
    their states are written (instance ``order[j]`` takes position ``j``), and ``rename`` gives
    the members' new ids: the key of the state with those members swapped. ``Untagged`` if the
    state holds a hand-made ``MemberId`` that the renaming would have to change.

    The key hashes one segment per part (the scenario's log, each location, the stores, ...),
    each encoded on its own: an object two parts share (a message a sender keeps and a receiver
    got, the same object in the simulator) is written out in each, as it would be in a
    deployment, where each process has its own copy. So a location's segment depends only on
    its contents and the renaming, and ``cache`` (``PartCache``) keeps it by the location's
    stamp: after a step, only the locations the step changed are encoded again."""
    e = _Encoder(env if env is not None else _env_types(), rename, moved)
    locs = inst.locs
    if order is None:
        order = list(range(len(locs)))
    h = hashlib.blake2b(digest_size=16)

    def add(encoded: Any) -> None:
        seg = _serialize(encoded)
        h.update(len(seg).to_bytes(8, "little"))
        h.update(seg)
        e.memo = {}

    try:
        add(e.enc(inst.log))
        if cache is None:
            for i in order:
                add(location_part(e, locs[i]))
        else:
            renamed = None if rename is None else (tuple(rename.items()), moved)
            parts, roles = cache.parts, cache.roles
            for i in order:
                stamp = locs[i].stamp
                if rename is not None:
                    r = roles.get((i, stamp))
                    if r is not None and r[2] is not None:
                        # its signature with the renamed ids written in (``_placeholders``)
                        seg = _renamed_signature(r[0], r[1], r[2], rename)
                        h.update(len(seg).to_bytes(8, "little"))
                        h.update(seg)
                        continue
                k = (i, stamp, renamed)
                got = parts.get(k)
                if got is None:
                    seg = parts[k] = _serialize(location_part(e, locs[i]))
                    e.memo = {}
                else:
                    seg = got
                h.update(len(seg).to_bytes(8, "little"))
                h.update(seg)
        f = inst.faults
        if f.budget.crashes or f.budget.leaves or f.budget.joins:
            pos = {old: new for new, old in enumerate(order)}
            add((
                "faults", f.left, f.leaves_left, f.joins_left, tuple(f.incarnation[i] for i in order),
                tuple(sorted(pos[i] for i in f.down)), tuple(sorted(pos[i] for i in f.absent)),
                tuple(sorted(pos[i] for i in f.spares)),
            ))
        add(e.enc([inst.stores[i] for i in order]))
        rr = inst.network._rr  # pyright: ignore[reportPrivateUsage]
        if rename is not None and rr:
            rr = _renamed_positions(rr, order, inst)
        add(e.enc(rr))
        add((inst._now, e.enc(inst._timer_last), inst.ended))  # pyright: ignore[reportPrivateUsage]
        add(tuple((c.node.id, e.enc(c.expected), e.enc(c.consumed), c.unordered) for c in inst.checks))
        add(e.enc(inst.memory))
    except (Unknown, TypeError, RecursionError):
        return None
    return h.digest()


# A renamed cluster's member as the role encoder writes it, and as a renaming writes member n.
_PLACEHOLDER = marshal.dumps(_MEMBER_ID_HEAD + (-1,), 2)
_AS_MEMBER: dict[int, bytes] = {}


def _placeholders(sig: bytes, occurrences: int) -> tuple[int, ...] | None:
    """Where in a part's signature the ``occurrences`` renamed members are written, in the
    encoder's order; None if that cannot be told from the bytes alone.

    A signature is the part's encoding with every member of a renamed cluster written as -1
    (``_RoleEncoder``). Under a renaming the same part encodes the same way except at those
    members, which are written with their new ids: the same number of bytes (marshal writes an
    int below 2**31 in four). So the segment under a renaming is the signature with each
    placeholder overwritten, when (1) the placeholders can be found: exactly ``occurrences``
    copies of the placeholder's bytes occur in the signature (a member always writes one, so a
    count that matches leaves no room for a look-alike in a string or bytes value), and (2) no
    member sits inside a set, whose elements are ordered by their encodings and may change
    order under a renaming, nor is a ``MemberId`` made by hand in it (which a renaming may refuse:
    ``Untagged``); the caller checks (2)."""
    if not sig.startswith(b"m"):
        return None
    spots: list[int] = []
    at = sig.find(_PLACEHOLDER)
    while at >= 0:
        spots.append(at)
        at = sig.find(_PLACEHOLDER, at + len(_PLACEHOLDER))
    return tuple(spots) if len(spots) == occurrences else None


def _renamed_signature(
    sig: bytes, places: tuple[tuple[tuple[int, int], int], ...], spots: tuple[int, ...], rename: Rename
) -> bytes:
    """A part's key segment under ``rename``, written from its signature (``_placeholders``)."""
    if not spots:
        return sig
    out = bytearray(sig)
    width = len(_PLACEHOLDER)
    for at, ((c, raw), _) in zip(spots, places):
        new = rename[c][raw]
        b = _AS_MEMBER.get(new)
        if b is None:
            b = _AS_MEMBER[new] = marshal.dumps(_MEMBER_ID_HEAD + (new,), 2)
            assert len(b) == width
        out[at : at + width] = b
    return bytes(out)


class PartCache:
    """Encoded location parts of a search's recent states, by (instance index, stamp), so that
    a key encodes again only the locations the last step changed (``SimLocation.stamp``).

    ``roles``: a part's signature and the places of members in it (``MemberRoles``);
    ``parts``: a part's segment of the key under one renaming (``fingerprint``). Emptied when
    it holds ``LIMIT`` entries: what a DFS reuses is the parts of the states on its current
    path, seen again within a few thousand keys."""

    LIMIT = 20_000

    def __init__(self) -> None:
        # (signature, the places of renamed members in it, where their placeholders are in the
        # signature's bytes or None: see ``_placeholders``)
        self.roles: dict[tuple[int, int], tuple[bytes, tuple[tuple[tuple[int, int], int], ...], tuple[int, ...] | None]] = {}
        self.parts: dict[tuple[int, int, Any], bytes] = {}

    def trim(self) -> None:
        if len(self.parts) > self.LIMIT or len(self.roles) > self.LIMIT:
            self.parts.clear()
            self.roles.clear()


def _serialize(encoded: tuple[Any, ...]) -> bytes:
    """The bytes of an encoding (nested tuples of atoms), the same for equal encodings in any
    process. ``marshal`` at version 2, which writes equal strings alike whether or not they are
    interned and has no back-references (later versions write an object met twice as one), so
    equal encodings give equal bytes however their objects are shared; it is about seven times
    faster than ``repr``, which the key was written with before (and still is, should an atom
    marshal cannot write ever reach it)."""
    try:
        return b"m" + marshal.dumps(encoded, 2)
    except ValueError:
        return b"r" + repr(encoded).encode()


def _renamed_positions(rr: dict[Any, int], order: list[int], inst: SimInstance) -> dict[Any, int]:
    """The round-robin positions keyed by the senders' new instances, in a canonical order (a
    sender's position is keyed by ``(network node, sender instance, sender member)``; the
    symmetry reduction refuses round-robin sends *to* a symmetric cluster, so the positions
    themselves need no renaming)."""
    new_index = {old: new for new, old in enumerate(order)}
    out: list[tuple[Any, int]] = []
    for old_key, pos in rr.items():
        key: Any = old_key
        if isinstance(old_key, tuple) and len(old_key) == 3:  # pyright: ignore[reportUnknownArgumentType]
            parts: tuple[Any, ...] = old_key  # pyright: ignore[reportUnknownVariableType]
            idx: int = parts[1]
            j = new_index.get(idx, idx)
            key = (parts[0], j, inst.plan.instances[j].member)
        out.append((key, pos))
    out.sort(key=repr)
    return dict(out)


class StateTable:
    """The states an exhaustive search has explored, with the sleep set of each first visit.

    With ``symmetry`` (``_symmetry``) states are keyed by their canonical renaming, and each
    sleep set is stored in the coordinates of that renaming."""

    def __init__(self, symmetry: Symmetry | None = None) -> None:
        self.seen: dict[bytes, frozenset[Unit]] = {}
        self.hits = 0  # executions pruned at a state already explored
        # (seconds since the search started, distinct states), every half second at most: whether
        # a search stopped by its budget was still finding new states (``_budget.CacheProgress``)
        self.growth: list[tuple[float, int]] = []
        self.unknown = 0  # states that could not be fingerprinted (never merged)
        self.renamed = 0  # states keyed under a renaming other than the identity
        self.untagged = 0  # states keyed without renaming: they hold a hand-made MemberId
        # during a parallel search (``_parallel``), the table every process reads and writes
        self.shared: SharedStates | None = None
        self.symmetry = symmetry
        self._env = _env_types()
        self.parts = PartCache()
        from ._instance import SimInstance  # (not at the top: the instance module is above this one)

        self._plain: type[SimInstance] = SimInstance

    @property
    def distinct(self) -> int:
        """States explored (by every process of a parallel search)."""
        return self.shared.used if self.shared is not None else len(self.seen)

    def sample(self, seconds: float) -> None:
        """Note the distinct states so far, ``seconds`` into the search (at most twice a second)."""
        growth = self.growth
        if not growth or seconds - growth[-1][0] >= 0.5:
            growth.append((seconds, self.distinct))

    def share(self, shared: SharedStates) -> None:
        """From now on, use ``shared`` (made before forking workers), with what this table holds."""
        for key, units in self.seen.items():
            shared.add(key, units)
        self.shared = shared

    def visit(self, inst: SimInstance, chooser: PrefixChooser, sleep: set[Unit], fault_point: bool = False) -> bool:
        """True if the state ``inst`` is in (with ``sleep``) was already explored: prune.

        Only the nodes of the decision tree that this execution is the first to reach are looked
        up: while the execution replays its prefix it walks nodes an earlier execution created
        (and recorded), which are the same nodes, not other paths to the same state.

        ``fault_point``: the visit of a fault decision (``_faults``) rather than a pick. Its key
        is kept apart: from a fault point every fault is still to be explored, from a pick none
        is, so a pick may be pruned at a state explored from a fault point (the "no fault"
        branch led there) but not the other way round. With symmetric clusters a fault point in
        the middle of the scenario's sends to their members (alike for all, but not all made
        yet) is not looked up: that state is not symmetric."""
        sym = self.symmetry
        if sym is not None:
            if fault_point:
                if any(inst.sym_sends.values()):
                    return False
            else:
                sym.check_scenario(inst.sym_sends)
        if len(chooser.values) < len(chooser.prefix):
            return False
        mine = frozenset(sleep)
        imap: dict[int, int] = {}
        # the cache of encoded parts holds only where every change is a step of a plain instance
        # (``SimLocation.stamp``); a fault replaces locations between steps
        cache = self.parts if type(inst) is self._plain and not inst.plan.faults.any else None
        if cache is not None:
            cache.trim()
        if sym is None:
            key = fingerprint(inst, self._env, cache=cache)
        else:
            c = sym.key(inst, self._env, cache)
            key = None if c is None else c.key
            if c is not None:
                mine = c.units(sleep)
                imap = c.index_map
                self.renamed += c.renamed
                self.untagged += c.untagged
        if key is None:
            self.unknown += 1
            return False
        if fault_point:
            key += b"F"
        if self.shared is not None:
            if self.shared.visit(key, mine):
                self.hits += 1
                return True
            if REFINE and not fault_point and self.shared.before is not None:
                inst.scheduler.explored = (self.shared.before, imap)
            return False
        old = self.seen.get(key)
        if old is None:
            self.seen[key] = mine
            return False
        if old <= mine:
            self.hits += 1
            return True
        self.seen[key] = old & mine
        if REFINE and not fault_point:
            inst.scheduler.explored = (old, imap)
        return False

    def hook(self, inst: SimInstance, chooser: PrefixChooser) -> Callable[..., bool]:
        """What the scheduler calls before each pick of ``inst``, an execution of the DFS (and
        the fault state before each fault decision, with ``fault_point=True``)."""
        inst.log = []
        return functools.partial(self.visit, inst, chooser)
