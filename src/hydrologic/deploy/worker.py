"""The main of one location process: ``python -m hydrologic.deploy.worker``.

The launcher talks to it over stdin/stdout with one JSON object per line (Hydro Deploy's
protocol, simplified)::

    launcher -> worker   {"program": ..., "location": 0, "member": null, "secret": hex,
                          "tls": null | {"ca": pem, "cert": pem, "key": pem}, "external_tls": null | {...}, ...}
    worker -> launcher   @@hydrologic {"event": "ready", "internal": port, "external": {...}, ...}
    launcher -> worker   {"cmd": "start", "peers": {"loc:member": [host, port], ...},
                          "liveness": {"loc:member": ["up" | "down", incarnation], ...},
                          "removed": ["loc:member", ...]}      (members removed from their cluster)
    worker -> launcher   @@hydrologic {"event": "started"}
    launcher -> worker   {"cmd": "liveness", "peer": "loc:member", "kind": "down" | "restarted", "incarnation": n,
                          "address": [host, port]}       (address: only if it came back somewhere new)
    launcher -> worker   {"cmd": "membership", "peer": "loc:member", "change": "added" | "removed",
                          "incarnation": n, "address": [host, port]}    (a cluster was scaled)
    launcher -> worker   {"cmd": "stats"} | {"cmd": "stop"}      (EOF on stdin means stop too)

The secret (and the TLS key, if any) travels on stdin, never on the command line. Every other line the process prints
(user ``print``s, log records on stderr) is the launcher's to prefix with the location's name.
The worker exits when told to stop, when stdin closes (its launcher is gone: no orphans),
on SIGTERM, or — with status 1 — when its location fails (a user function raised).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import traceback
from typing import Any, cast

from ..ir.graph import Graph
from ..storage import StorageError
from .gc_tuning import tune_gc
from .control import CONTROL, liveness_from_json, parse_peers, removed_from_json
from .node import loop_factory, node_from_config
from .deployment import DeploymentError, rebuild_in_worker

__all__ = ["main"]

log = logging.getLogger("hydrologic.deploy")


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(CONTROL + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM us when the launcher dies (a backstop to stdin EOF)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - best effort
        pass


def _stdin_reader(loop: asyncio.AbstractEventLoop, q: asyncio.Queue[dict[str, Any] | None]) -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg: Any = json.loads(line)
        except ValueError:
            loop.call_soon_threadsafe(q.put_nowait, {"cmd": "invalid", "line": line[:200]})
            continue
        cmd: dict[str, Any] = cast("dict[str, Any]", msg) if isinstance(msg, dict) else {"cmd": "invalid"}
        loop.call_soon_threadsafe(q.put_nowait, cmd)
    try:
        loop.call_soon_threadsafe(q.put_nowait, None)
    except RuntimeError:  # loop already closed
        pass


async def serve(cfg: dict[str, Any], graph: Graph, fp: str) -> int:
    loop = asyncio.get_running_loop()
    try:
        node = node_from_config(graph, cfg)
    except StorageError as e:  # its data directory cannot be opened: say why, don't hang
        emit("error", message=str(e))
        return 2
    q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, q.put_nowait, None)
        except (NotImplementedError, RuntimeError):  # pragma: no cover
            pass
    threading.Thread(target=_stdin_reader, args=(loop, q), daemon=True).start()
    info = await node.bind(
        cfg.get("host", "127.0.0.1"), int(cfg.get("port", 0)), cfg.get("external_ports"), fallback=bool(cfg.get("fallback_ports"))
    )
    emit("ready", pid=os.getpid(), fingerprint=fp, **info)
    started = False
    while True:
        get = asyncio.ensure_future(q.get())
        done = asyncio.ensure_future(node.done.wait())
        await asyncio.wait({get, done}, return_when=asyncio.FIRST_COMPLETED)
        if not get.done():
            get.cancel()
        done.cancel()
        if node.done.is_set():
            break
        msg = get.result()
        if msg is None or msg.get("cmd") == "stop":
            break
        cmd = msg.get("cmd")
        if cmd == "start" and not started:
            await node.start(
                parse_peers(msg.get("peers", {})),
                liveness_from_json(msg.get("liveness", {})),
                removed_from_json(msg.get("removed", [])),
            )
            started = True
            emit("started")
        elif cmd == "stopping":
            node.set_quiet()  # the whole deployment is stopping: closed channels are expected
            emit("quiet")
        elif cmd == "liveness":
            node.on_liveness_command(msg)
        elif cmd == "membership":
            node.on_membership_command(msg)
        elif cmd == "stats":
            emit("stats", **node.stats())
        else:
            log.warning("ignored an unknown control command: %.200s", msg)
    await node.stop()
    return 1 if node.failed is not None else 0


def main() -> int:
    _die_with_parent()
    line = sys.stdin.readline()
    try:
        cfg: dict[str, Any] = json.loads(line)
    except ValueError:
        print("[hydrologic] worker: expected a JSON configuration line on stdin", file=sys.stderr)
        return 2
    logging.basicConfig(
        stream=sys.stderr, level=cfg.get("log_level", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        graph, fp = rebuild_in_worker(cfg)
    except DeploymentError as e:
        emit("error", message=str(e))
        return 2
    except BaseException as e:  # the program itself failed to build: report it, don't hang
        emit("error", message=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        return 2
    tune_gc()  # the program is built: freeze it, and collect less often (gc_tuning says why)
    with asyncio.Runner(loop_factory=loop_factory(bool(cfg.get("uvloop", True)))) as runner:
        return runner.run(serve(cfg, graph, fp))


if __name__ == "__main__":
    sys.exit(main())
