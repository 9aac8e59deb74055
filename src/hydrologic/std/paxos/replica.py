"""The replica side of Multi-Paxos: the committed entries in slot order (``ordered_log``) and a
deterministic state machine applied to them (``replicated_state_machine``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, TypeVar

from ...lang.location import Tick, TopLevel
from ...lang.stream import Stream
from ...types.markers import ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ...types.nondet import nondet

T = TypeVar("T", bound=Hashable)
V = TypeVar("V")
S = TypeVar("S")
Res = TypeVar("Res")
LT = TypeVar("LT", bound=TopLevel)


@dataclass(eq=False)
class _Sequencer(Generic[V]):
    next_slot: int = 0
    held: dict[int, V] = field(default_factory=lambda: {})

    @staticmethod
    def start() -> tuple[_Sequencer[V], list[tuple[int, V]]]:
        return _Sequencer(), []


def _sequence_step(
    acc: tuple[_Sequencer[V], list[tuple[int, V]]], batch: list[tuple[int, V]]
) -> tuple[_Sequencer[V], list[tuple[int, V]]]:
    st = acc[0]
    for slot, value in batch:
        if slot >= st.next_slot and slot not in st.held:
            st.held[slot] = value
    out: list[tuple[int, V]] = []
    while st.next_slot in st.held:
        out.append((st.next_slot, st.held.pop(st.next_slot)))
        st.next_slot += 1
    return st, out


def ordered_log(
    committed: Stream[tuple[int, V], LT, Unbounded, NoOrder, ExactlyOnce], tick: Tick[LT]
) -> Stream[tuple[int, V], LT, Unbounded, TotalOrder, ExactlyOnce]:
    """The committed entries in slot order, each once, without gaps: an entry is held back until
    every lower slot has been released (so the output is the same on every run).

    ``tick`` is a tick of the entries' location, used only by this function. If a slot came
    twice with different values (a safety violation upstream), the first one seen is kept.
    """
    batches = (
        committed.batch(
            tick,
            nondet(
                "entries are held back until every lower slot is known, so batching changes when an "
                "entry is released, never the released sequence"
            ),
        )
        .sort(key=slot_of)
        .collect_list()
        .into_stream()
        .all_ticks()
    )
    return batches.scan(_Sequencer[V].start, _sequence_step).flat_map_ordered(second_items)


def slot_of(e: tuple[int, Any]) -> int:
    return e[0]


def replicated_state_machine(
    log: Stream[tuple[int, T | None], LT, Unbounded, TotalOrder, ExactlyOnce],
    init: Callable[[], S],
    apply: Callable[[S, T], tuple[S, Res]],
    *,
    dedupe: bool = True,
) -> Stream[tuple[int, T, Res], LT, Unbounded, TotalOrder, ExactlyOnce]:
    """Apply each command of an ordered log (``ordered_log``) with ``apply(state, command) ->
    (state, result)``; emits (slot, command, result). No-ops (``None``) are skipped; with
    ``dedupe`` (the default) a command committed in two slots (possible across a leader change)
    is applied only the first time. ``apply`` must be deterministic: every replica applies the
    same commands in the same order, so they compute the same states and results.
    """

    def start() -> tuple[S, set[T], tuple[int, T, Res] | None]:
        return (init(), set(), None)

    def step(
        acc: tuple[S, set[T], tuple[int, T, Res] | None], entry: tuple[int, T | None]
    ) -> tuple[S, set[T], tuple[int, T, Res] | None]:
        state, seen, _ = acc
        slot, command = entry
        if command is None or (dedupe and command in seen):
            return (state, seen, None)
        if dedupe:
            seen.add(command)  # the set is private to this scan (made by ``start``)
        state, result = apply(state, command)
        return (state, seen, (slot, command, result))

    return log.scan(start, step).filter_map(_applied)


def _applied(acc: tuple[Any, Any, tuple[int, Any, Any] | None]) -> tuple[int, Any, Any] | None:
    return acc[2]



def second_items(x: tuple[Any, list[Any]]) -> list[Any]:
    return x[1]


