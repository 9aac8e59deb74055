"""What every deployment target does with the supervisor's verdicts (``supervision.py`` rules).

``SupervisedDeployment`` is the part ``Localhost`` and ``Ray`` share: the liveness view of every
instance (sent to each instance when it starts), the news of a death or restart for the others,
the log line of each death, restart and give-up, the restart after a backoff in a thread of its
own, and stopping the deployment when the verdict says so. A target brings how it notices a
death (its own watch loop, which calls ``_on_death``), how it starts a new incarnation
(``_restart_instance``), how it reaches its running instances (``_tell_others``) and ``stop``.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Any, Callable, Mapping

from ..ir.graph import Graph
from ..ir.consistency import fixed_membership
from ..ir.node import LocationInfo
from ..lang.liveness import Liveness
from ..net.channel import Address
from .control import liveness_command, membership_command
from .deployment import Deployment, DeploymentError, Instance
from .supervision import FailurePolicies, RestartPolicy, Supervisor

__all__ = ["SupervisedDeployment", "LogSink", "print_line"]

LogSink = Callable[[str], None]


def print_line(line: str) -> None:
    """The default log sink: stdout, flushed."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class SupervisedDeployment(Deployment):
    """A deployment whose instances are restarted, left dead or stop it all, per location policy."""

    def __init__(self, graph: Graph, sizes: dict[int, int], policies: FailurePolicies, log: LogSink) -> None:
        super().__init__(graph, sizes)
        policies.check_names([l.name for l in graph.locations if l.kind != "external"])
        self.policies = policies
        self._log = log
        self._supervisor = Supervisor(policies)
        self._states: dict[str, Liveness] = {inst.key: Liveness.up(0) for inst in self.instances}
        self._internal: dict[str, Address] = {}
        self._external: dict[str, dict[str, int]] = {}  # instance key -> its External ports by name
        self._lock = threading.RLock()
        self._stopping = False
        self._halt = threading.Event()  # set as soon as stopping begins (wakes restarts in their backoff)
        self._stopped = threading.Event()  # set when everything has stopped
        self._shut_down_on_failure = False
        self._threads: list[threading.Thread] = []
        self._removed: set[str] = set()  # keys of cluster members removed while running (``scale``)

    # ---- what a target provides -----------------------------------------------------------------

    def _tell_others(self, inst: Instance, msg: dict[str, Any]) -> None:
        """Send ``msg`` (a ``liveness_command``) to every running instance but ``inst``; called
        under the lock, so it is ordered with every ``start`` sent under it too."""
        raise NotImplementedError

    def _restart_instance(self, inst: Instance) -> int:
        """Start a new incarnation of the dead ``inst``; returns its incarnation, or raises DeploymentError."""
        raise NotImplementedError

    def _restart_failed(self, inst: Instance, error: DeploymentError) -> None:
        """A new incarnation did not start: end what is left of it and report it with ``_on_death``."""
        raise NotImplementedError

    # ---- tables -----------------------------------------------------------------------------------

    def _liveness_json(self) -> dict[str, list[Any]]:
        return {key: [state.kind.value, state.incarnation] for key, state in self._states.items()}

    def _peers(self) -> dict[str, list[Any]]:
        return {k: [h, p] for k, (h, p) in self._internal.items()}

    def _record_ready(self, inst: Instance, host: str, internal: int, external: Mapping[str, int]) -> Address | None:
        """Record where an incarnation listens; returns its internal address if it moved."""
        with self._lock:
            before = self._internal.get(inst.key)
            now = (host, int(internal))
            self._internal[inst.key] = now
            self._external[inst.key] = {name: int(p) for name, p in external.items()}
            self._record_ports(inst, host, external)
        if before is None or before == now:
            return None
        self._log(f"[hydrologic] {inst.label} could not listen on {before[0]}:{before[1]} again; it is now at {now[0]}:{now[1]}")
        return now

    def _ports_to_reuse(self, inst: Instance) -> tuple[int, dict[str, int]]:
        """The internal and External ports of the last incarnation of ``inst``, for the next one."""
        with self._lock:
            return self._internal[inst.key][1], dict(self._external.get(inst.key, {}))

    def internal_address(self, location: str, member: int | None = None) -> tuple[str, int]:
        """Where an instance accepts internal (authenticated) connections."""
        return self._internal[self._find(location, member).key]

    # ---- threads and stopping ------------------------------------------------------------------

    def _background(self, target: Callable[..., object], *args: object, name: str) -> None:
        """Run ``target(*args)`` in a daemon thread that ``_join_background`` can wait for."""
        th = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [th]
        th.start()

    def _join_background(self, timeout: float) -> bool:
        """Wait for every background thread but this one to end; False if some did not in time."""
        deadline = time.monotonic() + timeout
        me = threading.current_thread()
        while True:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive() and t is not me]
            if not alive:
                return True
            if time.monotonic() > deadline:
                return False
            alive[0].join(max(0.0, min(0.5, deadline - time.monotonic())))

    def _begin_stop(self) -> bool:
        """Mark the deployment stopping; False if it already was (another caller is stopping it)."""
        with self._lock:
            if self._stopping:
                return False
            self._stopping = True
        self._halt.set()
        return True

    # ---- deaths and restarts -------------------------------------------------------------------

    def _announce(self, inst: Instance, state: Liveness, moved_to: Address | None = None) -> None:
        """Tell every other running instance that ``inst`` died or came back (``peer_liveness``),
        and where it listens now if that changed (before the news that it is back)."""
        with self._lock:
            self._states[inst.key] = state
            self._tell_others(inst, liveness_command(inst.key, state, moved_to))

    def _on_death(self, inst: Instance, incarnation: int, what: str, detail: str = "") -> str:
        """Report one unexpected death (``what``: who and how, in words) once, and act on the
        supervisor's verdict; returns the action (``restart``, ``continue`` or ``shutdown``)."""
        self.failures.append(what + detail)
        self._announce(inst, Liveness.down(incarnation))
        verdict = self._supervisor.on_death(inst.key, inst.loc.name, time.monotonic())
        policy = self.policies.for_location(inst.loc.name)
        if verdict.action == "restart" and inst.loc.no_restart is not None:
            self._log(f"[hydrologic] {what}; not restarting it: the program forbids it ({inst.loc.no_restart})")
            return "continue"
        if verdict.action == "restart":
            assert isinstance(policy, RestartPolicy)
            self._log(
                f"[hydrologic] {what}; restarting it in {verdict.delay:g}s "
                f"(restart {verdict.recent + 1} of at most {policy.max_restarts} within {policy.within:g}s)"
            )
            self._background(self._restart_later, inst, verdict.delay, name="hydrologic-restart")
        elif verdict.gave_up:
            assert isinstance(policy, RestartPolicy)
            self._log(
                f"[hydrologic] {what}; giving up on it after {verdict.recent} restarts within {policy.within:g}s"
                + ("; stopping the deployment" if verdict.action == "shutdown" else "; the others keep running")
            )
        else:
            self._log(f"[hydrologic] {what}" + ("; stopping the deployment (on_failure='shutdown')" if verdict.action == "shutdown" else ""))
        if verdict.action == "shutdown":
            self._shut_down_on_failure = True
            threading.Thread(target=self.stop, name="hydrologic-stop", daemon=True).start()  # it joins the others
        return verdict.action

    def _check_restartable(self, inst: Instance, force: bool) -> None:
        """``restart()`` refuses a location whose program forbids restarts, unless forced."""
        if inst.loc.no_restart is not None and not force:
            raise DeploymentError(
                f"{inst.label} must not be restarted: {inst.loc.no_restart} "
                "(the program said so with forbid_restart; pass force=True to restart it anyway, e.g. to test that)"
            )

    def _restart_later(self, inst: Instance, delay: float) -> None:
        if self._halt.wait(delay) or self._stopping or inst.key in self._removed:
            return
        try:
            incarnation = self._restart_instance(inst)
        except DeploymentError as e:
            if not self._stopping:
                self._restart_failed(inst, e)
        else:
            self._log(f"[hydrologic] {inst.label} restarted (incarnation {incarnation})")

    # ---- public API -------------------------------------------------------------------------------

    @property
    def failed(self) -> bool:
        """Whether the deployment stopped because of a failure (its policy said shutdown, or gave up)."""
        return self._shut_down_on_failure

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the deployment stops (a failure stopped it, or ``stop`` was called); True if it did."""
        return self._stopped.wait(timeout)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if et is None and self.failures and self._shut_down_on_failure:
            raise DeploymentError("the deployment failed:\n" + "\n".join(self.failures))

    # --- cluster membership ------------------------------------------------------------------------

    def add_member(self, location: str) -> int:
        """Start a new member of cluster ``location`` with the next unused id and return the id;
        every instance watching the cluster sees it join (``source_cluster_members``)."""
        raise NotImplementedError

    def remove_member(self, location: str, member: int | None = None) -> int:
        """Stop member ``member`` of cluster ``location`` for good (default: the highest current
        id) and return its id; every instance watching the cluster sees it leave."""
        raise NotImplementedError

    def members(self, location: str) -> list[int]:
        """The current member ids of cluster ``location`` (running or being restarted)."""
        loc = self._cluster(location)
        with self._lock:
            return [i.member for i in self.instances if i.loc is loc and i.member is not None]

    def scale(self, location: str, to: int) -> list[int]:
        """Add or remove members of cluster ``location`` until it has ``to``; returns its members.
        New members get new ids; removal takes the highest ids first."""
        if to < 1:
            raise DeploymentError(f"a cluster needs at least one member; cannot scale {location} to {to}")
        while len(cur := self.members(location)) != to:
            if len(cur) < to:
                self.add_member(location)
            else:
                self.remove_member(location, cur[-1])
        return self.members(location)

    def _cluster(self, location: str) -> LocationInfo:
        for loc in self.graph.locations:
            if loc.name == location:
                if not loc.is_cluster:
                    raise DeploymentError(f"{location} is a process, not a cluster: only clusters gain and lose members")
                return loc
        known = ", ".join(l.name for l in self.graph.locations if l.is_cluster) or "none"
        raise DeploymentError(f"no cluster named {location!r} in this deployment (clusters: {known})")

    def _changeable(self, location: str) -> LocationInfo:
        """Cluster ``location``, refused if a ``broadcast_closed`` promises it fixed members."""
        loc = self._cluster(location)
        closed = fixed_membership(self.graph.nodes).get(loc.id)
        if closed is not None:
            raise DeploymentError(
                f"{location} keeps the members it started with: {closed.describe()} sends every element "
                "to every member of a fixed membership (a member added later would miss what came before); "
                "use broadcast(cluster, nondet(...)), which reaches the members of the moment, to let it change"
            )
        return loc

    def _new_member(self, location: str) -> Instance:
        """Reserve the next member id of ``location``: a new instance in the tables, UP(0)."""
        loc = self._changeable(location)
        with self._lock:
            if self._stopping:
                raise DeploymentError("the deployment is stopping")
            member = self.sizes[loc.id]
            self.sizes[loc.id] = member + 1  # sizes count every id ever used: new ids are never reused
            inst = Instance(loc, member)
            self.instances.append(inst)
            self._states[inst.key] = Liveness.up(0)
        return inst

    def _drop_member(self, location: str, member: int | None, incarnation: Callable[[Instance], int]) -> Instance:
        """Take member ``member`` (default: the highest) out of the tables and tell the others it
        left; the target then stops its process."""
        self._changeable(location)
        with self._lock:
            current = self.members(location)
            if member is None:
                member = current[-1] if current else -1
            if member not in current:
                raise DeploymentError(f"{location} has no member {member} (members: {current})")
            if len(current) == 1:
                raise DeploymentError(f"cannot remove {location}/{member}: a cluster needs at least one member")
            inst = self._find(location, member)
            self.instances.remove(inst)
            self._removed.add(inst.key)
            for name in self._external.get(inst.key, {}):
                self._ports.pop((name, member), None)
            state = Liveness.down(incarnation(inst))
            self._states[inst.key] = state
            self._tell_others(inst, membership_command(inst.key, "removed", state.incarnation))
        return inst

    def _removed_json(self) -> list[str]:
        return sorted(self._removed)
