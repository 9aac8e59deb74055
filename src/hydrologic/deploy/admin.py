"""The admin port of a running deployment: how ``hydrologic scale`` reaches ``hydrologic run``.

``hydrologic run`` listens on a loopback port and writes where, with a fresh random token, to
an admin file only its user can read (by default in a private directory of this user under the
system's temporary directory, named after the working directory and the program address, so
``hydrologic scale`` run from the same directory with the same address finds it). A request is
one JSON line with the token; the answer is one JSON line::

    {"token": ..., "cmd": "members"}                          -> {"ok": true, "clusters": {"Workers": [0, 1]}}
    {"token": ..., "cmd": "scale", "cluster": "Workers", "to": 3}            (add or remove to reach 3)
    {"token": ..., "cmd": "add", "cluster": "Workers", "count": 1}
    {"token": ..., "cmd": "remove", "cluster": "Workers", "member": 2}       (member null: the highest)
    -> {"ok": true, "clusters": {...}}  or  {"ok": false, "error": "..."}

Requests run one at a time, each to completion (a new member has started, a removed one has
stopped) before the answer is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import socketserver
import tempfile
import threading
from typing import Any, Protocol

__all__ = ["AdminServer", "AdminError", "admin_request", "default_admin_file"]

MAX_REQUEST = 4096


def default_admin_file(program: str) -> str:
    """Where ``hydrologic run`` of ``program`` started in this working directory writes its admin
    file by default: ``<tmp>/hydrologic-admin-<uid>/<hash of directory and program>.json``."""
    key = hashlib.sha1(f"{os.getcwd()}\0{program}".encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"hydrologic-admin-{os.getuid()}", f"{key}.json")


class AdminError(Exception):
    """The admin port could not be reached, or refused the request."""


class Scalable(Protocol):
    """What the admin port needs of a deployment (``SupervisedDeployment`` has it)."""

    graph: Any

    def members(self, location: str) -> list[int]: ...
    def scale(self, location: str, to: int) -> list[int]: ...
    def add_member(self, location: str) -> int: ...
    def remove_member(self, location: str, member: int | None = None) -> int: ...


class AdminServer:
    """Serves the admin requests of one deployment on ``host`` (loopback by default)."""

    def __init__(self, deployment: Scalable, host: str = "127.0.0.1", port: int = 0) -> None:
        self.deployment = deployment
        self.token = secrets.token_hex(16)
        self._lock = threading.Lock()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                raw = self.rfile.readline(MAX_REQUEST)
                reply = server.answer(raw)
                self.wfile.write((json.dumps(reply) + "\n").encode())

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, port), Handler)
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._server.serve_forever, name="hydrologic-admin", daemon=True)

    def start(self) -> AdminServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def write_file(self, path: str) -> None:
        """Write the address and token to ``path``, readable by this user only."""
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.stat(folder).st_uid != os.getuid():
            raise OSError(f"{folder} belongs to another user; pass an admin file in a folder of yours")
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"address": list(self.address), "token": self.token, "pid": os.getpid()}, f)
        os.replace(tmp, path)

    def clusters(self) -> dict[str, list[int]]:
        return {l.name: self.deployment.members(l.name) for l in self.deployment.graph.locations if l.is_cluster}

    def answer(self, raw: bytes) -> dict[str, Any]:
        try:
            msg: Any = json.loads(raw)
        except ValueError:
            return {"ok": False, "error": "expected one JSON object per line"}
        if not isinstance(msg, dict):
            return {"ok": False, "error": "expected one JSON object per line"}
        req: dict[str, Any] = msg  # pyright: ignore[reportUnknownVariableType]
        if not hmac.compare_digest(str(req.get("token", "")), self.token):
            return {"ok": False, "error": "wrong admin token (is the admin file from this run?)"}
        with self._lock:
            try:
                self._run(req)
            except Exception as e:  # the deployment's refusal, in its own words
                return {"ok": False, "error": str(e), "clusters": self.clusters()}
            return {"ok": True, "clusters": self.clusters()}

    def _run(self, req: dict[str, Any]) -> None:
        cmd = req.get("cmd")
        d = self.deployment
        if cmd == "members":
            return
        cluster = str(req.get("cluster"))
        if cmd == "scale":
            d.scale(cluster, int(req["to"]))
        elif cmd == "add":
            for _ in range(int(req.get("count", 1))):
                d.add_member(cluster)
        elif cmd == "remove":
            member = req.get("member")
            d.remove_member(cluster, None if member is None else int(member))
        else:
            raise ValueError(f"unknown admin command {cmd!r} (members, scale, add, remove)")


def admin_request(admin_file: str, request: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    """Send one request to the deployment whose admin file is ``admin_file``; its JSON answer."""
    try:
        with open(admin_file) as f:
            info = json.load(f)
        host, port = str(info["address"][0]), int(info["address"][1])
        token = str(info["token"])
    except FileNotFoundError:
        raise AdminError(f"no admin file at {admin_file}: is `hydrologic run` running this program here?") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise AdminError(f"cannot read the admin file {admin_file}: {e}") from None
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall((json.dumps({**request, "token": token}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        raise AdminError(f"cannot reach the deployment's admin port {host}:{port} ({e}); has it stopped?") from None
    try:
        answer: dict[str, Any] = json.loads(data)
    except ValueError:
        raise AdminError(f"the admin port {host}:{port} answered something that is not JSON: {data[:200]!r}") from None
    return answer
