"""Multi-Paxos with leader election, written in hydrologic (``docs/paxos.md`` explains it).

One module per role, each readable alone: ``messages`` (ballots and what roles send),
``proposer`` (leader election, phases 1 and 2a), ``acceptor`` (promises and the accepted log),
``learner`` (quorum of votes -> committed), ``replica`` (slot order and the state machine),
``checkpoints`` (replicas that checkpoint their state machine and transfer state, which lets
acceptors and learners drop the log below a checkpoint) and ``protocol`` (``paxos``, which wires them into one dataflow).

Roles and wiring (every arrow is one network edge, FIFO per sender)::

    commands ─┐                         Prepare / Accept (to every acceptor)
    timers ───┼─> proposer tick  ───────────────────────────────────────> acceptor tick
              │      ^   │  heartbeats (to every other proposer)               │
              │      │   └──────────────> proposer tick (of the others)        │
              │      └──── Promise / Nack (to the sender) ─────────────────────┤
              │                                                                │
    committed <── learner (quorum of Accepted votes) <── Accepted (to every proposer)

* **Proposers** (a cluster). Each proposer's tick batches five inputs (acceptor replies,
  heartbeats, timer events, client commands, commits its learner found) into one inbox; the
  proposer's state (ballot, role, promises gathered, next slot, pending commands, committed
  prefix) lives in a top-level ``scan`` over the inboxes, in tick order, whose step is the
  transition ``_proposer_step``. Leader election: a proposer that counts ``election_timeout``
  ticks that saw its clock (plus ``stagger`` per member index, so members do not duel) without
  a heartbeat or, as a follower, a newly learned commit, campaigns with a fresh, higher ballot
  and its committed prefix (phase 1); with ``f + 1`` promises it takes office: it re-proposes,
  for every uncommitted slot from that prefix up to the highest one any promise reported, the
  value with the highest ballot, fills holes with no-ops (``None``), then proposes its pending
  commands (phase 2). A leader sends a heartbeat on each tick that saw its clock and steps down
  as soon as it sees a higher ballot. Learned commits remove commands from the pending set, so
  a proposer's memory and a leader change's work follow the commands in flight, not the log.
* **Acceptors** (a cluster) likewise: each tick's batch of Prepare/Accept messages is one step
  of a scan that handles them in a canonical serial order (ballot order), keeping the promised
  ballot and the accepted log.
* **Learners** are on every proposer: a value is committed for a slot once ``f + 1`` acceptors
  report accepting it with the same ballot. This part is ``std.reached_quorum`` and has no nondet site:
  which entries are committed does not depend on timing, only when. What it finds is also
  batched back into the proposer's tick (that batch is a nondet site: when a proposer learns
  of a commit changes what it proposes as a new leader).

Non-determinism (the two ``NonDet`` parameters, as in Hydro's ``paxos_core``):

* ``nondet_leader``: which proposer leads, and when, depends on how timer events, heartbeats and
  acceptor replies are batched into proposer ticks. A stale view only delays or prevents an
  election; it never makes two values commit for one slot (ballots are totally ordered and a
  proposer never reuses one).
* ``nondet_commit``: which slot a command gets, whether a command is committed twice during a
  leader change (at-least-once; ``replicated_state_machine`` applies each command once), and
  which proposals acceptors accept, depend on batching at proposers and acceptors. Safety rests
  on quorum intersection, not on timing.

Commands must be hashable and not ``None`` (``None`` is the no-op that fills a hole), and each
submitted command should be distinct (e.g. carry a client id and sequence number): the protocol
identifies commands by equality.
"""

from __future__ import annotations

from .messages import ZERO, Accept, Accepted, Ballot, KeepAlive, Nack, Prepare, Promise
# --- checkpoints and state transfer
from .checkpoints import CHECKPOINT_EVERY, CheckpointedReplica, checkpointed_replica
from .messages import Snapshot, SnapshotChunk, SnapshotRequest
from .snapshots import IncrementalCheckpoint, TrackedDict
from .protocol import Paxos, paxos
from .replica import ordered_log, replicated_state_machine

__all__ = [
    "Accept",
    "Accepted",
    "Ballot",
    "KeepAlive",
    "Nack",
    "Paxos",
    "Prepare",
    "Promise",
    "ZERO",
    "ordered_log",
    "paxos",
    "replicated_state_machine",
    # --- checkpoints and state transfer
    "CHECKPOINT_EVERY",
    "CheckpointedReplica",
    "IncrementalCheckpoint",
    "Snapshot",
    "SnapshotChunk",
    "SnapshotRequest",
    "TrackedDict",
    "checkpointed_replica",
]
