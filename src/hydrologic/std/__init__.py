"""Reusable distributed building blocks, written in hydrologic itself.

Everything here is built from the public language API only (like trio's high-level modules are
built on its public core), so each piece is also an example of how to write such code.

Every submodule is reachable as itself: ``hydrologic.std.paxos``, ``hydrologic.std.quorum`` and
``hydrologic.std.two_phase_commit`` are the modules, never a function of the same name. Their
main functions are ``paxos.paxos`` (also ``std.multi_paxos``), ``quorum.reached_quorum`` (also
``std.reached_quorum``) and ``two_phase_commit.two_phase_commit`` (also ``std.commit_transactions``).
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any, Callable

from . import kv as kv
from . import paxos as paxos
from . import quorum as quorum  # the module; the function is reached_quorum
from . import request_response as request_response
from . import two_phase_commit as two_phase_commit
from .paxos import (
    Ballot as Ballot,
    Paxos as Paxos,
    ordered_log as ordered_log,
    replicated_state_machine as replicated_state_machine,
)
from .paxos import paxos as multi_paxos
from .quorum import reached_quorum as reached_quorum
from .request_response import join_responses as join_responses, partition_by_key as partition_by_key
from .two_phase_commit import (
    TwoPhaseCommit as TwoPhaseCommit,
    all_responded as all_responded,
    stateless_votes as stateless_votes,
    unanimous as unanimous,
)
from .two_phase_commit import two_phase_commit as commit_transactions

__all__ = [
    "Ballot",
    "Paxos",
    "TwoPhaseCommit",
    "all_responded",
    "commit_transactions",
    "join_responses",
    "kv",
    "multi_paxos",
    "ordered_log",
    "partition_by_key",
    "paxos",
    "quorum",
    "reached_quorum",
    "replicated_state_machine",
    "request_response",
    "stateless_votes",
    "two_phase_commit",
    "unanimous",
]


class _CallableModule(types.ModuleType):
    """A module that, called, warns and calls the function once exported under its name."""

    _function: Callable[..., Any]
    _instead: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"calling the module {self.__name__} is deprecated: call {self._instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._function(*args, **kwargs)


def _keep_callable(name: str, function: Callable[..., Any], instead: str) -> None:
    """``from hydrologic.std import paxos; paxos(...)`` ran the function until the module took
    its name back: keep such code running, with a DeprecationWarning naming the new call."""
    module = sys.modules[name]
    module.__class__ = type(
        f"_Callable_{name.rsplit('.', 1)[1]}", (_CallableModule,), {"_function": staticmethod(function), "_instead": instead}
    )


_keep_callable(paxos.__name__, multi_paxos, "hydrologic.std.paxos.paxos (or hydrologic.std.multi_paxos)")
_keep_callable(
    two_phase_commit.__name__,
    commit_transactions,
    "hydrologic.std.two_phase_commit.two_phase_commit (or hydrologic.std.commit_transactions)",
)
