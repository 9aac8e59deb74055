"""Executions that reuse one instance's objects instead of building new ones.

A search runs the same program thousands of times, each execution on a fresh ``SimInstance``:
a ``LocationRuntime`` and every operator per location, the hooks, the network, the first
settle. For small programs that construction was about 40% of an execution (58 of 143 µs for
the 3-location benchmark program). Every fresh instance is the same state, *S0*, reached by the
same deterministic code, so the searches build one instance, record S0, and before each later
execution put the same objects back into S0 in place (``Image.restore``) instead of building
new ones.

**What is recorded.** Everything mutable that is reachable from the instance and is not part of
the program: the instance and its child objects, every location's runtime and operators, their
lists, dicts, sets and deques, the objects in operator state (a fold's accumulator object, a
dataclass of a protocol's state), the cells of the closures the simulator and the runtime made
for this instance. A class may name attributes that are caches valid across executions
(``__sim_reuse_keep__``: a location's bound step functions): those are not put back. Each is restored *in place* (``xs[:] = pristine``, ``obj.__dict__`` cleared
and refilled), so a generated tick function that captured a list or a bound method at build
time still points at the right object. The program (the ``Plan``, its graph, nodes and their
parameters, which include the user's functions, the shared layouts) is wiring, never recorded:
building a fresh instance shares it too.

**When it is refused.** If S0 holds a value whose state is not all in ``__dict__``/``__slots__``
or a plain container (a generator, a ``random.Random``, a C object, a subclass of a container
with attributes), the search builds a fresh instance per execution as before; ``Image.refusal``
says why. If building the instance asked the chooser anything, S0 would depend on the chooser,
and reuse is refused too.

**When an instance is not reused.** Only after an execution that did not fail (``run_once``
marks it ``spent``): a failing execution's instance is kept for its trace. And not if something
recorded in S0 was handed to the scenario (an output whose value is an operator's own
accumulator object): the scenario may keep it past the execution, and restoring it in place
would change the value it kept. Such an instance is dropped and the next one is built fresh
(and recorded again); a search where that keeps happening stops reusing.
"""

from __future__ import annotations

import enum
import functools
import threading
import types
import weakref
from collections import Counter, OrderedDict, defaultdict, deque
from typing import Any, Callable, Iterable, cast

from ..lang.location import MemberId
from ..runtime.ops.base import _Absent  # pyright: ignore[reportPrivateUsage]
from ..runtime.tick import layouts_of
from ._choices import Chooser
from ._instance import SimInstance
from ._plan import Plan

__all__ = ["Image", "Recycler", "capture"]

# Values that are never changed in place: kept by reference, nothing to restore.
_ATOMS: frozenset[type] = frozenset(
    {int, str, float, bool, bytes, complex, type(None), _Absent, range, type, types.ModuleType, type(Ellipsis)}
)
_CALLS: frozenset[type] = frozenset({types.BuiltinFunctionType, types.BuiltinMethodType})
_LOCKS: frozenset[type] = frozenset({type(threading.Lock()), type(threading.RLock())})  # unlocked between executions
_DICTS: frozenset[type] = frozenset({dict, defaultdict, OrderedDict, Counter})
_PTR = 8  # bytes per slot in an object's fixed part (64-bit builds; a mismatch only refuses)
# A switch for debugging and for comparing against fresh instances (as ``runtime.tick.COMPILE``).
REUSE = True
# After this many instances dropped because the scenario was handed part of S0, stop reusing.
MAX_ESCAPES = 8


class _Refused(Exception):
    pass


def _type(v: object) -> type[Any]:
    return type(v)


def _slot_names(t: type) -> list[str]:
    names: list[str] = []
    for c in t.__mro__:
        s = vars(c).get("__slots__", ())
        for n in (s,) if isinstance(s, str) else s:
            if n not in ("__dict__", "__weakref__") and n not in names:
                names.append(n)
    return names


def _plain_layout(t: type, slots: list[str]) -> bool:
    """Is the whole state of a ``t`` in its ``__dict__`` and ``slots``? (Not so for a subclass
    of a C type with state of its own, such as ``random.Random``: its fixed part is larger.)"""
    weak = _PTR if t.__weakrefoffset__ > 0 else 0
    dict_in_fixed = _PTR if t.__dictoffset__ > 0 else 0
    return t.__basicsize__ == object.__basicsize__ + _PTR * len(slots) + weak + dict_in_fixed


_VALUE_KINDS: dict[type, bool] = {}


def _is_value(t: type) -> bool:
    """Instances of ``t`` are never changed after they are made: a named tuple, a frozen
    dataclass, a ``MemberId``. Their contents are entered (they may hold a list), but the
    object itself is not recorded, nor counts as handed out when the scenario gets one."""
    k = _VALUE_KINDS.get(t)
    if k is None:
        params = getattr(t, "__dataclass_params__", None)
        k = _VALUE_KINDS[t] = issubclass(t, (tuple, MemberId)) or bool(params is not None and params.frozen)
    return k


def _contents(v: Any) -> list[Any]:
    """What a value object holds (``_is_value``)."""
    if isinstance(v, tuple):
        return list(v)  # pyright: ignore[reportUnknownArgumentType]
    d = getattr(v, "__dict__", None)
    out = [] if d is None else list(d.values())
    out.extend(getattr(v, n) for n in _slot_names(_type(v)) if hasattr(v, n))
    return out


def _children(v: Any, t: type[Any]) -> Iterable[Any]:
    """What a walk enters from ``v`` (of type ``t``): a container's items, an object's attributes
    and slots; nothing of a function, method or enum member (a closure is its owner's)."""
    if t in _DICTS:
        return [*v.keys(), *v.values()]
    if t in (list, tuple, set, frozenset, deque):
        return cast("Iterable[Any]", v)
    if isinstance(v, (types.FunctionType, types.MethodType, enum.Enum)) or t in _CALLS:
        return ()
    return _contents(v)


def _wiring(plan: Plan, keep: list[Any]) -> set[int]:
    """The ids of every object of the program (reachable from ``plan`` and the layouts its
    runtimes share). Functions are not entered: the user's closures are theirs. Every object
    met is appended to ``keep``, which the caller holds for as long as it uses the ids: an id
    of an object that was freed may be handed to a new object (one of an instance's lists)."""
    seen: set[int] = set()
    stack: list[Any] = [plan, layouts_of(plan.graph)]
    while stack:
        v = stack.pop()
        t = _type(v)
        if t in _ATOMS or id(v) in seen:
            continue
        seen.add(id(v))
        keep.append(v)
        stack.extend(_children(v, t))
    return seen


class Image:
    """S0 of one instance's objects, and how to put them back (in place)."""

    def __init__(self) -> None:
        self.lists: list[tuple[list[Any], list[Any]]] = []
        self.empty_lists: list[list[Any]] = []
        self.dicts: list[tuple[dict[Any, Any], dict[Any, Any]]] = []  # containers and objects' __dict__
        self.empty_dicts: list[dict[Any, Any]] = []
        self.sets: list[tuple[set[Any], set[Any]]] = []
        self.deques: list[tuple[deque[Any], list[Any]]] = []
        self.bytearrays: list[tuple[bytearray, bytes]] = []
        self.slotted: list[tuple[object, list[tuple[str, Any]]]] = []
        self.cells: list[tuple[types.CellType, Any]] = []
        self.owned: set[int] = set()
        self.refusal: str | None = None
        self.keep: list[Any] = []  # every recorded object stays alive, so that no id is reused

    def restore(self) -> None:
        for xs in self.empty_lists:  # most lists start empty (inboxes, buffers)
            if xs:
                xs.clear()
        for xs, items in self.lists:
            xs[:] = items
        for d in self.empty_dicts:  # a third of the containers (per-edge inboxes, unused maps)
            if d:
                d.clear()
        for d, entries in self.dicts:
            # (``update`` first and ``clear`` only if a key was added measured 10-15% slower)
            d.clear()
            d.update(entries)
        for s, members in self.sets:
            s.clear()
            s.update(members)
        for q, queued in self.deques:
            q.clear()
            q.extend(queued)
        for b, data in self.bytearrays:
            b[:] = data
        for o, attrs in self.slotted:
            for n, v in attrs:
                if v is _UNSET:
                    if hasattr(o, n):
                        delattr(o, n)
                else:
                    object.__setattr__(o, n, v)
        for c, v in self.cells:
            c.cell_contents = v

    def holds(self, x: Any) -> bool:
        """Does ``x`` (a value handed to the scenario) contain an object recorded here?"""
        stack = [x]
        seen: set[int] = set()
        owned = self.owned
        while stack:
            v = stack.pop()
            t = _type(v)
            if t in _ATOMS:
                continue
            i = id(v)
            if i in owned:
                return True
            if i in seen:
                continue
            seen.add(i)
            stack.extend(_children(v, t))
        return False


class _Unset:
    pass


_UNSET: Any = _Unset()


def capture(inst: SimInstance, wiring: set[int], skip: tuple[Any, ...] = ()) -> Image:
    """Record S0 of ``inst``'s objects (``Image.refusal`` set if they cannot be restored). The
    image is ``inst.image`` from now on (recorded as such: a restored instance keeps it)."""
    img = inst.image = Image()
    try:
        record(inst, wiring, (*skip, img), img, owned=True)
    except _Refused as e:
        t = e.args[0]
        img.refusal = (
            f"{_path_to(inst, wiring, t)} holds a {t.__module__}.{t.__qualname__}, whose state is not all in its attributes"
        )
    return img


# How ``record`` treats each type, worked out once per type (``_kind``).
_ATOM, _ENTER, _VALUE, _OWNER, _FUNC, _LIST, _DICT, _SET, _DEQUE, _BYTES, _PARTIAL, _OBJ, _BAD, _VTUPLE = range(14)
_Kind = tuple[int, tuple[str, ...], frozenset[str], bool]
_KINDS: dict[type, _Kind] = {}
_NO_SLOTS: tuple[str, ...] = ()


def _kind(t: type[Any]) -> _Kind:
    k = _KINDS.get(t)
    if k is not None:
        return k
    c = _OBJ
    slots: tuple[str, ...] = _NO_SLOTS
    keep: frozenset[str] = frozenset()
    has_dict = False
    if t in _ATOMS or t in _LOCKS or issubclass(t, (enum.Enum, weakref.ReferenceType)):
        c = _ATOM  # never changed in place (or, a lock, unlocked between executions)
    elif t is tuple or t is frozenset:
        c = _ENTER  # values: not recorded (a temporary's id may be reused), entered
    elif _is_value(t) and issubclass(t, tuple):
        c = _VTUPLE  # a named tuple: its items
    elif _is_value(t):
        c = _VALUE  # a frozen dataclass, a MemberId: its attributes and slots (as ``_contents``)
        slots = tuple(_slot_names(t))
        has_dict = t.__dictoffset__ != 0
    elif t in _CALLS or t is types.MethodType:
        c = _OWNER  # a bound method is its object's
    elif t is types.FunctionType:
        c = _FUNC
    elif t is list:
        c = _LIST
    elif t in _DICTS:
        c = _DICT
    elif t is set:
        c = _SET
    elif t is deque:
        c = _DEQUE
    elif t is bytearray:
        c = _BYTES
    elif t is functools.partial:
        c = _PARTIAL
    else:
        names = _slot_names(t)
        slots = tuple(names)
        keep = frozenset(getattr(t, "__sim_reuse_keep__", ()))
        has_dict = t.__dictoffset__ != 0
        if not _plain_layout(t, names) or issubclass(t, (list, dict, set, deque, bytearray)):
            c = _BAD
    k = _KINDS[t] = (c, slots, keep, has_dict)
    return k


def record(root: Any, wiring: set[int], skip: tuple[Any, ...], img: Image, *, owned: bool = False) -> None:
    """Record into ``img`` every mutable object reachable from ``root`` that is not wiring nor
    one of ``skip``, with its contents now; ``_Refused(type)`` at an object that could not be put
    back. ``owned``: also note the ids of the recorded containers and objects (``Image.holds``).
    One loop over a stack of objects with a kind per type, because a search also records
    mid-execution states with it (``_rewind``), hundreds of objects each time."""
    seen = set(wiring)
    seen.update(id(x) for x in skip)
    stack: list[Any] = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    lists, empty_lists, dicts, empty_dicts = img.lists, img.empty_lists, img.dicts, img.empty_dicts
    keep_alive, mine = img.keep, img.owned
    kinds = _KINDS
    while stack:
        v = pop()
        t = _type(v)
        k = kinds.get(t) or _kind(t)
        c = k[0]
        if c == _ATOM:
            continue
        if c == _ENTER:
            extend(v)
            continue
        if c == _VALUE:
            if k[3]:
                extend(v.__dict__.values())
            for n in k[1]:
                push(getattr(v, n, None))  # an unset slot holds nothing
            continue
        if c == _VTUPLE:
            extend(v)
            continue
        i = id(v)
        if i in seen:
            continue
        seen.add(i)
        keep_alive.append(v)
        if c == _OWNER:
            push(v.__self__)
            continue
        if c == _FUNC:
            for cell in v.__closure__ or ():
                try:
                    cv = cell.cell_contents
                except ValueError:  # an empty cell: nothing to restore
                    continue
                img.cells.append((cell, cv))
                push(cv)
            continue
        if owned:
            mine.add(i)
        if c == _LIST:
            if v:
                lists.append((v, v[:]))
                extend(v)
            else:
                empty_lists.append(v)
        elif c == _OBJ:
            if k[3]:
                d = v.__dict__
                dicts.append((d, d.copy()))
                keep = k[2]
                if keep:
                    for name, x in d.items():
                        if name in keep:  # a cache the class says survives: the same object, not put back
                            seen.add(id(x))
                            keep_alive.append(x)
                        else:
                            push(x)
                else:
                    extend(d.values())
            if k[1]:
                attrs = [(n, getattr(v, n, _UNSET)) for n in k[1]]
                img.slotted.append((v, attrs))
                extend(x for _, x in attrs if x is not _UNSET)
        elif c == _DICT:
            if v:
                dicts.append((v, v.copy()))
                extend(v.keys())
                extend(v.values())
            else:
                empty_dicts.append(v)
        elif c == _SET:
            img.sets.append((v, set(v)))
            extend(v)
        elif c == _DEQUE:
            img.deques.append((v, list(v)))
            extend(v)
        elif c == _BYTES:
            img.bytearrays.append((v, bytes(v)))
        elif c == _PARTIAL:
            push(v.func)
            extend(v.args)
            extend(v.keywords.values())
        else:
            raise _Refused(t)


def _path_to(root: Any, wiring: set[int], bad: type) -> str:
    """Where under ``root`` an object of type ``bad`` is, as attribute names (for the refusal
    message only: ``record`` keeps no paths, it is on a search's hot path)."""
    seen = set(wiring)
    queue: deque[tuple[Any, str]] = deque([(root, "the instance")])
    while queue:
        v, where = queue.popleft()
        t = _type(v)
        if t is bad:
            return where
        if t in _ATOMS or id(v) in seen:
            continue
        seen.add(id(v))
        if t is types.FunctionType:
            kids = [c.cell_contents for c in v.__closure__ or () if _filled(c)]
            queue.extend((x, f"{where} (a value a function closes over)") for x in kids)
        elif t in _CALLS or t is types.MethodType:
            queue.append((v.__self__, where))
        elif t not in _DICTS and t not in (list, tuple, set, frozenset, deque) and hasattr(v, "__dict__"):
            attrs = cast("dict[str, Any]", vars(v))
            for n, x in attrs.items():
                queue.append((x, f"{t.__name__}.{n}" if where == "the instance" else f"{where}.{n}"))
        else:
            queue.extend((x, where) for x in _children(v, t))
    return "the instance"


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


class Recycler:
    """A search's ``make``: the first call builds an instance and records its S0; each later call
    puts that instance back into S0 with the new chooser, once the execution before is over
    (``SimInstance.spent``). Anything it cannot reuse it builds, as ``make`` would."""

    def __init__(self, make: Callable[[Plan, Chooser], SimInstance] = SimInstance) -> None:
        self.make = make
        self.image: Image | None = None
        self.inst: SimInstance | None = None
        self.wiring: set[int] | None = None
        self._wiring_objects: list[Any] = []  # alive while their ids are in ``wiring``
        self.escapes = 0
        self.off = False
        self.reused = 0
        self.refusal: str | None = None  # why S0 could not be recorded, if it could not

    def __call__(self, plan: Plan, chooser: Chooser) -> SimInstance:
        if not REUSE:
            return self.make(plan, chooser)
        inst, img = self.inst, self.image
        if inst is not None and img is not None and inst.spent and not inst.escaped and inst.plan is plan:
            img.restore()
            inst.decider.chooser = chooser
            self.reused += 1
            return inst
        if inst is not None and inst.escaped:
            self.escapes += 1
            self.off = self.escapes >= MAX_ESCAPES
        self.inst = self.image = None
        fresh = self.make(plan, chooser)
        if self.off or type(fresh) is not SimInstance or chooser.values:
            return fresh  # a variant instance, or one whose start made decisions: not recorded
        if self.wiring is None:
            self.wiring = _wiring(plan, self._wiring_objects)
        img = capture(fresh, self.wiring, skip=(chooser,))
        if img.refusal is not None:
            self.off = True
            self.refusal = img.refusal
            fresh.image = None
            return fresh
        self.inst, self.image = fresh, img
        return fresh
