"""``Ray``: the same program, unchanged, with each process and cluster member as a Ray actor.

Ray places, starts and stops the actors; it carries only control calls (``ready``, ``start``,
``status``, ``liveness``, ``stop``). Data never goes through Ray: each actor runs the same
``LocationNode`` as a ``Localhost`` child, on an asyncio loop in a thread of its own, and the
actors talk over the direct, authenticated TCP channels of ``hydrologic.net``.

Supervision is the driver's, as on ``Localhost`` (``supervised.py``): actors are created with
``max_restarts=0``, and a dead one is replaced by a new actor, a new incarnation, which goes
through ``ready`` and ``start`` like the first and whose peers are told it is back. Ray's own
actor restarts would only re-run the constructor: no port table, no ``start``, no news for the
peers, and no incarnation number.

The program's folder travels to the nodes as the actors' ``runtime_env`` working directory
(``ray_code.py``), so nodes need not share the driver's file system; a location given a
``Placement`` is reserved as a Ray placement group before any actor starts (``ray_placement.py``).
Actors are named ``hydrologic/<deployment>/<label>#<incarnation>`` so that ``hydrologic status``
can find them from another driver.

``ray`` is an optional dependency (``pip install 'hydrologic[ray]'``); it is imported only when a
``Ray`` deployment starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
import time
from typing import Any, Mapping

from ..ir.graph import Graph
from ..lang.liveness import Liveness
from ..net.auth import new_secret
from ..net.channel import Address
from ..types.errors import UsageError
from .control import liveness_from_json, membership_command, parse_peers, removed_from_json, sizes_to_json
from .gc_tuning import tune_gc
from .deployment import DeploymentError, Instance, build_for_launch, rebuild_in_worker
from .node import LocationNode, loop_factory, node_from_config
from .supervised import LogSink, SupervisedDeployment, print_line
from ..storage import check_fsync_mode
from .supervision import FailurePolicies, Policy
from .security import TlsOption, resolve_tls
from .ray_code import ShippedCode, ship, upload
from .ray_placement import STRATEGIES, Placement, amount, bundle_of, describe_request, resolve_placement

__all__ = ["Ray", "RayDeployment", "Placement"]

STATUS_TIMEOUT = 10.0
"""Seconds an actor may take to answer a status call before it is taken for dead (and killed)."""
ACTOR_PREFIX = "hydrologic/"
"""Every actor is named ``hydrologic/<deployment id>/<label>#<incarnation>``."""
POLL = 0.2
"""Seconds between two rounds of status calls: a dead actor is noticed within about this long."""
NODE_PROBE_TIMEOUT = 5.0
"""Seconds a restart waits for its old node to run a probe task before placing the new
incarnation on another live node."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DeploymentError(
            "hl.deploy.Ray needs the `ray` package: pip install 'hydrologic[ray]'"
        ) from None
    return ray


class Ray:
    """Deploy on a Ray cluster at ``address`` (``"auto"``, ``"host:port"``, or None for a new local one).

    ``host`` is the address each actor listens on for channels and External ports; by default
    the IP Ray reports for the actor's node. ``spread`` places the actors of locations without a
    ``placement`` round-robin over the nodes alive at start-up (pinned: an actor waits for its
    node rather than land elsewhere); they reserve no CPU. ``placement`` maps a location (name or
    tag class) to a ``Placement``: what each of its actors reserves (CPUs, GPUs, memory, custom
    resources), how its members are spread, and node labels they need, reserved as a Ray
    placement group before anything starts (a request Ray cannot satisfy fails within its
    ``timeout``, naming the location). ``runtime_env`` is Ray's, merged with what ``ship_code``
    adds: the program's folder as the actors' ``working_dir`` (see ``ray_code.py``), so nodes
    need not share the driver's file system; ``ship_code=False`` leaves the code where it is
    (every node must see the driver's paths). ``on_failure`` and ``on_failure_for`` are as for ``Localhost``
    (``"shutdown"``, ``"continue"``, ``"restart"`` or a ``RestartPolicy``, per location name);
    a restarted instance is a new actor on the same node and ports where Ray and the OS allow.
    ``log`` receives the supervisor's lines (deaths, restarts, give-ups); the actors' own output
    reaches the driver through Ray's log streaming.
    ``data_dir`` and ``fsync`` are as for ``Localhost``, with ``data_dir`` a path on each node's
    own disk (or a shared mount): an instance restarted on another node recovers only what that
    path holds there. Without ``data_dir`` durable state is kept in memory and a restarted actor
    starts empty.
    ``tls`` and ``external_tls`` are as for ``Localhost``, except that ``tls=None`` turns mutual
    TLS on when the cluster's live nodes have more than one IP address (channels cross hosts);
    the certificates travel in the actors' configuration with the deployment's secret.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        host: str | None = None,
        spread: bool = True,
        on_failure: Policy = "shutdown",
        on_failure_for: Mapping[str, Policy] | None = None,
        log: LogSink | None = None,
        log_level: str = "INFO",
        startup_timeout: float = 120.0,
        init_kwargs: Mapping[str, Any] | None = None,
        data_dir: str | None = None,
        fsync: str = "batch",
        placement: Mapping[Any, Placement] | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        ship_code: bool = True,
        tls: TlsOption = None,
        external_tls: TlsOption = False,
    ) -> None:
        self.tls = tls
        self.external_tls = external_tls
        self.placement = dict(placement or {})
        for p in self.placement.values():
            if not isinstance(p, Placement):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise UsageError("HL501", f"placement values must be hl.deploy.Placement, got {type(p).__name__}")
        self.runtime_env = dict(runtime_env or {})
        self.ship_code = ship_code
        self.policies = FailurePolicies.of(on_failure, on_failure_for)
        self.data_dir = data_dir
        self.fsync = check_fsync_mode(fsync)
        self.address = address
        self.host = host
        self.spread = spread
        self.on_failure = self.policies.default
        self.log: LogSink = log or print_line
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.init_kwargs = dict(init_kwargs or {})

    def start(self, program: str, cluster_sizes: Mapping[Any, int] | None = None) -> RayDeployment:
        """Build ``program`` (``module:function`` or ``file.py:function``) and start it on Ray."""
        graph, sizes = build_for_launch(program, cluster_sizes)
        return self.launch(program, graph, sizes)

    def launch(self, program: str, graph: Graph, sizes: dict[int, int]) -> RayDeployment:
        """Start an already built ``graph`` (``sizes`` keyed by location id); every actor rebuilds ``program``."""
        return RayDeployment(self, program, graph, sizes)


class LocationActor:
    """The body of one Ray actor: a ``LocationNode`` on a private event loop thread."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.label = str(cfg["label"])
        self.node: LocationNode | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        logging.basicConfig(
            stream=sys.stderr,
            level=cfg.get("log_level", "INFO"),
            format=f"[{self.label}] %(levelname)s %(name)s: %(message)s",
            force=True,
        )

    def __repr__(self) -> str:  # Ray prefixes the actor's log lines with this
        return f"hydrologic[{self.label}]"

    def _call(self, coro: Any, timeout: float = 60.0) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def ready(self) -> dict[str, Any]:
        """Rebuild the program and bind the ports (a new incarnation asks for its predecessor's)."""
        cfg = self.cfg
        try:
            graph, fp = rebuild_in_worker(cfg)
        except DeploymentError as e:
            raise DeploymentError(f"{self.label}: {e}") from None
        except ImportError as e:
            raise DeploymentError(_import_failed(self.label, str(cfg["program"]), e)) from None
        tune_gc()  # as a local worker does (deploy/gc_tuning.py): the actor's process is the location's
        factory = loop_factory(True)
        loop = factory() if factory is not None else asyncio.new_event_loop()
        self.loop = loop
        self.thread = threading.Thread(target=loop.run_forever, name="hydrologic-loop", daemon=True)
        self.thread.start()
        host = cfg.get("host") or _node_ip()
        port, external, fallback = int(cfg.get("port", 0)), cfg.get("external_ports"), bool(cfg.get("fallback_ports"))

        async def make() -> tuple[LocationNode, dict[str, Any]]:
            node = node_from_config(graph, cfg)
            return node, await node.bind(host, port, external, fallback=fallback)

        node, info = self._call(make())
        self.node = node
        node_id = str(_import_ray().get_runtime_context().get_node_id())
        return {**info, "host": host, "pid": os.getpid(), "fingerprint": fp, "node_id": node_id, "node_ip": _node_ip()}

    def start(self, peers: dict[str, Any], liveness: dict[str, Any] | None = None, removed: list[str] | None = None) -> None:
        """Connect to the peers (``{"loc:member": [host, port]}``) and start ticking; ``liveness``
        is the supervisor's view of every instance (``{"loc:member": [kind, incarnation]}``);
        ``removed`` the members removed from their clusters (``["loc:member", ...]``)."""
        assert self.node is not None
        self._call(self.node.start(parse_peers(peers), liveness_from_json(liveness or {}), removed_from_json(removed or [])))

    # --- cluster membership

    def membership(self, msg: dict[str, Any]) -> None:
        """The driver's news that a member was added to or removed from a cluster
        (``control.membership_command``)."""
        node, loop = self.node, self.loop
        if node is not None and loop is not None:
            loop.call_soon_threadsafe(node.on_membership_command, msg)

    def liveness(self, msg: dict[str, Any]) -> None:
        """The driver's news of a peer (``control.liveness_command``): it died, or came back
        (and where it listens now, if that changed)."""
        node, loop = self.node, self.loop
        if node is not None and loop is not None:
            loop.call_soon_threadsafe(node.on_liveness_command, msg)

    def status(self) -> dict[str, Any]:
        node = self.node
        if node is None:
            return {"failed": None}
        failed = node.failed
        return {"failed": None if failed is None else f"{type(failed).__name__}: {failed}", **node.stats()}

    def describe(self) -> dict[str, Any]:
        """Where this instance runs, for ``hydrologic status``: its deployment, node and process."""
        cfg, ray = self.cfg, _import_ray()
        node = self.node
        failed = None if node is None or node.failed is None else f"{type(node.failed).__name__}: {node.failed}"
        return {
            "deployment": cfg.get("deployment_id", ""),
            "program": cfg.get("program", ""),
            "label": self.label,
            "incarnation": int(cfg.get("incarnation", 0)),
            "node_ip": _node_ip(),
            "node_id": str(ray.get_runtime_context().get_node_id()),
            "pid": os.getpid(),
            "state": "starting" if node is None else ("failed: " + failed if failed else "running"),
        }

    def stop(self, quiet: bool = True) -> None:
        node, loop = self.node, self.loop
        if node is None or loop is None:
            return
        if quiet:
            loop.call_soon_threadsafe(node.set_quiet)
            return
        try:
            self._call(node.stop(), 10.0)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self.thread is not None:
                self.thread.join(5.0)


def _import_failed(label: str, program: str, e: ImportError) -> str:
    """Why an actor could not build the program: a module its node does not have."""
    where = f"{label} on node {_node_ip()}"
    module = e.name or str(e)
    return (
        f"{where} could not import module {module!r} while building {program} ({type(e).__name__}: {e}). "
        f"The program's own folder is shipped to every node; other modules must be installed there: "
        f"add it to Ray(runtime_env={{'pip': [...]}}) or runtime_env={{'py_modules': [...]}}, or install it "
        "on every node (the same Python environment as the driver's)."
    )


def _node_ip() -> str:
    ray = _import_ray()
    ip: str = ray.util.get_node_ip_address()
    return ip


def _nodes_summary(ray: Any) -> str:
    """Each live node's address, total resources and labels, in one line each (for placement errors)."""
    out: list[str] = []
    nodes: list[dict[str, Any]] = ray.nodes()
    for n in nodes:
        if not n.get("Alive"):
            continue
        resources: dict[str, float] = n.get("Resources") or {}
        res = ", ".join(f"{k}: {amount(k, v)}" for k, v in sorted(resources.items()) if not k.startswith(("node:", "object_store")))
        all_labels: dict[str, str] = n.get("Labels") or {}
        labels = {k: v for k, v in all_labels.items() if not k.startswith("ray.io/")}
        out.append(f"{n.get('NodeManagerAddress', '?')} {{{res}}}" + (f" labels {labels}" if labels else ""))
    return "; ".join(out) or "none"


def _describe(e: BaseException) -> str:
    """A Ray error in one line: the worker's exit type and detail, or the actor method's exception."""
    cause = getattr(e, "cause", None)  # RayTaskError: what the actor method raised
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    text = str(e)
    exit_ = re.search(r"Worker exit type: (\S+) Worker exit detail: (.*?)\.(?:\s|$)", text)
    if exit_ is not None:
        return f"{type(e).__name__}: its worker process died ({exit_.group(1)}: {exit_.group(2)})"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


class _Actor:
    """One incarnation of one instance: its actor handle and what the driver knows of it."""

    def __init__(self, inst: Instance, handle: Any, incarnation: int, node_id: str) -> None:
        self.inst = inst
        self.handle = handle
        self.incarnation = incarnation
        self.node_id = node_id  # where it runs (before ``ready``: where it was asked to run, "" = anywhere)
        self.pid = 0
        self.starting = True  # until ``start`` returned: its failure is the starter's to report
        self.gone = False  # dead, reported, or killed on purpose: no longer watched
        self.status: Any = None  # the outstanding status call, if any
        self.asked = 0.0  # when it was made
        self.unreachable = False  # its calls failed with ActorUnavailableError: its node may be gone


class RayDeployment(SupervisedDeployment):
    """A program running as Ray actors (returned by ``Ray.start``)."""

    def __init__(self, target: Ray, program: str, graph: Graph, sizes: dict[int, int]) -> None:
        super().__init__(graph, sizes, target.policies, target.log)
        self.target = target
        self.program = program
        self._wants = resolve_placement(graph, target.placement)  # checked before Ray is touched
        self._code: ShippedCode = ship(program, target.runtime_env, enabled=target.ship_code)
        ray = self._ray = _import_ray()
        self._owns_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": True}
            kwargs.update(target.init_kwargs)
            ray.init(address=target.address, **kwargs)
            self._owns_ray = True
        self._secret = new_secret()
        try:
            ips = node_addresses(ray.nodes())
            self._tls = resolve_tls(target.tls, target.external_tls, across_hosts=len(ips) > 1, hosts=ips)
        except BaseException:
            if self._owns_ray:
                ray.shutdown()
            raise
        self._use_tls(self._tls)
        self.fingerprint = graph.fingerprint(portable=target.ship_code)
        self.deployment_id = os.urandom(4).hex()
        """Names this deployment's actors on the cluster (``hydrologic status`` lists them by it)."""
        try:
            self._env = upload(self._code.runtime_env)
        except BaseException:
            if self._owns_ray:
                ray.shutdown()
            raise
        self._actors: dict[str, _Actor] = {}
        self._calls: list[Any] = []  # liveness news in flight, settled by the monitor
        self._groups: dict[int, Any] = {}  # location id -> its placement group
        self.placement: dict[str, str] = {}
        """The Ray node id each instance runs on, by label."""
        self.nodes: dict[str, str] = {}
        """The IP address of the node each instance runs on, by label."""
        try:
            self._cls = ray.remote(num_cpus=0, max_restarts=0)(LocationActor)
            self._reserve()
            # Locations without a Placement: round-robin over the live nodes, pinned ("SPREAD"
            # would not spread actors that reserve no CPU).
            nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive")) if target.spread else []
            free = [inst for inst in self.instances if inst.loc.id not in self._groups]
            for i, inst in enumerate(free):
                self._actors[inst.key] = self._create(inst, 0, nodes[i % len(nodes)] if nodes else "", 0, {}, pinned=True)
            for inst in self.instances:
                if inst.loc.id in self._groups:
                    self._actors[inst.key] = self._create(inst, 0, "", 0, {})
            actors = [self._actors[inst.key] for inst in self.instances]
            self._await_each(actors, [a.handle.ready.remote() for a in actors], "start", self._ready)
            peers, liveness = self._peers(), self._liveness_json()
            self._await_each(actors, [a.handle.start.remote(peers, liveness, []) for a in actors], "connect to its peers")
            for a in actors:
                a.starting = False
        except BaseException as e:
            self.stop()
            if isinstance(e, DeploymentError):
                raise
            raise DeploymentError(f"could not start the program on Ray: {_describe(e)}") from e
        self._background(self._watch, name="hydrologic-ray-monitor")

    # ---- placement ----------------------------------------------------------------------------------

    def _reserve(self) -> None:
        """One placement group per location with a ``Placement``, all reserved before any actor starts.

        Ray keeps an unsatisfiable group pending forever; each is waited for up to its location's
        ``timeout``, then every group is removed and the first unmet request is reported.
        """
        if not self._wants:
            return
        from ray.util.placement_group import placement_group

        ray = self._ray
        for loc_id, p in self._wants.items():
            n = self.sizes.get(loc_id, 1)
            loc = self._location(loc_id)
            labels: dict[str, Any] = {"bundle_label_selector": [dict(p.label)] * n} if p.label else {}
            self._groups[loc_id] = placement_group(
                [bundle_of(p)] * n,
                strategy=STRATEGIES[p.strategy],
                name=f"{ACTOR_PREFIX}{self.deployment_id}/{loc.name}",
                **labels,
            )
        started = time.monotonic()
        for loc_id, pg in self._groups.items():
            p = self._wants[loc_id]
            left = max(0.0, started + p.timeout - time.monotonic())
            ready, _ = ray.wait([pg.ready()], timeout=left)
            if not ready:
                loc = self._location(loc_id)
                raise DeploymentError(
                    f"Ray could not place {describe_request(loc.name, self.sizes.get(loc_id, 1), p)} "
                    f"within {p.timeout:g}s. The cluster's live nodes: {_nodes_summary(ray)}. "
                    "Ask for less, use a less strict strategy, or add nodes (or resources/labels to them)."
                )

    def _location(self, loc_id: int) -> Any:
        return next(l for l in self.graph.locations if l.id == loc_id)

    def _release(self) -> None:
        """Remove the placement groups (Ray would keep them, and their reservations, otherwise)."""
        if not self._groups:
            return
        from ray.util.placement_group import remove_placement_group

        for pg in self._groups.values():
            try:
                remove_placement_group(pg)
            except Exception:  # Ray is going away, or the group already is
                pass
        self._groups.clear()

    def _await_each(self, actors: list[_Actor], refs: list[Any], what: str, then: Any = None) -> None:
        """Wait for one call per actor; the first to fail is reported with its instance's label."""
        deadline = time.monotonic() + self.target.startup_timeout
        for a, ref in zip(actors, refs):
            try:
                result = self._ray.get(ref, timeout=max(0.0, deadline - time.monotonic()))
            except Exception as e:
                cause: object = getattr(e, "cause", None)
                if isinstance(cause, DeploymentError):  # the actor's own, already naming it
                    raise DeploymentError(str(cause)) from None
                name = type(e).__name__
                if name == "GetTimeoutError":
                    why = f"did not {what} within {self.target.startup_timeout:g}s (startup_timeout)"
                else:
                    why = f"could not {what}: {_describe(e)}"
                raise DeploymentError(f"{a.inst.label} {why}") from e
            if then is not None:
                then(a, result)

    # ---- actors -----------------------------------------------------------------------------------

    def _config(self, inst: Instance, incarnation: int, port: int, external: dict[str, int]) -> dict[str, Any]:
        return {
            "label": inst.label,
            "location": inst.loc.id,
            "member": inst.member,
            "cluster_sizes": sizes_to_json(self.sizes),
            "secret": self._secret.hex(),
            "host": self.target.host,
            "port": port,
            "external_ports": external,
            "fallback_ports": incarnation > 0,
            "incarnation": incarnation,
            "fingerprint": self.fingerprint,
            "log_level": self.target.log_level,
            "data_dir": self.target.data_dir,
            "fsync": self.target.fsync,
            "program": self._code.address,
            "portable_fingerprint": self.target.ship_code,
            "deployment_id": self.deployment_id,
            **self._tls.config(),
        }

    def _create(
        self, inst: Instance, incarnation: int, node_id: str, port: int, external: dict[str, int], *, pinned: bool = False
    ) -> _Actor:
        """A new actor for ``inst`` on node ``node_id`` (``pinned``: only there; else preferred), asking for these ports.

        The first placement of a spread deployment is pinned: a soft affinity let Ray put every
        actor on one node when another was slow to take leases (seen in a loaded test run). A
        restart only prefers its old node, which may be gone.
        """
        opts: dict[str, Any] = {}
        if self._env:
            opts["runtime_env"] = self._env
        pg = self._groups.get(inst.loc.id)
        if pg is not None:  # member i always in bundle i: a restart lands where its predecessor was
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            bundle = bundle_of(self._wants[inst.loc.id])
            opts["num_cpus"] = bundle.pop("CPU")
            opts["num_gpus"] = bundle.pop("GPU", 0)
            memory = bundle.pop("memory", 0)
            if memory:
                opts["memory"] = memory
            if bundle:
                opts["resources"] = bundle
            opts["scheduling_strategy"] = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=inst.member or 0)
        elif node_id:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=not pinned)
        # Named (one name per incarnation, so a restart never waits for the old name to be freed),
        # so that `hydrologic status` can find the deployment's actors from another driver.
        opts["name"] = f"{ACTOR_PREFIX}{self.deployment_id}/{inst.label}#{incarnation}"
        handle = self._cls.options(**opts).remote(self._config(inst, incarnation, port, external))
        return _Actor(inst, handle, incarnation, node_id)

    def _ready(self, a: _Actor, info: dict[str, Any]) -> Address | None:
        a.pid = int(info.get("pid", 0))
        a.node_id = str(info.get("node_id", a.node_id))
        self.placement[a.inst.label] = a.node_id
        self.nodes[a.inst.label] = str(info.get("node_ip", info["host"]))
        return self._record_ready(a.inst, str(info["host"]), int(info["internal"]), info.get("external", {}))

    def _kill(self, a: _Actor) -> None:
        try:
            self._ray.kill(a.handle, no_restart=True)
        except Exception:  # already gone
            pass

    def _await_gone(self, a: _Actor, timeout: float = 5.0) -> None:
        """Wait until a killed actor is dead (its ports free again): a call on it then fails."""
        try:
            self._ray.get(a.handle.status.remote(), timeout=timeout)
        except Exception:
            pass

    def _settle(self, refs: list[Any], timeout: float) -> list[Any]:
        """Wait up to ``timeout`` for calls; consume their errors (a dead actor's calls fail). Returns those pending."""
        if not refs:
            return []
        done, pending = self._ray.wait(refs, num_returns=len(refs), timeout=timeout)
        for ref in done:
            try:
                self._ray.get(ref)
            except Exception:  # the actor died meanwhile: the monitor reports that death itself
                pass
        out: list[Any] = pending
        return out

    def _tell_others(self, inst: Instance, msg: dict[str, Any]) -> None:
        for key, a in self._actors.items():
            if key != inst.key and not a.gone:
                call = a.handle.membership if msg.get("cmd") == "membership" else a.handle.liveness
                self._calls.append(call.remote(msg))

    # ---- supervision --------------------------------------------------------------------------------

    def _watch(self) -> None:
        ray = self._ray
        while not self._halt.wait(POLL):
            with self._lock:
                if self._stopping:
                    return
                watched = [a for a in self._actors.values() if not a.starting and not a.gone]
                for a in watched:
                    if a.status is None:
                        a.status, a.asked = a.handle.status.remote(), time.monotonic()
                calls, self._calls = self._calls, []
            pending = self._settle(calls, 0)
            with self._lock:
                self._calls.extend(pending)
            if not watched:
                continue
            done = set(ray.wait([a.status for a in watched], num_returns=len(watched), timeout=0.2)[0])
            for a in watched:
                why, kill = None, False
                if a.status in done:
                    ref, a.status = a.status, None
                    try:
                        failed = ray.get(ref).get("failed")
                        if failed:
                            why, kill = f"failed: {failed}", True
                    except Exception as e:  # RayActorError: the actor's process is gone (or unreachable)
                        # Killed too: an actor only unreachable for now (ActorUnavailableError, its
                        # node not yet declared dead) must not come back beside its successor.
                        why, kill = self._death_reason(a, e), True
                        a.unreachable = type(e).__name__ == "ActorUnavailableError"
                elif time.monotonic() - a.asked > STATUS_TIMEOUT:
                    why, kill = f"did not answer a status call within {STATUS_TIMEOUT:g}s", True
                if why is not None and self._actor_died(a, why, kill) == "shutdown":
                    return

    # --- node loss

    def _alive_nodes(self) -> set[str] | None:
        """The ids of the nodes Ray reports alive (None if Ray could not be asked)."""
        try:
            return {str(n["NodeID"]) for n in self._ray.nodes() if n.get("Alive")}
        except Exception:  # the GCS is unreachable for a moment: decide nothing this round
            return None

    def _restart_node(self, old: _Actor) -> str:
        """Where a new incarnation should go: back on its node if that node is alive and was
        reachable; another live node if it was unreachable (Ray may not have declared that node
        dead yet, and would place the new actor on it, to die with it); anywhere ("") if its node
        is dead."""
        alive = self._alive_nodes()
        if alive is None:
            return old.node_id
        if old.node_id not in alive:
            return ""
        others = sorted(alive - {old.node_id})
        if others and (old.unreachable or not self._node_answers(old.node_id)):
            return others[0]
        return old.node_id

    def _node_answers(self, node_id: str, timeout: float = NODE_PROBE_TIMEOUT) -> bool:
        """Whether ``node_id`` runs a trivial task within ``timeout``. A node whose raylet just
        died is still "alive" in Ray's table until its health checks fail (15 s by default), and
        an actor placed there meanwhile would wait for it and die with it."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self._ray
        try:
            strategy = NodeAffinitySchedulingStrategy(node_id, soft=False)
            ref = ray.remote(num_cpus=0, max_retries=0)(_probe).options(scheduling_strategy=strategy).remote()
            ready, _ = ray.wait([ref], timeout=timeout)
            if ready:
                return bool(ray.get(ref))
            ray.cancel(ref, force=True)
        except Exception:  # the node or Ray refused the probe: take the node for gone
            pass
        return False

    def _death_reason(self, a: _Actor, e: BaseException) -> str:
        """Why a status call failed: the actor died, or it was lost with its node.

        Ray fails the calls to every actor of a node once it declares the node dead (its raylet
        killed, the machine gone, or cut off until its health checks fail); the node table then
        says so, which the log line names, since a lost node usually means several instances at
        once and a machine to look at. Either way the location's policy decides what follows.
        """
        alive = self._alive_nodes() if a.node_id else None
        if alive is not None and a.node_id not in alive:
            ip = self.nodes.get(a.inst.label, "?")
            return f"was lost with its node {ip} (Ray node {a.node_id[:8]} is dead: {_describe(e)})"
        return f"died unexpectedly ({_describe(e)})"

    def _actor_died(self, a: _Actor, why: str, kill: bool) -> str:
        with self._lock:
            if a.gone or self._stopping:
                return "ignored"
            a.gone = True
        if kill:  # a failed location or a hung actor: end it, freeing its ports for the next incarnation
            self._kill(a)
        return self._on_death(a.inst, a.incarnation, f"{a.inst.label} (pid {a.pid}) {why}")

    def _restart_instance(self, inst: Instance) -> int:
        self.restart(inst.loc.name, inst.member)
        return self._actors[inst.key].incarnation

    def _restart_failed(self, inst: Instance, error: DeploymentError) -> None:
        a = self._actors[inst.key]
        with self._lock:
            a.gone = True
        self._kill(a)
        self._on_death(inst, a.incarnation, str(error))

    # ---- public API ---------------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        """The OS process id of every instance's actor, by label (on the node it runs on)."""
        return {a.inst.label: a.pid for k, a in self._actors.items() if k not in self._removed}

    def stats(self, location: str, member: int | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """Counters of one instance, as ``LocalDeployment.stats`` gives them (ticks run, frames
        sent and dropped, connections rejected, the garbage collector's settings), plus
        ``failed``: the error that stopped its location, if one did."""
        a = self._actors[self._find(location, member).key]
        try:
            out: dict[str, Any] = self._ray.get(a.handle.status.remote(), timeout=timeout)
        except Exception as e:
            raise DeploymentError(f"{a.inst.label} did not answer a stats request within {timeout:g}s: {e}") from None
        return out

    def kill(self, location: str, member: int | None = None) -> None:
        """Kill one instance's actor (a crash, for fault-tolerance tests); the others keep running."""
        inst = self._find(location, member)
        a = self._actors[inst.key]
        with self._lock:
            a.gone = True
        self._kill(a)
        self._await_gone(a)
        self._announce(inst, Liveness.down(a.incarnation))

    def restart(self, location: str, member: int | None = None, *, force: bool = False) -> None:
        """Start a new incarnation of a dead instance: a new actor, on the same node and ports
        where Ray and the OS allow (new ports otherwise, and the peers are told where)."""
        inst = self._find(location, member)
        self._check_restartable(inst, force)
        ray = self._ray
        old = self._actors[inst.key]
        if not old.gone:
            raise DeploymentError(f"{inst.label} is still running; kill() it before restart()")
        self._await_gone(old)
        port, external = self._ports_to_reuse(inst)
        node = self._restart_node(old)
        with self._lock:
            if self._stopping:
                raise DeploymentError("the deployment is stopping")
            new = self._actors[inst.key] = self._create(inst, old.incarnation + 1, node, port, external)
        timeout = self.target.startup_timeout
        try:
            moved = self._ready(new, ray.get(new.handle.ready.remote(), timeout=timeout))
            with self._lock:  # ordered with any news for the others: none is missed between the two
                started = new.handle.start.remote(self._peers(), self._liveness_json(), self._removed_json())
            ray.get(started, timeout=timeout)
        except Exception as e:
            raise DeploymentError(f"{inst.label} (incarnation {new.incarnation}) could not start: {_describe(e)}") from e
        new.starting = False
        self._announce(inst, Liveness.restarted(new.incarnation), moved)

    # --- cluster membership

    def add_member(self, location: str) -> int:
        """Start a new member of cluster ``location`` as a new actor with the next unused id, and
        return the id: it binds (``ready``), the other actors are told where it listens, then it
        starts. It is placed on the live nodes round-robin by id; a location with a ``Placement``
        cannot grow (a placement group has a fixed number of bundles)."""
        loc = self._cluster(location)
        if loc.id in self._groups:
            raise DeploymentError(
                f"{location} has a Placement: its placement group was reserved for {self.sizes[loc.id]} member(s) "
                "and cannot grow; deploy it without a Placement to scale it"
            )
        inst = self._new_member(location)
        ray = self._ray
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive")) if self.target.spread else []
        with self._lock:
            if self._stopping:
                raise DeploymentError("the deployment is stopping")
            a = self._actors[inst.key] = self._create(inst, 0, nodes[(inst.member or 0) % len(nodes)] if nodes else "", 0, {}, pinned=True)
        timeout = self.target.startup_timeout
        try:
            self._ready(a, ray.get(a.handle.ready.remote(), timeout=timeout))
            with self._lock:  # the others hear of it before it starts sending to them
                self._tell_others(inst, membership_command(inst.key, "added", 0, self._internal[inst.key]))
                started = a.handle.start.remote(self._peers(), self._liveness_json(), self._removed_json())
            ray.get(started, timeout=timeout)
        except Exception as e:
            with self._lock:
                a.gone = True
                self.instances.remove(inst)
                self._removed.add(inst.key)
                self._tell_others(inst, membership_command(inst.key, "removed", 0))
            self._kill(a)
            raise DeploymentError(f"{inst.label} could not join {location}: {_describe(e)}") from e
        a.starting = False
        self._log(f"[hydrologic] {inst.label} joined {location} (pid {a.pid} on node {self.nodes.get(inst.label, '?')})")
        return inst.member or 0

    def remove_member(self, location: str, member: int | None = None) -> int:
        """Stop member ``member`` of cluster ``location`` for good (default: the highest id) and
        return its id: the other actors are told first, then its node stops and its actor is killed."""
        inst = self._drop_member(location, member, lambda i: self._actors[i.key].incarnation)
        a = self._actors[inst.key]
        with self._lock:
            was_gone, a.gone = a.gone, True
        if not was_gone:
            self._settle([a.handle.stop.remote(False)], 10)
        self._kill(a)
        self._log(f"[hydrologic] {inst.label} left {location}")
        return inst.member or 0

    def stop(self) -> None:
        """Stop every actor: tell them the deployment is stopping, stop their nodes, kill them. Idempotent."""
        if not self._begin_stop():
            self._stopped.wait(60.0)
            return
        with self._lock:  # no actor is created from here on (restart() checks under the lock)
            actors = list(self._actors.values())
        live = [a.handle for a in actors if not a.gone]
        self._settle([h.stop.remote(True) for h in live], 10)
        self._settle([h.stop.remote(False) for h in live], 20)
        for a in actors:
            self._kill(a)  # a restart waiting on its new actor fails at once
        # Ray ends the whole process when a thread calls it after ray.shutdown(): the monitor and
        # any restart must be done first (they see the deployment stopping within a poll).
        quiet = self._join_background(30.0)
        self._settle(self._calls, 0)
        if quiet:
            self._release()
        if self._owns_ray:
            if quiet:
                self._ray.shutdown()
            else:
                self._log("[hydrologic] a supervisor thread is still in a Ray call; leaving Ray initialized")
        self._stopped.set()


# --- node loss

def _probe() -> bool:
    return True


# --- TLS across machines


def node_addresses(nodes: list[dict[str, Any]]) -> list[str]:
    """The distinct addresses of the live nodes in ``ray.nodes()``: more than one means channels
    cross hosts, which turns TLS on by default (``Ray(tls=None)``)."""
    return sorted({str(n["NodeManagerAddress"]) for n in nodes if n.get("Alive") and n.get("NodeManagerAddress")})
