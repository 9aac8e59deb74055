"""Misusing any public method with wrong arguments gives a BuildError at the caller's line,
never an AttributeError/TypeError raised from inside the library."""

from __future__ import annotations

import itertools
import traceback
from typing import Any

import hydrologic as hl
from hydrologic import nondet


class P: ...


class W: ...


class C: ...


BAD: list[Any] = [None, 5, "x", object(), [1], (lambda x: x)]


def _fresh() -> dict[str, Any]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    w = flow.cluster(W)
    flow.external(C)
    t = p.tick()
    s = p.source_iter([(1, 2)])
    return {
        "stream": s,
        "tick_stream": s.batch(t, nondet("x")),
        "keyed": s.into_keyed(),
        "singleton": s.count(),
        "optional": s.max(),
        "keyed_singleton": s.into_keyed().value_counts(),
        "tick_singleton": s.batch(t, nondet("x")).count(),
        "process": p,
        "cluster": w,
        "tick": t,
        "flow": flow,
    }


def test_garbage_arguments_never_crash_inside_the_library() -> None:
    names = {k: [n for n in dir(v) if not n.startswith("_") and callable(getattr(type(v), n, None))] for k, v in _fresh().items()}
    problems: list[str] = []
    for kind, methods in names.items():
        for method in methods:
            for nargs in (1, 2):
                for args in itertools.product(BAD, repeat=nargs):
                    obj = _fresh()[kind]
                    try:
                        getattr(obj, method)(*args)
                    except hl.BuildError as e:
                        assert e.site is not None and e.site.file == __file__, f"{kind}.{method}: site {e.site}"
                    except TypeError as e:
                        # Python's own argument binding (wrong arity) is raised at the call itself.
                        frames = traceback.extract_tb(e.__traceback__)
                        if len(frames) > 1:
                            problems.append(f"{kind}.{method}{tuple(type(a).__name__ for a in args)}: {e!r} at {frames[-1].filename}:{frames[-1].lineno}")
                    except Exception as e:  # noqa: BLE001 - that is the point of the test
                        frames = traceback.extract_tb(e.__traceback__)
                        problems.append(f"{kind}.{method}{tuple(type(a).__name__ for a in args)}: {e!r} at {frames[-1].filename}:{frames[-1].lineno}")
    assert not problems, "\n".join(sorted(set(problems))[:20])
