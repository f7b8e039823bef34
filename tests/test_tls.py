"""TLS to servers the harness does not own: verified, or refused.

A real MySQL container presents a certificate issued by a CA this test makes
(subjectAltName 127.0.0.1 only). The deploying account and the external
``check`` account are created ``REQUIRE SSL``, so the server itself refuses any
connection of theirs that is not TLS: a deploy that succeeds did speak TLS,
through the harness's own PyMySQL connection and DataJoint's alike.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.activation import compat
from harness.db.backends import get_backend
from harness.db.container import resolve_image, start_container_server
from harness.db.tls import TlsSettings
from harness.errors import HarnessError
from harness.runinfo import RunIdentity
from tests.certs import TestAuthority, mysql_tls_command, postgres_tls_command
from tests.conftest import MYSQL, POSTGRES, harness_command
from tests.test_deploy import deploy

BACKEND = get_backend("mysql")
RUN = RunIdentity.new()
PASSWORD = "tls-Deploy-Secret9"


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tls")
    right, wrong = TestAuthority("harness test CA"), TestAuthority("another CA")
    return {
        "files": right.issue(["127.0.0.1"]),  # type: ignore[dict-item]
        "ca": right.write_ca(directory / "ca.pem"),
        "wrong": wrong.write_ca(directory / "wrong-ca.pem"),
    }


@pytest.fixture(scope="module")
def server(authority: dict[str, Any]) -> Iterator[Any]:
    started = start_container_server(
        BACKEND,
        resolve_image(MYSQL),
        RUN,
        timeout=90,
        command=mysql_tls_command(authority["files"]),
    )
    try:
        yield started.info
    finally:
        started.stop()


@pytest.fixture(scope="module")
def admin(server: Any) -> Iterator[Any]:
    connection = BACKEND.connect(server.host, server.port, server.admin_user, server.admin_password)
    yield connection
    connection.close()


def tls_user(admin: Any, user: str, grant: str) -> None:
    """An account the server lets in over TLS only."""
    BACKEND.query(admin, "CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", (user, PASSWORD))
    BACKEND.query(admin, f"GRANT {grant} TO %s@'%%'", (user,))


def pipeline(directory: Path, prefix: str) -> Path:
    path = directory / f"{prefix}.toml"
    path.write_text(
        f'name = "{prefix}"\n\n[[element]]\nspec = "sample-clean"\n'
        f'schemas = {{ lab = "{prefix}_lab" }}\n',
        encoding="utf-8",
    )
    return path


def schemas_like(admin: Any, prefix: str) -> list[str]:
    return BACKEND.namespace_schemas(admin, prefix)


def this_machine_off_loopback() -> str:
    """An address of this machine that is not loopback: the one its default route uses,
    else (no route) its address on the container engine's bridge."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # UDP: chooses a route, sends nothing
            address = probe.getsockname()[0]
    except OSError:
        import ipaddress

        from harness.engine import docker_client

        (config,) = docker_client().networks.get("bridge").attrs["IPAM"]["Config"]
        # The engine gives the host the bridge's first address unless told otherwise.
        address = config.get("Gateway") or str(ipaddress.ip_network(config["Subnet"])[1])
    assert not address.startswith("127."), address
    return address


@pytest.fixture(scope="module")
def deployer(admin: Any) -> str:
    tls_user(admin, "tls_dep", "ALL PRIVILEGES ON `tls\\_%%`.* ")
    return "tls_dep"


def test_deploy_with_tls_verifies_the_server_and_creates_the_pipeline(
    server, admin, authority, deployer, tmp_path
):
    target = f"mysql://{deployer}:{PASSWORD}@127.0.0.1:{server.port}"
    path = pipeline(tmp_path, "tls_a")
    code, output = deploy(
        str(path), "--target", target, "--apply", "--tls-ca", str(authority["ca"])
    )
    assert code == 0, output
    assert f"TLS verified against {authority['ca']}" in output
    assert "verified: 7 table(s) match their manifests" in output
    assert schemas_like(admin, "tls_a") == ["tls_a_lab"]
    code, output = deploy(str(path), "--target", target, "--apply", "--tls")
    # --tls alone trusts the system's CAs, which never signed the test CA's certificate.
    assert code == 2, output
    assert "certificate verify failed" in output and "--tls-ca" in output
    assert PASSWORD not in output


def test_without_tls_the_server_refuses_the_account(server, admin, deployer, tmp_path):
    """The account really needs TLS: the success above cannot have been a plain connection."""
    target = f"mysql://{deployer}:{PASSWORD}@127.0.0.1:{server.port}"
    code, output = deploy(str(pipeline(tmp_path, "tls_b")), "--target", target, "--apply")
    assert code == 2, output
    assert "cannot connect" in output and "Access denied" in output
    assert schemas_like(admin, "tls_b") == []


def test_a_wrong_ca_or_a_wrong_name_fails_clearly_and_creates_nothing(
    server, admin, authority, deployer, tmp_path
):
    for host, ca in (("127.0.0.1", authority["wrong"]), ("localhost", authority["ca"])):
        target = f"mysql://{deployer}:{PASSWORD}@{host}:{server.port}"
        path = pipeline(tmp_path, "tls_c")
        code, output = deploy(str(path), "--target", target, "--apply", "--tls-ca", str(ca))
        assert code == 2, output
        assert "over TLS" in output and "certificate verify failed" in output, output
        assert "hint: the server's certificate must be signed by the CA in" in output
        if host == "localhost":
            assert "mismatch" in output  # the certificate names 127.0.0.1 only
        assert PASSWORD not in output
    assert schemas_like(admin, "tls_c") == []


def test_a_missing_or_malformed_ca_file_is_a_usage_error(authority, tmp_path):
    not_pem = tmp_path / "key.txt"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    for ca, words in ((tmp_path / "absent.pem", "no such file"), (not_pem, "not a PEM file")):
        code, output = deploy(
            str(pipeline(tmp_path, "tls_d")),
            "--target",
            "mysql://u:pw-Ca-1@127.0.0.1:1",
            "--tls-ca",
            str(ca),
        )
        assert code == 2 and words in output, output


def test_a_password_is_not_sent_off_this_machine_without_tls(server, tmp_path):
    host = this_machine_off_loopback()
    target = f"mysql://someone:pw-Off-Host-2@{host}:{server.port}"
    path = str(pipeline(tmp_path, "tls_e"))
    code, output = deploy(path, "--target", target, "--timeout", "2")
    assert code == 2, output
    assert f"refusing to send a password to mysql://someone@{host}:{server.port}" in output
    assert "hint: add --tls" in output and "--insecure" in output
    assert "pw-Off-Host-2" not in output
    # --insecure lets the login go ahead: it is attempted (the server listens on
    # 127.0.0.1 only, so it cannot succeed), where without it nothing was sent.
    code, output = deploy(path, "--target", target, "--timeout", "2", "--insecure")
    assert code == 2, output
    assert "refusing" not in output and "cannot connect to" in output


def test_check_against_an_external_server_with_tls(server, admin, authority):
    """``harness check --external`` over verified TLS: the whole check, end to end."""
    tls_user(admin, "tls_admin", "ALL PRIVILEGES ON *.* ")
    BACKEND.query(admin, "GRANT ALL PRIVILEGES ON *.* TO 'tls_admin'@'%' WITH GRANT OPTION")
    external = f"mysql://tls_admin:{PASSWORD}@127.0.0.1:{server.port}"
    common = ["check", "sample-clean", "--external", external, "--jobs", "1", "--no-data"]
    done = subprocess.run(
        harness_command(*common, "--tls-ca", str(authority["ca"])),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert f"(external, external server, TLS verified against {authority['ca']})" in done.stderr
    refused = subprocess.run(
        harness_command(*common, "--tls-ca", str(authority["wrong"])),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "TLS failed" in refused.stderr and "certificate verify failed" in refused.stderr
    assert PASSWORD not in refused.stdout + refused.stderr
    off = this_machine_off_loopback()
    plain = subprocess.run(
        harness_command(*common[:3], f"mysql://tls_admin:{PASSWORD}@{off}:{server.port}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode == 2, plain.stdout + plain.stderr
    assert "refusing to send a password" in plain.stderr


def test_datajoint_connection_verifies_the_certificate_too(server, authority, deployer):
    """DataJoint's own connection (0.14's ``use_tls`` dict, 2.x's adapter) verifies, or fails."""
    right = TlsSettings(ca=str(authority["ca"]))
    wrong = TlsSettings(ca=str(authority["wrong"]))
    with compat.connected("127.0.0.1", server.port, deployer, PASSWORD, "mysql", right) as conn:
        ((_, cipher),) = conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").fetchall()
        assert cipher, "DataJoint's connection is not TLS"
    with (
        pytest.raises(Exception, match="certificate verify failed"),
        compat.connected("127.0.0.1", server.port, deployer, PASSWORD, "mysql", wrong),
    ):
        pass


def test_postgresql_over_verified_tls(authority, tmp_path):
    """PostgreSQL (DataJoint 2): psycopg2 with verify-full, DataJoint's adapter told the same."""
    right = TlsSettings(ca=str(authority["ca"]))
    if compat.major_version() < 2:
        with (
            pytest.raises(HarnessError, match="PostgreSQL support arrived"),
            compat.connected("127.0.0.1", 1, "u", "p", "postgresql", right),
        ):
            pass
        return
    postgres = get_backend("postgresql")
    started = start_container_server(
        postgres,
        resolve_image(POSTGRES),
        RUN,
        timeout=90,
        command=postgres_tls_command(authority["files"], "tls_pg"),
    )
    try:
        info = started.info
        admin = postgres.connect(info.host, info.port, info.admin_user, info.admin_password)
        postgres.query(admin, 'CREATE ROLE "tls_pg" LOGIN PASSWORD %s', (PASSWORD,))
        postgres.query(admin, 'GRANT CREATE ON DATABASE postgres TO "tls_pg"')
        admin.close()
        import psycopg2

        with pytest.raises(psycopg2.OperationalError, match="tls_pg"):  # hostnossl: reject
            psycopg2.connect(
                host="127.0.0.1",
                port=info.port,
                user="tls_pg",
                password=PASSWORD,
                dbname="postgres",
                sslmode="disable",
            )
        target = f"postgresql://tls_pg:{PASSWORD}@127.0.0.1:{info.port}"
        path = pipeline(tmp_path, "tlspg")
        code, output = deploy(
            str(path), "--target", target, "--apply", "--tls-ca", str(authority["ca"])
        )
        assert code == 0, output
        assert "verified: 7 table(s) match their manifests" in output
        code, output = deploy(str(path), "--target", target, "--tls-ca", str(authority["wrong"]))
        assert code == 2 and "over TLS" in output, output
        assert "certificate verify failed" in output
        wrong = TlsSettings(ca=str(authority["wrong"]))
        login = ("127.0.0.1", info.port, "tls_pg", PASSWORD, "postgresql")
        with compat.connected(*login, right) as conn:
            ((ssl,),) = conn.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert ssl is True
        with (
            pytest.raises(Exception, match="certificate verify failed"),
            compat.connected(*login, wrong),
        ):
            pass
    finally:
        started.stop()


def test_tls_without_an_external_server_is_a_usage_error():
    from harness.db.provider import provide_server
    from harness.settings import Settings

    with (
        pytest.raises(HarnessError, match="for an external server, and none is given"),
        provide_server(Settings(tls=True)),
    ):
        pass
