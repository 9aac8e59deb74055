"""Reusable distributed building blocks, written in hydrologic itself.

Everything here is built from the public language API only (like trio's high-level modules are
built on its public core), so each piece is also an example of how to write such code.
"""

from . import quorum as quorum  # the module; the function is reached_quorum
from .quorum import reached_quorum as reached_quorum
from .request_response import join_responses as join_responses, partition_by_key as partition_by_key
from .two_phase_commit import (
    TwoPhaseCommit as TwoPhaseCommit,
    all_responded as all_responded,
    stateless_votes as stateless_votes,
    two_phase_commit as two_phase_commit,
    unanimous as unanimous,
)
from .paxos import (
    Ballot as Ballot,
    Paxos as Paxos,
    ordered_log as ordered_log,
    paxos as paxos,
    replicated_state_machine as replicated_state_machine,
)
