"""Guard types: what mypy and pyright name when a call breaks a rule no real overload can name.

The rules: ``fold``/``reduce`` without the proof their input needs (HL103/HL104), a
``send_external`` contract the stream lacks (HL110) or sent to a process (HL204), and a proof
written as a string (HL304). ``tests/test_check_golden.py`` checks that each checker's own first
line names the guard; ``hydrologic check`` maps each guard to its rule.

``fold``/``reduce`` have one overload per input guarantee (TotalOrder/NoOrder x
ExactlyOnce/AtLeastOnce). Because the guarantee markers are covariant, a NoOrder stream binds both
NoOrder overloads, and a call without ``commutative=`` used to fail with only "No overload
variant matches". Each guard is one more overload, last in the list, that binds exactly the input
lacking one guarantee, accepts the call's arity *without* the proof keyword, and expects an
``init`` (or ``f`` for reduce) returning one of these classes. Both checkers then report that one
overload's mismatch at the call, and the expected type they print names the rule and the missing
proof. The classes are never instantiated.

Writing a guard (keep them in step when a real overload gains a keyword, e.g. ``durable=``): copy
the real overload for the input that lacks exactly one guarantee (``NoOrder, ExactlyOnce`` for
HL103; ``TotalOrder, AtLeastOnce`` for HL104), delete the proof keyword it lacks (so a call that
passes it never lands on the guard), make the other proof optional, and replace ``init``'s return
type (``f``'s for ``reduce``) by the guard class. An input lacking both guarantees binds only the
real ``NoOrder, AtLeastOnce`` overload, whose missing keywords the checkers name directly.

``send_external``'s contract (HL110) has no callable to mismatch: the user writes
``ordered=True`` or ``delivery="exactly_once"``, and without a guard mypy could only say "No
overload variant of send_external matches" (mypy drops a literal argument's value when it looks
for the overload the user meant, so no real overload qualifies). Its guards type the offending
keyword as ``Refused[<guard class>]``, a protocol that ``bool`` and ``str`` satisfy when the type
argument is erased (mypy's "which overload was meant" test erases type arguments, so it picks the
guard) but never satisfy for a guard class (so no call matches it). Both checkers then name the
keyword and print the guard class as the type it needed, e.g. mypy: ``Argument "ordered" to
"send_external" of "Stream" has incompatible type "bool"; expected
"Refused[HL110_NoOrder_stream_cannot_feed_an_ordered_port]"``. ``send_external(process, ...)`` types
``external`` as ``NotAClient[HL204_...]`` the same way (HL204). A ``delivery=`` that is a plain ``str``
variable (not a ``Literal``) also lands on the delivery guard, even for an ExactlyOnce stream:
annotate it ``Literal["exactly_once", "at_most_once"]``. ``fold``/``reduce`` use the same
protocol for a proof written as a plain string (``commutative="why"``, HL304): two guards per
method, one for each keyword, typed ``Refused[HL304_needs_a_proof_token_not_a_str]``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, final

__all__ = [
    "HL103_NoOrder_input_needs_commutative_proof",
    "HL104_AtLeastOnce_input_needs_idempotent_proof",
    "HL110_AtLeastOnce_stream_cannot_feed_a_no_duplicates_port",
    "HL110_NoOrder_stream_cannot_feed_an_ordered_port",
    "HL204_send_external_needs_flow_external_use_send_for_a_process",
    "HL304_needs_a_proof_token_not_a_str",
    "NotAClient",
    "Refused",
]

_Why = TypeVar("_Why", covariant=True)


class Refused(Protocol[_Why]):
    """A keyword value refused for this stream, ``_Why`` naming the rule (a guard class below).

    ``__mul__`` is a method ``bool`` and ``str`` both have (``object`` does not, so no override
    clash); its result type carries ``_Why``, which no ``bool`` or ``str`` result can be.
    """

    def __mul__(self, other: int, /) -> _Why: ...


class NotAClient(Protocol[_Why]):
    """A process or cluster passed where a client (``flow.external(Tag)``) is needed (HL204).

    ``tick()`` is what processes and clusters have and an ``External`` has not, so only a
    location of the program is ever blamed this way.
    """

    def tick(self) -> _Why: ...


@final
class HL103_NoOrder_input_needs_commutative_proof:  # noqa: N801 - the name is the message
    """A fold/reduce over a NoOrder input without ``commutative=proof("why")`` (HL103)."""

    __slots__ = ()

    def __init__(self) -> None:  # pragma: no cover - never constructed
        raise TypeError("a guard type is never constructed")


@final
class HL104_AtLeastOnce_input_needs_idempotent_proof:  # noqa: N801 - the name is the message
    """A fold/reduce over an AtLeastOnce input without ``idempotent=proof("why")`` (HL104)."""

    __slots__ = ()

    def __init__(self) -> None:  # pragma: no cover - never constructed
        raise TypeError("a guard type is never constructed")


@final
class HL110_NoOrder_stream_cannot_feed_an_ordered_port:  # noqa: N801 - the name is the message
    """``send_external(..., ordered=True)`` from a stream that may be NoOrder (HL110)."""

    __slots__ = ()

    def __init__(self) -> None:  # pragma: no cover - never constructed
        raise TypeError("a guard type is never constructed")


@final
class HL110_AtLeastOnce_stream_cannot_feed_a_no_duplicates_port:  # noqa: N801 - the name is the message
    """``send_external(..., delivery="exactly_once"/"at_most_once")`` from a stream that may be
    AtLeastOnce (HL110)."""

    __slots__ = ()

    def __init__(self) -> None:  # pragma: no cover - never constructed
        raise TypeError("a guard type is never constructed")


@final
class HL304_needs_a_proof_token_not_a_str:  # noqa: N801 - the name is the message
    """``commutative="why"``/``idempotent="why"``: a proof is made by ``proof("why")`` (HL304)."""

    __slots__ = ()

    def __init__(self) -> None:  # pragma: no cover - never constructed
        raise TypeError("a guard type is never constructed")


@final
class HL204_send_external_needs_flow_external_use_send_for_a_process:  # noqa: N801 - the name is the message
    """``send_external(process_or_cluster, ...)``: only a client outside the program is sent to
    that way; a process of the program is reached with ``send`` (HL204)."""

    __slots__ = ()

    def __init__(self) -> None:  # pragma: no cover - never constructed
        raise TypeError("a guard type is never constructed")
