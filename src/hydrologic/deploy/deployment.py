"""What every deployment target returns: a running program with handles on its External ports.

    with hl.deploy.Localhost().start("prog.py:build", cluster_sizes={"Workers": 3}) as d:
        d.input("words").send_many(["a", "b"])
        print(d.output("counts").take(2))

Leaving the ``with`` block stops every process of the deployment.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Mapping, Protocol, overload

from ..ir.graph import Graph
from ..ir.node import LocationInfo
from ..lang.builder import resolve_cluster_sizes
from ..lang.program import build_graph
from ..net.client import TI, TO, DuplexClient, InputClient, OutputClient
from ..types.errors import HydroRuntimeError, UsageError
from .node import instance_label
from .security import TlsSetup

__all__ = ["Deployment", "DeploymentError", "PortInfo", "Instance", "instances_of", "build_for_launch", "rebuild_in_worker", "deploy"]


class DeploymentError(HydroRuntimeError):
    """A deployment could not start, or one of its processes failed."""


@dataclass(frozen=True)
class PortInfo:
    """Where one External port of one location instance listens."""

    name: str
    kind: str  # "input" (source_external), "output" (send_external) or "bidi" (source_external_bidi)
    codec: str
    host: str
    port: int
    member: int | None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


@dataclass(frozen=True)
class Instance:
    """One OS-level instance: a process, or one member of a cluster."""

    loc: LocationInfo
    member: int | None

    @property
    def key(self) -> str:
        return f"{self.loc.id}" if self.member is None else f"{self.loc.id}:{self.member}"

    @property
    def label(self) -> str:
        return instance_label(self.loc, self.member)


def instances_of(graph: Graph, sizes: dict[int, int]) -> list[Instance]:
    out: list[Instance] = []
    for loc in graph.locations:
        if loc.kind == "external":
            continue
        members: list[int | None] = list(range(sizes[loc.id])) if loc.is_cluster else [None]
        out.extend(Instance(loc, m) for m in members)
    return out


def build_for_launch(program: str, cluster_sizes: Mapping[Any, int] | None) -> tuple[Graph, dict[int, int]]:
    """A target's ``start(program, cluster_sizes)``: build the program once, sizes to location ids."""
    graph = build_graph(program)
    return graph, resolve_cluster_sizes(graph, cluster_sizes, fix=SIZE_FIX)


class _Deployable(Protocol):
    def deploy(self, target: Any = None, *, program: str | None = None, cluster_sizes: Mapping[Any, int] | None = None) -> Deployment: ...


def deploy(
    flow: _Deployable, target: Any = None, *, program: str | None = None, cluster_sizes: Mapping[Any, int] | None = None
) -> Deployment:
    """``flow.deploy(target, program=..., cluster_sizes=...)`` as a function."""
    return flow.deploy(target, program=program, cluster_sizes=cluster_sizes)


SIZE_FIX = "Pass cluster_sizes={'Name': n} (or --cluster Name=n on the command line)."


def rebuild_in_worker(cfg: dict[str, Any]) -> tuple[Graph, str]:
    """A worker's graph, rebuilt from the program address; refused unless it is the launcher's."""
    graph = build_graph(cfg["program"])
    fp = graph.fingerprint(portable=bool(cfg.get("portable_fingerprint")))
    want = cfg.get("fingerprint")
    if want and want != fp:
        raise DeploymentError(
            f"the program built a different graph here (fingerprint {fp}) than in the launcher ({want}); "
            "building must be deterministic: no randomness, clocks or environment-dependent branches while building"
        )
    return graph, fp


class Deployment:
    """A running program. Subclasses start and stop the processes; this class owns the ports."""

    def __init__(self, graph: Graph, sizes: dict[int, int]) -> None:
        self.graph = graph
        self.sizes = sizes
        self.instances = instances_of(graph, sizes)
        self._ports: dict[tuple[str, int | None], PortInfo] = {}
        self._codecs: dict[str, tuple[str, str]] = {}
        for n in graph.nodes:
            if n.op in ("source_external", "send_external"):
                kind = "input" if n.op == "source_external" else "output"
                self._codecs[n.params["name"]] = (kind, n.params.get("codec", "msgpack"))
            elif n.op == "source_external_bidi":
                self._codecs[n.params["name"]] = ("bidi", n.params.get("codec", "msgpack"))
        self.failures: list[str] = []
        self.tls = False
        """Whether internal channels run over mutual TLS (the target's ``tls=``)."""
        self.external_ca: bytes | None = None
        """With ``external_tls=True``: the PEM certificate of the CA External clients must trust."""
        self._external_client: ssl.SSLContext | None = None

    def _use_tls(self, setup: TlsSetup) -> None:
        """Record what the target decided: what clients of this deployment's ports need."""
        self.tls = setup.internal is not None
        self._external_client = setup.external_client
        self.external_ca = setup.external_ca

    def _record_ports(self, inst: Instance, host: str, external: Mapping[str, int]) -> None:
        for name, port in external.items():
            kind, codec = self._codecs[name]
            self._ports[(name, inst.member)] = PortInfo(name, kind, codec, host, int(port), inst.member)

    def ports(self) -> list[PortInfo]:
        """Every External port of the deployment."""
        return sorted(self._ports.values(), key=lambda p: (p.name, -1 if p.member is None else p.member))

    def port(self, name: str, member: int | None = None) -> PortInfo:
        info = self._ports.get((name, member))
        if info is None:
            known = sorted({n for n, _ in self._ports})
            hint = " (it is on a cluster: pass member=...)" if any(n == name for n, _ in self._ports) else ""
            raise UsageError("HL501", f"no External port named {name!r}{hint}; known: {known}")
        return info

    def address(self, name: str, member: int | None = None) -> tuple[str, int]:
        return self.port(name, member).address

    # --- typed port handles: ``of=`` (and ``replies=``) type the client, and check what it receives

    @overload
    def input(self, name: str, member: int | None = None, *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> InputClient: ...
    @overload
    def input(self, name: str, member: int | None = None, *, of: type[TI], timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> InputClient[TI]: ...
    def input(self, name: str, member: int | None = None, *, of: type[Any] | None = None, timeout: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> Any:
        """A client connected to the ``source_external`` port ``name`` (``InputClient[T]`` with ``of=T``)."""
        p = self.port(name, member)
        if p.kind != "input":
            raise UsageError("HL501", f"port {name!r} is an output (send_external); use .output({name!r})")
        return InputClient(p.address, p.codec, connect_timeout=timeout, tls=tls or self._external_client)

    @overload
    def output(self, name: str, member: int | None = None, *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> OutputClient: ...
    @overload
    def output(self, name: str, member: int | None = None, *, of: type[TO], timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> OutputClient[TO]: ...
    def output(self, name: str, member: int | None = None, *, of: type[Any] | None = None, timeout: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> Any:
        """A client connected to the ``send_external`` port ``name`` (``OutputClient[T]`` with
        ``of=T``, which checks each value it receives)."""
        p = self.port(name, member)
        if p.kind != "output":
            raise UsageError("HL501", f"port {name!r} is an input (source_external); use .input({name!r})")
        out: OutputClient[Any] = OutputClient(p.address, p.codec, connect_timeout=timeout, tls=tls or self._external_client)
        out.of = of
        return out

    @overload
    def client(self, name: str, member: int | None = None, *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> DuplexClient: ...
    @overload
    def client(
        self, name: str, member: int | None = None, *, of: type[TI], replies: type[TO], timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
    ) -> DuplexClient[TI, TO]: ...
    def client(
        self, name: str, member: int | None = None, *, of: type[Any] | None = None, replies: type[Any] | None = None,
        timeout: float = 10.0, tls: ssl.SSLContext | None = None,
    ) -> Any:
        """A new connection (one client) to the bidirectional port ``name``: ``send`` requests,
        ``recv``/``take`` this client's responses (``DuplexClient[Req, Resp]`` with ``of=``/``replies=``)."""
        p = self.port(name, member)
        if p.kind != "bidi":
            raise UsageError("HL501", f"port {name!r} is an {p.kind} port; use .{p.kind}({name!r})")
        duplex: DuplexClient[Any, Any] = DuplexClient(p.address, p.codec, connect_timeout=timeout, tls=tls or self._external_client)
        duplex.of = replies
        return duplex

    def _find(self, location: str, member: int | None) -> Instance:
        for inst in self.instances:
            if inst.loc.name == location and inst.member == member:
                return inst
        known = ", ".join(i.label for i in self.instances)
        raise UsageError("HL501", f"no instance {location!r} member {member!r} in this deployment (instances: {known})")

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
