"""``GraphBuilder``: creates locations, records the graph, and checks the whole program.

Per-operator rules are checked as each operator is called (collection.py); the rules that need
the whole program are checked by ``build()``: every cycle completed (HL401), no same-tick cycle
through a blocking operator (HL402), and declared contracts such as ``require(no_nondet=True)``
(HL303). Running, simulating and deploying live one layer up (``hydrologic/flow.py``) and all
build first, so no program runs unchecked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, TypeVar

from ..ir.consistency import inconsistency_origins
from ..ir.graph import Graph, NonDetSite, ProofClaim
from ..ir.node import LocationInfo, Node
from ..ir.passes import blocking_cycle, strata
from ..types.errors import CycleError, NonDetError, UsageError
from ..types.site import caller_site
from ._access import info_of, node_of
from .collection import check_consistency
from .location import Cluster, External, Process

if TYPE_CHECKING:
    from .cycles import CycleHandle

__all__ = ["GraphBuilder", "ClusterSizes", "resolve_cluster_sizes"]

Tag = TypeVar("Tag")


_SIZE_FIX = "Pass cluster_sizes={cluster: n} when running."


class GraphBuilder:
    """Builds one program's dataflow graph and checks it; knows nothing of running it.

    Building must be deterministic: every process of a deployment runs the same building code
    and node ids come from build order. ``hydrologic.FlowBuilder`` (``hydrologic/flow.py``) adds
    running, simulating and deploying on top, so this layer imports nothing above it.
    """

    def __init__(self, name: str = "flow") -> None:
        self.name = name
        self._graph = Graph()
        self._pending_cycles: list[CycleHandle[Any]] = []
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
        """Every place the program may diverge, with its reason."""
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
            raise CycleError("HL401", f"cycle never completed: {listed}", site=node_of(first).site)
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
        # make_eventually_consistent was checked when called; a cycle completed since may feed it
        nodes = self._graph.nodes
        required = [n for n in nodes if n.params.get("requires") == "eventual"]
        if required:
            origins = inconsistency_origins(nodes)
            for n in required:
                check_consistency(nodes, n.inputs[0], n.site, origins)
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

    # ---- cluster sizes ------------------------------------------------------------------

    def resolve_cluster_sizes(self, cluster_sizes: ClusterSizes | None) -> dict[int, int]:
        """Map ``{cluster or tag class or name: n}`` to location ids; every cluster needs a size."""
        return resolve_cluster_sizes(self._graph, cluster_sizes)


ClusterSizes = Mapping["Cluster[Any] | type[Any] | str", int]


def resolve_cluster_sizes(graph: Graph, cluster_sizes: Mapping[Any, int] | None, *, fix: str = _SIZE_FIX) -> dict[int, int]:
    """Map ``{cluster or tag class or name: n}`` to location ids, rejecting unknown keys and gaps.

    The one place a user's cluster sizes change form: from here to a remote tick they are
    ``{location id: n}``. Every way of running a program (in process, simulated, deployed)
    calls this once, so the errors are the same everywhere.
    """
    out: dict[int, int] = {}
    clusters = [l for l in graph.locations if l.is_cluster]
    if cluster_sizes is not None and not isinstance(cluster_sizes, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError(
            "HL501", f"cluster_sizes must be a mapping {{cluster: n}}, got {type(cluster_sizes).__name__}", site=caller_site()
        )
    for key, n in (cluster_sizes or {}).items():
        if not isinstance(n, int) or n < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"cluster size for {key!r} must be a positive int, got {n!r}", site=caller_site())
        if isinstance(key, Cluster):
            cluster: Cluster[Any] = key  # pyright: ignore[reportUnknownVariableType]
            matches = [info_of(cluster)]
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
    missing = graph.missing_sizes(out)
    if missing:
        raise UsageError("HL501", f"no size given for {', '.join(str(l) for l in missing)}", fix=fix, site=caller_site())
    return out
