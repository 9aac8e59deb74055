"""One generated Python function per location that runs the operators of a tick.

``LocationRuntime.run_node`` is generic: per operator and per tick it walks an input plan,
dispatches on how each input arrives, builds the fused pipeline stage by stage and looks up
its consumers. For a small batch that bookkeeping, not the user's functions, is most of the
tick. This module writes the same steps out once per program as straight-line source: for every
operator, its inbox keys, bound ``run`` and ``pipe`` methods and consumers become constants
of one function, and an operator whose stream inputs are all empty is skipped when its class
says running it on nothing does nothing (``Op.idle_noop``). A ``fold`` or ``for_each`` over a
fused chain becomes one ``for`` loop calling the user's functions directly (``_emit_loop``).
Same-tick cycles still run through ``run_node`` to their fixpoint.

Behaviour is that of ``run_node``: the same operators run in the same order on the same
inputs, and an exception from a user's function is blamed on the same operator. Drivers that
step a location operator by operator (the simulator) keep using ``run_node``.
"""

from __future__ import annotations

import functools
from types import CodeType
from typing import TYPE_CHECKING, Any, Callable

from ..ir.node import Node
from ..types.errors import HydroRuntimeError, UserFunctionError
from .ops import Op, PassThrough, SourceInbox
from .ops.aggregates import Fold
from .ops.elementwise import Filter, FilterMap, FlatMap, KeyedFilter, KeyedMap, KeyedMapWithKey, Map, Values
from .ops.sinks import ForEach

if TYPE_CHECKING:  # pragma: no cover
    from .tick import LocationRuntime

__all__ = ["StepsTemplate", "compile_steps", "compile_tick", "step_classes", "streams_egress"]


_CODE: dict[str, CodeType] = {}
_CODE_CACHE_SIZE = 256


def _concat(chunks: list[list[Any]]) -> list[Any]:
    out: list[Any] = []
    for c in chunks:
        out.extend(c)
    return out


def compile_tick(rt: LocationRuntime) -> Callable[[], None]:
    """The operator part of ``rt``'s tick (every component of its plan, in order) as one
    function. Deferred capture, durable writes and ``end_tick`` stay in ``LocationRuntime.tick``."""
    parts: list[list[Node] | Callable[[], None]] = []
    for cyclic, comp in rt.plan:
        parts.append(functools.partial(rt.run_cycle, comp) if cyclic else comp)
    fn = _compile(rt, parts)
    assert not isinstance(fn, StepsTemplate)
    return fn


class StepsTemplate:
    """``compile_steps`` once per program, bound to each runtime of the location (``bind``).

    The simulator makes a runtime per location per execution; writing and compiling the
    function each time would cost more than it saves. The template is the generated source
    wrapped in a generated factory, ``make(rt, parts, S)``, whose first lines read each
    per-runtime value from the runtime it binds (``ops[7].run``, ``plans[9][0][1]``, ``parts[2]``)
    and take the values shared by every runtime (inbox keys, network nodes) from ``S``. Valid
    for runtimes whose operators have the classes of the runtime it was made from
    (``classes``): what the source says depends on them."""

    __slots__ = ("classes", "make", "shared", "src")

    def __init__(
        self, classes: tuple[type, ...], make: Callable[..., Callable[[], None]], shared: tuple[Any, ...], src: str
    ) -> None:
        self.classes = classes
        self.make = make
        self.shared = shared
        self.src = src

    def bind(self, rt: LocationRuntime, parts: list[list[Node] | Callable[[], None]]) -> Callable[[], None]:
        fn = self.make(rt, parts, self.shared)
        fn.__doc__ = self.src
        return fn


def compile_steps(rt: LocationRuntime, parts: list[list[Node] | Callable[[], None]]) -> StepsTemplate | None:
    """A driver's own sequence of steps as one function, made into a template to bind to each
    runtime: each part is either operators run once, in order, as ``run_node`` would run them,
    or a callable (a same-tick cycle the driver runs to its fixpoint). The simulator runs a
    location's top level and each of its ticks in separate passes, between which it makes
    decisions; each pass is one such function. None if a step needs something a template cannot
    re-bind (an output streamed to the network): the driver keeps ``run_node`` then."""
    try:
        out = _compile(rt, parts, template=True)
    except _Unbindable:
        return None
    assert isinstance(out, StepsTemplate)
    return out


def step_classes(rt: LocationRuntime, parts: list[list[Node] | Callable[[], None]]) -> tuple[type, ...]:
    """What a ``StepsTemplate`` for ``parts`` depends on besides the layout: the operators' classes."""
    ops = rt.ops
    return tuple(type(ops[n.id]) for n in _straight(parts))


def _straight(parts: list[list[Node] | Callable[[], None]]) -> list[Node]:
    """The operators run once each, in order (the parts that are not cycles)."""
    out: list[Node] = []
    for part in parts:
        if not callable(part):
            out.extend(part)
    return out


class _Unbindable(Exception):
    """A value a ``StepsTemplate`` could not read from another runtime."""


Const = Callable[..., str]


def _reader(role: Any, shared: list[Any], value: Any) -> str:
    """The expression that reads, in a template's factory, what ``value`` is for the runtime
    being bound (``role`` says what it is there; None: the same in every runtime)."""
    if role is None:  # an inbox key, a network node, a user function
        shared.append(value)
        return f"S[{len(shared) - 1}]"
    if role == "unbindable":
        raise _Unbindable(value)
    kind = role[0]
    if kind == "op":
        return f"ops[{role[1]}]"
    if kind == "run":
        return f"ops[{role[1]}].run"
    if kind == "pipe":
        return f"ops[{role[1]}].pipe"
    if kind == "plan":
        return f"plans[{role[1]}][{role[2]}][1]"
    if kind == "part":
        return f"parts[{role[1]}]"
    raise AssertionError(role)  # pragma: no cover


def _compile(
    rt: LocationRuntime, parts: list[list[Node] | Callable[[], None]], template: bool = False
) -> Callable[[], None] | StepsTemplate:
    ns: dict[str, Any] = {
        "_concat": _concat,
        "_fail": _fail,
        "HydroRuntimeError": HydroRuntimeError,
        "list": list,
    }
    # per-runtime values: globals of the function, or read by the template's factory
    bound: dict[str, Any] = {"inbox": rt.inbox, "rt": rt}
    readers: list[str] = ["inbox = rt.inbox"]
    shared: list[Any] = []
    nodes: list[Node] = []
    pulls: list[list[tuple[str, list[Op]]]] = []
    lines: list[str] = []
    emit = lines.append
    consts: dict[tuple[str, Any], str] = {}

    def const(value: Any, prefix: str, role: Any = None) -> str:
        """A name for ``value`` in the generated source. ``role``: how a template reads it for
        another runtime (None: it is the same in all)."""
        key = (prefix, value) if prefix == "K" else (prefix, id(value))  # inbox keys are tuples
        name = consts.get(key)
        if name is None:
            name = f"{prefix}{len(consts)}"
            consts[key] = name
            bound[name] = value
            if template:
                readers.append(f"{name} = {_reader(role, shared, value)}")
        return name

    handoff = _handoffs(rt, _straight(parts))
    for var in handoff.values():
        emit(f"{var} = []")
    for j, part in enumerate(parts):
        if callable(part):
            emit("cur = -1")
            emit(f"{const(part, 'CYC', ('part', j))}()")
            continue
        for n in part:
            _emit_node(rt, n, len(nodes), emit, const, handoff)
            nodes.append(n)
            pulls.append([(f"s{len(nodes) - 1}_{i}", what[1]) for i, (how, what) in enumerate(rt.plans[n.id]) if how >= 3])
    ns["NODES"] = nodes
    ns["PULLS"] = pulls
    body = "\n".join("        " + line for line in lines) if lines else "        pass"
    fn_src = (
        "def tick_ops():\n"
        "    cur = -1\n"
        "    try:\n"
        f"{body}\n"
        "    except HydroRuntimeError:\n"
        "        raise\n"
        "    except Exception as e:\n"
        "        if cur < 0:\n"
        "            raise\n"
        "        _fail(rt, NODES[cur], PULLS[cur], locals(), e)\n"
        "        raise\n"
    )
    if template:
        head = "".join(f"    {line}\n" for line in ["ops = rt.ops", "plans = rt.plans", *readers])
        indented = "".join(f"    {line}\n" for line in fn_src.splitlines())
        src = f"def make(rt, parts, S):\n{head}{indented}    return tick_ops\n"
    else:
        src = fn_src
        ns.update(bound)
    code = _CODE.get(src)
    if code is None:
        # ``compile`` is most of the cost of this function; the same program (cluster members,
        # a flow run again) produces the same source, so it is compiled once.
        if len(_CODE) >= _CODE_CACHE_SIZE:
            _CODE.pop(next(iter(_CODE)))
        code = _CODE[src] = compile(src, "<hydrologic tick>", "exec")
    exec(code, ns)
    if template:
        return StepsTemplate(step_classes(rt, parts), ns["make"], tuple(shared), fn_src)
    fn: Callable[[], None] = ns["tick_ops"]
    fn.__doc__ = src  # for debugging: the generated source
    return fn


def _handoffs(rt: LocationRuntime, straight: list[Node]) -> dict[tuple[int, int], str]:
    """Edges whose data can go from producer to consumer through a local variable of the
    generated function instead of ``rt.inbox``: both run once, straight-line (not in a same-tick
    cycle), the producer first, and the consumer's plan is the only reader of the edge (not a
    deferred edge, which ``LocationRuntime.tick`` captures from the inbox at the end of the tick).
    Saves four dictionary operations and a list per edge per tick."""
    order = {n.id: i for i, n in enumerate(straight)}
    readers: dict[tuple[int, int], int] = {}
    for cid, plan in rt.plans.items():
        for how, what in plan:
            if how == 2:
                readers[what] = cid
            elif how >= 3:
                readers[what[0]] = cid
    out: dict[tuple[int, int], str] = {}
    for pid, keys in rt.consumers.items():
        if pid not in order:
            continue
        for key in keys:
            reader = readers.get(key)
            if reader is not None and reader in order and order[reader] > order[pid]:
                out[key] = f"h{len(out)}"
    return out


def _emit_node(
    rt: LocationRuntime,
    n: Node,
    index: int,
    emit: Callable[[str], None],
    const: Const,
    handoff: dict[tuple[int, int], str],
) -> None:
    op = rt.ops[n.id]
    plan = rt.plans[n.id]
    ind = "    "
    stream = streams_egress(rt, n)
    # The inbox keys this operator reads (its own, or the head of a fused chain's).
    stream_keys = [what if how == 2 else what[0] for how, what in plan if how >= 2]
    emit(f"# node {n.id}: {n.op}")
    if op.idle_noop and plan and len(stream_keys) == len(plan):
        cond = " or ".join(handoff.get(k) or f"inbox[{const(k, 'K')}]" for k in stream_keys)
        emit(f"if {cond}:")
    elif type(op) is SourceInbox and not plan:
        emit(f"if {const(op, 'OP', ('op', n.id))}.pending:")  # nothing delivered: ``run`` would return []
    else:
        emit("if True:")
    emit(f"{ind}cur = {index}")
    args: list[str] = []
    for i, (how, what) in enumerate(plan):
        if how == 0:
            args.append("None")
        elif how == 1:
            args.append(const(what, "P", ("plan", n.id, i)))
        else:
            key = what if how == 2 else what[0]
            var = f"a{i}" if how == 2 else f"s{index}_{i}"
            local = handoff.get(key)
            if local is not None:  # produced earlier in this function: no inbox in between
                emit(f"{ind}{var} = {local}")
            else:
                k = const(key, "K")
                emit(f"{ind}c = inbox[{k}]")
                emit(f"{ind}if c:")
                emit(f"{ind}    inbox[{k}] = []")
                emit(f"{ind}    {var} = c[0] if len(c) == 1 else _concat(c)")
                emit(f"{ind}else:")
                emit(f"{ind}    {var} = []")
            if how == 2:
                args.append(var)
                continue
            stages: list[Op] = what[1]
            if how == 3 and len(plan) == 1 and _emit_loop(op, stages, var, ind, emit, const):
                return
            expr = var
            for st in stages:
                expr = f"{const(st.pipe, 'PIPE', ('pipe', st.node.id))}({expr})"
            if stream:
                args.append(expr)
            elif how == 3:
                args.append(expr)
            else:
                emit(f"{ind}it{i} = {expr}")
                emit(f"{ind}a{i} = it{i} if it{i}.__class__ is list else list(it{i})")
                args.append(f"a{i}")
    if stream:
        # Chunks of the output leave while ``op`` makes the rest; what is left at the end
        # (all of it, for an output that fits one frame) takes the ordinary way below.
        nets = tuple(rt.egress_of[n.id])
        emit(f"{ind}out = {const(rt.egress_stream, 'STREAM', 'unbindable')}({const(nets, 'NETS')}, rt.member, {const(op.pipe, 'PIPE', ('pipe', n.id))}({args[0]}))")
    elif type(op) is SourceInbox and not plan:  # ``Inbox.run``, written out
        target = const(op, "OP", ("op", n.id))
        emit(f"{ind}out = {target}.pending")
        emit(f"{ind}{target}.pending = []")
    else:
        emit(f"{ind}out = {const(op.run, 'RUN', ('run', n.id))}([{', '.join(args)}])")
    consumers = rt.consumers[n.id]
    egress = rt.egress_of.get(n.id, ())
    if consumers or egress:
        emit(f"{ind}if out:")
        for key in consumers:
            local = handoff.get(key)
            emit(f"{ind}    {local} = out" if local is not None else f"{ind}    inbox[{const(key, 'K')}].append(out)")
        if egress:
            emit(f"{ind}    cur = -1")
            for net in egress:
                emit(f"{ind}    rt.egress({const(net, 'NET')}, rt.member, out)")


def streams_egress(rt: LocationRuntime, n: Node) -> bool:
    """Whether ``n``'s output goes to the network chunk by chunk as it is produced.

    Only for an element-wise operator (its ``pipe`` yields the elements ``run`` would return,
    in the same order, from the same calls) on one stream input whose output only leaves the
    location: nothing here reads it, so nothing needs the whole list. And only where the
    location has no durable state: a tick's messages there never wait for a durable write, so
    sending a message before the tick ends is what sending it at the end would have done, minus
    the wait. What a peer can observe that it could not before is a prefix of a tick's output
    from a tick whose user function then raised; a crash right after the tick would have
    shown it the whole output and lost the rest of the location's state anyway."""
    if rt.egress_stream is None or rt.durable_ops or rt.consumers[n.id] or n.id not in rt.egress_of:
        return False
    op = rt.ops[n.id]
    plan = rt.plans[n.id]
    return op.fusable and n.nondet is None and len(plan) == 1 and plan[0][0] >= 2


# One element's way through a fused stage, as lines of source over ``x`` (``{f}``: the stage's
# function). A line ending in ":" opens a block the rest of the chain runs in (``flat_map``).
# Each line does what the stage's ``pipe`` does to one element, in the same order of calls.
_STEPS: dict[type[Op], list[str]] = {
    Map: ["x = {f}(x)"],
    Filter: ["if not {f}(x):", "    continue"],
    FilterMap: ["x = {f}(x)", "if x is None:", "    continue"],
    FlatMap: ["for x in {f}(x):"],
    Values: ["x = x[1]"],
    KeyedMap: ["k, v = x", "x = (k, {f}(v))"],
    KeyedMapWithKey: ["x = (x[0], {f}(x))"],
    KeyedFilter: ["if not {f}(x[1]):", "    continue"],
    PassThrough: [],
}


def _emit_loop(
    op: Op, stages: list[Op], src: str, ind: str, emit: Callable[[str], None], const: Const
) -> bool:
    """A ``fold`` or ``for_each`` over a fused chain as one ``for`` loop that calls the user's
    functions directly, as a hand-written loop would (a C builtin such as ``functools.reduce``
    calling Python functions costs more per call). False if the chain has a stage without a
    template here; the caller then falls back to the ``pipe`` iterators."""
    if type(op) is Fold:
        body = f"acc = {const(op.node.params['f'], 'F')}(acc, x)"
    elif type(op) is ForEach:
        body = f"{const(op.node.params['f'], 'F')}(x)"
    else:
        return False
    if any(type(st) not in _STEPS for st in stages):
        return False
    target = const(op, "OP", ("op", op.node.id))
    if type(op) is Fold:
        emit(f"{ind}acc = {target}.value")
    emit(f"{ind}for x in {src}:")
    depth = ind + "    "
    for st in stages:
        f = const(st.node.params["f"], "F") if "{f}" in "".join(_STEPS[type(st)]) else ""
        for line in _STEPS[type(st)]:
            emit(depth + line.format(f=f))
            if line.endswith(":") and not line.startswith("if "):
                depth += "    "
    emit(depth + body)
    if type(op) is Fold:
        emit(f"{ind}{target}.value = acc")
    return True


def _fail(rt: LocationRuntime, n: Node, pulls: list[tuple[str, list[Op]]], frame: dict[str, Any], e: Exception) -> None:
    """Raise what ``run_node`` raises for an exception while running ``n``: a user function's
    error is blamed on the operator whose function raised (see ``tick.blame``)."""
    from .tick import blame

    # Only the pipelines whose input was taken before the error, as ``run_node`` records them.
    pulled = [(frame[var], stages) for var, stages in pulls if var in frame] or None
    culprit = n if pulled is None else blame(e, n, pulled)
    if rt.ops[culprit.id].user_fn:
        raise UserFunctionError(culprit.method, culprit.site, rt.name, e) from e
