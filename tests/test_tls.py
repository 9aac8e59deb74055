"""Mutual TLS on internal channels and TLS on External ports.

What must hold: a process without the deployment's certificate can neither connect to a TLS
channel (even knowing the HMAC secret) nor inject into one (bytes spliced into the TCP stream
end the connection instead of being delivered), and an on-path observer sees no plaintext. The
plain-TCP twins of the on-path tests show what TLS prevents, so the tests can fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
from typing import Any

import pytest

from hydrologic.deploy import Localhost, RestartPolicy, TlsFiles
from hydrologic.deploy.security import resolve_tls
from hydrologic.net.auth import client_handshake, new_secret
from hydrologic.net.channel import InternalServer, OutLink
from hydrologic.net.framing import pack_frame
from hydrologic.net.tls import TlsMaterial, generate
from hydrologic.types.errors import UsageError
from restarts_support import events, round_trip

pytest.importorskip("cryptography", reason="generating certificates needs the `tls` extra")

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
pytestmark = pytest.mark.timeout(120)
MARK = b"PLAINTEXT-MARKER-" * 4


class Recorder:
    """An ``InboundHandler`` that admits every authenticated sender and keeps its frames."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed: list[str] = []

    def accept(self, hello: dict[str, Any]) -> tuple[Any, str | None]:
        return (hello["loc"], hello["member"]), None

    def on_frame(self, key: Any, payload: bytes) -> None:
        self.frames.append(payload)

    def on_closed(self, key: Any, why: str) -> None:
        self.closed.append(why)

    async def gate(self) -> None:
        return None


HELLO = {"loc": 0, "member": None, "incarnation": "0"}


async def _until(cond: Any, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


# ---- who may connect -----------------------------------------------------------------------------


def test_without_the_deployments_certificate_no_connection_is_accepted_even_with_the_secret() -> None:
    mine, theirs = generate(), generate()
    secret = new_secret()

    async def main() -> tuple[int, list[bytes], list[str]]:
        rec = Recorder()
        server = InternalServer(secret, rec, tls=mine.server_context())
        port = await server.start("127.0.0.1")
        failures: list[str] = []

        async def attempt(what: str, ctx: ssl.SSLContext | None) -> None:
            try:
                if ctx is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                else:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1")
                await client_handshake(reader, writer, secret, HELLO, timeout=3.0)
                writer.write(pack_frame(b"injected by " + what.encode()))
                await writer.drain()
                await asyncio.sleep(0.2)
                writer.close()
            except (OSError, asyncio.TimeoutError, Exception) as e:
                failures.append(f"{what}: {type(e).__name__}")

        # 1. plain TCP, right secret; 2. TLS with a certificate from another CA; 3. TLS with no
        # client certificate (trusting the server, so only the missing certificate can fail it).
        await attempt("plain", None)
        await attempt("other CA", theirs.client_context())
        no_cert = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        no_cert.check_hostname = False
        no_cert.load_verify_locations(cadata=mine.ca.decode())
        await attempt("no client certificate", no_cert)
        # The deployment's own certificate gets through: the server is not refusing everybody.
        link = OutLink("peer", ("127.0.0.1", port), secret, HELLO, tls=mine.client_context())
        assert await link.connect(attempts=3)
        link.send(b"legitimate")
        await _until(lambda: b"legitimate" in rec.frames)
        await link.close()
        await server.close()
        return server.rejected, rec.frames, failures

    rejected, frames, failures = asyncio.run(main())
    assert frames == [b"legitimate"]
    assert rejected == 0  # refused by TLS, before the HMAC handshake could even start
    assert len(failures) == 3, failures  # every outsider saw its connection fail


def test_a_client_that_does_not_trust_the_deployments_ca_does_not_connect_to_it() -> None:
    """Mutual: a sender refuses a server that cannot prove it is in the deployment."""
    mine, impostor = generate(), generate()
    secret = new_secret()

    async def main() -> bool:
        rec = Recorder()
        server = InternalServer(secret, rec, tls=impostor.server_context(require_client_cert=False))
        port = await server.start("127.0.0.1")
        link = OutLink("peer", ("127.0.0.1", port), secret, HELLO, tls=mine.client_context())
        ok = await link.connect(attempts=2, delay=0.01)
        await link.close()
        await server.close()
        return ok

    assert asyncio.run(main()) is False


# ---- on the path: reading and injecting ------------------------------------------------------------


class Tap:
    """A TCP proxy that records what passes from client to server and can splice bytes in."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.seen = bytearray()
        self.inject: bytes | None = None
        self.injected = asyncio.Event()
        self.port = 0

    async def start(self) -> None:
        srv = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = srv.sockets[0].getsockname()[1]
        self._srv = srv

    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", self.upstream)

        async def up() -> None:
            while data := await creader.read(65536):
                self.seen += data
                if self.inject is not None:  # armed once the channel is up: spliced in before the next bytes
                    swriter.write(self.inject)
                    self.inject = None
                    self.injected.set()
                swriter.write(data)
            swriter.close()

        async def down() -> None:
            while data := await sreader.read(65536):
                cwriter.write(data)
            cwriter.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    async def close(self) -> None:
        self._srv.close()


def _through_tap(material: TlsMaterial | None) -> tuple[list[bytes], bytes, list[str]]:
    secret = new_secret()

    async def main() -> tuple[list[bytes], bytes, list[str]]:
        rec = Recorder()
        server = InternalServer(secret, rec, tls=None if material is None else material.server_context())
        port = await server.start("127.0.0.1")
        tap = Tap(port)
        await tap.start()
        link = OutLink("peer", ("127.0.0.1", tap.port), secret, HELLO, tls=None if material is None else material.client_context())
        assert await link.connect(attempts=1)
        for i in range(20):
            link.send(MARK + str(i).encode())
            await asyncio.sleep(0.01)
        await _until(lambda: len(rec.frames) == 20)
        tap.inject = pack_frame(b"INJECTED")  # between two frames, as an on-path attacker would
        for i in range(20, 25):
            link.send(MARK + str(i).encode())
            await asyncio.sleep(0.01)
        await asyncio.wait_for(tap.injected.wait(), 5)
        await _until(lambda: bool(rec.closed) or len(rec.frames) >= 26, 3.0)
        await link.close()
        await tap.close()
        await server.close()
        return rec.frames, bytes(tap.seen), rec.closed

    return asyncio.run(main())


def test_bytes_injected_into_a_tls_channel_end_it_and_are_never_delivered() -> None:
    frames, seen, closed = _through_tap(generate())
    assert b"INJECTED" not in frames
    # What arrived is an in-order prefix of what was sent before the injection; the injected
    # bytes failed the record authentication, which ended the connection (asyncio reports it as
    # an SSL error or as the end of the stream), so nothing sent after them was delivered.
    assert frames == [MARK + str(i).encode() for i in range(20)], frames
    assert closed, "the connection was not ended"
    assert MARK not in seen  # the observer saw ciphertext only


def test_without_tls_the_same_injection_is_delivered_and_the_traffic_is_readable() -> None:
    """The twin of the test above: what TLS is there to prevent (HMAC alone authenticates only the
    handshake)."""
    frames, seen, _ = _through_tap(None)
    assert frames == [MARK + str(i).encode() for i in range(20)] + [b"INJECTED"] + [MARK + str(i).encode() for i in range(20, 25)]
    assert MARK in seen


# ---- deployed: real processes and sockets ----------------------------------------------------------


def test_a_tls_deployment_runs_the_ordered_round_trip_survives_a_restart_and_refuses_outsiders() -> None:
    logs: list[str] = []
    target = Localhost(log=logs.append, tls=True, on_failure=RestartPolicy(backoff=0.05))
    with target.start(f"{PROGS}:restarts", {"Workers": 2}) as d:
        assert d.tls
        with d.output("liveness") as live:
            events(live, lambda g: len(g) >= 2)
            assert round_trip(d, [1, 2, 3]) == {0: [10, 20, 30], 1: [10, 20, 30]}
            # An outsider that even knows the secret, talking plain TCP to a worker's channel port:
            host, port = d.internal_address("Workers", 0)

            async def outsider() -> str:
                reader, writer = await asyncio.open_connection(host, port)
                try:
                    await client_handshake(reader, writer, d._secret, {"loc": 0, "member": None, "incarnation": "9"}, 3.0)  # pyright: ignore[reportPrivateUsage]
                except Exception as e:
                    return type(e).__name__
                finally:
                    writer.close()
                return "accepted"

            assert asyncio.run(outsider()) == "AuthError"  # no challenge came: the port speaks TLS only
            os.kill(d.pids()["Workers/1"], 9)
            assert events(live, lambda g: [1, "restarted", 1] in g) == [[1, "down", 0], [1, "restarted", 1]]
        values = list(range(100, 130))
        assert round_trip(d, values) == {0: [v * 10 for v in values], 1: [v * 10 for v in values]}
        assert not d.failed


def test_the_default_is_tls_off_on_loopback_and_on_for_other_addresses() -> None:
    assert resolve_tls(None, False, across_hosts=False, hosts=[]).internal is None
    assert resolve_tls(None, False, across_hosts=True, hosts=["10.0.0.7"]).internal is not None
    assert resolve_tls(False, False, across_hosts=True, hosts=[]).internal is None
    with Localhost(log=lambda _: None).start(f"{PROGS}:echo") as d:
        assert not d.tls


def test_supplied_certificates_are_used_and_a_wrong_key_is_reported_before_anything_starts(tmp_path: Any) -> None:
    m = generate()
    for name, data in (("ca.pem", m.ca), ("cert.pem", m.cert), ("key.pem", m.key), ("other.pem", generate().key)):
        (tmp_path / name).write_bytes(data)
    files = TlsFiles(ca=str(tmp_path / "ca.pem"), cert=str(tmp_path / "cert.pem"), key=str(tmp_path / "key.pem"))
    with Localhost(log=lambda _: None, tls=files).start(f"{PROGS}:echo") as d:
        assert d.tls
        with d.output("out") as out, d.input("in") as inp:
            inp.send_many(["a", "b"])
            assert out.take(2, timeout=15) == ["A", "B"]
    with pytest.raises(UsageError, match="has no ca="):
        Localhost(tls=TlsFiles(cert=str(tmp_path / "cert.pem"), key=str(tmp_path / "key.pem"))).start(f"{PROGS}:echo")
    wrong = TlsFiles(ca=str(tmp_path / "ca.pem"), cert=str(tmp_path / "cert.pem"), key=str(tmp_path / "other.pem"))
    with pytest.raises(UsageError, match="do not load") as e:  # before any process starts
        Localhost(log=lambda _: None, tls=wrong).start(f"{PROGS}:echo")
    assert "HL501" in str(e.value) and "test_tls.py" in str(e.value) and "fix:" in str(e.value)


def test_without_cryptography_generating_certificates_names_the_extra_and_the_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in [m for m in sys.modules if m == "cryptography" or m.startswith("cryptography.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)  # import cryptography now fails
    with pytest.raises(UsageError, match=r"needs the `cryptography` package") as e:
        Localhost(tls=True).start(f"{PROGS}:echo")
    assert "hydrologic[tls]" in str(e.value) and "TlsFiles" in str(e.value)


# ---- External ports ---------------------------------------------------------------------------------


def test_external_ports_can_require_tls_and_a_plain_client_gets_nothing_through() -> None:
    with Localhost(log=lambda _: None, external_tls=True).start(f"{PROGS}:echo") as d:
        assert d.external_ca is not None
        with d.output("out") as out:
            with socket.create_connection(d.address("in"), timeout=5) as plain:
                plain.sendall(b'"plain"\n')  # a JSON line, in the clear
                plain.settimeout(5)
                try:
                    left = plain.recv(100)
                except OSError:
                    left = b""
            assert b"PLAIN" not in left
            with d.input("in") as inp:  # the deployment's own client trusts its CA
                inp.send_many(["x", "y"])
                assert out.take(2, timeout=15) == ["X", "Y"]
            assert out.drain(quiet=0.3, timeout=1) == []  # the plain client's value never arrived


def test_an_external_client_must_present_a_certificate_when_the_port_requires_one(tmp_path: Any) -> None:
    server, client = generate(), generate()
    (tmp_path / "cert.pem").write_bytes(server.cert)
    (tmp_path / "key.pem").write_bytes(server.key)
    (tmp_path / "clients.pem").write_bytes(client.ca)
    files = TlsFiles(cert=str(tmp_path / "cert.pem"), key=str(tmp_path / "key.pem"), ca=str(tmp_path / "clients.pem"))
    with Localhost(log=lambda _: None, external_tls=files).start(f"{PROGS}:echo") as d:
        anon = server.client_context(present_cert=False)
        mutual_with = TlsMaterial(server.ca, client.cert, client.key).client_context()
        with d.output("out", tls=mutual_with) as out:
            with pytest.raises((OSError, TimeoutError)):
                with d.input("in", tls=anon) as inp:
                    inp.send("a")
                    inp.errors(timeout=1)  # TLS 1.3: the refusal arrives after the handshake
                    inp.send("a")
                    raise TimeoutError("no refusal")
            with d.input("in", tls=mutual_with) as inp:
                inp.send("ok")
                assert out.take(1, timeout=15) == ["OK"]


def test_redis_cli_talks_to_a_tls_port_with_the_deployments_ca(tmp_path: Any) -> None:
    if subprocess.run(["redis-cli", "--help"], capture_output=True, text=True).stdout.find("--tls") < 0:
        pytest.skip("this redis-cli was built without TLS")
    store = os.path.join(os.path.dirname(__file__), "..", "examples", "redis_store.py")
    with Localhost(log=lambda _: None, external_tls=True).start(f"{store}:build") as d:
        assert d.external_ca is not None
        ca = tmp_path / "ca.pem"
        ca.write_bytes(d.external_ca)
        host, port = d.address("redis")
        base = ["redis-cli", "-h", host, "-p", str(port)]
        tls = ["--tls", "--cacert", str(ca)]
        assert subprocess.run(base + tls + ["SET", "k", "v"], capture_output=True, text=True, timeout=20).stdout.strip() == "OK"
        assert subprocess.run(base + tls + ["GET", "k"], capture_output=True, text=True, timeout=20).stdout.strip() == "v"
        plain = subprocess.run(base + ["GET", "k"], capture_output=True, text=True, timeout=20)
        assert "v" != plain.stdout.strip()


def test_hydrologic_run_with_tls_flags_serves_redis_cli_over_tls(tmp_path: Any) -> None:
    import shutil
    import signal
    import sys

    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli (Debian redis-tools) is not installed")
    root = os.path.join(os.path.dirname(__file__), "..")
    ca = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hydrologic", "run", "examples/redis_store.py:build", "--tls", "on",
         "--external-tls-ca", str(ca), "--duration", "40"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        port = None
        for _ in range(50):
            line = proc.stdout.readline()
            seen.append(line)
            if "external bidi 'redis': resp at 127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        assert port is not None, seen
        assert "[hydrologic] channels between instances: mutual TLS\n" in seen, seen
        assert any(f"External ports require TLS; their CA certificate is in {ca}" in l for l in seen), seen
        base = ["redis-cli", "-p", str(port), "--tls", "--cacert", str(ca)]
        assert subprocess.run(base + ["SET", "k", "tls"], capture_output=True, text=True, timeout=20).stdout.strip() == "OK"
        assert subprocess.run(base + ["GET", "k"], capture_output=True, text=True, timeout=20).stdout.strip() == "tls"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
