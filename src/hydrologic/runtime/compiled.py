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

__all__ = ["compile_tick", "streams_egress"]


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
    ns: dict[str, Any] = {
        "inbox": rt.inbox,
        "rt": rt,
        "_concat": _concat,
        "_fail": _fail,
        "HydroRuntimeError": HydroRuntimeError,
        "list": list,
    }
    nodes: list[Node] = []
    pulls: list[list[tuple[str, list[Op]]]] = []
    lines: list[str] = []
    emit = lines.append
    consts: dict[tuple[str, Any], str] = {}

    def const(value: Any, prefix: str) -> str:
        key = (prefix, value) if prefix == "K" else (prefix, id(value))  # inbox keys are tuples
        name = consts.get(key)
        if name is None:
            name = f"{prefix}{len(consts)}"
            consts[key] = name
            ns[name] = value
        return name

    handoff = _handoffs(rt)
    for var in handoff.values():
        emit(f"{var} = []")
    for cyclic, comp in rt.plan:
        if cyclic:
            emit("cur = -1")
            emit(f"{const(rt.run_cycle, 'CYC')}({const(comp, 'COMP')})")
            continue
        for n in comp:
            _emit_node(rt, n, len(nodes), emit, const, handoff)
            nodes.append(n)
            pulls.append([(f"s{len(nodes) - 1}_{i}", what[1]) for i, (how, what) in enumerate(rt.plans[n.id]) if how >= 3])
    ns["NODES"] = nodes
    ns["PULLS"] = pulls
    body = "\n".join("        " + line for line in lines) if lines else "        pass"
    src = (
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
    code = _CODE.get(src)
    if code is None:
        # ``compile`` is most of the cost of this function; the same program (cluster members,
        # a flow run again) produces the same source, so it is compiled once.
        if len(_CODE) >= _CODE_CACHE_SIZE:
            _CODE.pop(next(iter(_CODE)))
        code = _CODE[src] = compile(src, "<hydrologic tick>", "exec")
    exec(code, ns)
    fn: Callable[[], None] = ns["tick_ops"]
    fn.__doc__ = src  # for debugging: the generated source
    return fn


def _handoffs(rt: LocationRuntime) -> dict[tuple[int, int], str]:
    """Edges whose data can go from producer to consumer through a local variable of the
    generated function instead of ``rt.inbox``: both run once, straight-line (not in a same-tick
    cycle), the producer first, and the consumer's plan is the only reader of the edge (not a
    deferred edge, which ``LocationRuntime.tick`` captures from the inbox at the end of the tick).
    Saves four dictionary operations and a list per edge per tick."""
    order: dict[int, int] = {}
    for cyclic, comp in rt.plan:
        if not cyclic:
            for n in comp:
                order[n.id] = len(order)
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
    const: Callable[[Any, str], str],
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
        emit(f"if {const(op, 'OP')}.pending:")  # nothing delivered: ``run`` would return []
    else:
        emit("if True:")
    emit(f"{ind}cur = {index}")
    args: list[str] = []
    for i, (how, what) in enumerate(plan):
        if how == 0:
            args.append("None")
        elif how == 1:
            args.append(const(what, "P"))
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
                expr = f"{const(st.pipe, 'PIPE')}({expr})"
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
        emit(f"{ind}out = {const(rt.egress_stream, 'STREAM')}({const(nets, 'NETS')}, rt.member, {const(op.pipe, 'PIPE')}({args[0]}))")
    elif type(op) is SourceInbox and not plan:  # ``Inbox.run``, written out
        target = const(op, "OP")
        emit(f"{ind}out = {target}.pending")
        emit(f"{ind}{target}.pending = []")
    else:
        emit(f"{ind}out = {const(op.run, 'RUN')}([{', '.join(args)}])")
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
    op: Op, stages: list[Op], src: str, ind: str, emit: Callable[[str], None], const: Callable[[Any, str], str]
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
    target = const(op, "OP")
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
