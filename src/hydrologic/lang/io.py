"""Test-facing ports: ``SimInput`` (send into a program) and ``SimOutput`` (observe its output).

Ports are declared while building and used while a program runs under some driver (the
in-process runner, or the simulator). The driver that is currently running is found through a
context variable, so a scenario is a plain function that calls ``inp.send(...)`` and
``out.assert_yields(...)`` without passing an engine around. Drivers live in higher layers and
implement the small ``Driver`` protocol below; this module never imports them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Generic, Iterable, Protocol

from ..ir.node import Node
from ..types.errors import HydroRuntimeError, UsageError
from ..types.site import caller_site
from ._typevars import T2

__all__ = ["Driver", "SimInput", "SimOutput", "current_driver", "NoDriverError", "advance_time", "inject_liveness"]


class NoDriverError(HydroRuntimeError):
    pass


class Driver(Protocol):
    def input_send(self, node: Node, values: list[Any], member: int | None, unordered: bool) -> None: ...
    def output_next(self, node: Node) -> tuple[bool, Any]: ...
    def output_drain(self, node: Node) -> list[Any]: ...


_CURRENT: ContextVar[Driver | None] = ContextVar("hydrologic_driver", default=None)


def current_driver() -> Driver:
    d = _CURRENT.get()
    if d is None:
        raise NoDriverError(
            "no program is running: use the port inside `with flow.run_in_process() as run:` "
            "or inside a simulator scenario"
        )
    return d


def set_driver(d: Driver | None) -> Any:
    return _CURRENT.set(d)


def reset_driver(token: Any) -> None:
    _CURRENT.reset(token)


def advance_time(seconds: float) -> None:
    """Move the running program's virtual clock forward, firing due ``source_interval`` timers.

    In-process runs then run until idle; in the simulator the scenario decides when time passes
    relative to its sends (timers are nondet sites driven by the test, as in Hydro).
    """
    d = current_driver()
    f = getattr(d, "advance_time", None)
    if f is None:
        raise NoDriverError(f"{type(d).__name__} has no virtual clock")
    f(seconds)


def inject_liveness(events: Any, member: int, event: Any, *, at: int | None = None) -> None:
    """Deliver one liveness event (``Liveness.down(0)``, ``Liveness.restarted(1)``, ...) about
    ``member`` of the watched peer into ``events``, a stream made by ``loc.peer_liveness(peer)``
    (or by ``loc.source_cluster_members(cluster)``, which shows it as a join or a leave).

    In process and in the simulator members never die on their own; a test states the deaths
    and restarts it wants the program to react to. ``at`` is the member of the watching cluster
    that receives the event (None for a process).
    """
    from ._access import node_of
    from .liveness import Liveness
    from .location import MemberId

    node = node_of(events)
    if node.op not in ("peer_liveness", "cluster_membership"):
        raise UsageError(
            "HL501",
            f"inject_liveness needs a stream made by peer_liveness() or source_cluster_members(), got one made by {node.describe()}",
            site=caller_site(),
        )
    if not isinstance(event, Liveness):
        raise UsageError("HL501", f"inject_liveness needs a Liveness event such as Liveness.down(0), got {event!r}", site=caller_site())
    peer = node.params["peer"]
    mid: MemberId[Any] = MemberId.of_cluster(member, peer.id) if peer.is_cluster else MemberId(member)
    current_driver().input_send(node, [(mid, event)], at, False)


class SimInput(Generic[T2]):
    """Sends values into the stream returned beside it by ``loc.sim_input()``."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def send(self, value: T2, *, member: int | None = None) -> None:
        d = _CURRENT.get()
        if d is None:
            d = current_driver()
        d.input_send(self._node, [value], member, False)

    def send_many(self, values: Iterable[T2], *, member: int | None = None) -> None:
        d = _CURRENT.get()  # ``current_driver`` inlined: this is most of a small tick's fixed cost
        if d is None:
            d = current_driver()  # raises the explanation
        d.input_send(self._node, list(values), member, False)

    def send_many_unordered(self, values: Iterable[T2], *, member: int | None = None) -> None:
        """Values that arrive in no particular order (the simulator explores their orders)."""
        current_driver().input_send(self._node, list(values), member, True)


class SimOutput(Generic[T2]):
    """Observes what a stream emits. Assertions raise ``AssertionError`` with both sides shown."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def _expect_only(self, expected: list[Any], unordered: bool, method: str) -> list[Any]:
        """An absence claim ("exactly these, then nothing"): drivers that explore (the simulator)
        implement ``output_expect_only`` so the claim can be checked without hiding later states;
        others just drain."""
        d = current_driver()
        f = getattr(d, "output_expect_only", None)
        if f is None:
            return _expect_only_default(d, self._node, expected, unordered)
        got: list[Any] = f(self._node, expected, unordered, method=method, site=caller_site())
        return got

    def next(self) -> T2:
        ok, value = current_driver().output_next(self._node)
        if not ok:
            raise AssertionError(f"expected another element from the output built at {self._node.site}, but none came")
        out: T2 = value
        return out

    def collect(self) -> list[T2]:
        """Everything emitted from now until the program is quiescent."""
        return current_driver().output_drain(self._node)

    def collect_sorted(self) -> list[T2]:
        return sorted(self.collect())  # type: ignore[type-var]

    def assert_yields(self, expected: Iterable[T2]) -> None:
        """The next elements are exactly ``expected``, in order (more may follow)."""
        exp = list(expected)
        got = [self.next() for _ in exp]
        if got != exp:
            raise AssertionError(f"output at {self._node.site}: expected {exp!r}, got {got!r}")

    def assert_yields_only(self, expected: Iterable[T2]) -> None:
        """Everything emitted from now on is exactly ``expected``, in order."""
        exp = list(expected)
        got = self._expect_only(exp, False, "assert_yields_only")
        if got != exp:
            raise AssertionError(f"output at {self._node.site}: expected only {exp!r}, got {got!r}")

    def assert_yields_unordered(self, expected: Iterable[T2]) -> None:
        exp = list(expected)
        got = [self.next() for _ in exp]
        if _multiset(got) != _multiset(exp):
            raise AssertionError(f"output at {self._node.site}: expected {exp!r} in any order, got {got!r}")

    def assert_yields_only_unordered(self, expected: Iterable[T2]) -> None:
        exp = list(expected)
        got = self._expect_only(exp, True, "assert_yields_only_unordered")
        if _multiset(got) != _multiset(exp):
            raise AssertionError(f"output at {self._node.site}: expected only {exp!r} in any order, got {got!r}")

    def assert_no_more(self) -> None:
        got = self._expect_only([], False, "assert_no_more")
        if got:
            raise AssertionError(f"output at {self._node.site}: expected nothing more, got {got!r}")


def _expect_only_default(driver: Driver, node: Node, expected: list[Any], unordered: bool) -> list[Any]:
    del expected, unordered
    return driver.output_drain(node)


def _multiset(xs: list[Any]) -> list[str]:
    return sorted(repr(x) for x in xs)
