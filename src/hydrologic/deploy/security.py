"""The ``tls=`` and ``external_tls=`` options of ``Localhost`` and ``Ray``: what each means, and
the material a deployment sends to its processes with its secret.

``tls`` (internal channels):

- ``None`` (the default) decides by topology: TLS when the channels cross hosts (``Localhost``
  listening on an address other than loopback, a ``Ray`` cluster whose live nodes have more than
  one IP address), plain TCP on loopback. On loopback nobody can sit between two processes of
  one machine, and a process that is not part of the deployment is already kept out by the HMAC
  handshake; TLS there would cost throughput for no protection (docs/benchmarks.md has the cost).
- ``True``: TLS with mutual authentication, with a CA and certificate generated for this
  deployment (needs the ``cryptography`` package).
- ``TlsFiles(ca=..., cert=..., key=...)``: TLS with certificates you made.
- ``False``: never (an isolated network you trust).

``external_tls`` (External ports): ``False`` (the default), ``True`` (the ports present a
certificate generated for the deployment; ``Deployment.external_ca`` is the CA clients must
trust, and the deployment's own clients trust it already), or ``TlsFiles(cert=..., key=...)``
(the ports present your certificate; with ``ca=...`` they also require client certificates
that chain to it).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any, Iterable, Union

from ..net.errors import NetError
from ..net.tls import TlsFiles, TlsMaterial, generate
from ..types.errors import UsageError

__all__ = ["TlsOption", "TlsSetup", "resolve_tls", "is_loopback"]

TlsOption = Union[bool, TlsFiles, None]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TlsSetup:
    """What one deployment decided: the internal material (None: plain channels), the External
    ports' material and whether they require client certificates, and the client context the
    deployment's own External clients use."""

    internal: TlsMaterial | None
    external: TlsMaterial | None
    external_requires_client_cert: bool
    external_client: ssl.SSLContext | None
    external_ca: bytes | None = None

    def config(self) -> dict[str, Any]:
        """The fields of a worker's configuration (sent with the secret, never on a command line)."""
        out: dict[str, Any] = {"tls": None if self.internal is None else self.internal.to_json(), "external_tls": None}
        if self.external is not None:
            out["external_tls"] = {**self.external.to_json(), "require_client_cert": self.external_requires_client_cert}
        return out


def _check(option: object, what: str) -> None:
    if option is not None and not isinstance(option, (bool, TlsFiles)):
        raise UsageError("HL501", f"{what} must be True, False, None or hl.deploy.TlsFiles(...), got {type(option).__name__}")


def resolve_tls(option: TlsOption, external: TlsOption, *, across_hosts: bool, hosts: Iterable[str]) -> TlsSetup:
    """Decide ``tls``/``external_tls`` for one deployment and make (or read) the material.

    ``across_hosts`` is the target's topology (see the module docstring); ``hosts`` are the
    addresses a generated certificate names, for External clients that check host names.
    """
    _check(option, "tls")
    _check(external, "external_tls")
    if isinstance(option, TlsFiles) and not option.ca:
        raise UsageError(
            "HL501",
            "tls=TlsFiles(...) has no ca=...: on internal channels every process accepts only peers whose "
            "certificate chains to it (mutual TLS)",
            fix="Pass ca= with the CA certificate that signed cert (PEM), or tls=True to generate a CA and "
            "certificate for this deployment.",
        )
    want_internal = across_hosts if option is None else bool(option)
    generated: TlsMaterial | None = None

    def made() -> TlsMaterial:
        nonlocal generated
        if generated is None:
            try:
                generated = generate(["127.0.0.1", "localhost", *hosts])
            except NetError as e:
                raise UsageError(
                    "HL501", str(e), fix="pip install 'hydrologic[tls]', or pass tls=hl.deploy.TlsFiles(...) / tls=False"
                ) from None
        return generated

    def load(files: TlsFiles) -> TlsMaterial:
        try:
            material = files.load()
            # Load it once here, so that a wrong key fails before any process starts.
            material.server_context(require_client_cert=bool(material.ca))
            return material
        except NetError as e:
            raise UsageError(
                "HL501", str(e), fix="Pass PEM files: the certificate, its own private key, and the CA that signed it."
            ) from None

    internal: TlsMaterial | None = None
    if isinstance(option, TlsFiles):
        internal = load(option)
    elif want_internal:
        internal = made()
    ext: TlsMaterial | None = None
    requires = False
    client: ssl.SSLContext | None = None
    if isinstance(external, TlsFiles):
        ext = load(external)
        requires = bool(external.ca)
        # The deployment's own clients trust the system's CAs plus the port's own certificate
        # (self-signed certificates included); a port that requires client certificates needs a
        # context with one: pass ``tls=`` to ``Deployment.input``/``output``/``client``.
        client = ssl.create_default_context()
        client.check_hostname = False
        client.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the leaf itself may be the anchor
        client.load_verify_locations(cadata=ext.cert.decode("ascii"))
    elif external:
        ext = made()
        client = ext.client_context(check_hostname=False, present_cert=False)
        return TlsSetup(internal, ext, requires, client, ext.ca)
    return TlsSetup(internal, ext, requires, client)
