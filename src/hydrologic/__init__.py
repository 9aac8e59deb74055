"""hydrologic: the Hydro programming model for Python.

Distributed behaviour is deterministic by default; every guarantee about ordering, delivery and
boundedness is part of a collection's type; composing code that needs a guarantee with data that
lacks it is an error before the program runs; and the few places where behaviour may truly
diverge are marked ``nondet("why")``, listed by tooling, and explored by the simulator.

Layers (each imports only those before it): ``types`` → ``ir`` → ``lang`` → ``runtime`` → ``net``
→ ``deploy`` → ``sim`` → ``std`` → ``cli``; this file and ``flow.py`` (``FlowBuilder``: build, then
run, simulate or deploy) sit on top and pull together the friendly public API.
"""

from .lang import (
    Atomic as Atomic,
    Channel as Channel,
    Cluster as Cluster,
    External as External,
    ClientId as ClientId,
    ExternalBidi as ExternalBidi,
    ForwardRef as ForwardRef,
    MembershipEvent as MembershipEvent,
    KeyedSingleton as KeyedSingleton,
    KeyedStream as KeyedStream,
    Location as Location,
    MemberId as MemberId,
    Optional as Optional,
    Process as Process,
    SimInput as SimInput,
    SimOutput as SimOutput,
    Singleton as Singleton,
    Slice as Slice,
    SliceState as SliceState,
    sliced as sliced,
    Stream as Stream,
    Tick as Tick,
    advance_time as advance_time,
    inject_liveness as inject_liveness,
    Liveness as Liveness,
    LivenessKind as LivenessKind,
    TickCycle as TickCycle,
    TopLevel as TopLevel,
)
from .flow import FlowBuilder as FlowBuilder
from .ir import NonDetSite as NonDetSite, ProofClaim as ProofClaim
from .runtime import InProcessRun as InProcessRun
from .types import (
    AtLeastOnce as AtLeastOnce,
    Bounded as Bounded,
    BuildError as BuildError,
    CycleError as CycleError,
    ConsistencyClaimError as ConsistencyClaimError,
    EventualConsistency as EventualConsistency,
    ExactlyOnce as ExactlyOnce,
    GuaranteeError as GuaranteeError,
    HydroRuntimeError as HydroRuntimeError,
    LocationError as LocationError,
    MonotoneClaimError as MonotoneClaimError,
    Monotonic as Monotonic,
    NoConsistency as NoConsistency,
    NoOrder as NoOrder,
    NonDet as NonDet,
    NonDetError as NonDetError,
    Proof as Proof,
    TotalOrder as TotalOrder,
    Unbounded as Unbounded,
    UsageError as UsageError,
    UserFunctionError as UserFunctionError,
    nondet as nondet,
    proof as proof,
)

# --- keyed-stream algebra: what a generator step returns
from .types import Break as Break, Continue as Continue, Generate as Generate, Return as Return, Yield as Yield

__version__ = "0.1.0"

# ``hl.deploy`` (Localhost, Ray) and ``hl.net`` (the External-port client) load on first use:
# they bring in asyncio and the codecs, which programs that only build, check or simulate never need.
from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:
    from . import deploy as deploy, net as net


def __getattr__(name: str) -> object:
    if name in ("deploy", "net"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'hydrologic' has no attribute {name!r}")
