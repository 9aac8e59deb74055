"""``Ray``: the same program, unchanged, with each process and cluster member as a Ray actor.

Ray places, starts, monitors and stops the actors; it carries only control calls (``ready``,
``start``, ``status``, ``stop``). Data never goes through Ray: each actor runs the same
``LocationNode`` as a ``Localhost`` child, on an asyncio loop in a thread of its own, and the
actors talk over the direct, authenticated TCP channels of ``hydrologic.net``.

``ray`` is an optional dependency (``pip install 'hydrologic[ray]'``); it is imported only when a
``Ray`` deployment starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading

from types import TracebackType
from typing import Any, Mapping

from ..net.auth import new_secret
from ..ir.graph import Graph
from .deployment import Deployment, DeploymentError, Instance, build_for_launch, rebuild_in_worker
from .control import sizes_to_json
from .control import parse_peers
from .node import LocationNode, loop_factory, node_from_config

__all__ = ["Ray", "RayDeployment"]


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
    the IP Ray reports for the actor's node. ``spread`` places the actors round-robin over the
    nodes alive at start-up (pinned: an actor waits for its node rather than land elsewhere). ``on_failure`` is as for ``Localhost``.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        host: str | None = None,
        spread: bool = True,
        on_failure: str = "shutdown",
        log_level: str = "INFO",
        startup_timeout: float = 120.0,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if on_failure not in ("shutdown", "continue"):
            raise ValueError(f"on_failure must be 'shutdown' or 'continue', got {on_failure!r}")
        self.address = address
        self.host = host
        self.spread = spread
        self.on_failure = on_failure
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
        cfg = self.cfg
        try:
            graph, fp = rebuild_in_worker(cfg)
        except DeploymentError as e:
            raise DeploymentError(f"{self.label}: {e}") from None
        factory = loop_factory(True)
        loop = factory() if factory is not None else asyncio.new_event_loop()
        self.loop = loop
        self.thread = threading.Thread(target=loop.run_forever, name="hydrologic-loop", daemon=True)
        self.thread.start()
        host = cfg.get("host") or _node_ip()

        async def make() -> tuple[LocationNode, dict[str, Any]]:
            node = node_from_config(graph, cfg)
            return node, await node.bind(host, 0, None)

        node, info = self._call(make())
        self.node = node
        node_id = str(_import_ray().get_runtime_context().get_node_id())
        return {**info, "host": host, "pid": os.getpid(), "fingerprint": fp, "node_id": node_id}

    def start(self, peers: dict[str, Any]) -> None:
        assert self.node is not None
        self._call(self.node.start(parse_peers(peers)))

    def status(self) -> dict[str, Any]:
        node = self.node
        if node is None:
            return {"failed": None}
        failed = node.failed
        return {"failed": None if failed is None else f"{type(failed).__name__}: {failed}", **node.stats()}

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


def _node_ip() -> str:
    ray = _import_ray()
    ip: str = ray.util.get_node_ip_address()
    return ip


class RayDeployment(Deployment):
    """A program running as Ray actors (returned by ``Ray.start``)."""

    def __init__(self, target: Ray, program: str, graph: Graph, sizes: dict[int, int]) -> None:
        super().__init__(graph, sizes)
        self.target = target
        self.program = program
        ray = self._ray = _import_ray()
        self._owns_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": True}
            if not program.rpartition(":")[0].endswith(".py"):
                # `module:function` must import in the actors too. A runtime env costs a fresh
                # worker process per actor, so it is used only when needed.
                path = [os.getcwd()] + [p for p in [os.environ.get("PYTHONPATH")] if p]
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(path)}}
            kwargs.update(target.init_kwargs)
            ray.init(address=target.address, **kwargs)
            self._owns_ray = True
        self._secret = new_secret()
        self.fingerprint = graph.fingerprint()
        self._actors: dict[str, Any] = {}
        self._internal: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._stopped = threading.Event()
        self.placement: dict[str, str] = {}
        """The Ray node id each instance runs on, by label."""
        try:
            remote_cls = ray.remote(num_cpus=0, max_restarts=0)(LocationActor)
            nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive")) if target.spread else []
            for i, inst in enumerate(self.instances):
                opts: dict[str, Any] = {}
                if nodes:
                    # Round-robin over the live nodes, hard affinity: a soft one let Ray put every
                    # actor on one node when the other was slow to take leases (seen in a loaded
                    # test run). "SPREAD" would not spread actors that reserve no CPU.
                    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

                    opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=False)
                self._actors[inst.key] = remote_cls.options(**opts).remote(self._config(inst))
            infos = ray.get([a.ready.remote() for a in self._actors.values()], timeout=target.startup_timeout)
            for inst, info in zip(self.instances, infos):
                self._internal[inst.key] = (info["host"], int(info["internal"]))
                self._record_ports(inst, info["host"], info.get("external", {}))
                self.placement[inst.label] = str(info.get("node_id", "?"))
            peers = {k: [h, p] for k, (h, p) in self._internal.items()}
            ray.get([a.start.remote(peers) for a in self._actors.values()], timeout=target.startup_timeout)
        except BaseException as e:
            self.stop()
            if isinstance(e, DeploymentError):
                raise
            raise DeploymentError(f"could not start the program on Ray: {type(e).__name__}: {e}") from e
        self._monitor = threading.Thread(target=self._watch, name="hydrologic-ray-monitor", daemon=True)
        self._monitor.start()

    def _config(self, inst: Instance) -> dict[str, Any]:
        return {
            "program": self.program,
            "label": inst.label,
            "location": inst.loc.id,
            "member": inst.member,
            "cluster_sizes": sizes_to_json(self.sizes),
            "secret": self._secret.hex(),
            "host": self.target.host,
            "fingerprint": self.fingerprint,
            "log_level": self.target.log_level,
        }

    def _watch(self) -> None:
        ray = self._ray
        while not self._stopped.wait(0.25):
            with self._lock:
                if self._stopping:
                    return
                items = list(self._actors.items())
            for key, actor in items:
                label = next(i.label for i in self.instances if i.key == key)
                try:
                    st = ray.get(actor.status.remote(), timeout=10)
                    why = st.get("failed")
                except Exception as e:  # RayActorError, GetTimeoutError, ...
                    why = f"{type(e).__name__}: {e}"
                if why and not self._stopping:
                    self.failures.append(f"{label} failed: {why}")
                    if self.target.on_failure == "shutdown":
                        threading.Thread(target=self.stop, daemon=True).start()
                        return

    def wait(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def stop(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        ray = self._ray
        actors = list(self._actors.values())
        try:
            ray.get([a.stop.remote(True) for a in actors], timeout=10)
        except Exception:
            pass
        try:
            ray.get([a.stop.remote(False) for a in actors], timeout=20)
        except Exception:
            pass
        for a in actors:
            try:
                ray.kill(a)
            except Exception:  # pragma: no cover
                pass
        if self._owns_ray:
            ray.shutdown()
        self._stopped.set()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if et is None and self.failures and self.target.on_failure == "shutdown":
            raise DeploymentError("the deployment failed:\n" + "\n".join(self.failures))



