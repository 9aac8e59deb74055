"""``FlowBuilder``: a program's graph builder that can also run, simulate and deploy what it built.

This is the top of the layer stack. ``lang`` builds and checks graphs and imports nothing above
it; ``runtime``, ``sim`` and ``deploy`` each take a built ``Graph`` plus cluster sizes keyed by
location id and never build a program themselves. The one class users hold joins them here, so
"build, then run" reads as one object while every layer below stays ignorant of those above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .lang.builder import ClusterSizes, GraphBuilder, resolve_cluster_sizes
from .lang.program import build_graph
from .runtime.inprocess import InProcessRun
from .types.errors import UsageError
from .types.site import caller_site

if TYPE_CHECKING:
    from .deploy.deployment import Deployment
    from .ir.graph import Graph
    from .sim import Sim

__all__ = ["FlowBuilder", "Target"]


class Target(Protocol):
    """Where ``FlowBuilder.deploy`` runs a program: ``hl.deploy.Localhost()``, ``hl.deploy.Ray()``."""

    def launch(self, program: str, graph: Graph, sizes: dict[int, int]) -> Any: ...


class FlowBuilder(GraphBuilder):
    """Builds one program's dataflow graph; then runs it in process, simulates it or deploys it.

    Building must be deterministic: every process of a deployment re-runs the same building
    code, and node ids come from build order. Each way of running builds (and so checks) first.
    """

    def run_in_process(
        self, cluster_sizes: ClusterSizes | None = None, *, data_dir: str | None = None, fsync: str = "batch"
    ) -> InProcessRun:
        """Run every location in this process, tick by tick (tests, examples, the REPL).

        Durable state (``durable=``) is kept in memory, or under ``data_dir`` (one directory per
        location instance) so that a later run with the same directory recovers it.
        """
        graph = self.build()
        return InProcessRun(graph, self.resolve_cluster_sizes(cluster_sizes), data_dir=data_dir, fsync=fsync)

    def sim(self, cluster_sizes: ClusterSizes | None = None) -> Sim:
        """Simulate every location in this process, exploring each nondet site (docs/simulator.md)."""
        from .sim import sim

        return sim(self, cluster_sizes)

    def deploy(self, target: Any = None, *, program: str | None = None, cluster_sizes: ClusterSizes | None = None) -> Deployment:
        """Run this program as a real distributed system (default target: ``hl.deploy.Localhost()``).

        Every process rebuilds the program from ``program`` (``module:function`` or
        ``file.py:function``: the function that built this flow), so no user function is pickled;
        an address that builds a different program is rejected (HL501). See docs/deployment.md.
        """
        if program is None:
            raise UsageError(
                "HL501",
                "deploy() needs the program's address: every process rebuilds the graph from it, so no user function is pickled",
                fix="Pass program='path/to/file.py:build' (or 'package.module:build'), naming the function that built this flow.",
                site=caller_site(),
            )
        from .deploy.deployment import SIZE_FIX  # deploy loads on first use: asyncio, codecs

        graph = self.build()
        sizes = resolve_cluster_sizes(graph, cluster_sizes, fix=SIZE_FIX)
        if build_graph(program).fingerprint() != graph.fingerprint():
            raise UsageError(
                "HL501",
                f"{program!r} builds a different program than this flow",
                fix="Pass the address of the very function that built this flow, and keep building deterministic.",
                site=caller_site(),
            )
        if target is None:
            from .deploy.localhost import Localhost

            target = Localhost()
        launcher: Target = target
        deployment: Deployment = launcher.launch(program, graph, sizes)
        return deployment
