"""Type variables shared by the live-collection classes.

Collection parameters are declared covariant, so weakening a guarantee is an implicit
upcast. Method-level variables are invariant, and methods that combine two collections bind them
from ``self`` first, which is what makes a mismatched location or guarantee an error at the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import TypeVar

from ..types.markers import AtLeastOnce, EventualConsistency, ExactlyOnce, NoConsistency, NoOrder, TotalOrder, Unbounded

if TYPE_CHECKING:
    from .location import Location, TopLevel

T = TypeVar("T", covariant=True)
K = TypeVar("K", covariant=True)
V = TypeVar("V", covariant=True)
L = TypeVar("L", bound="Location", covariant=True)
B = TypeVar("B", bound=Unbounded, covariant=True, default=Unbounded)
O = TypeVar("O", bound=NoOrder, covariant=True, default=TotalOrder)  # noqa: E741
R = TypeVar("R", bound=AtLeastOnce, covariant=True, default=ExactlyOnce)

# Method-level (invariant) variables.
T2 = TypeVar("T2")
U = TypeVar("U")
A = TypeVar("A")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
W = TypeVar("W")
B2 = TypeVar("B2", bound=Unbounded)
B3 = TypeVar("B3", bound=Unbounded)
O2 = TypeVar("O2", bound=NoOrder)
O3 = TypeVar("O3", bound=NoOrder)
R2 = TypeVar("R2", bound=AtLeastOnce)
R3 = TypeVar("R3", bound=AtLeastOnce)
TL = TypeVar("TL", bound="TopLevel")
# Guarantees a caller may declare for an input, defaulting to the strongest.
OD = TypeVar("OD", bound=NoOrder, default=TotalOrder)
RD = TypeVar("RD", bound=AtLeastOnce, default=ExactlyOnce)
# The order a network channel can still promise (lang/channel.py).
CO = TypeVar("CO", bound=NoOrder, default=TotalOrder)
# A cluster's consistency (Cluster[Tag, Con]): whether every member converges on the same value
# of a collection located there. Covariant: an EventualConsistency location is a NoConsistency
# one, so a consistent collection goes wherever an unqualified one does.
Con = TypeVar("Con", bound=NoConsistency, covariant=True, default=NoConsistency)
# What a network channel still promises about consistency, and its method-level twin.
CC = TypeVar("CC", bound=NoConsistency, default=EventualConsistency)
Tag = TypeVar("Tag")
Tag2 = TypeVar("Tag2")
C = TypeVar("C", contravariant=True)


AnyFn = Any
