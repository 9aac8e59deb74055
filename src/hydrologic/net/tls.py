"""TLS for internal channels (mutual) and External ports (server, optionally mutual).

The HMAC handshake of ``auth.py`` proves that both ends of a connection belong to the
deployment, but the frames after it travel in the clear and carry no MAC: on loopback nobody
but the kernel sits between the two ends, across hosts an on-path attacker could read them or
splice frames into the stream. With TLS the whole connection, handshake included, runs inside
a TLS 1.3 session in which *both* sides present a certificate signed by the deployment's CA, so
a process without that CA's signature cannot even complete the TCP-level handshake, and a byte
injected into the stream fails the record MAC and ends the connection instead of being
delivered. The HMAC hello still runs inside the session: it names the sender and its
incarnation, and it keeps the secret a second, independent credential.

The material (a CA certificate, a certificate and its key) is either generated per deployment
(``generate``) or supplied by the user (``TlsFiles``). Generated material is one CA and one
certificate shared by all of a deployment's processes: what is authenticated is membership in
the deployment (exactly what the secret already stood for), and it travels with the secret, on
a worker's stdin or in a Ray actor's configuration. Addresses are assigned at run time (Ray
chooses nodes, a restart may move), so internal channels do not check host names: the
certificate chain to this deployment's CA is the identity.

Generating a key pair and signing certificates needs the ``cryptography`` package (Python's
``ssl`` can use certificates but not make them; calling an ``openssl`` binary would fail on
machines without one). It is imported only when material is generated.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import NetError

__all__ = ["TlsMaterial", "TlsFiles", "generate", "MISSING_CRYPTOGRAPHY"]

MISSING_CRYPTOGRAPHY = (
    "generating TLS certificates for a deployment needs the `cryptography` package: "
    "pip install 'hydrologic[tls]' (or pass certificates you made yourself: tls=hl.deploy.TlsFiles(ca=..., cert=..., key=...))"
)

VALID_DAYS = 30
"""Lifetime of generated certificates: a deployment's material is made when it starts."""


@dataclass(frozen=True)
class TlsMaterial:
    """PEM bytes: the CA that peers' certificates must chain to, this side's certificate chain, its key."""

    ca: bytes
    cert: bytes
    key: bytes

    def server_context(self, *, require_client_cert: bool = True) -> ssl.SSLContext:
        """A context for the listening side; with ``require_client_cert``, clients must present a
        certificate that chains to ``ca`` (mutual TLS)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self._load_chain(ctx)
        if require_client_cert:
            ctx.load_verify_locations(cadata=self.ca.decode("ascii"))
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def client_context(self, *, check_hostname: bool = False, present_cert: bool = True) -> ssl.SSLContext:
        """A context for the connecting side: the server must chain to ``ca``; with
        ``present_cert`` this side proves itself with its own certificate too."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = check_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=self.ca.decode("ascii"))
        if present_cert:
            self._load_chain(ctx)
        return ctx

    def _load_chain(self, ctx: ssl.SSLContext) -> None:
        # ``load_cert_chain`` reads only files: the key goes to a private temporary file (0600, in
        # a directory only we can read) for the instant it takes, then is removed.
        with tempfile.TemporaryDirectory(prefix="hydrologic-tls-") as d:
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            for path, data in ((cert, self.cert), (key, self.key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            try:
                ctx.load_cert_chain(cert, key)
            except ssl.SSLError as e:
                raise NetError(f"the TLS certificate and key do not load ({e.reason or e}); are they PEM, and a matching pair?") from None

    def to_json(self) -> dict[str, str]:
        return {"ca": self.ca.decode("ascii"), "cert": self.cert.decode("ascii"), "key": self.key.decode("ascii")}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TlsMaterial:
        return cls(str(raw["ca"]).encode("ascii"), str(raw["cert"]).encode("ascii"), str(raw["key"]).encode("ascii"))


@dataclass(frozen=True)
class TlsFiles:
    """Certificates you supply, as PEM file paths.

    For internal channels all three are needed: every process presents ``cert`` (with ``key``)
    and accepts only peers whose certificate chains to ``ca``. For External ports, ``cert`` and
    ``key`` are what the ports present to clients, and ``ca``, when given, makes the ports
    require client certificates that chain to it.
    """

    cert: str
    key: str
    ca: str | None = None

    def load(self) -> TlsMaterial:
        def read(path: str, what: str) -> bytes:
            try:
                with open(path, "rb") as f:
                    return f.read()
            except OSError as e:
                raise NetError(f"cannot read the TLS {what} {path!r}: {e.strerror}") from None

        return TlsMaterial(read(self.ca, "CA certificate") if self.ca else b"", read(self.cert, "certificate"), read(self.key, "key"))


def generate(hosts: Iterable[str] = ("127.0.0.1", "localhost")) -> TlsMaterial:
    """A fresh CA and one certificate it signed (ECDSA P-256), for one deployment.

    ``hosts`` become the certificate's subject alternative names, so that External clients that
    check host names (``redis-cli --tls``) accept it on those addresses.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise NetError(MISSING_CRYPTOGRAPHY) from None

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS)
    tag = os.urandom(4).hex()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hydrologic deployment CA {tag}")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hydrologic deployment {tag}")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    return TlsMaterial(
        ca=ca.public_bytes(pem),
        cert=cert.public_bytes(pem),
        key=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
