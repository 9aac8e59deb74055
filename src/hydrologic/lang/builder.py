"""``FlowBuilder``: creates locations, records the graph, and checks the whole program.

Per-operator rules are checked as each operator is called (collection.py); the rules that need
the whole program are checked by ``build()``: every cycle completed (HL401), no same-tick cycle
through a blocking operator (HL402), and declared contracts such as ``require(no_nondet=True)``
(HL303). ``sim()``, ``run_in_process()`` and ``deploy()`` build first, so no program runs unchecked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, TypeVar

from ..ir.graph import Graph, NonDetSite, ProofClaim
from ..ir.node import LocationInfo, Node
from ..ir.passes import blocking_cycle, strata
from ..types.errors import CycleError, NonDetError, UsageError
from ..types.site import caller_site
from .location import Cluster, External, Process

if TYPE_CHECKING:
    from ..deploy.deployment import Deployment
    from ..sim import Sim
    from ..runtime.inprocess import InProcessRun
    from .cycles import _Handle  # pyright: ignore[reportPrivateUsage]

__all__ = ["FlowBuilder"]

Tag = TypeVar("Tag")


class FlowBuilder:
    """Builds one program's dataflow graph. Building must be deterministic (SPEC §2)."""

    def __init__(self, name: str = "flow") -> None:
        self.name = name
        self._graph = Graph()
        self._pending_cycles: list[_Handle[Any]] = []
        self._ports: set[str] = set()
        self._built = False
        self._no_nondet = False
        self._tag_names: dict[str, int] = {}

    # ---- locations ----------------------------------------------------------------------

    def _location(self, kind: str, tag: object) -> LocationInfo:
        self._check_open()
        if not isinstance(tag, type):
            raise UsageError(
                "HL501",
                f"flow.{kind}() expects a tag class (e.g. `class Leader: ...`), got {tag!r}",
                site=caller_site(),
            )
        name = tag.__name__
        seen = self._tag_names.get(name, 0)
        self._tag_names[name] = seen + 1
        if seen:
            name = f"{name}#{seen}"
        info = LocationInfo(len(self._graph.locations), kind, tag, name)
        self._graph.locations.append(info)
        return info

    def process(self, tag: type[Tag]) -> Process[Tag]:
        """A single-threaded process tagged ``tag``."""
        return Process(self, self._location("process", tag))

    def cluster(self, tag: type[Tag]) -> Cluster[Tag]:
        """A cluster of members running the same code; its size is chosen when running."""
        return Cluster(self, self._location("cluster", tag))

    def external(self, tag: type[Tag]) -> External[Tag]:
        """A client outside the program."""
        return External(self, self._location("external", tag))

    # ---- bookkeeping used by collections ------------------------------------------------

    def _check_open(self) -> None:
        if self._built:
            raise UsageError("HL502", "this flow was already built; add operators before build()/sim()/run", site=caller_site())

    def _add_node(self, node: Node) -> None:
        self._check_open()
        self._graph.add(node)

    def _register_port(self, name: str) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", "external ports need a non-empty name", site=caller_site())
        if name in self._ports:
            raise UsageError("HL501", f"an external port named {name!r} already exists", site=caller_site())
        self._ports.add(name)

    # ---- whole-program queries and contracts --------------------------------------------

    @property
    def graph(self) -> Graph:
        return self._graph

    def nondet_sites(self) -> list[NonDetSite]:
        """Every place the program may diverge, with its reason (SPEC §4)."""
        return self._graph.nondet_sites()

    def proof_claims(self) -> list[ProofClaim]:
        return self._graph.proof_claims()

    def require(self, *, no_nondet: bool = False) -> None:
        """Declare a contract checked by ``build()``; ``no_nondet`` forbids every nondet site."""
        self._no_nondet = self._no_nondet or no_nondet

    def build(self) -> Graph:
        """Check the whole program and freeze it. Idempotent."""
        if self._built:
            return self._graph
        if self._pending_cycles:
            first = self._pending_cycles[0]
            listed = "; ".join(h.describe() for h in self._pending_cycles)
            raise CycleError("HL401", f"cycle never completed: {listed}", site=first._node.site)  # pyright: ignore[reportPrivateUsage]
        for loc in self._graph.locations:
            for comp in strata(self._graph.nodes_at(loc)):
                bad = blocking_cycle(comp)
                if bad is not None and bad[0].in_tick:
                    op, dep = bad
                    ring = " -> ".join(n.describe() for n in comp)
                    raise CycleError(
                        "HL402",
                        f"{op.describe()} blocks on its input, which depends on its own output within the same tick",
                        site=op.site,
                        present=f"cycle: {ring}",
                        origin=f"the blocking input comes from {dep.describe()}",
                    )
        if self._no_nondet:
            sites = self.nondet_sites()
            if sites:
                listed = "\n".join(f"    - {s}" for s in sites)
                raise NonDetError(
                    "HL303",
                    f"flow.require(no_nondet=True), but the program has {len(sites)} nondet site(s):\n{listed}",
                    site=sites[0].site,
                )
        self._built = True
        return self._graph

    # ---- running ------------------------------------------------------------------------

    def run_in_process(self, cluster_sizes: ClusterSizes | None = None) -> InProcessRun:
        """Run every location in this process, tick by tick (tests, examples, the REPL)."""
        from ..runtime.inprocess import InProcessRun

        return InProcessRun(self.build(), self.resolve_cluster_sizes(cluster_sizes))

    def sim(self, cluster_sizes: ClusterSizes | None = None) -> Sim:
        """Simulate every location in this process, exploring each nondet site (SPEC §8)."""
        from ..sim import sim

        return sim(self, cluster_sizes)

    def deploy(self, target: Any = None, *, program: str | None = None, cluster_sizes: ClusterSizes | None = None) -> Deployment:
        """Run this program as a real distributed system (default target: ``hl.deploy.Localhost()``).

        Every process rebuilds the program from ``program`` (``module:function`` or
        ``file.py:function``: the function that built this flow), so no user function is pickled;
        a mismatched address is rejected (HL501). See docs/deployment.md.
        """
        from ..deploy.launch import deploy

        return deploy(self, target, program=program, cluster_sizes=cluster_sizes)

    def resolve_cluster_sizes(self, cluster_sizes: ClusterSizes | None) -> dict[int, int]:
        """Map ``{cluster or tag class or name: n}`` to location ids, rejecting unknown keys."""
        out: dict[int, int] = {}
        clusters = [l for l in self._graph.locations if l.is_cluster]
        if cluster_sizes is not None and not isinstance(cluster_sizes, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError(
                "HL501", f"cluster_sizes must be a mapping {{cluster: n}}, got {type(cluster_sizes).__name__}", site=caller_site()
            )
        for key, n in (cluster_sizes or {}).items():
            if not isinstance(n, int) or n < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise UsageError("HL501", f"cluster size for {key!r} must be a positive int, got {n!r}", site=caller_site())
            if isinstance(key, Cluster):
                matches = [key._info]  # pyright: ignore[reportPrivateUsage]
            else:
                matches = [l for l in clusters if l.tag is key or l.name == key]
            if len(matches) != 1:
                known = ", ".join(l.name for l in clusters) or "none"
                raise UsageError(
                    "HL501",
                    f"cluster_sizes key {key!r} names {'no' if not matches else 'more than one'} cluster (clusters: {known})",
                    site=caller_site(),
                )
            out[matches[0].id] = n
        return out


ClusterSizes = Mapping["Cluster[Any] | type[Any] | str", int]
