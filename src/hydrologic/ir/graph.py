"""The whole program's graph: every location, tick and node, in build order.

Node ids are assigned in build order; since every process of a deployment re-runs the same
building code, the same id names the same operator everywhere.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..types.nondet import NonDet, Proof
from ..types.site import Site
from .node import LocationInfo, Node, TickInfo
from .ops import check_node

__all__ = ["Graph", "NonDetSite", "ProofClaim"]


@dataclass(frozen=True)
class NonDetSite:
    """One place where the program may diverge: the operator, the token and its reason."""

    node_id: int
    op: str
    site: Site
    reason: str
    token_site: Site
    location: str
    forwarded: tuple[str, ...] = ()

    def __str__(self) -> str:
        extra = "".join(f" <- {r}" for r in self.forwarded)
        return f"{self.site}: `{self.op}` on {self.location}: {self.reason!r}{extra}"


@dataclass(frozen=True)
class ProofClaim:
    node_id: int
    op: str
    property: str
    reason: str
    site: Site


@dataclass(eq=False)
class Graph:
    locations: list[LocationInfo] = field(default_factory=lambda: [])
    ticks: list[TickInfo] = field(default_factory=lambda: [])
    nodes: list[Node] = field(default_factory=lambda: [])

    def add(self, node: Node) -> Node:
        check_node(node.op, node.nondet is not None)
        self.nodes.append(node)
        return node

    def next_id(self) -> int:
        return len(self.nodes)

    def nodes_at(self, loc: LocationInfo) -> list[Node]:
        return [n for n in self.nodes if n.root is loc]

    def consumers(self) -> dict[int, list[Node]]:
        out: dict[int, list[Node]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out[i.id].append(n)
        return out

    def nondet_sites(self) -> list[NonDetSite]:
        sites: list[NonDetSite] = []
        for n in self.nodes:
            channel_token: NonDet | None = n.params.get("channel_nondet")
            if channel_token is not None:
                sites.append(
                    NonDetSite(
                        node_id=n.id,
                        op=f"{n.method} (lossy channel)",
                        site=n.site,
                        reason=channel_token.reason,
                        token_site=channel_token.site,
                        location=str(n.scope),
                        forwarded=tuple(t.reason for t in channel_token.chain()[1:]),
                    )
                )
            token: NonDet | None = n.nondet
            if token is None:
                continue
            sites.append(
                NonDetSite(
                    node_id=n.id,
                    op=n.method,
                    site=n.site,
                    reason=token.reason,
                    token_site=token.site,
                    location=str(n.scope),
                    forwarded=tuple(t.reason for t in token.chain()[1:]),
                )
            )
        return sites

    def proof_claims(self) -> list[ProofClaim]:
        out: list[ProofClaim] = []
        for n in self.nodes:
            for prop, p in n.proofs.items():
                pr: Proof = p
                out.append(ProofClaim(n.id, n.method, prop, pr.reason, pr.site))
        return out

    def params_of(self, node_id: int) -> dict[str, Any]:
        return self.nodes[node_id].params

    def fingerprint(self, *, portable: bool = False) -> str:
        """A digest of the structure: locations, and every node's op, scope, inputs and site.

        Every process of a deployment rebuilds the program; equal fingerprints are how a worker
        knows it built the same graph as the launcher (building must be deterministic).
        ``portable`` names each site by its file's base name only, so the digest is the same
        where the program's folder was copied elsewhere (code shipped to a Ray node).
        """
        h = hashlib.sha256()
        for loc in self.locations:
            h.update(f"L{loc.id}:{loc.kind}:{loc.name};".encode())
        for n in self.nodes:
            ins = ",".join(str(i.id) for i in n.inputs)
            site = f"{os.path.basename(n.site.file)}:{n.site.line}" if portable else str(n.site)
            h.update(f"N{n.id}:{n.op}:{n.scope}:{ins}:{site};".encode())
        return h.hexdigest()[:16]

    def missing_sizes(self, sizes: Mapping[int, int]) -> list[LocationInfo]:
        """The clusters ``sizes`` (keyed by location id) gives no size for."""
        return [loc for loc in self.locations if loc.is_cluster and loc.id not in sizes]
