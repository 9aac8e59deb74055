"""The catalogue of stable error codes.

Codes never change meaning once published: tools and agents match on them. Each entry says what
the rule protects and how to fix a violation; ``BuildError`` messages and (later) ``hydrologic
explain`` are both rendered from this table so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ErrorCode", "CODES"]


@dataclass(frozen=True)
class ErrorCode:
    code: str
    title: str
    protects: str
    fix: str


def _c(code: str, title: str, protects: str, fix: str) -> tuple[str, ErrorCode]:
    return code, ErrorCode(code, title, protects, fix)


CODES: dict[str, ErrorCode] = dict(
    [
        _c(
            "HL101",
            "operator needs a totally ordered input",
            "Order-sensitive operators (first, last, enumerate, scan, collect_list, for_each, "
            "merge_ordered, round_robin) would produce different results on different runs if the "
            "input order depends on network interleaving or hashing.",
            "Make the result order-insensitive (use fold/reduce with commutative=proof(...), max/min, "
            "or sort() inside a tick), or, if order truly does not matter here, say so with "
            ".assume_ordering(nondet(\"why\")).",
        ),
        _c(
            "HL102",
            "operator needs an exactly-once input",
            "Duplicate-sensitive operators (count, enumerate, scan, collect_list, for_each, "
            "round_robin) would over-count or repeat side effects when upstream retries deliver an "
            "element twice.",
            "Deduplicate first with .unique(), use an idempotent aggregation (fold with "
            "idempotent=proof(...), max/min), or declare .assume_retries(nondet(\"why\")).",
        ),
        _c(
            "HL103",
            "fold/reduce over an unordered input needs commutative=proof(...)",
            "A fold over NoOrder data is deterministic only if its function is commutative; the "
            "builder will not assume it silently.",
            "Pass commutative=proof(\"why f(f(s,a),b) == f(f(s,b),a)\") if that holds, or restore "
            "order before folding (sort() inside a tick).",
        ),
        _c(
            "HL104",
            "fold/reduce over an at-least-once input needs idempotent=proof(...)",
            "A fold over data that may contain duplicates is deterministic only if applying an "
            "element twice equals applying it once.",
            "Pass idempotent=proof(\"why f(f(s,a),a) == f(s,a)\") if that holds, or deduplicate "
            "with .unique() first.",
        ),
        _c(
            "HL105",
            "operator needs a bounded input",
            "Operators that must see the whole input before answering (sort, chain's first side, "
            "anti_join/filter_not_in's right side, cross_singleton's right side, into_stream) "
            "would otherwise wait forever or answer from a partial view.",
            "Move the computation into a tick: .batch(tick, nondet(\"why\")) for streams or "
            ".snapshot(tick, nondet(\"why\")) for singletons, and compute on the bounded slice.",
        ),
        _c(
            "HL106",
            "inputs have different boundedness",
            "join and cross_product pair elements of two collections; mixing a per-tick batch with "
            "an ever-growing collection has no well-defined meaning.",
            "Bring both sides to the same level: batch the unbounded side into the same tick, or "
            "leave the tick with .all_ticks() on the bounded side.",
        ),
        _c(
            "HL107",
            "operator is only valid at the top level of a location",
            "Sources, network operators and merge_unordered describe asynchronous arrival, which "
            "has no meaning inside a tick.",
            "Call the operator on a collection at the process/cluster (leave the tick with "
            ".all_ticks() or .latest() first).",
        ),
        _c(
            "HL108",
            "operator needs a tick-level input",
            "all_ticks, latest and defer_tick turn per-tick data back into live data; they only "
            "make sense on a collection inside a tick.",
            "Call .batch(tick, nondet(...)) or .snapshot(tick, nondet(...)) first, or drop the call.",
        ),
        _c(
            "HL109",
            "operator needs a collection inside an atomic section",
            "end_atomic and snapshot_atomic give read-after-write consistency only for data that "
            "entered the section with .atomic(tick); elsewhere the promise would be silently false.",
            "Enter the section with stream.atomic(tick) (derive the state from it), or use the "
            "plain .snapshot(tick, nondet(...)) without the atomic guarantee.",
        ),
        _c(
            "HL110",
            "external output contract violated",
            "A client outside the program relies on the declared contract of an output port "
            "(ordered, no duplicates); a stream that lacks the guarantee would break the client "
            "only in rare runs.",
            "Restore the guarantee on the path the error names (sort inside a tick, unique(), or "
            "avoid the operator that weakens it), or relax the declared contract.",
        ),
        # --- monotonicity
        _c(
            "HL111",
            "threshold read needs a monotone value",
            "threshold_greater_or_equal answers \"has the value reached t?\" without a nondet "
            "token. That is only deterministic when the value never shrinks: then the answer flips "
            "from false to true once, whenever the location looks. On a value that can go down, "
            "the answer would depend on when it was read.",
            "Read a Monotonic value: count()/value_counts() at the top level, or fold(..., "
            "monotone=proof(\"why it only grows\")); keep it monotone through map with "
            "order_preserving=proof(...). Otherwise compare inside a tick on a snapshot "
            "(.snapshot(tick, nondet(\"why\"))), which is a nondet site.",
        ),
        _c(
            "HL112",
            "collection needs to be eventually consistent across its cluster",
            "Code that treats a cluster's collection as one replicated value (reading it from any "
            "member, comparing members) is only right if every member ends up with the same value. "
            "That holds for data every member of a fixed membership receives (broadcast_closed over "
            "a fail-stop channel, constants) and what deterministic operators derive from it, not "
            "for per-member inputs, broadcast to the members of the moment, nondet sites, lossy "
            "channels or weaken_consistency(). The types say which: Cluster[Tag, "
            "EventualConsistency] or Cluster[Tag, NoConsistency], so mypy and pyright report it too "
            "(constants are typed NoConsistency; only the builder counts them as consistent).",
            "Deliver the data to every member with broadcast_closed, keep per-member inputs and nondet "
            "sites (batch, snapshot, ...) out of it, or, if the members converge for a reason the builder "
            "cannot see, claim it with .assert_has_consistency_of(EventualConsistency, nondet(\"why\")) "
            "(the simulator checks the claim once each execution settles).",
        ),
        _c(
            "HL201",
            "collections live at different locations",
            "Data can only cross locations through network operators, where the change of "
            "guarantees (ordering per sender, retries) is made explicit.",
            "Send one side to the other's location first (.send(p), .demux(c), .broadcast(c, "
            "nondet(...))), then combine.",
        ),
        _c(
            "HL202",
            "tick belongs to another location",
            "A tick is a logical clock of one location; batching data of another location into it "
            "would hide a network hop.",
            "Use a tick created by the same location: loc.tick().",
        ),
        _c(
            "HL203",
            "operator needs a cluster",
            "Member identity (self_id), demux, broadcast and round_robin only make sense for a "
            "cluster of members.",
            "Create the location with flow.cluster(Tag) or send to a Process with .send(p).",
        ),
        _c(
            "HL204",
            "wrong kind of location",
            "An External is a client outside the program; only network/external operators can "
            "face it.",
            "Use source_external/send_external for External locations.",
        ),
        _c(
            "HL301",
            "a nondet(...) token is required",
            "Every place where behaviour may diverge must be marked so tooling can list it and the "
            "simulator can explore it.",
            "Pass nondet(\"why this is acceptable\") as the argument.",
        ),
        _c(
            "HL302",
            "nondet/proof reason is empty",
            "The reason is the unit of code review and appears in simulator traces; an empty one "
            "explains nothing.",
            "Write a sentence saying why the divergence is acceptable (or why the property holds).",
        ),
        _c(
            "HL303",
            "program declared no nondeterminism but has nondet sites",
            "flow.require(no_nondet=True) promises a single observable behaviour for given inputs.",
            "Remove the listed nondet sites, or drop the requirement and document the sites.",
        ),
        _c(
            "HL304",
            "a proof(...) token is required",
            "Commutativity/idempotence claims are recorded in the graph; only proof(reason) makes one.",
            "Pass commutative=proof(\"why\") / idempotent=proof(\"why\").",
        ),
        _c(
            "HL401",
            "forward reference or cycle never completed",
            "A cycle or forward_ref that is never completed leaves an operator with no input; the "
            "program would silently produce nothing.",
            "Call handle.complete(...) / handle.complete_next_tick(...) before building.",
        ),
        _c(
            "HL402",
            "cycle through a blocking operator within one tick",
            "A blocking operator (fold, count, sort, anti_join's negative side, ...) must see its "
            "whole input; inside a same-tick cycle its input depends on its own output.",
            "Break the cycle across ticks with tick.cycle()/complete_next_tick or .defer_tick().",
        ),
        _c(
            "HL403",
            "forward reference completed twice or with the wrong collection",
            "Each cycle has exactly one definition at the location and kind it was declared with.",
            "Complete each handle once, with a collection of the declared kind at the declared location.",
        ),
        _c(
            "HL501",
            "wrong argument",
            "Operators validate their arguments while building so that mistakes surface at your "
            "line, not deep inside the runtime.",
            "Pass what the message names as expected: a value of the type it names (each operator's "
            "docstring and docs/reference.md list them), an existing program file and function, "
            "or a port or member this program defines.",
        ),
        _c(
            "HL502",
            "flow already built",
            "The graph is frozen once built or deployed; later additions would silently not run.",
            "Finish building before calling build()/sim()/deploy(), or use a new FlowBuilder.",
        ),
        _c(
            "HL503",
            "durable state is named twice or placed where it cannot persist",
            "A durable accumulator (scan/fold with durable=\"name\") is recovered by its name from "
            "its location's store after a crash; two accumulators with one name would recover each "
            "other's state, and a tick's state starts afresh every tick, so there is nothing to keep.",
            "Give each durable accumulator of a location its own non-empty name, and declare it on a "
            "top-level collection of a process or cluster (not inside a tick).",
        ),
        _c(
            "HL601",
            "a user function raised at run time",
            "User functions run inside operators; the error names the operator and the line where "
            "it was built so the failing code is found at once.",
            "Fix the function (see the chained exception for the original error).",
        ),
        _c(
            "HL611",
            "a value typed Monotonic went down",
            "A threshold read needs no nondet only because its input never shrinks; a "
            "fold(..., monotone=proof(...)) whose function can make the accumulator smaller would "
            "make the answer depend on when the location looked. The threshold operator checks "
            "every value it reads against the last one.",
            "Make the fold's function never shrink the accumulator (e.g. add only non-negative "
            "amounts, keep a max), or drop the monotone claim and compare a snapshot inside a tick.",
        ),
        _c(
            "HL612",
            "a claim of EventualConsistency is false",
            "assert_has_consistency_of(EventualConsistency, nondet(...)) lets code that needs every "
            "member of a cluster to converge accept a collection the builder cannot prove converges. "
            "The simulator checks the claim when an execution settles: the members' values must be "
            "equal.",
            "Make the members converge (send them the same data, keep per-member inputs out of the "
            "value), or drop the claim and the code that needs it.",
        ),
        _c(
            "HL610",
            "a commutative=/idempotent= proof claim is false",
            "A proof(...) claim lets a fold or reduce accept an unordered (commutative) or "
            "at-least-once (idempotent) input. The simulator tests each claim with Hypothesis on "
            "permutations and duplications of the elements your scenario feeds it, because a false "
            "claim makes the result depend on message order or retries in a deployment.",
            "Make the function give the same result in any order (commutative) or when an element "
            "repeats (idempotent), or remove the claim and give the input the order or exactly-once "
            "delivery it needs.",
        ),
    ]
)
