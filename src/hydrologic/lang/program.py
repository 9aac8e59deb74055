"""Find a program's build function from ``module:function`` or ``path/to/file.py:function``.

Every process of a deployment and every tool (check, graph, sim, run) loads programs the same
way, so a program means the same graph everywhere (building is deterministic and user
functions are never pickled).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Callable

from ..ir.graph import Graph
from ..types.errors import UsageError
from ..types.site import Site, caller_site
from .builder import GraphBuilder

__all__ = ["load_program", "build_graph", "ProgramSpec"]

ProgramSpec = str


def _load_module(target: str) -> ModuleType:
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = os.path.abspath(target)
        if not os.path.exists(path):
            relative = "" if os.path.isabs(target) else f", relative to the working directory {os.getcwd()}"
            raise UsageError(
                "HL501",
                f"program file {target!r} does not exist (looked for {path}{relative})",
                fix="Check the file name, or run the command from the directory the path is relative to.",
            )
        name = "_hydrologic_program_" + os.path.splitext(os.path.basename(path))[0]
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) == path:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:  # pragma: no cover - importlib edge case
            raise UsageError("HL501", f"cannot import {target!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        raise UsageError(
            "HL501",
            f"cannot import module {target!r}: {e}",
            fix=f"Name a file (path/to/{target.replace('.', '/')}.py:function) or a module importable from "
            f"the working directory {os.getcwd()}.",
        ) from e


def load_program(spec: ProgramSpec) -> tuple[Callable[..., Any], str]:
    """Return ``(function, file)`` for ``module:function`` / ``file.py:function``."""
    target, sep, func = spec.rpartition(":")
    if not sep or not target or not func:
        raise UsageError(
            "HL501",
            f"program {spec!r} must be written module:function or path/to/file.py:function",
            fix="Name the building function after a colon, e.g. `examples/echo.py:build`.",
        )
    module = _load_module(target)
    file = str(getattr(module, "__file__", target))
    fn = getattr(module, func, None)
    if not callable(fn):
        defined = sorted(
            n for n, v in vars(module).items()
            if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        )
        what = (
            f"has no function {func!r}" if fn is None
            else f"defines {func!r} as {type(fn).__name__} {fn!r:.40}, not as a function"
        )
        here = caller_site()
        raise UsageError(
            "HL501",
            f"{file} {what}" + (f"; its functions are: {', '.join(defined)}" if defined else ""),
            fix=f"Define `def {func}(flow: hl.FlowBuilder) -> None` in {os.path.basename(file)}, "
            "or name one of its functions after the colon.",
            site=here if here.known else Site(file, 0),
        )
    return fn, file


def build_graph(address: ProgramSpec) -> Graph:
    """Run the program's building function on a fresh builder and check the whole program.

    This is how every process of a deployment gets its graph: the same address builds the same
    graph everywhere, so node ids name the same operator in every process and no user function
    is ever pickled. (Programs built here get the core builder; running, simulating and deploying
    are not available inside a building function, which only describes the graph.)
    """
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # `module:function` resolves from the working directory
    fn, _ = load_program(address)
    flow = GraphBuilder(address)
    fn(flow)
    return flow.build()
