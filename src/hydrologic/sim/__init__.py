"""The deterministic simulator: every location in one process, branching only at nondet sites.

    sim = flow.sim(cluster_sizes={workers: 3})        # or hydrologic.sim.sim(flow, ...)
    count = sim.exhaustive(scenario)                   # every execution
    sim.fuzz(scenario, iterations=10_000, seed=0)      # random decisions, shrunk on failure
    sim.hypothesis(scenario)                           # decisions drawn (and shrunk) by Hypothesis
    sim.replay(scenario, token)                        # one execution from a failure's token
    sim.fix(site, pick) / sim.restrict(site, allowed)  # script the decisions at a nondet site
    sim.invariant(fn)                                  # fn(world) checked after every step
    with sim.session() as s: ...                       # step one execution by hand, read state

How it explores, and why it explores no more than it must, is in ``docs/simulator.md``.
"""

from ._errors import (
    ExplorationLimitError as ExplorationLimitError,
    FalseClaimError as FalseClaimError,
    InvariantViolation as InvariantViolation,
    SimulationFailure as SimulationFailure,
    StaleReproducerError as StaleReproducerError,
    StaleTokenError as StaleTokenError,
)
from ._budget import Budget as Budget, Estimate as Estimate
from ._engines import Stats as Stats
from ._sim import Sim as Sim, sim as sim
from ._invariants import World as World, LocationState as LocationState
from ._script import Session as Session
from ._symmetry import SymmetryError as SymmetryError, SymmetryWarning as SymmetryWarning

__all__ = ["Sim", "sim", "Stats", "Budget", "Estimate", "SimulationFailure", "StaleTokenError", "StaleReproducerError", "ExplorationLimitError", "FalseClaimError", "InvariantViolation", "World", "LocationState", "Session", "SymmetryError", "SymmetryWarning"]
