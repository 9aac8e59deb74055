"""Build a program from its address, ``module:function`` or ``path/to/file.py:function``.

Every process of a deployment calls this with the same address and builds the same graph
(SPEC §2): node ids come from build order, so they name the same operator everywhere and no
user function is ever pickled. ``fingerprint`` lets the launcher check that claim: a program
whose building is not deterministic is refused before it starts, not debugged afterwards.
"""

from __future__ import annotations

import hashlib
import os
import sys

from ..ir.graph import Graph
from ..lang.builder import FlowBuilder
from ..lang.program import load_program

__all__ = ["build_program", "fingerprint"]


def build_program(address: str) -> tuple[FlowBuilder, Graph]:
    """Run the building function on a fresh FlowBuilder and check the whole program."""
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # `module:function` resolves from the working directory
    fn, _ = load_program(address)
    flow = FlowBuilder(address)
    fn(flow)
    return flow, flow.build()


def fingerprint(graph: Graph) -> str:
    """A digest of the graph's structure: locations, and every node's op, scope, inputs and site."""
    h = hashlib.sha256()
    for loc in graph.locations:
        h.update(f"L{loc.id}:{loc.kind}:{loc.name};".encode())
    for n in graph.nodes:
        ins = ",".join(str(i.id) for i in n.inputs)
        h.update(f"N{n.id}:{n.op}:{n.scope}:{ins}:{n.site};".encode())
    return h.hexdigest()[:16]
