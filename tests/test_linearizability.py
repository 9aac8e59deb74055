"""The linearizability checker (hydrologic.testing.linearizability).

* known histories: concurrent writes read in either order, unknown outcomes that did or did not
  take effect, several keys checked on their own; and the classic violations (a stale read, a
  lost write, a read of a value never written, an increment applied twice or lost), each
  rejected with the key and the operations involved;
* properties (Hypothesis): a history recorded from a real sequential execution, every operation
  stretched over a random interval around its instant, is linearizable; the same sequential
  execution without overlap and with one read's reply corrupted is not, and the explanation
  names the key and that read; on small random histories the checker agrees with a brute-force
  search over every order;
* its speed on a 10,000-operation history.
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Any, Hashable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydrologic.testing.linearizability import COUNTER, REGISTER, Model, Op, Result, check


def w(key: str, v: Any, a: float, b: float | None, outcome: str = "ok", p: int = 0) -> Op:
    return Op(key, "set", value=v, invoke=a, complete=b, outcome=outcome, process=p)  # type: ignore[arg-type]


def r(key: str, out: Any, a: float, b: float | None, outcome: str = "ok", p: int = 0) -> Op:
    return Op(key, "get", output=out, invoke=a, complete=b, outcome=outcome, process=p)  # type: ignore[arg-type]


def inc(key: str, out: Any, a: float, b: float | None, outcome: str = "ok", p: int = 0) -> Op:
    return Op(key, "incr", output=out, invoke=a, complete=b, outcome=outcome, process=p)  # type: ignore[arg-type]


def model_of(key: Hashable) -> Model[Any]:
    return COUNTER if str(key).startswith("c") else REGISTER


# ---- known histories -----------------------------------------------------------------------------


def test_concurrent_writes_may_be_read_in_either_order() -> None:
    for first in ("1", "2"):
        h = [w("x", "1", 0, 2, p=1), w("x", "2", 1, 3, p=2), r("x", first, 4, 5, p=3)]
        assert check(h, REGISTER).valid
    # but once read, the order is fixed for a later reader
    h = [w("x", "1", 0, 2, p=1), w("x", "2", 1, 3, p=2), r("x", "2", 4, 5, p=3), r("x", "1", 6, 7, p=3)]
    res = check(h, REGISTER)
    assert res.valid is False
    assert "#3" in res.explain() and "'x'" in res.explain()


def test_a_read_concurrent_with_a_write_may_see_either_value() -> None:
    for seen in (None, "1"):
        assert check([w("x", "1", 0, 10), r("x", seen, 1, 2, p=1)], REGISTER).valid


def test_an_unknown_write_may_or_may_not_have_taken_effect() -> None:
    happened = [w("x", "1", 0, 1), w("x", "2", 2, None, "info"), r("x", "2", 50, 51)]
    never = [w("x", "1", 0, 1), w("x", "2", 2, None, "info"), r("x", "1", 50, 51)]
    assert check(happened, REGISTER).valid and check(never, REGISTER).valid
    # but not before it was invoked
    res = check([w("x", "1", 0, 1), r("x", "2", 2, 3), w("x", "2", 4, None, "info")], REGISTER)
    assert res.valid is False


def test_failed_operations_took_no_effect_and_unknown_reads_say_nothing() -> None:
    h = [w("x", "1", 0, 1), w("x", "2", 2, 3, "fail"), r("x", "9", 4, None, "info"), r("x", "1", 5, 6)]
    assert check(h, REGISTER).valid
    assert check([w("x", "2", 0, 1, "fail"), r("x", "2", 2, 3)], REGISTER).valid is False


def test_each_key_is_checked_on_its_own() -> None:
    h = [w("a", "1", 0, 1), w("b", "1", 0, 1), r("a", "1", 2, 3), r("b", None, 2, 3), r("c", None, 0, 1)]
    res = check(h, REGISTER)
    assert res.valid is False and res.keys == 3
    assert [f.key for f in res.failures] == ["b"]


def test_stale_read_is_rejected_with_the_key_and_the_operations() -> None:
    h = [w("k", "1", 0, 1, p=1), w("k", "2", 2, 3, p=1), r("k", "1", 4, 5, p=2)]
    res = check(h, REGISTER)
    assert res.valid is False
    (f,) = res.failures
    assert f.key == "k" and [op.value for op in f.prefix] == ["1", "2"] and f.state == "2"
    assert f.stuck is not None and f.stuck.f == "get" and f.stuck.output == "1"
    assert f.open_ops == [(f.stuck, "it returned '1', but the value is '2'")]
    text = res.explain()
    assert "key 'k'" in text and "SET 'k' '2'" in text and "GET 'k' -> '1'" in text


def test_lost_write_is_rejected() -> None:
    h = [w("k", "1", 0, 1), r("k", "1", 2, 3), w("k", "2", 4, 5), r("k", "1", 6, 7)]
    res = check(h, REGISTER)
    assert res.valid is False
    (f,) = res.failures
    assert f.stuck is not None and f.stuck.id == 3 and f.state == "2"


def test_read_of_a_value_never_written_is_rejected() -> None:
    h = [w("k", "1", 0, 5, p=1), r("k", "7", 1, 2, p=2)]
    res = check(h, REGISTER)
    assert res.valid is False
    (f,) = res.failures
    assert f.prefix == [] or all(op.f == "set" for op in f.prefix)
    assert any(op.output == "7" and "returned '7'" in why for op, why in f.open_ops)


def test_counter_increment_applied_twice_or_lost_is_rejected() -> None:
    ok = [inc("c", 1, 0, 1), inc("c", 2, 0.5, 2, p=1), r("c", 2, 3, 4)]
    assert check(ok, COUNTER).valid
    twice = [inc("c", 1, 0, 1), inc("c", 3, 2, 3), r("c", 3, 4, 5)]
    res = check(twice, COUNTER)
    assert res.valid is False and "incrementing 1 gives 2" in res.explain()
    lost = [inc("c", 1, 0, 1), inc("c", 2, 2, 3), r("c", 1, 4, 5)]
    assert check(lost, COUNTER).valid is False
    # an unknown increment may be counted or not, but not twice
    maybe = [inc("c", 1, 0, 1), inc("c", None, 2, None, "info"), r("c", 2, 4, 5), r("c", 2, 6, 7)]
    assert check(maybe, COUNTER).valid
    assert check(maybe[:2] + [r("c", 1, 4, 5)], COUNTER).valid
    assert check(maybe[:2] + [r("c", 3, 4, 5)], COUNTER).valid is False


def test_many_identical_unknown_increments_are_cheap() -> None:
    """40 timed-out INCRs, then a read of a number in between: 2**40 subsets, but the unknown
    increments are interchangeable, so the search is linear."""
    h = [inc("c", None, i * 0.01, None, "info", p=i) for i in range(40)] + [r("c", 17, 5, 6, p=99)]
    started = time.perf_counter()
    assert check(h, COUNTER).valid
    assert check(h + [r("c", 41, 7, 8, p=99)], COUNTER).valid is False
    assert time.perf_counter() - started < 5


def test_op_refuses_inconsistent_times_and_outcomes() -> None:
    with pytest.raises(ValueError):
        Op("k", "set", value=1, invoke=2, complete=1)
    with pytest.raises(ValueError):
        Op("k", "set", value=1, invoke=2, complete=None, outcome="ok")
    with pytest.raises(ValueError):
        check([Op("k", "cas", invoke=0, complete=1)], REGISTER)


# ---- properties ----------------------------------------------------------------------------------

VALUES = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def sequential_execution(draw: st.DrawFn, overlap: bool = True) -> list[Op]:
    """Operations executed one after another on a few registers and counters (the real replies),
    each then given an interval around its instant: overlapping at random when ``overlap``.
    Some operations lose their reply (``info``), and some that never happened are added as
    ``info`` or ``fail``."""
    n = draw(st.integers(1, 60))
    keys = draw(st.lists(st.sampled_from(["r0", "r1", "c0", "c1"]), min_size=1, max_size=4, unique=True))
    state: dict[str, Any] = {}
    ops: list[Op] = []
    t = 0.0
    for _ in range(n):
        key = draw(st.sampled_from(keys))
        t += draw(st.floats(0.01, 1.0)) if overlap else 10.0
        before = draw(st.floats(0, 3.0)) if overlap else draw(st.floats(0, 4.0))
        after = draw(st.floats(0, 3.0)) if overlap else draw(st.floats(0, 4.0))
        lost_reply = draw(st.integers(0, 9)) == 0
        p = draw(st.integers(0, 5))
        if key.startswith("c"):
            f = draw(st.sampled_from(["incr", "incr", "get"]))
            if f == "incr":
                state[key] = state.get(key, 0) + 1
            out = state.get(key)
            value = None
        else:
            f = draw(st.sampled_from(["set", "get"]))
            if f == "set":
                state[key] = draw(VALUES)
            value = state[key] if f == "set" else None
            out = state.get(key) if f == "get" else None
        if lost_reply:
            ops.append(Op(key, f, value, None, t - before, None, "info", p))
        else:
            ops.append(Op(key, f, value, out, t - before, t + after, "ok", p))
        if draw(st.integers(0, 14)) == 0:  # an operation that never took effect
            ghost_f = "incr" if key.startswith("c") else "set"
            ghost_v = None if ghost_f == "incr" else draw(VALUES)
            if draw(st.booleans()):
                ops.append(Op(key, ghost_f, ghost_v, None, t + after + 0.001, None, "info", p))
            else:
                ops.append(Op(key, ghost_f, ghost_v, None, t, t + 0.5, "fail", p))
    order = draw(st.permutations(range(len(ops))))  # the recorded order does not matter
    return [ops[i] for i in order]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequential_execution())
def test_histories_of_a_sequential_execution_with_random_overlap_are_linearizable(history: list[Op]) -> None:
    res = check(history, model_of)
    assert res.valid, res.explain()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequential_execution(overlap=False), st.data())
def test_a_corrupted_read_without_overlap_is_rejected_and_named(history: list[Op], data: st.DataObject) -> None:
    reads = [i for i, op in enumerate(history) if op.f == "get" and op.outcome == "ok"]
    if not reads:
        return
    i = data.draw(st.sampled_from(reads))
    old = history[i]
    wrong = data.draw(st.sampled_from(["zz", 999, None] + (["a", "b"] if not str(old.key).startswith("c") else [0, 1, 2])).filter(lambda v: v != old.output))
    # the sequential run's read is the only place that read can go: unless an unknown write of
    # that exact value was open, the corrupted reply is impossible
    unknown_writes = [op for op in history if op.key == old.key and op.outcome == "info" and op.invoke < old.complete]  # type: ignore[operator]
    if unknown_writes:
        return
    bad = Op(old.key, old.f, old.value, wrong, old.invoke, old.complete, old.outcome, old.process)
    history = history[:i] + [bad] + history[i + 1 :]
    res = check(history, model_of)
    assert res.valid is False, history
    (f,) = res.failures
    assert f.key == old.key
    assert any(op.id == i for op, _ in f.open_ops) or (f.stuck is not None and f.stuck.id == i), res.explain()
    assert f"#{i}" in res.explain()


def brute_force(history: list[Op], model: Model[Any]) -> bool:
    """Some order of the ok operations plus some subset of the unknown ones respects real time
    (a before b when a completed before b was invoked) and is legal for the model."""
    ops = [op for op in history if op.outcome != "fail" and not (op.outcome == "info" and model.is_read(op))]
    must = [op for op in ops if op.outcome == "ok"]
    maybe = [op for op in ops if op.outcome == "info"]
    for k in range(len(maybe) + 1):
        for extra in itertools.combinations(maybe, k):
            chosen = must + list(extra)
            for perm in itertools.permutations(chosen):
                if any(
                    b.complete is not None and b.complete < a.invoke for x, a in enumerate(perm) for b in perm[x + 1 :]
                ):
                    continue
                state = model.init()
                legal = True
                for op in perm:
                    ok, state = model.step(state, op)
                    if not ok:
                        legal = False
                        break
                if legal:
                    return True
    return False


@st.composite
def random_history(draw: st.DrawFn, counter: bool) -> list[Op]:
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 6))):
        a = draw(st.integers(0, 8))
        b = a + draw(st.integers(0, 4))
        outcome = draw(st.sampled_from(["ok", "ok", "ok", "info", "fail"]))
        complete = None if outcome == "info" else float(b)
        if counter:
            f = draw(st.sampled_from(["incr", "get"]))
            out = draw(st.sampled_from([None, 1, 2, 3]))
            ops.append(Op("k", f, None, out if outcome == "ok" else None, float(a), complete, outcome))
        else:
            f = draw(st.sampled_from(["set", "get"]))
            v = draw(st.sampled_from(["a", "b"])) if f == "set" else None
            out = draw(st.sampled_from([None, "a", "b"])) if f == "get" and outcome == "ok" else None
            ops.append(Op("k", f, v, out, float(a), complete, outcome))  # type: ignore[arg-type]
    return ops


@settings(max_examples=400, deadline=None)
@given(st.booleans().flatmap(lambda c: st.tuples(st.just(c), random_history(c))))
def test_agrees_with_brute_force_on_small_random_histories(case: tuple[bool, list[Op]]) -> None:
    counter, history = case
    model = COUNTER if counter else REGISTER
    history = [Op(op.key, op.f, op.value, op.output, op.invoke, op.complete, op.outcome, op.process, i) for i, op in enumerate(history)]
    assert bool(check(history, model).valid) == brute_force(history, model), history


# ---- speed ---------------------------------------------------------------------------------------


def concurrent_history(n_ops: int, keys: int, clients: int, seed: int, latency: float = 0.004) -> list[Op]:
    """A history recorded from ``clients`` clients each running one operation at a time on a
    shared store (a sequential execution; each op's instant inside its interval), ~2 % unknown."""
    rng = random.Random(seed)
    state: dict[str, Any] = {}
    busy_until = [0.0] * clients
    ops: list[Op] = []
    t = last_instant = 0.0
    for _ in range(n_ops):
        t += rng.expovariate(1000.0)
        c = min(range(clients), key=lambda j: busy_until[j])
        start = max(t, busy_until[c])
        instant = max(start, last_instant) + rng.uniform(0, latency / 2)  # the instants follow the apply order
        last_instant = instant
        end = instant + rng.uniform(0, latency)
        busy_until[c] = end
        key = f"{'c' if rng.random() < 0.3 else 'r'}{rng.randrange(keys)}"
        if key.startswith("c"):
            f = rng.choice(["incr", "incr", "get"])
            if f == "incr":
                state[key] = state.get(key, 0) + 1
            value, out = None, state.get(key)
        else:
            f = rng.choice(["set", "get"])
            value = f"{c}-{len(ops)}" if f == "set" else None
            if f == "set":
                state[key] = value
            out = state.get(key) if f == "get" else None
        if rng.random() < 0.02:
            ops.append(Op(key, f, value, None, start, None, "info", c))
        else:
            ops.append(Op(key, f, value, out, start, end, "ok", c))
    return ops


def test_speed_on_a_10000_operation_history() -> None:
    history = concurrent_history(10_000, keys=20, clients=10, seed=1)
    started = time.perf_counter()
    res: Result = check(history, model_of)
    took = time.perf_counter() - started
    print(f"\n10,000 operations, 20 keys, 10 clients: checked in {took:.2f} s")
    assert res.valid, res.explain()
    assert took < 60, took  # about 0.1 s on a quiet 2-core machine
    # one corrupted read in the same history is found
    i = next(i for i, op in enumerate(history) if op.f == "get" and op.outcome == "ok" and op.key == "r3" and op.output is not None)
    bad = history[i]
    history[i] = Op(bad.key, "get", None, "never-written", bad.invoke, bad.complete, "ok", bad.process)
    res = check(history, model_of)
    assert res.valid is False and [f.key for f in res.failures] == ["r3"]
    assert f"#{i}" in res.explain()
