"""Run a whole program in this process: every location and cluster member, in-memory channels.

This is the simplest driver: deterministic (locations tick in a fixed order, each channel is
FIFO, batches release everything that arrived), with virtual time for ``source_interval``. It is
what tests, examples and the REPL use; the simulator explores the nondet choices this driver
always makes the same way, and ``deploy`` runs the same graph across OS processes.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Hashable

from ..ir.graph import Graph
from ..ir.node import Node
from ..lang._access import node_of
from ..lang.collection import Live
from ..lang.io import SimInput, SimOutput, reset_driver, set_driver
from ..types.errors import HydroRuntimeError, UsageError
from .ops import ABSENT, Inbox
from .routing import route_network
from .liveness import liveness_sources, opening_events
from ..storage import MemoryStore, Store, check_fsync_mode, open_store
from .ops.timers import first_fire
from .tick import LocationRuntime

__all__ = ["InProcessRun", "instance_dir"]


def instance_dir(location: str, member: int | None) -> str:
    """The data directory of one location instance under a program's data directory."""
    return location if member is None else f"{location}-{member}"


class InProcessRun:
    """Drives every location of a built graph in this process. Use as a context manager so that
    ``SimInput``/``SimOutput`` ports find it, or call its methods directly."""

    def __init__(
        self,
        graph: Graph,
        cluster_sizes: dict[int, int],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        fsync: str = "batch",
    ) -> None:
        self.graph = graph
        assert not graph.missing_sizes(cluster_sizes), "sizes come from lang.builder.resolve_cluster_sizes"
        self.sizes = dict(cluster_sizes)
        self.by_loc: dict[int, list[LocationRuntime]] = {}
        self.runtimes: list[LocationRuntime] = []
        # Durable state: in memory, or one store per instance under ``data_dir`` (the layout of
        # a deployment: ``<data_dir>/<location>-<member>``). In one process every message is
        # delivered at once, so a tick that wrote waits for its write (``sync``) before the next.
        self.data_dir = data_dir
        self.fsync = check_fsync_mode(fsync)
        self.stores: list[Store] = []
        for loc in graph.locations:
            if loc.kind == "external":
                continue
            members: list[int | None] = list(range(self.sizes[loc.id])) if loc.is_cluster else [None]
            rts = [
                LocationRuntime(graph, loc, m, self.sizes, self._egress, store=self._store_for(loc.name, m))
                for m in members
            ]
            self.by_loc[loc.id] = rts
            self.runtimes.extend(rts)
        self._rr: dict[Hashable, int] = {}
        self._taken: dict[int, int] = {}
        self._ports = {n.params["name"]: n for n in graph.nodes if n.op in ("source_external", "send_external")}
        # Bidirectional ports (lang/bidi.py): requests in, responses routed per client.
        self._bidi = {n.params["name"]: n for n in graph.nodes if n.op == "source_external_bidi"}
        self._bidi_out = {n.params["name"]: n for n in graph.nodes if n.op == "send_external_bidi"}
        self._bidi_members = {n.params["name"]: n for n in graph.nodes if n.op == "external_membership"}
        self._bidi_stash: dict[str, dict[Any, list[Any]]] = {}
        self.now = 0.0
        # the last firing of each timer (a delayed one first fires at its delay, not its period)
        self._timers = {n.id: first_fire(n) - n.params["seconds"] for n in graph.nodes if n.op == "source_interval"}
        for loc_id, rts in self.by_loc.items():  # nothing dies here on its own: every peer starts UP(0)
            for node in liveness_sources(graph, graph.locations[loc_id]):
                for rt in rts:
                    rt.deliver(node.id, opening_events(node, self.sizes))
        self._token: Any = None
        # node id -> the inbox of a process's input port (filled by the first send to it).
        self._process_inputs: dict[int, Inbox] = {}

    def _store_for(self, name: str, member: int | None) -> Store:
        label = name if member is None else f"{name}/{member}"
        if self.data_dir is None:
            store: Store = MemoryStore(label)
        else:
            store = open_store(os.path.join(self.data_dir, instance_dir(name, member)), label=label, fsync=self.fsync)
        self.stores.append(store)
        return store

    def close(self) -> None:
        """Make every durable write durable and close the stores (``with`` does it on exit)."""
        for store in self.stores:
            store.close()

    def __enter__(self) -> InProcessRun:
        self._token = set_driver(self)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        reset_driver(self._token)
        self.close()

    # ---- channels ------------------------------------------------------------------------------

    def _egress(self, net: Node, sender: int | None, items: list[Any]) -> None:
        targets = self.by_loc[net.params["to"].id]
        for index, batch in route_network(net, len(targets), items, self._rr, (net.id, sender), sender=sender):
            targets[index].deliver(net.id, batch)

    # ---- stepping --------------------------------------------------------------------------------

    def run_until_idle(self, max_ticks: int = 1_000_000) -> int:
        """Tick every location that has work until none has; returns the number of ticks run."""
        ticks = 0
        if len(self.runtimes) == 1:  # one location: the common test and benchmark, one loop
            rt = self.runtimes[0]
            while rt.has_work():
                rt.tick()
                if rt.write_seq > rt.store.durable_seq:
                    rt.store.sync()
                ticks += 1
                if ticks > max_ticks:
                    raise HydroRuntimeError(
                        f"the program did not become idle within {max_ticks} ticks "
                        f"(last: {rt.name}); a cycle may keep producing new data"
                    )
            return ticks
        while True:
            progressed = False
            for rt in self.runtimes:
                if rt.has_work():
                    rt.tick()
                    if rt.write_seq > rt.store.durable_seq:
                        rt.store.sync()
                    ticks += 1
                    progressed = True
                    if ticks > max_ticks:
                        raise HydroRuntimeError(
                            f"the program did not become idle within {max_ticks} ticks "
                            f"(last: {rt.name}); a cycle may keep producing new data"
                        )
            if not progressed:
                return ticks

    def advance_time(self, seconds: float) -> int:
        """Move virtual time forward, firing ``source_interval`` timers, then run until idle."""
        self.now += seconds
        for node in self.graph.nodes:
            if node.op != "source_interval":
                continue
            period: float = node.params["seconds"]
            fires: list[Any] = []
            while self._timers[node.id] + period <= self.now:
                self._timers[node.id] += period
                fires.append(self._timers[node.id])
            if fires:
                for rt in self.by_loc[node.root.id]:
                    rt.deliver(node.id, list(fires))
        return self.run_until_idle()

    # ---- ports (the Driver protocol) ---------------------------------------------------------------

    def input_send(self, node: Node, values: list[Any], member: int | None, unordered: bool) -> None:
        # Inputs to a process (the common case) skip the location lookups after the first send.
        # ``values`` is always a list made for this call (the ports copy what the user passed),
        # so an empty inbox can adopt it instead of copying it.
        inbox = self._process_inputs.get(node.id)
        if inbox is not None:
            if inbox.pending:
                inbox.pending.extend(values)
            else:
                inbox.pending = values
            return
        rts = self.by_loc[node.root.id]
        if node.root.is_cluster:
            if member is None or not 0 <= member < len(rts):
                raise UsageError(
                    "HL501",
                    f"input built at {node.site} is on {node.root} ({len(rts)} members): pass member=0..{len(rts) - 1}",
                )
            rts[member].deliver(node.id, values)
        else:
            rts[0].deliver(node.id, values)
            op = rts[0].ops[node.id]
            assert isinstance(op, Inbox)
            self._process_inputs[node.id] = op

    def output_drain(self, node: Node) -> list[Any]:
        self.run_until_idle()
        out: list[Any] = []
        for rt in self.by_loc[node.root.id]:
            sink = rt.sinks[node.id]
            out.extend(sink.buffer)
            sink.buffer = []
        return out

    def output_next(self, node: Node) -> tuple[bool, Any]:
        for attempt in range(2):
            for rt in self.by_loc[node.root.id]:
                sink = rt.sinks[node.id]
                if sink.buffer:
                    return True, sink.buffer.pop(0)
            if attempt == 0:
                self.run_until_idle()
        return False, None

    # ---- conveniences ------------------------------------------------------------------------------

    def send(self, port: SimInput[Any], values: list[Any], *, member: int | None = None) -> None:
        self.input_send(node_of(port), list(values), member, False)

    def collect(self, port: SimOutput[Any]) -> list[Any]:
        return self.output_drain(node_of(port))

    def external_send(self, name: str, values: list[Any], *, client: int | None = None) -> None:
        """Send ``values`` into an External input port; for a bidi port, as client ``client``."""
        bidi = self._bidi.get(name)
        if bidi is not None:
            cid = self._client_arg(name, client)
            self.by_loc[bidi.root.id][0].deliver(bidi.id, [(cid, v) for v in values])
            return
        node = self._port(name, "source_external")
        self.by_loc[node.root.id][0].deliver(node.id, list(values))

    def external_collect(self, name: str, *, client: int | None = None) -> list[Any]:
        """Everything an External output port emitted; for a bidi port, the responses to ``client``."""
        if name in self._bidi:
            cid = self._client_arg(name, client)
            sink = self._bidi_out.get(name)
            if sink is None:  # pragma: no cover - build() requires the port to be completed
                return []
            stash = self._bidi_stash.setdefault(name, {})
            for k, v in self.output_drain(sink):
                stash.setdefault(k, []).append(v)
            return stash.pop(cid, [])
        return self.output_drain(self._port(name, "send_external"))

    def external_connect(self, name: str, client: int) -> None:
        """Client ``client`` connects to bidi port ``name`` (a ``JOINED`` event on its membership stream)."""
        self._membership_event(name, client, "joined")

    def external_disconnect(self, name: str, client: int) -> None:
        """Client ``client`` leaves bidi port ``name`` (a ``LEFT`` event on its membership stream)."""
        self._membership_event(name, client, "left")

    def _membership_event(self, name: str, client: int, what: str) -> None:
        from ..lang.bidi import MembershipEvent

        cid = self._client_arg(name, client)
        node = self._bidi_members.get(name)
        if node is None:
            raise UsageError("HL501", f"bidi port {name!r} has no membership() stream")
        self.by_loc[node.root.id][0].deliver(node.id, [(cid, MembershipEvent(what))])

    def _client_arg(self, name: str, client: int | None) -> Any:
        if name not in self._bidi:
            raise UsageError("HL501", f"no bidirectional external port named {name!r}; known: {sorted(self._bidi)}")
        if not isinstance(client, int) or client < 0:
            raise UsageError("HL501", f"port {name!r} is bidirectional: pass client=<a non-negative int>, got {client!r}")
        return client

    def _port(self, name: str, op: str) -> Node:
        node = self._ports.get(name)
        if node is None or node.op != op:
            kinds = {"source_external": "input", "send_external": "output"}
            known = sorted(k for k, n in self._ports.items() if n.op == op)
            raise UsageError("HL501", f"no external {kinds[op]} port named {name!r}; known: {known}")
        return node

    def value(self, coll: Live, member: int | None = None) -> Any:
        """The current value of a top-level Singleton/Optional/KeyedSingleton (None if absent)."""
        node = node_of(coll)
        if node.kind not in ("singleton", "optional", "keyed_singleton"):
            raise UsageError("HL501", f"value() reads singletons, not a {node.kind}")
        if node.in_tick:
            # Between ticks, state inside a tick has already been reset: reading it would
            # return init(), never the value the last tick computed.
            raise UsageError(
                "HL501",
                f"value() reads top-level collections, but {node.describe()} is inside {node.scope}; "
                "its state is reset at the end of every tick",
                fix="Read `x.latest()` (the value of the last tick that ran) instead of `x`.",
            )
        self.run_until_idle()
        rts = self.by_loc[node.root.id]
        rt = rts[member or 0]
        v = rt.ops[node.id].value
        return None if v is ABSENT else v

    def inbox_sizes(self) -> dict[str, int]:
        """Pending input per location (for debugging stuck programs)."""
        return {
            rt.name: sum(len(op.pending) for op in rt.ops.values() if isinstance(op, Inbox)) for rt in self.runtimes
        }

