"""The operator registry and the family modules of ``hydrologic.runtime.ops``.

The tick engine finds an operator by op name in ``OP_CLASSES``, which the family modules fill as
they are imported. These tests keep that registry whole (every op name once, every class an
``Op``), keep each family module small and holding the ops its family claims, and keep the
families independent of each other (they share only ``base``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import hydrologic.runtime.ops as ops_pkg
from hydrologic.ir.ops import OP_SPECS, Family
from hydrologic.runtime.ops import OP_CLASSES, Op
from hydrologic.runtime.ops.base import Stateful, op

# What each family claims, by op name: the operator table (``hydrologic.ir.ops``) says.
FAMILIES: dict[str, set[str]] = {f.value: {s.name for s in OP_SPECS.values() if s.family is f} for f in Family}

MAX_LINES = 300
PKG = ops_pkg.__name__


def _modules() -> dict[str, ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(ops_pkg.__path__)]
    return {n: importlib.import_module(f"{PKG}.{n}") for n in names}


def _registered_in(module: str) -> set[str]:
    return {n for n, cls in OP_CLASSES.items() if cls.__module__ == f"{PKG}.{module}"}


def test_the_package_is_base_plus_the_families() -> None:
    assert set(_modules()) == {"base", *FAMILIES}


@pytest.mark.parametrize("name", sorted({"base", *FAMILIES}))
def test_every_module_is_small(name: str) -> None:
    path = Path(_modules()[name].__file__ or "")
    lines = len(path.read_text().splitlines())
    assert 0 < lines < MAX_LINES, f"{path.name} has {lines} lines"


def test_every_registered_class_is_an_op_defined_in_a_family() -> None:
    assert OP_CLASSES
    for name, cls in OP_CLASSES.items():
        assert isinstance(cls, type) and issubclass(cls, Op), name
        assert cls is not Op, name
        assert cls.__module__.removeprefix(f"{PKG}.") in FAMILIES, (name, cls.__module__)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_registers_exactly_the_ops_it_claims(family: str) -> None:
    assert _registered_in(family) == FAMILIES[family]


def test_every_op_name_is_claimed_by_one_family_and_registered() -> None:
    claimed = [n for names in FAMILIES.values() for n in names]
    assert len(claimed) == len(set(claimed)), "an op name is claimed by two families"
    assert set(claimed) == set(OP_CLASSES)
    assert _registered_in("base") == set()


def test_registering_a_taken_name_raises_and_leaves_the_registry_as_it_was() -> None:
    before = dict(OP_CLASSES)

    class Impostor(Op):
        pass

    with pytest.raises(ValueError, match="'map'.*already registered to Map"):
        op("__registry_test_fresh__", "map")(Impostor)
    with pytest.raises(ValueError, match="'__registry_test_twice__'"):
        op("__registry_test_twice__", "__registry_test_twice__")(Impostor)
    assert OP_CLASSES == before


def test_a_fresh_name_registers_once() -> None:
    class Fresh(Op):
        pass

    try:
        assert op("__registry_test_fresh__")(Fresh) is Fresh
        assert OP_CLASSES["__registry_test_fresh__"] is Fresh
        with pytest.raises(ValueError):
            op("__registry_test_fresh__")(Fresh)
    finally:
        OP_CLASSES.pop("__registry_test_fresh__", None)


def test_family_traits_hold_across_each_family() -> None:
    # Fusion runs an operator's ``pipe`` inside its consumer, which is only sound when it keeps no
    # state: every fusable op is element-wise.
    fusable = {n for n, cls in OP_CLASSES.items() if cls.fusable}
    assert fusable and fusable <= FAMILIES["elementwise"]
    # Aggregates are scalars whose state is scoped like any stateful operator's.
    for n in FAMILIES["aggregates"]:
        cls = OP_CLASSES[n]
        assert cls.scalar and issubclass(cls, Stateful), n
    # The tick engine feeds next-tick operators at the end of a tick and asks them for work.
    for n in FAMILIES["next_tick"]:
        cls = OP_CLASSES[n]
        assert callable(getattr(cls, "capture", None)) and callable(getattr(cls, "has_work", None)), n


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_family_imports_only_public_names_from_base(family: str) -> None:
    path = Path(_modules()[family].__file__ or "")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            assert node.module == "base", f"{path.name} imports from .{node.module}"
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports {private} from .base"
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PKG + "."):
            pytest.fail(f"{path.name} imports {node.module} absolutely")
