"""The operators added for parity with Hydro: exact outputs through the in-process runtime, their
build-time rules, and the simulator at the one nondet site they add (``KeyedSingleton.batch``).

Each test builds the smallest program that can tell the intended behaviour from a plausible
wrong one (order kept or lost, per-key state or shared state, the state reset per tick or not).
"""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import Break, Continue, Return, Yield, nondet, proof
from hydrologic.sim import sim
from runtime_support import check_idle_noop


class P: ...


class C: ...


ND = nondet("tests: the in-process driver releases everything that arrived")


@pytest.fixture(autouse=True, params=[(True, True), (False, True), (True, False)], ids=["fused", "unfused", "generic"])
def _fusion(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each program runs fused and unfused through the generated tick function, and through the
    generic operator-by-operator path, which also checks that skipping idle operators is right."""
    fuse, compiled = request.param
    monkeypatch.setattr("hydrologic.runtime.tick.FUSION", fuse)
    monkeypatch.setattr("hydrologic.runtime.tick.COMPILE", compiled)
    if not compiled:
        check_idle_noop(monkeypatch)


def _proc() -> tuple[hl.FlowBuilder, hl.Process[P]]:
    flow = hl.FlowBuilder()
    return flow, flow.process(P)


# ---- Stream ---------------------------------------------------------------------------------------


def test_stream_flatten_filter_if_keys_is_empty_nested_loop() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(list[int])
    flat = xs.flatten_ordered().sim_output()
    flat_u = xs.flatten_unordered().sim_output()
    b = xs.batch(tick, ND)
    on_inp, on = p.sim_input(bool)
    gate = on.batch(tick, ND).last().unwrap_or(tick.singleton(False))
    gated = b.filter_if(gate).all_ticks().sim_output()
    empty = b.is_empty().all_ticks().sim_output()
    pairs = p.source_iter([("a", 1), ("b", 2), ("a", 3)]).keys().sim_output()
    inner = p.source_iter(["x", "y"])
    nested = p.source_iter([1, 2]).cross_product_nested_loop(inner).sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert pairs.collect() == ["a", "b"]
        assert nested.collect() == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]
        assert empty.collect() == [True]
        inp.send([1, 2])
        assert flat.collect() == [1, 2] and sorted(flat_u.collect()) == [1, 2]
        assert gated.collect() == [] and empty.collect() == [False]
        on_inp.send(True)
        inp.send([3])
        assert gated.collect() == [[3]]


def test_stream_nested_loop_keeps_order_and_types_say_so() -> None:
    flow, p = _proc()
    outer_in, outer = p.sim_input(int)
    pairs = outer.cross_product_nested_loop(p.source_iter([10, 20]))
    assert hl.TotalOrder.__name__ in repr(pairs)  # both sides ordered: the pairs are too
    out = pairs.sim_output()
    with flow.run_in_process():
        outer_in.send_many([1, 2])
        assert out.collect() == [(1, 10), (1, 20), (2, 10), (2, 20)]
        outer_in.send(3)
        assert out.collect() == [(3, 10), (3, 20)]


def test_stream_generator_yields_returns_continues_and_breaks() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(int)

    def step(total: int, x: int) -> tuple[int, hl.Generate[str]]:
        total += x
        if total > 10:
            return total, Return(f"done at {total}")
        if x == 0:
            return total, Break()
        return total, (Yield(f"even {total}") if total % 2 == 0 else Continue())

    out = xs.generator(lambda: 0, step).sim_output()
    stops = p.source_iter([1, 0, 2]).generator(lambda: 0, step).sim_output()
    with flow.run_in_process():
        inp.send_many([1, 1, 3])
        assert out.collect() == ["even 2"]
        inp.send_many([5, 4, 4])  # 10 is even, 14 returns, the 4 after it is ignored
        assert out.collect() == ["even 10", "done at 14"]
        inp.send(2)
        assert out.collect() == []
        assert stops.collect() == []  # 1 is odd (Continue), 0 breaks, 2 is never seen


def test_generator_state_is_per_tick_inside_a_tick() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(int)
    counts = xs.batch(p.tick(), ND).generator(lambda: 0, lambda n, x: (n + 1, Yield(n))).all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many([7, 7])
        assert counts.collect() == [0, 1]
        inp.send(7)
        assert counts.collect() == [0]


def test_generator_step_returning_something_else_is_the_users_error() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(int)
    xs.generator(lambda: 0, lambda n, x: x).sim_output()  # type: ignore[arg-type, return-value]  # pyright: ignore
    with flow.run_in_process() as run:
        inp.send(1)
        with pytest.raises(hl.UserFunctionError, match=r"`generator`.*Yield/Return/Continue/Break"):
            run.run_until_idle()


def test_repeat_with_keys() -> None:
    flow, p = _proc()
    tick = p.tick()
    ks = p.source_iter([("a", 0), ("b", 0)]).into_keyed().batch(tick, ND).first()
    out = tick.source_iter([3, 1, 2]).repeat_with_keys(ks).entries().all_ticks().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        got = out.collect()
        assert [v for k, v in got if k == "a"] == [3, 1, 2] and [v for k, v in got if k == "b"] == [3, 1, 2]


def test_make_guarantee_helpers_return_the_same_collection_or_refuse() -> None:
    flow, p = _proc()
    s = p.source_iter([1])
    assert s.make_bounded() is s and s.make_totally_ordered() is s and s.make_exactly_once() is s
    with pytest.raises(hl.GuaranteeError, match="HL101"):
        s.weaken_ordering().make_totally_ordered()  # type: ignore[misc]  # pyright: ignore
    with pytest.raises(hl.GuaranteeError, match="HL102"):
        s.weaken_retries().make_exactly_once()  # type: ignore[misc]  # pyright: ignore
    _, unbounded = p.sim_input(int)
    with pytest.raises(hl.GuaranteeError, match="HL105"):
        unbounded.make_bounded()  # type: ignore[misc]  # pyright: ignore


def test_location_accessors() -> None:
    flow, p = _proc()
    c = flow.cluster(C)
    tick = p.tick()
    s = p.source_iter([1])
    assert s.location().id() == p.id() and isinstance(s.location(), hl.Process)
    assert isinstance(c.self_id().location(), hl.Cluster)
    b = s.batch(tick, ND)
    assert isinstance(b.location(), hl.Tick) and b.location().outer().id() == p.id()
    assert tick.root().id() == p.id() and tick.try_tick() is None and p.root() is p
    assert isinstance(p.try_tick(), hl.Tick)
    # a tick got back from a collection is usable like the original
    again = b.location()
    assert s.batch(again, ND).count() is not None
    assert b.count().location().id() == tick.id()


# ---- Singleton and Optional -----------------------------------------------------------------------


def test_singleton_combinators() -> None:
    flow, p = _proc()
    tick = p.tick()
    yes, no = tick.singleton(True), tick.singleton(False)
    val = tick.singleton([3, 1])
    outs = {
        "and": yes.and_(no), "or": yes.or_(no), "eq": val.equals(tick.singleton([3, 1])),
        "fm": val.filter_map(lambda v: None if len(v) > 5 else len(v)), "fm_none": val.filter_map(lambda v: None),
        "if_yes": val.filter_if(yes), "if_no": val.filter_if(no),
        "opt": tick.singleton(None).into_optional().is_none(), "opt2": tick.singleton(4).into_optional(),
        "or_": tick.none(int).or_(tick.optional_first_tick(5)), "or_first": tick.optional_first_tick(1).or_(tick.optional_first_tick(5)),
        "into": tick.none(int).into_singleton(), "if_opt": tick.optional_first_tick(9).filter_if(yes),
        "ofm": tick.optional_first_tick(4).filter_map(lambda v: v * 2),
    }  # fmt: skip
    latest = {k: v.latest() for k, v in outs.items()}
    streams = {
        "flat_o": val.flatten_ordered(), "flat_u": val.flat_map_unordered(lambda v: {x * 10 for x in v}),
        "flatten_u": val.flatten_unordered(), "opt_flat": tick.optional_first_tick([7, 8]).flatten_ordered(),
        "opt_map": tick.optional_first_tick(2).flat_map_ordered(lambda v: range(v)),
        "opt_map_u": tick.none(int).flat_map_unordered(lambda v: [v]),
    }  # fmt: skip
    s_out = {k: v.all_ticks().sim_output() for k, v in streams.items()}
    ticks = tick.singleton(6).all_ticks().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        got = {k: run.value(v) for k, v in latest.items()}
        assert got == {
            "and": False, "or": True, "eq": True, "fm": 2, "fm_none": None, "if_yes": [3, 1], "if_no": None,
            "opt": True, "opt2": 4, "or_": 5, "or_first": 1, "into": None, "if_opt": 9, "ofm": 8,
        }  # fmt: skip
        got_s = {k: v.collect() for k, v in s_out.items()}
        assert got_s["flat_o"] == [3, 1] and sorted(got_s["flat_u"]) == [10, 30] and sorted(got_s["flatten_u"]) == [1, 3]
        assert got_s["opt_flat"] == [7, 8] and got_s["opt_map"] == [0, 1] and got_s["opt_map_u"] == []
        assert ticks.collect() == [6]


def test_optional_or_follows_both_sides_over_ticks() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(tuple[str, int])
    a, b = xs.batch(tick, ND).partition(lambda sv: sv[0] == "a")
    first_a = a.map(lambda sv: sv[1]).last()
    first_b = b.map(lambda sv: sv[1]).last()
    either = first_a.or_(first_b).into_singleton().all_ticks().sim_output()
    with flow.run_in_process() as run:
        inp.send(("a", 1))
        assert either.collect() == [1]
        inp.send(("b", 2))
        assert either.collect() == [2]
        inp.send_many([("b", 4), ("a", 3)])  # one tick with both: self wins
        assert either.collect() == [3]
        run.run_until_idle()
        assert either.collect() == []


# ---- KeyedStream ----------------------------------------------------------------------------------


def test_keyed_elementwise_family() -> None:
    flow, p = _proc()
    tick = p.tick()
    src = p.source_iter([(1, "2"), (1, "x"), (2, "4")]).into_keyed()
    seen: list[Any] = []
    outs = {
        "fm": src.filter_map(lambda s: int(s) if s.isdigit() else None),
        "fmk": src.filter_map_with_key(lambda kv: kv[0] * 10 if kv[1].isdigit() else None),
        "flat": src.flat_map_ordered(lambda s: [s, s]),
        "prefix": src.prefix_key(lambda kv: kv[0] % 2),
        "insp": src.inspect(seen.append),
    }
    nested = p.source_iter([((1, 10), 2), ((1, 10), 3), ((2, 20), 4)]).into_keyed().drop_key_prefix()
    flat_u = p.source_iter([(1, [2, 3])]).into_keyed().flatten_unordered()
    flat_o = p.source_iter([(1, [2, 3]), (1, [4])]).into_keyed().flatten_ordered()
    keys = p.source_iter([(1, "a"), (2, "b"), (1, "c")]).into_keyed().keys().sim_output()
    cs = src.batch(tick, ND).cross_singleton(tick.singleton("s")).entries().all_ticks().sim_output()
    o = {k: v.entries().sim_output() for k, v in outs.items()}
    n_out, fu, fo = nested.entries().sim_output(), flat_u.entries().sim_output(), flat_o.entries().sim_output()
    with_key: list[Any] = []
    src.inspect_with_key(with_key.append).entries().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        got = {k: v.collect() for k, v in o.items()}
        assert got["fm"] == [(1, 2), (2, 4)] and got["fmk"] == [(1, 10), (2, 20)]
        assert got["flat"] == [(1, "2"), (1, "2"), (1, "x"), (1, "x"), (2, "4"), (2, "4")]
        assert got["prefix"] == [((1, 1), "2"), ((1, 1), "x"), ((0, 2), "4")]
        assert seen == ["2", "x", "4"] and with_key == [(1, "2"), (1, "x"), (2, "4")]
        assert sorted(n_out.collect()) == [(10, 2), (10, 3), (20, 4)]
        assert sorted(fu.collect()) == [(1, 2), (1, 3)] and fo.collect() == [(1, 2), (1, 3), (1, 4)]
        assert sorted(keys.collect()) == [1, 2]
        assert sorted(cs.collect()) == [(1, ("2", "s")), (1, ("x", "s")), (2, ("4", "s"))]


def test_keyed_scan_enumerate_generator_are_per_key() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(tuple[int, int])
    ks = xs.into_keyed()
    scans = ks.scan(lambda: 0, lambda a, x: a + x).entries().sim_output()
    enums = ks.enumerate().entries().sim_output()

    def step(acc: int, x: int) -> tuple[int, hl.Generate[str]]:
        acc += x
        if acc > 100:
            return acc, Return("done!")
        return acc, (Yield("even") if acc % 2 == 0 else Continue())

    gen = ks.generator(lambda: 0, step).entries().sim_output()
    early = ks.fold_early_stop(lambda: 0, lambda a, x: (a + x, x % 2 == 0))
    with flow.run_in_process() as run:
        inp.send_many([(0, 1), (0, 3), (1, 3), (1, 4), (0, 100), (0, 10), (1, 3)])
        got = scans.collect()
        assert [v for k, v in got if k == 0] == [1, 4, 104, 114] and [v for k, v in got if k == 1] == [3, 7, 10]
        e = enums.collect()
        assert [v for k, v in e if k == 0] == [(0, 1), (1, 3), (2, 100), (3, 10)]
        assert [v for k, v in e if k == 1] == [(0, 3), (1, 4), (2, 3)]
        g = gen.collect()
        assert [v for k, v in g if k == 0] == ["even", "done!"] and [v for k, v in g if k == 1] == ["even"]
        # key 0: 1, 3 odd, 100 even -> released at 104; key 1: 3 odd, 4 even -> 7
        assert run.value(early) == {0: 104, 1: 7}
        inp.send((1, 2))
        assert run.value(early) == {0: 104, 1: 7}  # a released key ignores later values


def test_keyed_unique_sort_chain_merge_join() -> None:
    flow, p = _proc()
    tick = p.tick()
    a = p.source_iter([(1, 10), (2, 20), (1, 10), (2, 30), (1, 5)]).into_keyed()
    uniq = a.unique().entries().sim_output()
    b = a.batch(tick, ND)
    sorted_ = b.sort().entries().all_ticks().sim_output()
    by_neg = b.sort(key=lambda v: -v).entries().all_ticks().sim_output()
    chained = b.map(lambda v: v + 1).chain(b).entries().all_ticks().sim_output()
    other = p.source_iter([(1, "x"), (3, "z")]).into_keyed()
    joined = a.join_keyed_stream(other).entries().sim_output()
    x_in, x = p.sim_input(tuple[int, int])
    y_in, y = p.sim_input(tuple[int, int])
    merged = x.into_keyed().merge_unordered(y.into_keyed()).entries().sim_output()
    with flow.run_in_process():
        u = uniq.collect()
        assert [v for k, v in u if k == 1] == [10, 5] and [v for k, v in u if k == 2] == [20, 30]
        s = sorted_.collect()
        assert [v for k, v in s if k == 1] == [5, 10, 10] and [v for k, v in s if k == 2] == [20, 30]
        assert [v for k, v in by_neg.collect() if k == 1] == [10, 10, 5]
        c = chained.collect()
        assert [v for k, v in c if k == 1] == [11, 11, 6, 10, 10, 5]
        assert sorted(joined.collect()) == [(1, (5, "x")), (1, (10, "x")), (1, (10, "x"))]
        x_in.send((1, 1))
        y_in.send((1, 2))
        assert sorted(merged.collect()) == [(1, 1), (1, 2)]


def test_keyed_get_lookup_and_join_keyed_singleton() -> None:
    flow, p = _proc()
    tick = p.tick()
    req = p.source_iter([(1, 10), (1, 11), (2, 20)]).into_keyed().batch(tick, ND)
    table = p.source_iter([(10, 100), (11, 110)]).into_keyed().batch(tick, ND).first()
    multi = p.source_iter([(10, 100), (10, 101), (11, 110)]).into_keyed().batch(tick, ND)
    key_in, key = p.sim_input(int)
    got_key = req.get(key.batch(tick, ND).last()).all_ticks().sim_output()
    by_single = req.lookup_keyed_singleton(table).entries().all_ticks().sim_output()
    by_stream = req.lookup_keyed_stream(multi).entries().all_ticks().sim_output()
    names = p.source_iter([(1, "one")]).into_keyed().batch(tick, ND).first()
    joined = req.join_keyed_singleton(names).entries().all_ticks().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert got_key.collect() == []  # no key yet
        assert sorted(by_single.collect()) == [(1, (10, 100)), (1, (11, 110)), (2, (20, None))]
        assert sorted(by_stream.collect()) == [(1, (10, 100)), (1, (10, 101)), (1, (11, 110)), (2, (20, None))]
        assert joined.collect() == [(1, (10, "one")), (1, (11, "one"))]
        key_in.send(1)
        assert got_key.collect() == []  # the keyed batch was in the first tick only
    flow2, p2 = _proc()
    _, k = p2.sim_input(int)
    data = p2.source_iter([(1, 10), (2, 20), (1, 11)]).into_keyed()
    with pytest.raises(hl.GuaranteeError, match="HL105"):
        data.get(k.max())  # type: ignore[arg-type]  # pyright: ignore


def test_keyed_get_in_a_tick_keeps_order() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(tuple[int, int])
    k_in, k = p.sim_input(int)
    key = k.batch(tick, ND).last()
    got = xs.into_keyed().batch(tick, ND).get(key).all_ticks().sim_output()
    with flow.run_in_process() as run:
        k_in.send(1)
        run.run_until_idle()
        inp.send_many([(1, 3), (2, 9), (1, 1)])
        assert got.collect() == []  # the key arrived in an earlier tick: this tick has none
    flow, p = _proc()
    tick = p.tick()
    both_in, both = p.sim_input(tuple[int, int])
    b = both.batch(tick, ND)
    key2 = b.map(lambda kv: kv[0]).first()
    got2 = b.into_keyed().get(key2).all_ticks().sim_output()
    with flow.run_in_process():
        both_in.send_many([(1, 3), (2, 9), (1, 1)])
        assert got2.collect() == [3, 1]


def test_reduce_watermark_drops_keys_below_the_mark() -> None:
    flow, p = _proc()
    tick = p.tick()
    nums = p.source_iter([(0, False), (1, False), (2, False), (2, True)]).into_keyed().batch(tick, ND)
    mark = tick.singleton(2)
    out = nums.reduce_watermark(mark, lambda a, x: a or x).entries().all_ticks().sim_output()
    # at the top level the state persists and the mark advances
    inp, xs = p.sim_input(tuple[int, int])
    m_in, m = p.sim_input(int)
    top_mark = m.max()  # a live top-level optional: the highest mark so far
    top = xs.into_keyed().reduce_watermark(top_mark, lambda a, x: a + x)
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert out.collect() == [(2, True)]
        inp.send_many([(1, 1), (2, 2), (3, 3), (1, 1)])
        assert run.value(top) == {1: 2, 2: 2, 3: 3}
        m_in.send(2)
        inp.send((3, 1))
        assert run.value(top) == {2: 2, 3: 4}
        inp.send_many([(1, 5), (2, 1)])
        assert run.value(top) == {2: 3, 3: 4}


def test_reduce_watermark_proof_rules_at_build_time() -> None:
    flow, p = _proc()
    tick = p.tick()
    unordered = p.source_iter([(1, 2)]).into_keyed().weaken_ordering().batch(tick, ND)
    with pytest.raises(hl.GuaranteeError, match="HL103"):
        unordered.reduce_watermark(tick.singleton(0), lambda a, x: a + x)  # type: ignore[call-overload]  # pyright: ignore
    unordered.reduce_watermark(tick.singleton(0), lambda a, x: a + x, commutative=proof("addition commutes"))
    with pytest.raises(hl.LocationError, match="HL201"):
        p.source_iter([(1, 2)]).into_keyed().reduce_watermark(tick.singleton(0), lambda a, x: a + x)  # type: ignore[arg-type]  # pyright: ignore


# ---- KeyedSingleton -------------------------------------------------------------------------------


def test_keyed_singleton_combinators() -> None:
    flow, p = _proc()
    tick = p.tick()
    ks = p.source_iter([(1, 10), (2, 20), (3, 30)]).into_keyed().batch(tick, ND).first()
    other = p.source_iter([(1, "a"), (3, "c")]).into_keyed().batch(tick, ND).first()
    by_value = p.source_iter([(10, "ten")]).into_keyed().batch(tick, ND).first()
    seen: list[Any] = []
    vals = {
        "mwk": ks.map_with_key(lambda kv: kv[0] + kv[1]), "count": ks.key_count(), "whole": ks.into_singleton(),
        "max": ks.get_max_key(), "fm": ks.filter_map(lambda v: v if v > 10 else None),
        "not_in": ks.filter_key_not_in(tick.source_iter([2])), "join": ks.join_keyed_singleton(other),
        "lookup": ks.lookup_keyed_singleton(by_value), "insp": ks.inspect(seen.append).inspect_with_key(seen.append),
    }  # fmt: skip
    latest = {k: v.latest() for k, v in vals.items()}
    as_stream = ks.into_keyed_stream().entries().all_ticks().sim_output()
    looked = ks.lookup_keyed_stream(p.source_iter([(10, "x"), (10, "y")]).into_keyed().batch(tick, ND)).entries().all_ticks().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        got = {k: run.value(v) for k, v in latest.items()}
        assert got == {
            "mwk": {1: 11, 2: 22, 3: 33}, "count": 3, "whole": {1: 10, 2: 20, 3: 30}, "max": (3, 30),
            "fm": {2: 20, 3: 30}, "not_in": {1: 10, 3: 30}, "join": {1: (10, "a"), 3: (30, "c")},
            "lookup": {1: (10, "ten"), 2: (20, None), 3: (30, None)}, "insp": {1: 10, 2: 20, 3: 30},
        }  # fmt: skip
        assert sorted(seen, key=repr) == sorted([10, 20, 30, (1, 10), (2, 20), (3, 30)], key=repr)
        assert sorted(as_stream.collect()) == [(1, 10), (2, 20), (3, 30)]
        assert sorted(looked.collect()) == [(1, (10, "x")), (1, (10, "y")), (2, (20, None)), (3, (30, None))]


def test_keyed_singleton_defer_tick_and_batch() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(tuple[str, int])
    counts = xs.into_keyed().fold(lambda: 0, lambda a, x: a + x)  # top-level, live
    batched = counts.batch(tick, ND)
    prev = batched.defer_tick()
    now_out = batched.entries().all_ticks().sim_output()
    prev_out = prev.entries().all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many([("a", 1), ("b", 2)])
        assert sorted(now_out.collect()) == [("a", 1), ("b", 2)]
        inp.send(("a", 5))
        assert now_out.collect() == [("a", 6)]  # only the entry that changed
        # the tick after each batch sees it as last tick's map
        assert sorted(prev_out.collect()) == [("a", 1), ("a", 6), ("b", 2)]


def test_keyed_singleton_batch_is_a_nondet_site_the_simulator_explores() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(tuple[str, int])
    counts = xs.into_keyed().fold(lambda: 0, lambda a, x: a + x)
    seen = counts.batch(tick, nondet("which changes this tick sees")).entries().all_ticks().sim_output()
    sites = [s.reason for s in flow.nondet_sites()]
    assert "which changes this tick sees" in sites
    runs: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        inp.send(("a", 1))
        inp.send(("a", 2))
        runs.add(tuple(seen.collect()))

    n = sim(flow).exhaustive(scenario)
    assert n > 1
    # the final value is always seen; whether the intermediate one is depends on the batching
    assert runs == {(("a", 3),), (("a", 1), ("a", 3))}


def test_parity_ops_add_no_other_nondet_site_and_run_once_in_the_simulator() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(tuple[int, int])
    ks = xs.into_keyed()
    out = ks.enumerate().scan(lambda: 0, lambda a, iv: a + iv[1]).entries().sim_output()
    assert flow.nondet_sites() == []

    def scenario() -> None:
        inp.send_many([(1, 1), (1, 2), (2, 5)])
        out.assert_yields_only_unordered([(1, 1), (1, 3), (2, 5)])

    assert sim(flow).exhaustive(scenario) == 1


def test_generate_values_compare_by_kind_and_value() -> None:
    assert Yield(1) == Yield(1) and Yield(1) != Return(1) and Yield(1) != Yield(2)
    assert Continue() == Continue() and Break() != Continue()
    assert repr(Return("x")) == "Return('x')" and len({Yield(1), Yield(1), Return(1)}) == 2
    match Yield(3):
        case Yield(v):
            assert v == 3


def test_reduce_watermark_claims_are_tested_by_the_simulator_not_trusted() -> None:
    from hydrologic.sim import FalseClaimError

    def program(f: Any, claim: str) -> tuple[hl.FlowBuilder, Any]:
        flow, p = _proc()
        tick = p.tick()
        inp, xs = p.sim_input(tuple[int, int])
        mark = tick.singleton(1)
        per_key = xs.into_keyed().weaken_ordering().batch(tick, nondet("a tick of values"))
        out = per_key.reduce_watermark(mark, f, commutative=proof(claim)).entries().all_ticks().sim_output()

        def scenario() -> None:
            inp.send_many([(1, 9), (1, 4), (1, 7), (0, 5)])
            out.collect()

        return flow, scenario

    flow, scenario = program(lambda a, b: a - b, "subtraction commutes (it does not)")
    with pytest.raises(FalseClaimError, match=r"`reduce_watermark` claims commutative=proof\('subtraction commutes \(it does not\)'\)"):
        sim(flow).exhaustive(scenario)
    flow, scenario = program(lambda a, b: a + b, "addition commutes")
    assert sim(flow).exhaustive(scenario) >= 1


def test_live_top_level_combinators_follow_their_inputs() -> None:
    flow, p = _proc()
    inp, words = p.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    n_keys, top, tagged = counts.key_count(), counts.get_max_key(), counts.map_with_key(lambda kv: f"{kv[0]}={kv[1]}")
    many = counts.into_singleton().map(lambda d: len(d) > 1)
    both = many.and_(n_keys.map(lambda n: n < 3))
    changes = tagged.entries().sim_output()
    with flow.run_in_process() as run:
        inp.send_many(["b", "a", "b"])
        assert (run.value(n_keys), run.value(top), run.value(both)) == (2, ("b", 2), True)
        assert sorted(changes.collect()) == [("a", "a=1"), ("b", "b=2")]
        inp.send("c")
        assert (run.value(n_keys), run.value(top), run.value(both)) == (3, ("c", 1), False)
        assert changes.collect() == [("c", "c=1")]  # only the entry that changed
