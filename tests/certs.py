"""A certificate authority made by a test, and a MySQL server that presents its certificate.

The harness's images are built without certificates (their servers are reached on
127.0.0.1, where TLS protects nothing). A TLS test needs a server whose certificate
chains to a CA the test controls, so that verification can succeed (the right CA,
the name on the certificate) and fail (another CA, another name) for real.
"""

from __future__ import annotations

import datetime
import ipaddress
import shlex
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

#: Where the server's files are written inside the container.
CONTAINER_DIR = "/etc/mysql/harness-tls"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class ServerFiles:
    ca: str
    certificate: str
    key: str


class TestAuthority:
    """A self-signed CA that issues server certificates for given IP addresses."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str) -> None:
        self.key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def write_ca(self, path: Path) -> Path:
        path.write_text(_pem(self.certificate), encoding="utf-8")
        return path

    def issue(self, addresses: list[str]) -> ServerFiles:
        """A server certificate whose subjectAltName holds exactly ``addresses``."""
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        names = [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harness-test")]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        return ServerFiles(_pem(self.certificate), _pem(certificate), key_pem)


def mysql_tls_command(files: ServerFiles) -> list[str]:
    """The container command: write the files, then the image's own entrypoint with TLS on.

    The image's entrypoint runs any command that is not ``mysqld`` as is, so this
    shell writes the files (readable by the server's user) and execs that entrypoint
    with ``mysqld`` and the TLS options; password set-up stays the image's.
    """
    lines = [f"mkdir -p {CONTAINER_DIR}"]
    for name, text in (("ca.pem", files.ca), ("cert.pem", files.certificate)):
        lines.append(f"printf %s {shlex.quote(text)} > {CONTAINER_DIR}/{name}")
    lines.append(f"printf %s {shlex.quote(files.key)} > {CONTAINER_DIR}/key.pem")
    lines.append(f"chown -R mysql:mysql {CONTAINER_DIR} && chmod 600 {CONTAINER_DIR}/key.pem")
    lines.append(
        "exec docker-entrypoint.sh mysqld "
        f"--ssl-ca={CONTAINER_DIR}/ca.pem --ssl-cert={CONTAINER_DIR}/cert.pem "
        f"--ssl-key={CONTAINER_DIR}/key.pem"
    )
    return ["bash", "-c", "\n".join(lines)]


#: Where the PostgreSQL server's files are written inside the container.
PG_DIR = "/etc/postgresql-tls"


def postgres_tls_command(files: ServerFiles, plain_refused: str) -> list[str]:
    """As :func:`mysql_tls_command` for the PostgreSQL image: ``ssl=on`` with these files,
    and an ``hba_file`` that refuses role ``plain_refused`` any connection without TLS."""
    hba = "\n".join(
        [
            "local all all trust",
            f"hostnossl all {plain_refused} all reject",
            "host all all 0.0.0.0/0 scram-sha-256",
            "host all all ::/0 scram-sha-256",
        ]
    )
    lines = [f"mkdir -p {PG_DIR}"]
    for name, text in (
        ("cert.pem", files.certificate),
        ("key.pem", files.key),
        ("pg_hba.conf", hba + "\n"),
    ):
        lines.append(f"printf %s {shlex.quote(text)} > {PG_DIR}/{name}")
    lines.append(f"chown -R postgres:postgres {PG_DIR} && chmod 600 {PG_DIR}/key.pem")
    lines.append(
        "exec docker-entrypoint.sh postgres -c ssl=on "
        f"-c ssl_cert_file={PG_DIR}/cert.pem -c ssl_key_file={PG_DIR}/key.pem "
        f"-c hba_file={PG_DIR}/pg_hba.conf"
    )
    return ["bash", "-c", "\n".join(lines)]
