"""One location instance running for real: its tick engine on an asyncio loop, fed by sockets.

``LocationNode`` is the same whether it lives in its own OS process (``worker.py``, started by
``Localhost``) or in a Ray actor (``ray.py``). Its loop is the tick loop of the runtime: take
what has arrived (internal channels, External ports, timers), ``tick()`` while there is work,
then flush one frame per peer with everything this tick sent it (messages are batched per
tick), publish External outputs, and wait for the slowest link below its high-water mark before
the next tick (backpressure). A bidi External port hands over each client's requests a share at
a time (``net/external_bidi.py``), so one client's burst does not fill a tick for everyone.

Routing is exactly the in-process driver's (``runtime/inprocess.py``): ``send`` to the one
instance, ``broadcast`` to all members, ``demux`` by ``MemberId``, ``round_robin`` in turn.
A receiver tags what arrives from a cluster member with that member's ``MemberId`` — known
from the connection's authenticated hello — so a cluster → process stream arrives keyed by
sender, each key in its sender's order.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import gc
import itertools
import logging
import os
import ssl
import time
from typing import Any, Awaitable, Callable, Hashable, Iterator

from ..ir.graph import Graph
from ..ir.node import LocationInfo, Node
from ..lang.location import MemberId
from ..net.channel import Address, InternalServer, OutLink, PeerKey
from ..net.codec import FrameEncoder, Groups, decode_batch
from ..net.errors import CodecError
from ..net.external import ExternalInput, ExternalOutput
from ..net.external_bidi import ExternalBidiServer
from ..runtime.routing import route_network
from ..net.limits import PortLimits
from ..net.tls import TlsMaterial
from ..runtime.tick import LocationRuntime
from ..runtime.ops.timers import first_fire, spin_ops
from ..runtime.inprocess import instance_dir
from ..storage import Store, open_store
from ..types.markers import TotalOrder
from .control import parse_liveness_command, parse_membership_command, sizes_from_json
from .async_host import NodeAsyncHost
from ..lang.liveness import Liveness, LivenessKind, LivenessTracker
from ..runtime.liveness import liveness_sources, members_of

__all__ = ["LocationNode", "INPUT_LIMIT", "FRAME_ITEMS", "instance_label", "peer_id", "loop_factory"]

INPUT_LIMIT = 8_192
"""Unprocessed input elements above which a location stops reading its sockets."""
FRAME_ITEMS = 4096
"""Elements per frame; a tick's output to one peer is split into frames of at most this many."""
MAX_HELD_TICKS = 4096
"""Ticks whose output waits for its durable write above which a location stops ticking until
the store catches up (the fsync rate bounds it; the batches of later ticks just grow)."""

log = logging.getLogger("hydrologic.deploy")


def instance_label(loc: LocationInfo, member: int | None) -> str:
    return loc.name if member is None else f"{loc.name}/{member}"


def peer_id(key: PeerKey) -> str:
    loc, member = key
    return f"{loc}" if member is None else f"{loc}:{member}"


def _joined(chunks: list[list[Any]]) -> list[Any]:
    """One fresh list of every element of ``chunks``, in order."""
    return list(itertools.chain.from_iterable(chunks))


def allows_gaps(net: Node) -> bool:
    """Whether a channel may resume after a break *within one incarnation* of its sender.

    An ordered channel promises each incarnation's messages in order with no gap. If the
    connection from a live sender breaks and comes back, what was in flight is lost and the
    receiver could not tell, so such a channel resumes only when the sender is a new
    incarnation (the boundary a ``peer_liveness`` stream shows). A ``NoOrder`` stream promises
    no order, so a message lost in the break is indistinguishable from one delayed forever, and
    a channel the program declared lossy has said it may lose messages: both resume at once.
    """
    if net.params.get("channel") in ("lossy", "lossy_delayed_forever"):
        return True  # the program declared that this channel may lose messages
    order = net.order
    return order is not None and not issubclass(order, TotalOrder)


class LocationNode:
    """One process, or one cluster member, of a deployed program."""

    def __init__(
        self,
        graph: Graph,
        loc: LocationInfo,
        member: int | None,
        cluster_sizes: dict[int, int],
        secret: bytes,
        *,
        incarnation: str = "0",
        store: Store | None = None,
        tls: TlsMaterial | None = None,
        external_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.graph = graph
        # Mutual TLS on every internal channel (both contexts built once, from one material).
        self._tls_client = None if tls is None else tls.client_context()
        self.external_tls = external_tls
        self.loc = loc
        self.member = member
        self.sizes = cluster_sizes
        self.secret = secret
        self.incarnation = incarnation
        self.label = instance_label(loc, member)
        self.rt = LocationRuntime(
            graph, loc, member, cluster_sizes, self._egress, store=store, egress_stream=self._egress_stream
        )
        # Output gating: a tick's messages and External outputs leave only once every durable
        # write of it and of earlier ticks is durable (``store.durable_seq``). Until then they
        # wait here, in tick order, while the engine keeps ticking (the store's group commit).
        self.store = self.rt.store
        self._held: collections.deque[tuple[int, dict[PeerKey, dict[int, list[Any]]], list[tuple[int, list[Any]]]]] = (
            collections.deque()
        )
        self._released = asyncio.Event()
        self.in_nets = {n.id: n for n in graph.nodes if n.op == "network" and n.root is loc}
        self.out_nets = [n for n in graph.nodes if n.op == "network" and n.inputs[0].root is loc]
        self.server = InternalServer(secret, self, tls=None if tls is None else tls.server_context())
        self.links: dict[PeerKey, OutLink] = {}
        # Per peer, per network node: the lists that node sent this tick, by reference (a tick's
        # output lists are never changed once produced; copying them cost a tenth of a sender's time).
        self._outbuf: dict[PeerKey, dict[int, list[list[Any]]]] = {}
        self._rr: dict[Hashable, int] = {}
        self.inputs: dict[str, ExternalInput] = {}
        self.outputs: dict[int, ExternalOutput] = {}
        self.bidi: dict[str, ExternalBidiServer] = {}
        self._bidi_out: dict[int, ExternalBidiServer] = {}  # response sink node id -> its port
        self._sim_sinks: list[int] = []
        self._pending = 0
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._stopping = False
        self.quiet = False  # set when the whole deployment is stopping
        self._tasks: list[asyncio.Task[None]] = []
        self.failed: BaseException | None = None
        self.done = asyncio.Event()
        # --- async user functions (``async_host.py``): tasks on this loop, beside the ticks
        self.async_host = NodeAsyncHost(self)
        # Receiving side: senders whose connection broke (with the incarnation that broke), and
        # who is connected now. A broken sender's ordered channels resume only from a new
        # incarnation: a gap inside one incarnation's ordered stream would be silent.
        self._broken_from: dict[PeerKey, int] = {}
        self._connected: dict[PeerKey, int] = {}
        self._liveness_nodes = liveness_sources(graph, loc)
        self._liveness = LivenessTracker()
        # --- cluster membership: members removed from their cluster while the program runs
        # (``hydrologic scale``); ``self.sizes`` grows when members are added
        self.removed: set[PeerKey] = set()
        self._warned: set[str] = set()
        self.dropped = 0

    # ---- phase 1: bind ---------------------------------------------------------------------

    async def bind(
        self, host: str, port: int = 0, external_ports: dict[str, int] | None = None, *, fallback: bool = False
    ) -> dict[str, Any]:
        """Listen for peers and External clients; returns the ports chosen.

        ``port`` and ``external_ports`` ask for fixed ports (0: any). With ``fallback`` (a new
        incarnation asking for its predecessor's ports), a fixed port that cannot be bound is
        replaced by one the OS chooses, with a warning; the launcher then updates its tables.
        """
        fixed = external_ports or {}

        async def listen(start: Callable[[str, int], Awaitable[int]], want: int, what: str) -> int:
            try:
                return await start(host, want)
            except OSError as e:
                if not fallback or want == 0:
                    raise
                log.warning("%s: cannot listen on %s:%d again (%s); using a new port", what, host, want, e)
                return await start(host, 0)

        internal = await listen(self.server.start, port, "internal channels")
        ext: dict[str, int] = {}
        for n in self.graph.nodes:
            if n.root is not self.loc:
                continue
            name: str
            if n.op == "source_external":
                name = n.params["name"]
                inp = ExternalInput(
                    name,
                    n.params.get("codec", "msgpack"),
                    n.params.get("of"),
                    functools.partial(self._deliver, n.id),
                    self.gate,
                    single_client=n.order is TotalOrder,
                )
                ext[name] = await listen(functools.partial(inp.start, tls=self.external_tls), fixed.get(name, 0), f"external port {name!r}")
                self.inputs[name] = inp
            elif n.op == "send_external":
                name = n.params["name"]
                out = ExternalOutput(name, n.params.get("codec", "msgpack"))
                ext[name] = await listen(functools.partial(out.start, tls=self.external_tls), fixed.get(name, 0), f"external port {name!r}")
                self.outputs[n.id] = out
            elif n.op == "sim_output":
                self._sim_sinks.append(n.id)
            elif n.op == "source_external_bidi":
                name = n.params["name"]
                srv = self._bidi_server(n)
                ext[name] = await listen(
                    functools.partial(srv.start, tls=self.external_tls),
                    fixed.get(name, n.params.get("port") or 0),
                    f"external port {name!r}",
                )
                self.bidi[name] = srv
        if self._sim_sinks:
            log.info("%d sim_output port(s) are not observable in a deployment; use send_external", len(self._sim_sinks))
        return {"internal": internal, "external": ext}

    def _bidi_server(self, n: Node) -> ExternalBidiServer:
        """The server of a bidi port: requests and membership into their inboxes, responses out."""
        members = [m for m in self.graph.nodes if m.op == "external_membership" and m.params["source"] is n]
        srv = ExternalBidiServer(
            n.params["name"],
            n.params.get("codec", "msgpack"),
            n.params.get("of"),
            functools.partial(self._deliver, n.id),
            on_membership=functools.partial(self._deliver, members[0].id) if members else None,
            blocked=lambda: self._pending > INPUT_LIMIT,
            limits=PortLimits.from_params(n.params),
        )
        srv.start_client_ids(int(self.incarnation))
        for m in self.graph.nodes:
            if m.op == "send_external_bidi" and m.params["source"] is n:
                self._bidi_out[m.id] = srv
        return srv

    # ---- phase 2: connect and run ------------------------------------------------------------

    def targets(self) -> list[PeerKey]:
        """Every instance this one sends to."""
        out: list[PeerKey] = []
        for n in self.out_nets:
            to: LocationInfo = n.params["to"]
            keys: list[PeerKey] = [(to.id, m) for m in range(self.sizes[to.id])] if to.is_cluster else [(to.id, None)]
            for k in keys:
                if k not in out and k not in self.removed:
                    out.append(k)
        return out

    async def start(
        self,
        peers: dict[PeerKey, Address],
        liveness: dict[PeerKey, Liveness] | None = None,
        removed: set[PeerKey] | None = None,
    ) -> None:
        """Connect to every peer this instance sends to, then start ticking.

        ``liveness`` is the supervisor's view of every instance when this one starts (absent:
        all ``UP(0)``); it opens this location's ``peer_liveness`` streams. A peer it says is
        down is not waited for: its link reconnects when the peer is reported back. ``removed``
        are members removed from their clusters: no link to them, and no data routed to them.
        """
        self.attach_store(asyncio.get_running_loop())
        self.removed = set(removed or ())
        known = liveness or {}
        for node in self._liveness_nodes:
            peer: LocationInfo = node.params["peer"]
            for m in members_of(peer, self.sizes):
                self.observe_liveness((peer.id, m), known.get((peer.id, m), Liveness.up(0)))
        hello = {"loc": self.loc.id, "member": self.member, "incarnation": self.incarnation}
        for key in self.targets():
            to = self.graph.locations[key[0]]
            self.links[key] = OutLink(
                instance_label(to, key[1]), peers[key], self.secret, hello, reconnect=True, tls=self._tls_client
            )
        down = {k for k, state in known.items() if state.kind is LivenessKind.DOWN}
        up = [(k, l) for k, l in self.links.items() if k not in down]
        results = await asyncio.gather(*(l.connect() for _, l in up))
        for (key, link), ok in zip(up, results):
            if not ok:
                log.warning("starting without a channel to %s (messages to it are held until it is up)", link.label)
                link.retry_later()
        for key in down & self.links.keys():
            self.links[key].retry_later()
        for n in self.graph.nodes:
            if n.op == "source_interval" and n.root is self.loc:
                self._tasks.append(asyncio.ensure_future(self._timer(n)))
        self.async_host.start()
        for spin in spin_ops(self.rt.ops.values()):  # --- timers: a deployed spin never idles
            spin.continuous = True
        self._tasks.append(asyncio.ensure_future(self._loop()))

    async def _timer(self, n: Node) -> None:
        period: float = n.params["seconds"]
        first = first_fire(n)
        start = time.monotonic() + first - period  # a delayed timer first fires at its delay
        k = 0  # events delivered so far; event i (from 1) is due at start + i * period
        while not self._stopping:
            await asyncio.sleep(max(0.0, start + (k + 1) * period - time.monotonic()))
            # A location that is behind on its input gets no timer events until it catches up:
            # its timeouts see it paused, not its peers silent (their messages are among the
            # input it has not read yet).
            await self.gate()
            # Every event that is due, in one delivery, so in one tick: after a pause (a long
            # tick, a process the OS did not run, the gate above) the overdue events are one
            # late burst, not one tick each, which a program that counts ticks that saw its
            # clock (Paxos's election timeout) would take for that many silent periods.
            due = max(k + 1, int((time.monotonic() - start) // period))
            self._deliver(n.id, [first + (i - 1) * period for i in range(k + 1, due + 1)])
            k = due

    async def _loop(self) -> None:
        rt = self.rt
        try:
            while not self._stopping:
                if self.store.error is not None:  # a background write failed: outputs can never leave
                    raise self.store.error
                if not rt.has_work():
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                rt.tick()
                self._pending = 0
                self._space.set()
                if self._held or rt.write_seq > self.store.durable_seq:
                    self._hold(rt.write_seq)
                else:
                    self._flush()
                    self._publish()
                self._after_tick()
                while len(self._held) > MAX_HELD_TICKS and self.store.error is None:
                    self._released.clear()
                    await self._released.wait()
                if self.store.error is not None:
                    raise self.store.error
                for link in self.links.values():
                    if link.backlog() > link.high_water:
                        await link.wait_writable()
                await asyncio.sleep(0)  # let readers run between ticks
        except Exception as e:
            self.failed = e
            log.error("%s stopped: %s", self.label, e, exc_info=e)
        finally:
            self.done.set()

    # ---- sending ------------------------------------------------------------------------------

    def _buf(self, key: PeerKey, nid: int) -> list[list[Any]]:
        groups = self._outbuf.get(key)
        if groups is None:
            groups = self._outbuf[key] = {}
        out = groups.get(nid)
        if out is None:
            out = groups[nid] = []
        return out

    def _egress(self, net: Node, sender: int | None, items: list[Any]) -> None:
        to: LocationInfo = net.params["to"]
        n = self.sizes[to.id] if to.is_cluster else 1

        def bad(msg: str) -> None:  # a deployment never crashes on bad data: log once, count, drop
            self._warn_once(f"demux{net.id}", msg + "; dropped")
            self.dropped += 1

        members = self._members(to.id, n) if self.removed and to.is_cluster else None
        # no sender tag here: the receiver tags what arrives from a cluster member
        for index, batch in route_network(net, n, items, self._rr, net.id, tag_sender=False, on_bad=bad, members=members):
            key: PeerKey = (to.id, index if to.is_cluster else None)
            if key in self.removed:  # a demux to a member that left: nobody receives it
                self.dropped += len(batch)
                continue
            self._buf(key, net.id).append(batch)

    def _egress_stream(self, nets: tuple[Node, ...], sender: int | None, it: Iterator[Any]) -> list[Any]:
        """Send ``it``'s elements a frame at a time while the operator behind it produces them.

        A source that expands one request into a million elements would otherwise build the
        whole list before its first frame leaves, and the next stage would wait for all of it;
        here the first frame is on the wire after ``FRAME_ITEMS`` elements. Writing to a
        connected transport goes to the socket at once, so the peer works while this tick runs.
        Returns the last chunk (everything, for an output of at most one frame) unsent, for the
        usual egress at the end of the tick. Whatever this tick queued before, for any peer, is
        flushed first so that nothing from earlier in the tick is overtaken."""
        chunk = list(itertools.islice(it, FRAME_ITEMS))
        if len(chunk) < FRAME_ITEMS:
            return chunk
        while True:
            following = list(itertools.islice(it, FRAME_ITEMS))
            if not following:
                return chunk
            for net in nets:
                self._egress(net, sender, chunk)
            if not self._held:
                self._flush()
            chunk = following

    # --- cluster membership

    def _members(self, loc_id: int, n: int) -> list[int]:
        """The current members of cluster ``loc_id``: every id below its size but the removed."""
        return [m for m in range(n) if (loc_id, m) not in self.removed]

    def on_membership_command(self, msg: dict[str, Any]) -> None:
        """The launcher scaled a cluster: a member was added (connect to it if this instance
        sends to its cluster) or removed (drop the link, route nothing more to it). Peers
        watching the cluster see ``UP(0)``/``JOINED`` or ``DOWN(n)``/``LEFT``."""
        try:
            key, change, incarnation, address = parse_membership_command(msg)
        except (KeyError, ValueError, TypeError, IndexError) as e:
            log.warning("ignored a malformed membership command %.200s: %s", msg, e)
            return
        loc_id, member = key
        if member is None or not 0 <= loc_id < len(self.graph.locations) or not self.graph.locations[loc_id].is_cluster:
            log.warning("ignored a membership command about %s, which is not a cluster member", msg.get("peer"))
            return
        to = self.graph.locations[loc_id]
        if change == "added":
            self.removed.discard(key)
            self.sizes[loc_id] = max(self.sizes.get(loc_id, 0), member + 1)
            sends_to = any(n.params["to"] is to for n in self.out_nets)
            if sends_to and key not in self.links and address is not None:
                hello = {"loc": self.loc.id, "member": self.member, "incarnation": self.incarnation}
                link = OutLink(instance_label(to, member), address, self.secret, hello, reconnect=True)
                if self.quiet:
                    link.quiet = True
                self.links[key] = link
                link.retry_later()  # opens it in the background, at once and then with backoff
            self.observe_liveness(key, Liveness.up(0))
        else:
            self.removed.add(key)
            self._outbuf.pop(key, None)
            gone = self.links.pop(key, None)
            if gone is not None:
                gone.quiet = True
                self._tasks.append(asyncio.ensure_future(gone.close()))
            self.observe_liveness(key, Liveness.down(incarnation))

    def attach_store(self, loop: asyncio.AbstractEventLoop) -> None:
        """Have the store's writer thread release held outputs on this loop."""

        def durable(_seq: int) -> None:
            try:
                loop.call_soon_threadsafe(self._release)
            except RuntimeError:  # the loop is closed: the node is gone
                pass

        self.store.on_durable = durable

    def _hold(self, seq: int) -> None:
        # Held across ticks, so copied: a stateful operator's output list may grow next tick.
        outbuf = {key: {nid: [_joined(chunks)] for nid, chunks in groups.items()} for key, groups in self._outbuf.items()}
        self._outbuf = {}
        sinks = self.rt.sinks
        taken: list[tuple[int, list[Any]]] = []
        for nid in (*self.outputs, *self._bidi_out):
            sink = sinks[nid]
            if sink.buffer:
                taken.append((nid, sink.buffer))
                sink.buffer = []
        for nid in self._sim_sinks:
            sinks[nid].buffer = []
        self._held.append((seq, outbuf, taken))

    def _release(self) -> None:
        """Send, in tick order, every held output whose writes are now durable."""
        held = self._held
        durable = self.store.durable_seq
        while held and held[0][0] <= durable:
            _, outbuf, taken = held.popleft()
            self._send_frames(outbuf)
            for nid, values in taken:
                out = self.outputs.get(nid)
                if out is not None:
                    out.publish(values)
                else:
                    self._bidi_out[nid].publish(values)
        self._released.set()
        if self.store.error is not None:
            self._wake.set()  # the loop raises it

    def _flush(self) -> None:
        if not self._outbuf:
            return
        outbuf, self._outbuf = self._outbuf, {}
        self._send_frames(outbuf)

    def _send_frames(self, outbuf: dict[PeerKey, dict[int, list[list[Any]]]]) -> None:
        encode = FrameEncoder().encode  # a broadcast's frames are encoded once
        for key, groups in outbuf.items():
            link = self.links.get(key)
            if link is None:  # removed from its cluster while these waited to be durable
                self.dropped += sum(len(items) for chunks in groups.values() for items in chunks)
                continue
            frame: Groups = []
            size = 0
            for nid, chunks in groups.items():
                items = chunks[0] if len(chunks) == 1 else _joined(chunks)
                for i in range(0, len(items), FRAME_ITEMS):
                    # The common case, a tick's output that fits one frame, is sent without a copy.
                    chunk = items if len(items) <= FRAME_ITEMS else items[i : i + FRAME_ITEMS]
                    frame.append((nid, chunk))
                    size += len(chunk)
                    if size >= FRAME_ITEMS:
                        link.send(encode(frame))
                        frame, size = [], 0
            if frame:
                link.send(encode(frame))

    def _publish(self) -> None:
        sinks = self.rt.sinks
        for nid, out in self.outputs.items():
            sink = sinks[nid]
            if sink.buffer:
                values, sink.buffer = sink.buffer, []
                out.publish(values)
        for nid in self._sim_sinks:
            sinks[nid].buffer = []
        for nid, srv in self._bidi_out.items():
            sink = sinks[nid]
            if sink.buffer:
                pairs, sink.buffer = sink.buffer, []
                srv.publish(pairs)

    def _after_tick(self) -> None:
        for srv in self.bidi.values():
            srv.after_tick()

    # ---- receiving (the InboundHandler protocol) ---------------------------------------------

    def _deliver(self, nid: int, items: list[Any], owned: bool = False) -> None:
        if owned:  # a list made for this delivery (a decoded frame's group): taken as is
            self.rt.deliver_owned(nid, items)
        else:
            self.rt.deliver(nid, items)
        self._pending += len(items)
        if self._pending > INPUT_LIMIT:
            self._space.clear()
        self._wake.set()

    def deliver_completion(self, nid: int, item: Any) -> None:
        """One result of an async user function (``async_host.py``), into its operator's inbox."""
        if not self._stopping:
            self._deliver(nid, [item])

    async def gate(self) -> None:
        if self._pending > INPUT_LIMIT:
            await self._space.wait()

    def observe_liveness(self, key: PeerKey, seen: Liveness) -> None:
        """Feed one observation of a peer (from the supervisor or a connection) to the
        ``peer_liveness`` streams watching it, as the promised once-each, in-order events; a
        peer seen up again also gets this instance's link to it reconnected at once."""
        link = self.links.get(key)
        if link is not None and seen.kind is not LivenessKind.DOWN:
            # The peer is back: don't wait out the backoff. Whether or not the program watches
            # its liveness, a sender to it must not sit out up to 2 s of backoff after a restart.
            link.reconnect_now()
        watchers = [n for n in self._liveness_nodes if n.params["peer"].id == key[0]]
        if not watchers:
            return
        events = self._liveness.observe(key, seen)
        if events:
            member: MemberId[Any] = MemberId(0) if key[1] is None else MemberId.of_cluster(key[1], key[0])
            for node in watchers:
                self._deliver(node.id, [(member, ev) for ev in events])

    def peer_changed(self, key: PeerKey, seen: Liveness, address: Address | None = None) -> None:
        """The launcher's news of a peer: it died or came back (``observe_liveness``), and if it
        came back at a new address, this instance's link to it moves there first."""
        link = self.links.get(key)
        if link is not None:
            if address is not None:
                link.repoint(address)
            elif seen.kind is not LivenessKind.DOWN:
                link.reconnect_now()  # even when no peer_liveness stream watches it
        self.observe_liveness(key, seen)

    def on_liveness_command(self, msg: dict[str, Any]) -> None:
        """``peer_changed`` from the launcher's ``liveness_command``; a malformed one is logged and ignored."""
        try:
            key, seen, address = parse_liveness_command(msg)
        except (KeyError, ValueError, TypeError, IndexError) as e:
            log.warning("ignored a malformed liveness command %.200s: %s", msg, e)
            return
        self.peer_changed(key, seen, address)

    def accept(self, hello: dict[str, Any]) -> tuple[Any, str | None]:
        loc_id = hello.get("loc")
        member = hello.get("member")
        try:
            incarnation = int(hello.get("incarnation", 0))
        except (TypeError, ValueError):
            return None, f"bad incarnation {hello.get('incarnation')!r}"
        if type(loc_id) is not int or not 0 <= loc_id < len(self.graph.locations):
            return None, f"unknown sender location {loc_id!r}"
        frm = self.graph.locations[loc_id]
        if not any(n.params["from"] is frm for n in self.in_nets.values()):
            return None, f"{frm} sends nothing to {self.label}"
        if frm.is_cluster:
            if type(member) is not int or not 0 <= member < self.sizes.get(loc_id, 0):
                return None, f"{frm} has no member {member!r}"
        elif member is not None:
            return None, f"{frm} is not a cluster (member {member!r})"
        key: PeerKey = (loc_id, member)
        if key in self.removed:
            return None, f"{instance_label(frm, member)} was removed from its cluster"
        if key in self._connected:
            if incarnation <= self._connected[key]:
                return None, f"{instance_label(frm, member)} is already connected"
            # A newer incarnation while the old one's connection is still open: the old one was
            # declared dead without its connection closing (its machine hung or was cut off), and
            # the supervisor started this one. The old connection is dropped unheard.
            log.info(
                "%s connected as incarnation %d while incarnation %d's connection was still open; dropping that one",
                instance_label(frm, member), incarnation, self._connected[key],
            )
            self.server.supersede(key)
            del self._connected[key]
        self._connected[key] = incarnation
        label = instance_label(frm, member)
        broken = self._broken_from.get(key)
        if broken is not None and incarnation != broken:
            del self._broken_from[key]
            log.info("%s is back as incarnation %d: all its channels resume", label, incarnation)
        elif broken is not None:
            log.warning(
                "%s reconnected as the same incarnation %d; only its channels that allow gaps (NoOrder) resume",
                label,
                incarnation,
            )
        # Before any frame of this connection is delivered: the restart marks where ordered channels resumed.
        self.observe_liveness(key, Liveness.restarted(incarnation))
        return key, None

    def on_frame(self, key: Any, payload: bytes) -> None:
        groups = decode_batch(payload)
        sender: PeerKey = key
        frm = self.graph.locations[sender[0]]
        tag: MemberId[Any] | None = MemberId.of_cluster(sender[1], frm.id) if sender[1] is not None else None
        for nid, items in groups:
            net = self.in_nets.get(nid)
            if net is None or net.params["from"] is not frm:
                raise CodecError(f"frame for node {nid}, which is not a channel from {frm} to {self.label}")
            if sender in self._broken_from and not allows_gaps(net):
                self.dropped += len(items)
                continue
            if tag is not None:
                items = [(tag, x) for x in items]
            self._deliver(nid, items, owned=True)

    def on_closed(self, key: Any, why: str) -> None:
        sender: PeerKey = key
        incarnation = self._connected.pop(sender, 0)
        if self._stopping or self.quiet:
            return
        self._broken_from[sender] = incarnation
        frm = self.graph.locations[sender[0]]
        log.info(
            "channel from %s closed (%s); its ordered channels resume only from a new incarnation",
            instance_label(frm, sender[1]),
            why,
        )

    def set_quiet(self) -> None:
        """The whole deployment is stopping: closing channels are expected, not worth a warning."""
        self.quiet = True
        for link in self.links.values():
            link.quiet = True

    def _warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.error("%s (logged once)", msg)

    # ---- shutdown -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "ticks": self.rt.ticks_run,
            "dropped": self.dropped + sum(l.dropped_frames for l in self.links.values()),
            "links": {
                l.label: {"up": l.up, "sent": l.sent_frames, "dropped": l.dropped_frames, "held": l.held_frames}
                for l in self.links.values()
            },
            "rejected": self.server.rejected
            + sum(i.rejected for i in self.inputs.values())
            + sum(b.rejected for b in self.bidi.values()),
            "bidi": {
                name: {
                    "clients": len(b.conns),
                    "received": b.received,
                    "sent": b.sent,
                    "dropped": b.dropped,
                    "refused": b.refused,
                    "over_limit": b.over_limit,
                    "slow": b.slow,
                    "buffered": b.buffered,
                }
                for name, b in self.bidi.items()
            },
            # the collector's settings (deploy/gc_tuning.py) and its collections per generation
            "gc": {
                "thresholds": list(gc.get_threshold()),
                "frozen": gc.get_freeze_count(),
                "collections": [g["collections"] for g in gc.get_stats()],
            },
        }

    async def stop(self) -> None:
        self._stopping = True
        self.async_host.stop()
        self._wake.set()
        self._space.set()
        for t in self._tasks:
            if t.get_loop() is asyncio.get_running_loop() and not t.done() and t is not asyncio.current_task():
                t.cancel()
        await asyncio.gather(*(l.close() for l in self.links.values()), return_exceptions=True)
        for inp in self.inputs.values():
            await inp.close()
        for out in self.outputs.values():
            await out.close()
        for b in self.bidi.values():
            await b.close()
        await self.server.close()
        await asyncio.get_running_loop().run_in_executor(None, self.store.close)
        self.done.set()


def loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed and wanted; asyncio's otherwise."""
    if not use_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def node_from_config(graph: Graph, cfg: dict[str, Any]) -> LocationNode:
    """The ``LocationNode`` a worker (process or Ray actor) runs, from the launcher's JSON config."""
    return LocationNode(
        graph,
        graph.locations[int(cfg["location"])],
        cfg.get("member"),
        sizes_from_json(cfg["cluster_sizes"]),
        bytes.fromhex(cfg["secret"]),
        incarnation=str(cfg.get("incarnation", "0")),
        store=store_from_config(graph, cfg),
        tls=TlsMaterial.from_json(cfg["tls"]) if cfg.get("tls") else None,
        external_tls=external_tls_from_config(cfg.get("external_tls")),
    )


def external_tls_from_config(raw: dict[str, Any] | None) -> ssl.SSLContext | None:
    """The server context of this instance's External ports (``raw``: the launcher's material,
    plus whether clients must present a certificate), or None for plain TCP ports."""
    if not raw:
        return None
    return TlsMaterial.from_json(raw).server_context(require_client_cert=bool(raw.get("require_client_cert")))


def store_from_config(graph: Graph, cfg: dict[str, Any]) -> Store | None:
    """The on-disk store of this instance (``cfg["data_dir"]``: the program's data directory), if
    its location keeps durable state; None (an in-memory store) otherwise."""
    loc = graph.locations[int(cfg["location"])]
    data_dir = cfg.get("data_dir")
    if not data_dir or not any(n.params.get("durable") for n in graph.nodes_at(loc)):
        return None
    member = cfg.get("member")
    return open_store(
        os.path.join(str(data_dir), instance_dir(loc.name, member)),
        label=instance_label(loc, member),
        fsync=str(cfg.get("fsync", "batch")),
    )

