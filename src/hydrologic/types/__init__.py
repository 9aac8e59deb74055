"""The bottom layer: guarantee markers, nondet/proof tokens, source sites, errors, and the values a
``generator`` step returns."""

from .codes import CODES as CODES, ErrorCode as ErrorCode
from .errors import (
    BuildError as BuildError,
    CycleError as CycleError,
    GuaranteeError as GuaranteeError,
    HydroRuntimeError as HydroRuntimeError,
    LocationError as LocationError,
    MonotoneClaimError as MonotoneClaimError,
    ConsistencyClaimError as ConsistencyClaimError,
    NonDetError as NonDetError,
    UsageError as UsageError,
    UserFunctionError as UserFunctionError,
)
from .markers import (
    AtLeastOnce as AtLeastOnce,
    Bounded as Bounded,
    EventualConsistency as EventualConsistency,
    ExactlyOnce as ExactlyOnce,
    Monotonic as Monotonic,
    NoConsistency as NoConsistency,
    NoOrder as NoOrder,
    TotalOrder as TotalOrder,
    Unbounded as Unbounded,
)
from .nondet import NonDet as NonDet, Proof as Proof, nondet as nondet, proof as proof
from .site import Site as Site, caller_site as caller_site
from .generate import Break as Break, Continue as Continue, Generate as Generate, Return as Return, Yield as Yield
