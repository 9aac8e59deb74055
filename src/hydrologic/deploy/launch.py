"""``deploy(flow, target, ...)``: the function behind ``FlowBuilder.deploy``.

Every process rebuilds the program from its address, so a deployment needs the address, not
just the built graph. We check that the caller's graph and the one the address builds are the
same program (same fingerprint), so ``cluster_sizes`` keyed by the caller's ``Cluster`` objects
mean the same clusters in every process.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

from ..lang.builder import FlowBuilder
from ..types.errors import UsageError
from ..types.site import caller_site
from .deployment import Deployment
from .program import build_program, fingerprint

__all__ = ["deploy", "Target"]


class Target(Protocol):
    def start(self, program: str, cluster_sizes: Mapping[Any, int] | None = None) -> Any: ...


def deploy(
    flow: FlowBuilder,
    target: Target | None = None,
    *,
    program: str | None = None,
    cluster_sizes: Mapping[Any, int] | None = None,
) -> Deployment:
    """Run ``flow`` on ``target`` (default: ``Localhost()``), rebuilt from ``program`` in each process."""
    if program is None:
        raise UsageError(
            "HL501",
            "deploy() needs the program's address: every process rebuilds the graph from it (SPEC §2)",
            fix="Pass program='path/to/file.py:build' (or 'package.module:build'), naming the function that built this flow.",
            site=caller_site(),
        )
    graph = flow.build()
    sizes = flow.resolve_cluster_sizes(cluster_sizes)
    _, rebuilt = build_program(program)
    if fingerprint(rebuilt) != fingerprint(graph):
        raise UsageError(
            "HL501",
            f"{program!r} builds a different program than this flow",
            fix="Pass the address of the very function that built this flow, and keep building deterministic.",
            site=caller_site(),
        )
    if target is None:
        from .localhost import Localhost

        target = Localhost()
    by_name = {graph.locations[i].name: n for i, n in sizes.items()}
    deployment: Deployment = target.start(program, by_name)
    return deployment
