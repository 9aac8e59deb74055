"""Errors raised while building and running programs.

Messages are written for the person (or agent) who must fix the program: a stable code, the
user's file:line, the guarantee needed against the one present, where the weak guarantee came
from, and the fix.
"""

from __future__ import annotations

from .codes import CODES
from .site import Site, caller_site

__all__ = [
    "BuildError",
    "GuaranteeError",
    "LocationError",
    "NonDetError",
    "CycleError",
    "UsageError",
    "HydroRuntimeError",
    "UserFunctionError",
    "MonotoneClaimError",
]


class BuildError(Exception):
    """A program was composed wrongly; raised while building, before anything runs."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        site: Site | None = None,
        needed: str | None = None,
        present: str | None = None,
        origin: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.code = code
        self.summary = message
        # Errors are about the user's program: default to the innermost frame outside the package.
        self.site = site if site is not None else caller_site()
        self.needed = needed
        self.present = present
        self.origin = origin
        entry = CODES.get(code)
        self.fix = fix if fix is not None else (entry.fix if entry else "")
        super().__init__(self._render())

    def _render(self) -> str:
        # Without any user frame (e.g. `hydrologic run` given a missing file) the message itself
        # names the file involved; never print a meaningless `<unknown>:0`.
        where = f" at {self.site}" if self.site.known else ""
        lines = [f"{self.code}{where}: {self.summary}"]
        if self.needed is not None:
            lines.append(f"  needed:  {self.needed}")
        if self.present is not None:
            lines.append(f"  present: {self.present}")
        if self.origin is not None:
            lines.append(f"  origin:  {self.origin}")
        if self.fix:
            lines.append(f"  fix:     {self.fix}")
        lines.append(f"  (run `hydrologic explain {self.code}` for details)")
        return "\n".join(lines)


class GuaranteeError(BuildError):
    """An operator needs an ordering, retry or boundedness guarantee its input lacks."""


class LocationError(BuildError):
    """Collections of different locations were combined, or an operator was used at the wrong kind."""


class NonDetError(BuildError):
    """A nondet/proof token is missing or empty, or a no-nondet contract is violated."""


class CycleError(BuildError):
    """A cycle is incomplete, completed twice, or runs through a blocking operator within a tick."""


class UsageError(BuildError):
    """An argument has the wrong type or the flow is used in the wrong phase."""


class HydroRuntimeError(Exception):
    """Base class of errors raised while a program runs."""


class MonotoneClaimError(HydroRuntimeError):
    """HL611: a value typed ``Monotonic`` went down while a threshold read was watching it."""

    code = "HL611"


class ConsistencyClaimError(HydroRuntimeError):
    """HL612: a collection claimed ``EventualConsistency`` held different values on the members
    of its cluster once a simulated execution had settled."""

    code = "HL612"


class UserFunctionError(HydroRuntimeError):
    """A user function raised inside an operator; names the operator and its build site."""

    code = "HL601"

    def __init__(self, op: str, site: Site, location: str, error: BaseException) -> None:
        self.op = op
        self.site = site
        self.location = location
        self.error = error
        super().__init__(
            f"HL601: the function passed to `{op}` (built at {site}) raised "
            f"{type(error).__name__}: {error} while running on {location}"
        )
