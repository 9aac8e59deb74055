"""``nondet(reason)`` and ``proof(reason)``: written claims that tooling can list and check.

A ``NonDet`` token is the only way to call an operator whose output may diverge between runs;
its reason and source line appear in ``flow.nondet_sites()``, ``hydrologic check`` and simulator
traces. A ``Proof`` records a claimed algebraic property (commutative, idempotent) of a user
function. The simulator never trusts proofs: it still explores the orders they claim not to
matter, so a false claim can be caught by a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NonDetError
from .site import Site, caller_site

__all__ = ["NonDet", "Proof", "nondet", "proof"]


@dataclass(frozen=True, eq=False)
class NonDet:
    """A justified permission to observe nondeterminism. Make one with ``nondet(reason)``."""

    reason: str
    site: Site
    forwarded: tuple[NonDet, ...] = field(default=())

    def chain(self) -> list[NonDet]:
        """This token followed by every token it forwards, depth first."""
        out: list[NonDet] = [self]
        for parent in self.forwarded:
            out.extend(parent.chain())
        return out

    def __repr__(self) -> str:
        return f"nondet({self.reason!r}) at {self.site}"


@dataclass(frozen=True, eq=False)
class Proof:
    """A user's written claim that a function has an algebraic property. Make one with ``proof``."""

    reason: str
    site: Site

    def __repr__(self) -> str:
        return f"proof({self.reason!r}) at {self.site}"


def _check_reason(kind: str, reason: object, site: Site) -> str:
    if not isinstance(reason, str):
        raise NonDetError(
            "HL302",
            f"{kind}() needs a reason string, got {type(reason).__name__}",
            site=site,
        )
    if not reason.strip():
        raise NonDetError("HL302", f"{kind}() reason is empty", site=site)
    return reason


def nondet(reason: str, *forwarded: NonDet) -> NonDet:
    """Mark a place where behaviour may diverge, saying why that is acceptable.

    Functions whose own outputs become nondeterministic should take a ``NonDet`` parameter and
    pass it on here (``nondet("why", caller_token)``) so the chain of reasons stays visible.
    """
    site = caller_site()
    _check_reason("nondet", reason, site)
    for f in forwarded:
        if not isinstance(f, NonDet):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise NonDetError("HL301", "nondet() can only forward NonDet tokens", site=site)
    return NonDet(reason, site, tuple(forwarded))


def proof(reason: str) -> Proof:
    """Claim an algebraic property of a function (commutative / idempotent), saying why it holds."""
    site = caller_site()
    _check_reason("proof", reason, site)
    return Proof(reason, site)
