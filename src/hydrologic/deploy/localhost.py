"""``Localhost``: run each process and each cluster member as its own OS process on this machine.

Start-up follows Hydro Deploy's two phases: every child binds its ports (chosen by the OS) and
reports them (``ready``); once all are bound, each gets the full address table and connects to
the peers it sends to (``start``). No child starts ticking before its channels exist, so no
early message has nowhere to go.

Children are started in their own session, so a Ctrl-C in the terminal reaches only the
launcher, which then stops them in order; each child also exits when its stdin closes or its
parent dies (``PR_SET_PDEATHSIG``), so a launcher killed with SIGKILL leaves no orphans.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any, Mapping

from ..net.auth import new_secret
from ..ir.graph import Graph
from ..lang.liveness import Liveness
from .deployment import DeploymentError, Instance, build_for_launch
from .control import CONTROL, WORKER_MODULE, membership_command, sizes_to_json
from .supervised import LogSink, SupervisedDeployment, print_line
from .security import TlsOption, is_loopback, resolve_tls
from .supervision import FailurePolicies, Policy, describe_exit
from ..storage import check_fsync_mode

__all__ = ["Localhost", "LocalDeployment"]

class _Spawner:
    """Starts every child from one thread that lives as long as this process.

    A child asks Linux to signal it when its parent dies (``PR_SET_PDEATHSIG``), and to Linux
    the parent is the *thread* that forked it. Children spawned from a short-lived thread (a
    deployment started in a worker thread, a restart from a supervisor thread) would be killed
    as soon as that thread ended; forking from this thread instead ties them to the process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[list[str], dict[str, str], queue.Queue[Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def popen(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hydrologic-spawner", daemon=True)
                self._thread.start()
        reply: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._jobs.put((argv, env, reply))
        result = reply.get()
        if isinstance(result, BaseException):
            raise result
        proc: subprocess.Popen[bytes] = result
        return proc

    def _run(self) -> None:
        while True:
            argv, env, reply = self._jobs.get()
            try:
                reply.put(
                    subprocess.Popen(
                        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env
                    )
                )
            except BaseException as e:  # e.g. the Python executable does not exist: the caller reports it
                reply.put(e)


_SPAWNER = _Spawner()


class Localhost:
    """Deploy on this machine: one OS process per process and per cluster member.

    ``on_failure`` says what happens when a child exits unexpectedly (``supervision.py``):
    ``"shutdown"`` (the default here; ``hydrologic run`` defaults to ``"restart"``) stops the whole
    deployment and makes leaving the ``with`` block raise ``DeploymentError``; ``"continue"``
    leaves the dead instance dead and keeps the others running; ``"restart"`` or a
    ``RestartPolicy`` starts a new incarnation of it after a backoff, up to an intensity limit.
    ``on_failure_for={"Acceptors": "restart"}`` overrides the policy per location name.
    ``log`` receives every output line of every child, prefixed with ``[Location/member]``.

    ``data_dir`` is where instances keep durable state (``scan``/``fold`` with ``durable=``):
    one subdirectory per instance (``<location>`` or ``<location>-<member>``), created on first
    use and reused by a restarted incarnation and by a later deployment given the same
    directory. Without one, a deployment of a program with durable state uses a temporary
    directory that lives as long as the deployment (restarts recover; a new deployment starts
    empty). ``fsync`` is ``"batch"`` (group commit, the default), ``"always"`` or ``"never"``
    (docs/storage.md).

    ``tls`` secures the channels between the children: ``None`` (the default) means TLS with
    mutual authentication when ``host`` is not a loopback address (the channels may then cross
    the network) and plain TCP with the HMAC handshake on loopback; ``True`` / ``False`` force it;
    ``TlsFiles(ca=..., cert=..., key=...)`` uses your certificates instead of generated ones.
    ``external_tls`` makes every External port require TLS (``True``: a certificate generated for
    the deployment, whose CA is ``Deployment.external_ca``; ``TlsFiles``: yours). See
    docs/deployment.md, "Across machines".
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        on_failure: Policy = "shutdown",
        on_failure_for: Mapping[str, Policy] | None = None,
        log: LogSink | None = None,
        log_level: str = "INFO",
        startup_timeout: float = 60.0,
        python: str | None = None,
        uvloop: bool = True,
        data_dir: str | os.PathLike[str] | None = None,
        fsync: str = "batch",
        tls: TlsOption = None,
        external_tls: TlsOption = False,
    ) -> None:
        self.tls = tls
        self.external_tls = external_tls
        self.policies = FailurePolicies.of(on_failure, on_failure_for)
        self.data_dir = None if data_dir is None else os.path.abspath(data_dir)
        self.fsync = check_fsync_mode(fsync)
        self.host = host
        self.on_failure = self.policies.default
        self.log: LogSink = log or print_line
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.python = python or sys.executable
        self.uvloop = uvloop

    def start(self, program: str, cluster_sizes: Mapping[Any, int] | None = None) -> LocalDeployment:
        """Build ``program`` (``module:function`` or ``file.py:function``) and start it."""
        graph, sizes = build_for_launch(program, cluster_sizes)
        return self.launch(program, graph, sizes)

    def launch(self, program: str, graph: Graph, sizes: dict[int, int]) -> LocalDeployment:
        """Start an already built ``graph`` (``sizes`` keyed by location id); every child rebuilds ``program``."""
        return LocalDeployment(self, program, graph, sizes)


class _Child:
    def __init__(self, inst: Instance, proc: subprocess.Popen[bytes], incarnation: int) -> None:
        self.inst = inst
        self.proc = proc
        self.incarnation = incarnation
        self.control: queue.Queue[dict[str, Any]] = queue.Queue()
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self.threads: list[threading.Thread] = []
        self.expected_exit = False
        self.reported = False
        self.starting = True  # until it reports "started": its failure is the starter's to report
        self.info: dict[str, Any] = {}

    def send(self, msg: dict[str, Any]) -> None:
        stdin = self.proc.stdin
        if stdin is None:
            return
        try:
            stdin.write((json.dumps(msg) + "\n").encode())
            stdin.flush()
        except (OSError, ValueError):  # the child is gone or stdin closed
            pass


class LocalDeployment(SupervisedDeployment):
    """A program running as local OS processes (returned by ``Localhost.start``)."""

    def __init__(self, target: Localhost, program: str, graph: Graph, sizes: dict[int, int]) -> None:
        super().__init__(graph, sizes, target.policies, target.log)
        self.target = target
        self.program = program
        self.fingerprint = graph.fingerprint()
        self._secret = new_secret()
        self._tls = resolve_tls(target.tls, target.external_tls, across_hosts=not is_loopback(target.host), hosts=[target.host])
        self._use_tls(self._tls)
        self._children: dict[str, _Child] = {}
        self._tmp_data: tempfile.TemporaryDirectory[str] | None = None
        self.data_dir = target.data_dir
        if self.data_dir is None and any(n.params.get("durable") for n in graph.nodes):
            self._tmp_data = tempfile.TemporaryDirectory(prefix="hydrologic-data-")
            self.data_dir = self._tmp_data.name
        try:
            for inst in self.instances:
                self._children[inst.key] = self._spawn(inst, 0, None, 0)
            for child in self._children.values():
                self._await_ready(child)
            peers = self._peers()
            for child in self._children.values():
                child.send({"cmd": "start", "peers": peers, "liveness": self._liveness_json(), "removed": []})
            for child in self._children.values():
                self._expect(child, "started")
                child.starting = False
        except BaseException:
            self.stop()
            raise
        self._monitor = threading.Thread(target=self._watch, name="hydrologic-monitor", daemon=True)
        self._monitor.start()

    # ---- children ---------------------------------------------------------------------------

    def _spawn(self, inst: Instance, port: int, external: dict[str, int] | None, incarnation: int) -> _Child:
        """Start one child; a new incarnation (``incarnation > 0``) asks for its predecessor's
        ports, and takes new ones where those cannot be bound."""
        t = self.target
        cfg = {
            "program": self.program,
            "location": inst.loc.id,
            "member": inst.member,
            "cluster_sizes": sizes_to_json(self.sizes),
            "secret": self._secret.hex(),
            "host": t.host,
            "port": port,
            "external_ports": external or {},
            "incarnation": incarnation,
            "fallback_ports": incarnation > 0,
            "fingerprint": self.fingerprint,
            "log_level": t.log_level,
            "uvloop": t.uvloop,
            "data_dir": self.data_dir,
            "fsync": t.fsync,
            **self._tls.config(),
        }
        env = dict(os.environ)
        path = [os.getcwd()] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env["PYTHONPATH"] = os.pathsep.join(path)
        env["PYTHONUNBUFFERED"] = "1"
        proc = _SPAWNER.popen([t.python, "-u", "-m", WORKER_MODULE], env)
        child = _Child(inst, proc, incarnation)
        child.send(cfg)
        assert proc.stdout is not None and proc.stderr is not None
        for stream, control in ((proc.stdout, True), (proc.stderr, False)):
            th = threading.Thread(target=self._pump, args=(child, stream, control), daemon=True)
            th.start()
            child.threads.append(th)
        return child

    def _pump(self, child: _Child, stream: IO[bytes], control: bool) -> None:
        prefix = f"[{child.inst.label}] "
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if control and line.startswith(CONTROL):
                try:
                    child.control.put(json.loads(line[len(CONTROL) :]))
                    continue
                except ValueError:
                    pass
            child.tail.append(line)
            try:
                self.target.log(prefix + line)
            except Exception:  # pragma: no cover - a broken log sink must not kill the pump
                pass

    def _expect(self, child: _Child, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.target.startup_timeout
        while True:
            try:
                msg = child.control.get(timeout=0.05)
            except queue.Empty:
                rc = child.proc.poll()
                if rc is not None:
                    time.sleep(0.1)  # let the pumps catch the last lines
                    if not child.control.empty():
                        continue
                    tail = "\n".join(f"    {l}" for l in child.tail)
                    raise DeploymentError(f"{child.inst.label} exited with status {rc} while starting:\n{tail}")
                if time.monotonic() > deadline:
                    raise DeploymentError(
                        f"{child.inst.label} did not report {event!r} within {self.target.startup_timeout:g}s"
                    )
                continue
            if msg.get("event") == "error":
                detail = msg.get("traceback") or ""
                raise DeploymentError(f"{child.inst.label} could not start: {msg.get('message')}\n{detail}".rstrip())
            if msg.get("event") == event:
                return msg

    def _await_ready(self, child: _Child) -> tuple[str, int] | None:
        """Wait for ``ready`` and record the ports; returns the internal address if it moved."""
        info = self._expect(child, "ready")
        child.info = info
        return self._record_ready(child.inst, self.target.host, int(info["internal"]), info.get("external", {}))

    def _tell_others(self, inst: Instance, msg: dict[str, Any]) -> None:
        for k, c in self._children.items():
            if k != inst.key and c.proc.poll() is None:
                c.send(msg)

    def _watch(self) -> None:
        while not self._stopped.wait(0.05):
            failed: list[_Child] = []
            with self._lock:
                if self._stopping:
                    return
                for child in self._children.values():
                    rc = child.proc.poll()
                    if rc is not None and not child.expected_exit and not child.reported and not child.starting:
                        child.reported = True
                        failed.append(child)
            for child in failed:
                if self._child_died(child) == "shutdown":
                    return

    def _child_died(self, child: _Child) -> str:
        """Log one unexpected death of a child once and act on the supervisor's verdict."""
        until = time.monotonic() + 0.1
        for th in child.threads:  # let the pumps catch the last lines: they end at the pipes' EOF
            th.join(max(0.0, until - time.monotonic()))
        tail = "\n".join(f"    {l}" for l in list(child.tail)[-10:])
        what = f"{child.inst.label} (pid {child.proc.pid}) exited unexpectedly ({describe_exit(child.proc.returncode)})"
        return self._on_death(child.inst, child.incarnation, what, f"; last output:\n{tail}" if tail else "")

    def _restart_instance(self, inst: Instance) -> int:
        self.restart(inst.loc.name, inst.member)
        return self._children[inst.key].incarnation

    def _restart_failed(self, inst: Instance, error: DeploymentError) -> None:
        child = self._children[inst.key]
        child.tail.append(str(error))
        if child.proc.poll() is None:  # started but never reported: not a clean incarnation
            child.proc.kill()
            child.proc.wait()
        child.reported = True
        self._child_died(child)

    # ---- public API -------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        """The OS process id of every instance, by label (``Leader``, ``Workers/0``, …)."""
        return {c.inst.label: c.proc.pid for k, c in self._children.items() if k not in self._removed}

    def stats(self, location: str, member: int | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """Counters of one instance: ticks run, frames sent and dropped, connections rejected."""
        child = self._children[self._find(location, member).key]
        child.send({"cmd": "stats"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = child.control.get(timeout=0.05)
            except queue.Empty:
                continue
            if msg.get("event") == "stats":
                return msg
        raise DeploymentError(f"{child.inst.label} did not answer a stats request within {timeout:g}s")

    def kill(self, location: str, member: int | None = None) -> None:
        """SIGKILL one instance (a crash, for fault-tolerance tests); the others keep running."""
        child = self._children[self._find(location, member).key]
        child.expected_exit = True
        child.proc.kill()
        child.proc.wait(10)
        self._announce(child.inst, Liveness.down(child.incarnation))

    def restart(self, location: str, member: int | None = None, *, force: bool = False) -> None:
        """Start a new incarnation of a dead instance, on the same ports where it can bind them.

        Once it has started, every other instance is told (``peer_liveness``); its senders
        reconnect at once and its receivers resume all its channels, ordered ones included, as
        a new stream from its first message (docs/deployment.md, "Faults and restarts").
        """
        inst = self._find(location, member)
        self._check_restartable(inst, force)
        old = self._children[inst.key]
        if old.proc.poll() is None:
            raise DeploymentError(f"{inst.label} is still running; kill() it before restart()")
        port, ext = self._ports_to_reuse(inst)
        child = self._spawn(inst, port, ext, old.incarnation + 1)
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._children[inst.key] = child
        if stopping:  # stop() did not see this child: end it here
            child.expected_exit = True
            child.proc.kill()
            child.proc.wait()
            raise DeploymentError("the deployment is stopping")
        moved = self._await_ready(child)
        with self._lock:  # ordered with any news for the others: none is missed between the two
            child.send(self._start_command())
        self._expect(child, "started")
        child.starting = False
        self._announce(inst, Liveness.restarted(child.incarnation), moved)

    # --- cluster membership

    def _start_command(self) -> dict[str, Any]:
        return {"cmd": "start", "peers": self._peers(), "liveness": self._liveness_json(), "removed": self._removed_json()}

    def add_member(self, location: str) -> int:
        """Start a new member of cluster ``location`` (one more OS process) with the next unused
        id, and return the id. It binds, every other instance is told where it listens (those
        that send to its cluster connect to it), then it starts; watchers see it join."""
        inst = self._new_member(location)
        child = self._spawn(inst, 0, None, 0)
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._children[inst.key] = child
        if stopping:
            child.expected_exit = True
            child.proc.kill()
            child.proc.wait()
            raise DeploymentError("the deployment is stopping")
        try:
            self._await_ready(child)
            with self._lock:  # the others hear of it before it starts sending to them
                self._tell_others(inst, membership_command(inst.key, "added", 0, self._internal[inst.key]))
                child.send(self._start_command())
            self._expect(child, "started")
        except DeploymentError:
            child.expected_exit = True
            child.proc.kill()
            child.proc.wait()
            with self._lock:
                self.instances.remove(inst)
                self._removed.add(inst.key)
                self._tell_others(inst, membership_command(inst.key, "removed", 0))
            raise
        child.starting = False
        self._log(f"[hydrologic] {inst.label} joined {location} (pid {child.proc.pid})")
        return inst.member or 0

    def remove_member(self, location: str, member: int | None = None, grace: float = 3.0) -> int:
        """Stop member ``member`` of cluster ``location`` for good (default: the highest id) and
        return its id. The others are told first (they stop routing to it; watchers see it
        leave), then its process is asked to stop, and killed after ``grace`` seconds."""
        inst = self._drop_member(location, member, lambda i: self._children[i.key].incarnation)
        child = self._children[inst.key]
        child.expected_exit = True
        child.send({"cmd": "stop"})
        try:
            child.proc.wait(grace)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
        self._log(f"[hydrologic] {inst.label} left {location}")
        return inst.member or 0

    def stop(self, grace: float = 3.0) -> None:
        """Stop every child: ask politely, then SIGTERM, then SIGKILL. Idempotent."""
        if not self._begin_stop():
            self._stopped.wait(grace + 5)
            return
        with self._lock:
            children = list(self._children.values())
        for c in children:
            c.expected_exit = c.expected_exit or c.proc.poll() is None
            c.send({"cmd": "stopping"})
        quiet_by = time.monotonic() + 1.0
        for c in children:  # wait until every child expects its channels to close
            while c.proc.poll() is None and time.monotonic() < quiet_by:
                try:
                    if c.control.get(timeout=0.05).get("event") == "quiet":
                        break
                except queue.Empty:
                    pass
        for c in children:
            c.send({"cmd": "stop"})
            try:
                if c.proc.stdin is not None:
                    c.proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + grace
        for c in children:
            try:
                c.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.terminate()
        for c in children:
            try:
                c.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()
        for c in children:
            for th in c.threads:
                th.join(2.0)
        if self._tmp_data is not None:
            self._tmp_data.cleanup()
        self._stopped.set()
