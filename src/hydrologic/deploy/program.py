"""Load a program from its address, ``module:function`` or ``path/to/file.py:function``.

Every process of a deployment calls this with the same address and builds the same graph
(SPEC §2): node ids come from build order, so they name the same operator everywhere and no
user function is ever pickled. ``fingerprint`` lets the launcher check that claim: a program
whose building is not deterministic is refused before it starts, not debugged afterwards.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from typing import Any, Callable

from ..ir.graph import Graph
from ..lang.builder import FlowBuilder
from ..types.errors import UsageError

__all__ = ["load_program", "build_program", "fingerprint", "module_name_for"]


def module_name_for(path: str) -> str:
    """The module name a program file is imported under, the same in every process (so that
    classes defined in it unpickle on the other side of a channel)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    safe = "".join(c if c.isalnum() else "_" for c in stem)
    return f"hydrologic_program_{safe}"


def load_program(address: str) -> Callable[[FlowBuilder], Any]:
    """The building function named by ``address``."""
    target, sep, func = address.rpartition(":")
    if not sep or not target or not func:
        raise UsageError(
            "HL501",
            f"a program address is `module:function` or `path/to/file.py:function`, got {address!r}",
            fix="For example: `examples/wordcount.py:build` or `myproject.flows:build`.",
        )
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise UsageError("HL501", f"program file {target!r} does not exist (looked at {path})")
        name = module_name_for(path)
        module = sys.modules.get(name)
        if module is None or getattr(module, "__file__", None) != path:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:  # pragma: no cover
                raise UsageError("HL501", f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            dirname = os.path.dirname(path)
            if dirname not in sys.path:
                sys.path.insert(0, dirname)
            spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(target)
    fn = getattr(module, func, None)
    if not callable(fn):
        raise UsageError("HL501", f"{target!r} has no function {func!r}", fix=f"Define `def {func}(flow: hl.FlowBuilder)` there.")
    built: Callable[[FlowBuilder], Any] = fn
    return built


def build_program(address: str) -> tuple[FlowBuilder, Graph]:
    """Run the building function on a fresh FlowBuilder and check the whole program."""
    fn = load_program(address)
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
