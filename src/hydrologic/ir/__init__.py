"""The graph layer: locations, ticks, operator nodes and whole-program queries."""

from .graph import Graph as Graph, NonDetSite as NonDetSite, ProofClaim as ProofClaim
from .node import AtomicInfo as AtomicInfo, LocationInfo as LocationInfo, Node as Node, Scope as Scope, TickInfo as TickInfo, root_of as root_of
