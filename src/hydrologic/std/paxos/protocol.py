"""The Multi-Paxos dataflow: ``paxos`` wires proposers, acceptors and learners into one cycle.

Each role's logic is a pure state machine in its own module (``proposer``, ``acceptor``,
``learner``); this module only builds the network edges, the ticks and the nondet sites
between them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Generic, Hashable, TypeVar, cast

from ...lang.cycles import ForwardRef
from ...lang.keyed_stream import KeyedStream
from ...lang.location import Cluster, MemberId
from ...lang.stream import Stream
from ...types.errors import UsageError
from ...types.markers import ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ...types.nondet import NonDet, nondet, proof
from ...types.site import caller_site
from .acceptor import (
    AcceptorInbox,
    AcceptorState,
    CompactingInbox,
    DurableAcceptorState,
    acceptor_step,
    compacting_acceptor_step,
    replies_of,
    request_order,
)
from .learner import (
    LEARNER_WINDOW,
    decided_of,
    no_slot,
    no_votes,
    tally_vote,
    tally_windowed,
    vote_of,
    windowed_decided_of,
    windowed_vote_of,
)
from .messages import ZERO, Ballot, FromAcceptor, Reply, ToAcceptor
from .proposer import (
    Config,
    DurableProposerState,
    checkpoint_mark,
    ProposerInbox,
    ProposerState,
    count_ticks,
    elected_of,
    heartbeats_of,
    is_reply,
    max_ballot,
    member_of,
    proposer_step,
    reply_order,
    sent_to_acceptors,
)
from .replica import slot_of

T = TypeVar("T", bound=Hashable)
V = TypeVar("V")
PT = TypeVar("PT")
AT = TypeVar("AT")

@dataclass(frozen=True)
class Paxos(Generic[T, PT]):
    """What ``paxos`` returns.

    ``committed``: at every proposer, each (slot, value) once when it is chosen (``value`` is
    ``None`` for a no-op that filled a hole); unordered. ``ordered_log`` puts it in slot order.
    ``elected``: at every proposer, the ballot each time this proposer takes office.
    """

    committed: Stream[tuple[int, T | None], Cluster[PT], Unbounded, NoOrder, ExactlyOnce]
    elected: Stream[Ballot, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce]


# ---- the protocol as a dataflow ------------------------------------------------------------


def paxos(
    proposers: Cluster[PT],
    acceptors: Cluster[AT],
    commands: Stream[T, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce],
    timer_ticks: Stream[Any, Cluster[PT], Unbounded, NoOrder, ExactlyOnce],
    *,
    f: int,
    nondet_leader: NonDet,
    nondet_commit: NonDet,
    election_timeout: int = 2,
    stagger: int = 1,
    durable: str | None = None,
    acceptor_clock: Stream[Any, Cluster[AT], Unbounded, NoOrder, ExactlyOnce] | None = None,
    lease: int = 0,
    checkpoints: Stream[int, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] | None = None,
) -> Paxos[T, PT]:
    """Sequence ``commands`` with Multi-Paxos; returns the committed log at every proposer.

    ``acceptors`` should have ``2 * f + 1`` members (any quorum of ``f + 1`` intersects any
    other); ``f`` of them may fail. ``commands`` arrive at proposers (send each command to every
    proposer so that a new leader still has it; a proposer keeps a command until it learns it is
    committed or sees it in a log it recovers). ``timer_ticks`` is each proposer's time source: in a deployment
    ``proposers.source_interval(seconds, nondet(...))``, in the simulator a ``sim_input`` that the
    scenario drives, so that timeouts are explored like any other input. A proposer campaigns
    after ``election_timeout + stagger * member_index`` ticks that saw its clock move without a
    heartbeat (or, for a follower, a newly learned commit); a tick counts once however many
    timer events it took in.

    Safety (at most one value per slot, at every proposer) holds whatever the timing. A command
    is eventually committed once one proposer keeps leading (e.g. the others stop timing out).

    ``durable="name"`` makes members restartable: each acceptor keeps its promised ballot and
    accepted values, and each proposer the highest ballot number it used, as durable state
    (``name.acceptor`` and ``name.proposer``; see docs/storage.md), so a restarted member, or a
    whole cluster restarted on the same data directories, keeps every promise and vote it gave
    and never reuses a ballot. Without it members keep everything in memory and forbid restarts.

    ``acceptor_clock`` and ``lease``: leader leases. Each acceptor counts the events of its
    ``acceptor_clock`` (like ``timer_ticks``: ``acceptors.source_interval(...)`` deployed, a
    ``sim_input`` in the simulator); a leader sends every acceptor a KeepAlive on each tick that
    saw its own clock, which grants it the lease for ``lease`` acceptor ticks, and while the lease
    lasts the acceptor refuses any other proposer's Prepare. So a healthy leader is not deposed,
    and a leader that was paused (or partitioned) and resumes cannot take leadership back from
    the one elected meanwhile. Leases never affect safety, only who may lead. A dead leader is
    replaced at the first election timeout after its lease has run out, so ``lease`` trades
    failover time for stability (a leader stalled for less than the lease keeps office).

    ``checkpoints``: log compaction. Each proposer's replica reports here the slots below which
    it holds a durable checkpoint of its state machine (``checkpointed_replica`` makes them);
    every acceptor drops the slots below the highest checkpoint that ``f + 1`` replicas hold,
    from memory and disk, and learners keep tallies for a bounded window of slots. A leader
    neither recovers nor re-proposes dropped slots; a replica that needs one gets a snapshot
    from a peer instead. Without it nothing is ever dropped.

    Non-determinism: ``nondet_leader`` (which proposer leads, and when) and ``nondet_commit``
    (which slot each command gets; a command may be committed in two slots across a leader
    change). See the module docstring.
    """
    site = caller_site()
    if not isinstance(f, int) or f < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs f >= 0, got {f!r}", site=site)
    if not isinstance(election_timeout, int) or election_timeout < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs election_timeout >= 1, got {election_timeout!r}", site=site)
    if not isinstance(stagger, int) or stagger < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs stagger >= 0, got {stagger!r}", site=site)
    if durable is not None and (not isinstance(durable, str) or not durable):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs durable to be a non-empty name, got {durable!r}", site=site)
    if not isinstance(lease, int) or lease < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs lease >= 0, got {lease!r}", site=site)
    if lease and acceptor_clock is None:
        raise UsageError(
            "HL501",
            f"paxos(lease={lease}) needs acceptor_clock: acceptors count a lease in ticks of their own clock",
            site=site,
            fix="Pass acceptor_clock=acceptors.source_interval(seconds, nondet(...)) (a sim_input in the simulator), or lease=0.",
        )
    cfg = Config(f=f, election_timeout=election_timeout, stagger=stagger, lease=lease)
    if durable is None:
        acceptors.forbid_restart(
            "a Paxos acceptor keeps its promises and accepted values in memory only: restarted empty, "
            "it could let a second value be chosen for a slot (build with paxos(..., durable=\"name\") "
            "to make members restartable)"
        )
        proposers.forbid_restart(
            "a restarted Paxos proposer would start again from its first ballot and could propose a "
            "second value under a ballot it already used (build with paxos(..., durable=\"name\") "
            "to make members restartable)"
        )
    proposer_start = ProposerState[T].start if durable is None else DurableProposerState[T].start
    acceptor_start = AcceptorState[T].start if durable is None else DurableAcceptorState[T].start

    # The protocol is a cycle (proposers -> acceptors -> proposers, proposers -> proposers). It is
    # closed with forward references on the *senders'* side, so that every network edge is built
    # with demux and arrives keyed by sender, in each sender's order (cheap per-sender batching).
    acc_out_ref: ForwardRef[Stream[Reply[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce]]
    acc_out: Stream[Reply[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce]
    acc_out_ref, acc_out = cast(Any, acceptors.forward_ref(tuple, TotalOrder))
    hb_out_ref, hb_out = proposers.forward_ref(Ballot, TotalOrder)

    # acceptor -> proposers: (destination or None for every proposer, message)
    from_acceptors: KeyedStream[MemberId[AT], FromAcceptor[T], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = (
        acc_out.cross_singleton(acceptors.cluster_members(proposers))
        .flat_map_ordered(_address_reply)
        .demux(proposers)
    )
    # leader -> every other proposer: heartbeats carrying the leader's ballot
    others = proposers.cluster_members(proposers).zip(proposers.self_id())
    heartbeats: KeyedStream[MemberId[PT], Ballot, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = (
        hb_out.cross_singleton(others).flat_map_ordered(_to_others).demux(proposers)
    )

    # ---- proposer tick ----
    p_tick = proposers.tick()
    replies = (
        from_acceptors.filter(is_reply)
        .batch(
            p_tick,
            nondet(
                "promises and refusals may reach a proposer's tick late; a late promise only delays "
                "taking office, a late refusal only delays stepping down (acceptors refuse the stale "
                "leader's proposals meanwhile)",
                nondet_leader,
            ),
        )
        .entries()
        .sort(key=reply_order)
        .collect_list()
    )
    heard = heartbeats.batch(
        p_tick,
        nondet(
            "a heartbeat that arrives after a timer event may let a follower time out although the "
            "leader is alive; the resulting election is safe, it only changes who leads",
            nondet_leader,
        ),
    ).values().fold(lambda: ZERO, max_ballot, commutative=proof("max is commutative"))
    # the member id rides on timer events: hydrologic has no self_id() inside a tick
    clock = (
        timer_ticks.cross_singleton(proposers.self_id())
        .map(member_of)
        .batch(
            p_tick,
            nondet(
                "how many timer events a tick sees decides when a proposer times out, i.e. when an "
                "election starts and who wins it; never what is committed",
                nondet_leader,
            ),
        )
        .fold(lambda: (0, -1), count_ticks, commutative=proof("counting events; the id is the same in all"))
    )
    new_commands = commands.batch(
        p_tick,
        nondet(
            "which commands a proposer sees in a tick decides which slots they get and whether a "
            "leader that is being replaced proposes them; a proposer keeps every command until it "
            "learns it is committed, so none is lost to a leader change",
            nondet_commit,
        ),
    ).collect_list()

    # ---- learners (no nondet: which entries reach a quorum does not depend on timing) ----
    # One tally per slot: the set of votes until one (ballot, value) has f + 1 acceptors, then
    # the chosen value (plus votes for *other* values, which a correct protocol never lets reach a
    # quorum: kept so that a broken one is seen, not masked). The set of votes received decides
    # the outcome, not their order, so the fold is commutative; a decided slot drops its votes,
    # so the learner's memory is a small entry per slot instead of every vote.
    committed: Stream[tuple[int, T | None], Cluster[PT], Unbounded, NoOrder, ExactlyOnce]
    if checkpoints is None:
        tallies = (
            from_acceptors.entries()
            .flat_map_unordered(vote_of)
            .into_keyed()
            .fold(
                no_votes,
                functools.partial(tally_vote, cfg.f),
                commutative=proof(
                    "a slot's tally is decided by the set of votes: f + 1 acceptors for one "
                    "(ballot, value), which is unique per slot (Paxos safety)"
                ),
            )
        )
        committed = tallies.entries().flat_map_unordered(decided_of)
    else:
        committed = _windowed_learner(cfg, from_acceptors)
    # What the learner found feeds back into the proposer, so that it forgets committed commands
    # and asks acceptors only for the uncommitted tail of the log when it campaigns.
    # With checkpoints, the local replica's checkpoints join it: every slot below one is committed.
    learned_src = committed if checkpoints is None else checkpoints.map(checkpoint_mark).merge_unordered(committed)
    learned = learned_src.batch(
        p_tick,
        nondet(
            "a proposer may learn of a commit a few ticks late; until then it only keeps the "
            "command (and may propose it again as a new leader: a repeat that is applied once)",
            nondet_commit,
        ),
    ).sort(key=slot_of).collect_list()

    # One inbox per tick; the proposer's state machine is a top-level scan over the inboxes in tick
    # order: its state persists, and each tick is one atomic step of it.
    inboxes = (
        replies.zip(heard).zip(clock).zip(new_commands).zip(learned).map(ProposerInbox[T].of).into_stream().all_ticks()
    )
    p_steps = inboxes.scan(
        proposer_start,
        functools.partial(proposer_step, cfg),
        durable=None if durable is None else f"{durable}.proposer",
    )
    to_acceptors: Stream[ToAcceptor[T], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = p_steps.flat_map_ordered(
        sent_to_acceptors
    )
    hb_out_ref.complete(p_steps.flat_map_ordered(heartbeats_of))
    elected = p_steps.flat_map_ordered(elected_of)

    # ---- acceptor tick ----
    requests: KeyedStream[MemberId[PT], ToAcceptor[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce] = (
        to_acceptors.cross_singleton(proposers.cluster_members(acceptors))
        .flat_map_ordered(functools.partial(_to_all_acceptors, cfg))
        .demux(acceptors)
    )
    a_tick = acceptors.tick()
    a_batch = (
        requests.batch(
            a_tick,
            nondet(
                "an acceptor handles whatever requests have arrived, in ballot order; which ballot's "
                "proposals it accepts depends on that, but every acceptor keeps its promises, so two "
                "quorums always share an acceptor that reports what it accepted",
                nondet_commit,
            ),
        )
        .entries()
        .sort(key=request_order)
        .collect_list()
    )
    a_inbox: Stream[AcceptorInbox[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce]
    if checkpoints is not None:
        c_steps: Stream[AcceptorState[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce] = _compacting_acceptors(
            cfg, proposers, acceptors, a_tick, a_batch, acceptor_clock, checkpoints, nondet_leader, nondet_commit,
            acceptor_start, durable,
        )
        acc_out_ref.complete(c_steps.flat_map_ordered(replies_of))
        return Paxos(committed=committed, elected=elected)
    if acceptor_clock is None:
        a_inbox = a_batch.into_stream().all_ticks().map(_without_clock)
    else:
        a_clock = acceptor_clock.batch(
            a_tick,
            nondet(
                "how many clock events an acceptor tick sees decides when a lease runs out, so which "
                "proposer may take office; never what is committed",
                nondet_leader,
            ),
        ).count()
        a_inbox = a_batch.zip(a_clock).into_stream().all_ticks()
    a_steps = a_inbox.scan(
        acceptor_start,
        functools.partial(acceptor_step, lease),
        durable=None if durable is None else f"{durable}.acceptor",
    )
    acc_out_ref.complete(a_steps.flat_map_ordered(replies_of))
    return Paxos(committed=committed, elected=elected)


def _to_all_acceptors(cfg: Config, x: tuple[V, tuple[MemberId[AT], ...]]) -> list[tuple[MemberId[AT], V]]:
    value, members = x
    if len(members) > 2 * cfg.f + 1:
        # Cluster sizes are chosen when the program runs, so this is checked here, not at build.
        raise UsageError(
            "HL501",
            f"paxos(f={cfg.f}) allows at most {2 * cfg.f + 1} acceptors, but the cluster has {len(members)}: "
            f"two quorums of {cfg.f + 1} might not share an acceptor",
            fix=f"Run {2 * cfg.f + 1} acceptors, or build with f={(len(members) - 1) // 2 + (len(members) - 1) % 2}.",
        )
    return [(m, value) for m in members]


def _to_others(x: tuple[V, tuple[tuple[MemberId[PT], ...], MemberId[PT]]]) -> list[tuple[MemberId[PT], V]]:
    value, (members, me) = x
    return [(m, value) for m in members if m != me]


def _address_reply(x: tuple[tuple[Any, FromAcceptor[T]], tuple[MemberId[PT], ...]]) -> list[tuple[MemberId[PT], FromAcceptor[T]]]:
    (dest, msg), members = x
    if dest is None:
        return [(m, msg) for m in members]
    return [(dest, msg)]


def _without_clock(requests: list[tuple[MemberId[Any], ToAcceptor[T]]]) -> AcceptorInbox[T]:
    return (requests, 0)


# --- checkpoints and compaction


def _windowed_learner(
    cfg: Config,
    from_acceptors: KeyedStream[MemberId[AT], FromAcceptor[V], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce],
) -> Stream[tuple[int, Any], Cluster[PT], Unbounded, NoOrder, ExactlyOnce]:
    """The learner with bounded memory: one tally per position of a window of slots."""
    tallies = (
        from_acceptors.entries()
        .flat_map_unordered(functools.partial(windowed_vote_of, LEARNER_WINDOW))
        .into_keyed()
        .fold(
            no_slot,
            functools.partial(tally_windowed, cfg.f),
            commutative=proof(
                "a position keeps the newest slot's tally with all of that slot's votes, whatever "
                "their order; a slot's tally is decided by its set of votes (Paxos safety)"
            ),
        )
    )
    return tallies.entries().flat_map_unordered(windowed_decided_of)


def _compacting_acceptors(
    cfg: Config,
    proposers: Cluster[PT],
    acceptors: Cluster[AT],
    a_tick: Any,
    a_batch: Any,
    acceptor_clock: Stream[Any, Cluster[AT], Unbounded, NoOrder, ExactlyOnce] | None,
    checkpoints: Stream[int, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce],
    nondet_leader: NonDet,
    nondet_commit: NonDet,
    acceptor_start: Any,
    durable: str | None,
) -> Stream[AcceptorState[Any], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce]:
    """The acceptors' scan with the replicas' checkpoint reports in each tick."""
    reports = (
        checkpoints.cross_singleton(proposers.cluster_members(acceptors))
        .flat_map_ordered(_to_every_member)
        .demux(acceptors)
        .batch(
            a_tick,
            nondet(
                "a checkpoint report may reach an acceptor's tick late; it only delays compaction, and "
                "only slots f + 1 replicas hold in durable checkpoints are ever dropped",
                nondet_commit,
            ),
        )
        .entries()
        .map(_report_of)
        .sort(key=_report_key)
        .collect_list()
    )
    if acceptor_clock is None:
        inbox = a_batch.zip(reports).into_stream().all_ticks().map(_without_clock_compacting)
    else:
        a_clock = acceptor_clock.batch(
            a_tick,
            nondet(
                "how many clock events an acceptor tick sees decides when a lease runs out, so which "
                "proposer may take office; never what is committed",
                nondet_leader,
            ),
        ).count()
        inbox = a_batch.zip(a_clock).zip(reports).into_stream().all_ticks().map(_with_clock_compacting)
    steps: Stream[AcceptorState[Any], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce] = inbox.scan(
        acceptor_start,
        functools.partial(compacting_acceptor_step, cfg.lease, cfg.f),
        durable=None if durable is None else f"{durable}.acceptor",
    )
    return steps


def _to_every_member(x: tuple[V, tuple[MemberId[AT], ...]]) -> list[tuple[MemberId[AT], V]]:
    value, members = x
    return [(m, value) for m in members]


def _report_of(e: tuple[MemberId[Any], int]) -> tuple[int, int]:
    return (e[0].raw_id, e[1])


def _report_key(e: tuple[int, int]) -> tuple[int, int]:
    return e


def _without_clock_compacting(x: tuple[list[tuple[MemberId[Any], ToAcceptor[T]]], list[tuple[int, int]]]) -> CompactingInbox[T]:
    return (x[0], 0, x[1])


def _with_clock_compacting(
    x: tuple[tuple[list[tuple[MemberId[Any], ToAcceptor[T]]], int], list[tuple[int, int]]],
) -> CompactingInbox[T]:
    return (x[0][0], x[0][1], x[1])
