"""The package's layers import only downward, counting every import (lazy and type-only too).

Order, lowest first: types → ir → lang → storage → runtime → net → deploy → sim → std; then ``flow.py``
(``FlowBuilder``: build, then run, simulate or deploy) and the package ``__init__``; then ``cli``.
A module may import its own layer and any layer below it, never one above: a lower layer that
needs something from above is the sign of a fact living in the wrong room.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "hydrologic"
ORDER = ["types", "ir", "lang", "storage", "runtime", "net", "deploy", "sim", "std", "flow", "__init__", "cli"]


def _layer(parts: tuple[str, ...]) -> str:
    head = parts[0]
    return head.removesuffix(".py") if len(parts) == 1 else head


def _imports(path: Path) -> list[tuple[str, int]]:
    """(target layer, line) of every intra-package import in ``path``."""
    rel = path.relative_to(PKG).parts
    package = list(rel[:-1])
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            if not target:  # `from . import x` at the package root: x is the layer
                out.extend((a.name, node.lineno) for a in node.names)
            else:
                out.append((target[0], node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hydrologic."):
            out.append((node.module.split(".")[1], node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((a.name.split(".")[1], node.lineno) for a in node.names if a.name.startswith("hydrologic."))
    return out


def test_every_import_goes_down_the_layers() -> None:
    upward: list[str] = []
    for path in sorted(PKG.rglob("*.py")):
        mine = _layer(path.relative_to(PKG).parts)
        for target, line in _imports(path):
            if target in ORDER and mine in ORDER and ORDER.index(target) > ORDER.index(mine):
                upward.append(f"{path.relative_to(PKG)}:{line} ({mine}) imports {target}")
    assert not upward, "imports that climb a layer:\n" + "\n".join(upward)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    assert ("sim", 1) in _imports_of_text(tmp_path, "lang/x.py", "from ..sim import Sim\n")
    assert ("deploy", 2) in _imports_of_text(tmp_path, "lang/x.py", "def f():\n    from ..deploy.launch import deploy\n")


def _imports_of_text(tmp_path: Path, rel: str, text: str) -> list[tuple[str, int]]:
    global PKG
    saved = PKG
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    PKG = tmp_path
    try:
        return _imports(path)
    finally:
        PKG = saved
