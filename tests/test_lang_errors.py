"""Build-time errors: every misuse surfaces as a BuildError at the user's line, with a code."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet, proof


class P: ...


class Q: ...


class W: ...


class C: ...


def here() -> int:
    """The line number of the caller (to compare with error sites)."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def raises(code: str, fn: Callable[[], object], cls: type[hl.BuildError] = hl.BuildError) -> hl.BuildError:
    with pytest.raises(cls) as info:
        fn()
    err = info.value
    assert err.code == code, str(err)
    assert err.site is not None and err.site.file == __file__, f"site {err.site} is not in the test file"
    assert code in str(err) and "fix:" in str(err)
    return err


# ---- nondet and proof ------------------------------------------------------------------------


def test_empty_nondet_reason_is_rejected_at_the_call() -> None:
    err = raises("HL302", lambda: nondet("   "), hl.NonDetError)
    assert err.site is not None and err.site.line == here() - 1


def test_nondet_reason_must_be_a_string() -> None:
    raises("HL302", lambda: nondet(42), hl.NonDetError)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_proof_reason_must_not_be_empty() -> None:
    raises("HL302", lambda: proof(""), hl.NonDetError)


def test_nondet_sites_list_every_site_with_reason_and_forwarded_chain() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    tick = p.tick()
    inp, s = p.sim_input(int)
    outer = nondet("the caller accepts any batching")
    line_batch = here() + 1
    b = s.batch(tick, nondet("batches only feed a commutative sum", outer))
    b.count().into_stream().all_ticks().sim_output()
    line_assume = here() + 1
    s.weaken_ordering().assume_ordering(nondet("arrival order is fine for logging")).sim_output()
    sites = flow.nondet_sites()
    assert [(x.op, x.site.line, x.reason) for x in sites] == [
        ("batch", line_batch, "batches only feed a commutative sum"),
        ("assume_ordering", line_assume, "arrival order is fine for logging"),
    ]
    assert sites[0].forwarded == ("the caller accepts any batching",)
    assert "Tick#0[Process[P]]" in str(sites[0])
    del inp


def test_require_no_nondet_fails_listing_every_site() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    tick = p.tick()
    _, s = p.sim_input(int)
    s.batch(tick, nondet("one")).all_ticks().sim_output()
    s.weaken_ordering().assume_ordering(nondet("two")).sim_output()
    flow.require(no_nondet=True)
    with pytest.raises(hl.NonDetError) as info:
        flow.build()
    msg = str(info.value)
    assert info.value.code == "HL303"
    assert "'one'" in msg and "'two'" in msg and "2 nondet site(s)" in msg


def test_require_no_nondet_passes_for_a_deterministic_program() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    p.source_iter([1, 2]).map(lambda x: x + 1).sim_output()
    flow.require(no_nondet=True)
    flow.build()
    assert flow.nondet_sites() == []


def test_missing_nondet_token() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    tick = p.tick()
    s = p.source_iter([1])
    err = raises("HL301", lambda: s.batch(tick, "because"), hl.NonDetError)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert "nondet(" in str(err)


# ---- guarantee errors name the origin of the weakness ----------------------------------------


def test_guarantee_error_names_needed_present_and_origin() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    a = p.source_iter([(1, "a")])
    b = p.source_iter([(1, "b")])
    join_line = here() + 1
    joined = a.join(b)
    mapped = joined.map(lambda kv: kv[0])
    err = raises("HL101", lambda: mapped.first(), hl.GuaranteeError)  # type: ignore[misc]  # pyright: ignore
    text = str(err)
    assert "needed:  TotalOrder" in text
    assert "present: NoOrder" in text
    assert f"`join` at {__file__.split('/')[-1]}" in text or f":{join_line}" in text
    assert f":{join_line}" in str(err.origin)


def test_retries_origin_is_reported() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    weak_line = here() + 1
    s = p.source_iter([1]).weaken_retries()
    err = raises("HL102", lambda: s.count(), hl.GuaranteeError)  # type: ignore[misc]  # pyright: ignore
    assert f":{weak_line}" in str(err.origin)


# ---- bad arguments never leak internal exceptions --------------------------------------------


def test_non_callable_function_argument() -> None:
    flow = hl.FlowBuilder()
    s = flow.process(P).source_iter([1])
    err = raises("HL501", lambda: s.map(5), hl.UsageError)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert "`map` expects a function" in str(err)


def test_wrong_collection_argument() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    s = p.source_iter([(1, 2)])
    raises("HL501", lambda: s.join([(1, 2)]), hl.UsageError)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    raises("HL501", lambda: s.cross_singleton(s), hl.UsageError)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    raises("HL501", lambda: p.source_iter(5), hl.UsageError)  # type: ignore[call-overload, arg-type]  # pyright: ignore


def test_location_tag_must_be_a_class() -> None:
    raises("HL501", lambda: hl.FlowBuilder().process("leader"), hl.UsageError)  # type: ignore[arg-type]  # pyright: ignore


def test_same_tag_twice_is_two_locations() -> None:
    flow = hl.FlowBuilder()
    a = flow.process(P).source_iter([(1, 1)])
    b = flow.process(P).source_iter([(1, 2)])
    err = raises("HL201", lambda: a.join(b), hl.LocationError)
    assert "Process[P]" in str(err) and "Process[P#1]" in str(err)


def test_batch_into_a_tick_of_another_location() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    s = p.source_iter([1])
    err = raises("HL202", lambda: s.batch(q.tick(), nondet("x")), hl.LocationError)  # type: ignore[arg-type]  # pyright: ignore
    assert "Process[Q]" in str(err)


def test_network_target_kinds() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    w = flow.cluster(W)
    c = flow.external(C)
    s = p.source_iter([1])
    raises("HL203", lambda: s.send(w), hl.LocationError)  # type: ignore[call-overload, arg-type]  # pyright: ignore
    raises("HL203", lambda: s.broadcast(p, nondet("m")), hl.LocationError)  # type: ignore[call-overload, arg-type]  # pyright: ignore
    raises("HL204", lambda: s.send_external(p, name="x"), hl.LocationError)  # type: ignore[arg-type]  # pyright: ignore
    raises("HL204", lambda: p.source_external(w, name="y"), hl.LocationError)  # type: ignore[call-overload, arg-type]  # pyright: ignore
    s.send_external(c, name="out")
    raises("HL501", lambda: s.send_external(c, name="out"), hl.UsageError)


def test_operators_inside_a_tick_that_need_the_top_level() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    t = p.tick()
    b = p.source_iter([1]).batch(t, nondet("x"))
    raises("HL107", lambda: b.send(p), hl.LocationError)  # type: ignore[call-overload, misc]  # pyright: ignore
    raises("HL107", lambda: b.batch(t, nondet("y")), hl.LocationError)  # type: ignore[misc, arg-type]  # pyright: ignore
    top = p.source_iter([1])
    raises("HL108", lambda: top.all_ticks(), hl.LocationError)  # type: ignore[misc]  # pyright: ignore
    raises("HL108", lambda: top.defer_tick(), hl.LocationError)  # type: ignore[misc]  # pyright: ignore


def test_flow_is_frozen_after_build() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    s = p.source_iter([1])
    flow.build()
    raises("HL502", lambda: s.map(lambda x: x), hl.UsageError)
    raises("HL502", lambda: flow.process(Q), hl.UsageError)


# ---- cycles ----------------------------------------------------------------------------------


def test_incomplete_cycle_is_reported_at_its_declaration() -> None:
    flow = hl.FlowBuilder()
    t = flow.process(P).tick()
    decl = here() + 1
    _handle, s = t.cycle(int)
    s.all_ticks().sim_output()
    with pytest.raises(hl.CycleError) as info:
        flow.build()
    assert info.value.code == "HL401" and info.value.site is not None and info.value.site.line == decl


def test_cycle_completed_twice() -> None:
    flow = hl.FlowBuilder()
    t = flow.process(P).tick()
    handle, s = t.cycle(int)
    handle.complete_next_tick(s.map(lambda x: x + 1))
    err = raises("HL403", lambda: handle.complete_next_tick(s), hl.CycleError)
    assert "already completed" in str(err)


def test_cycle_completed_at_another_location() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    t1, t2 = p.tick(), p.tick()
    handle, _ = t1.cycle(int)
    other = t2.source_iter([1])
    raises("HL403", lambda: handle.complete_next_tick(other), hl.CycleError)  # type: ignore[arg-type]  # pyright: ignore


def test_same_tick_cycle_through_a_blocking_operator() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    t = p.tick()
    handle, s = t.forward_ref(int)
    fold_line = here() + 1
    total = s.fold(lambda: 0, lambda a, x: a + x)
    handle.complete(total.into_stream().chain(t.source_iter([1])).filter(lambda x: x < 10))
    with pytest.raises(hl.CycleError) as info:
        flow.build()
    assert info.value.code == "HL402"
    assert info.value.site is not None and info.value.site.line == fold_line


def test_same_tick_monotone_cycle_builds() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    t = p.tick()
    handle, s = t.forward_ref(int)
    handle.complete(t.source_iter([1]).chain(s.map(lambda x: x + 1).filter(lambda x: x < 5)).unique())
    flow.build()


def test_cluster_sizes_must_name_real_clusters() -> None:
    flow = hl.FlowBuilder()
    flow.cluster(W).source_iter([1]).sim_output()
    with pytest.raises(hl.UsageError, match="no size given"):
        flow.run_in_process()
    flow2 = hl.FlowBuilder()
    flow2.cluster(W)
    with pytest.raises(hl.UsageError, match="names no cluster"):
        flow2.run_in_process(cluster_sizes={"Nope": 2})
    with pytest.raises(hl.UsageError, match="positive int"):
        flow2.run_in_process(cluster_sizes={W: 0})


def _unused(*_: Any) -> None:
    return None


# ---- atomicity -------------------------------------------------------------------------------


def test_end_atomic_needs_an_atomic_collection() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    s = p.source_iter([1])
    raises("HL109", lambda: s.end_atomic(), hl.LocationError)  # type: ignore[misc]  # pyright: ignore
    raises("HL109", lambda: s.count().snapshot_atomic(nondet("x")), hl.LocationError)  # type: ignore[misc]  # pyright: ignore


def test_atomic_data_cannot_be_sent_without_end_atomic() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    a = p.source_iter([1]).atomic(p.tick())
    err = raises("HL107", lambda: a.send(q), hl.LocationError)  # type: ignore[call-overload, misc]  # pyright: ignore
    assert "end_atomic" in str(err)
    a.end_atomic().send(q)


def test_read_after_acknowledged_write_in_process() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    t = p.tick()
    inc_in, incs = p.sim_input(str)
    get_in, gets = p.sim_input(str)
    a = incs.atomic(t)
    counts = a.map(lambda k: (k, ())).into_keyed().value_counts()
    ack = a.end_atomic().sim_output()
    snap = counts.snapshot_atomic(nondet("atomicity keeps reads consistent with acks"))
    reqs = gets.map(lambda k: (k, None)).into_keyed().batch(t, nondet("any batching of reads"))
    resp = snap.join_keyed_stream(reqs).entries().all_ticks().sim_output()
    with flow.run_in_process():
        inc_in.send_many(["x", "x", "y"])
        assert ack.collect() == ["x", "x", "y"]
        get_in.send_many(["x", "y", "z"])
        assert resp.collect_sorted() == [("x", (None, 2)), ("y", (None, 1))]


# ---- external contracts ----------------------------------------------------------------------


def test_output_contract_violation_names_the_breaking_path() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    c = flow.external(C)
    a = p.source_external(c, name="a", of=int)
    b = p.source_external(c, name="b", of=int)
    merge_line = here() + 1
    merged = a.merge_unordered(b).map(lambda x: x * 2)
    err = raises(
        "HL110",
        lambda: merged.send_external(c, name="out", ordered=True),  # type: ignore[call-overload]  # pyright: ignore
        hl.GuaranteeError,
    )
    text = str(err)
    assert "'out' promises ordered=True" in text
    assert f"`merge_unordered` at" in text and f":{merge_line}" in text
    assert "-> `map` at" in text and "-> `send_external` (port 'out')" in text


def test_output_contract_no_duplicates() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    c = flow.external(C)
    s = p.source_external(c, name="in", of=int, retries=hl.AtLeastOnce)
    err = raises(
        "HL110",
        lambda: s.send_external(c, name="out", delivery="exactly_once"),  # type: ignore[call-overload]  # pyright: ignore
        hl.GuaranteeError,
    )
    assert "no duplicates" in str(err) and "`source_external` at" in str(err)
    s.unique().send_external(c, name="out2", delivery="exactly_once", ordered=True)


def test_declared_unordered_input_propagates() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    c = flow.external(C)
    s = p.source_external(c, name="in", of=int, order=hl.NoOrder)
    err = raises("HL101", lambda: s.first(), hl.GuaranteeError)  # type: ignore[misc]  # pyright: ignore
    assert "`source_external` at" in str(err.origin)
    raises("HL501", lambda: p.source_external(c, name="x", order=int), hl.UsageError)  # type: ignore[call-overload, arg-type]  # pyright: ignore


def test_send_external_contract_keywords_must_be_what_the_signature_says() -> None:
    """A value outside the signature's (``ordered=1``, ``delivery=None``: accepted only through
    ``Any``) is HL501 at the call; ``ordered=True``/``delivery="exactly_once"`` on a stream that
    has the guarantees builds."""
    flow = hl.FlowBuilder("contract-keywords")
    p = flow.process(P)
    c = flow.external(C)
    s = p.source_external(c, name="in", of=int)
    bad: Any = 1
    with pytest.raises(hl.BuildError) as info:
        line = here() + 1
        s.send_external(c, name="a", ordered=bad)
    assert info.value.code == "HL501" and info.value.site.line == line and "ordered must be True or False" in str(info.value)
    with pytest.raises(hl.BuildError) as info:
        line = here() + 1
        s.send_external(c, name="b", delivery=bad and None)
    assert info.value.code == "HL501" and info.value.site.line == line
    s.send_external(c, name="ok", ordered=True, delivery="exactly_once")
    flow.build()
