"""Guard types: what mypy and pyright name when ``fold``/``reduce`` lacks the proof its input needs.

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
"""

from __future__ import annotations

from typing import final

__all__ = ["HL103_NoOrder_input_needs_commutative_proof", "HL104_AtLeastOnce_input_needs_idempotent_proof"]


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
