"""What a deployment does when one of its processes dies: restart it, leave it dead, or stop all.

Modelled on Erlang/OTP supervisors and systemd's ``Restart=on-failure``: a dead instance is
restarted after a backoff that doubles with each recent restart, and an *intensity limit* ("at
most 5 restarts within 60 s") turns a crash loop into one clear report instead of a process that
flaps forever. When the limit is hit the supervisor gives up on that instance and escalates as
``then`` says: stop the whole deployment (OTP's choice: a supervisor that cannot keep its
children up terminates) or leave the instance dead and keep the rest running.

This module holds only the policy and its bookkeeping (pure, so it is unit-tested with a fake
clock); ``localhost.py`` and ``ray.py`` act on its verdicts.
"""

from __future__ import annotations

import collections
import signal
from dataclasses import dataclass, field
from typing import Literal, Mapping, Union

__all__ = ["RestartPolicy", "Policy", "FailurePolicies", "Supervisor", "Verdict", "describe_exit", "as_policy"]

Mode = Literal["restart", "continue", "shutdown"]


@dataclass(frozen=True)
class RestartPolicy:
    """Restart a dead instance, at most ``max_restarts`` times within ``within`` seconds.

    The n-th restart inside the window waits ``backoff * 2**(n-1)`` seconds, capped at
    ``max_backoff``. Past the limit the supervisor gives up on the instance and does ``then``:
    ``"shutdown"`` stops the whole deployment, ``"continue"`` leaves that instance dead.
    """

    max_restarts: int = 5
    within: float = 60.0
    backoff: float = 0.1
    max_backoff: float = 5.0
    then: Literal["shutdown", "continue"] = "shutdown"

    def __post_init__(self) -> None:
        if self.max_restarts < 1 or self.within <= 0 or self.backoff < 0 or self.max_backoff < self.backoff:
            raise ValueError(f"RestartPolicy needs max_restarts >= 1, within > 0 and 0 <= backoff <= max_backoff: {self}")
        if self.then not in ("shutdown", "continue"):
            raise ValueError(f"RestartPolicy.then must be 'shutdown' or 'continue', got {self.then!r}")


Policy = Union[Mode, RestartPolicy]
"""``"restart"`` (a default ``RestartPolicy``), a ``RestartPolicy``, ``"continue"`` or ``"shutdown"``."""


def as_policy(p: object) -> Mode | RestartPolicy:
    if isinstance(p, RestartPolicy):
        return p
    if p == "restart":
        return RestartPolicy()
    if p in ("continue", "shutdown"):
        return "continue" if p == "continue" else "shutdown"
    raise ValueError(f"on_failure must be 'restart', 'continue', 'shutdown' or a RestartPolicy, got {p!r}")


@dataclass(frozen=True)
class FailurePolicies:
    """A default policy plus per-location overrides (keyed by the location's name, e.g. ``"Acceptors"``)."""

    default: Mode | RestartPolicy
    overrides: Mapping[str, Mode | RestartPolicy] = field(default_factory=lambda: {})

    @staticmethod
    def of(default: object, overrides: Mapping[str, object] | None = None) -> FailurePolicies:
        return FailurePolicies(as_policy(default), {k: as_policy(v) for k, v in (overrides or {}).items()})

    def for_location(self, name: str) -> Mode | RestartPolicy:
        return self.overrides.get(name, self.default)

    def check_names(self, known: list[str]) -> None:
        unknown = sorted(set(self.overrides) - set(known))
        if unknown:
            raise ValueError(f"on_failure_for names no location: {unknown} (locations: {', '.join(known)})")


@dataclass(frozen=True)
class Verdict:
    """What to do about one death: ``restart`` after ``delay`` seconds, or ``give_up`` and ``action``."""

    action: Literal["restart", "continue", "shutdown"]
    delay: float = 0.0
    gave_up: bool = False  # a restart policy's intensity limit was reached
    recent: int = 0  # restarts of this instance within the policy's window, before this one


class Supervisor:
    """Remembers recent restarts per instance and rules on each death."""

    def __init__(self, policies: FailurePolicies) -> None:
        self.policies = policies
        self._restarts: dict[str, collections.deque[float]] = {}

    def on_death(self, instance: str, location: str, now: float) -> Verdict:
        policy = self.policies.for_location(location)
        if not isinstance(policy, RestartPolicy):
            return Verdict(policy)
        times = self._restarts.setdefault(instance, collections.deque())
        while times and now - times[0] > policy.within:
            times.popleft()
        if len(times) >= policy.max_restarts:
            return Verdict(policy.then, gave_up=True, recent=len(times))
        recent = len(times)
        delay = min(policy.backoff * 2**recent, policy.max_backoff)
        times.append(now)
        return Verdict("restart", delay=delay, recent=recent)


def describe_exit(returncode: int | None) -> str:
    """``exit status 1`` / ``killed by SIGKILL``: how a process ended, in words."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"
