"""What differs between servers is asked of their adapters, and named the same everywhere.

One resolver of backend names serves ``--db``/``HARNESS_DB``, matrices, image
recipes and the registry; the capabilities (DataJoint versions, DataJoint's
config value, manifest family, TLS policy, deploy catalog) are the adapters'.
"""

from __future__ import annotations

import pytest

from harness.activation import compat
from harness.db.backends import BACKENDS, canonical_name, get_backend
from harness.errors import ConfigurationError
from harness.images.catalog import UnknownImageError, find_recipe
from harness.manifest import manifest_path
from harness.matrix.plan import column_label, combinations, parse_backends, supports
from harness.settings import _parse_backend

SPELLINGS = {
    "mysql": "mysql",
    "MySQL": "mysql",
    "mariadb": "mariadb",
    " MariaDB ": "mariadb",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "pg": "postgresql",
    "PG": "postgresql",
}


@pytest.mark.parametrize(("spelling", "canonical"), sorted(SPELLINGS.items()))
def test_every_place_that_names_a_backend_accepts_the_same_spellings(
    spelling: str, canonical: str
) -> None:
    assert canonical_name(spelling) == canonical
    assert get_backend(spelling).name == canonical
    assert _parse_backend(spelling) == canonical
    assert parse_backends(spelling) == [canonical]
    assert find_recipe(spelling.strip()).backend == canonical


@pytest.mark.parametrize("spelling", ["mssql", "postgre", "my sql", ""])
def test_every_place_refuses_an_unknown_backend(spelling: str) -> None:
    assert canonical_name(spelling) is None
    with pytest.raises(ConfigurationError, match="known backends"):
        get_backend(spelling)
    with pytest.raises(ValueError, match="known backends: mariadb, mysql, postgresql"):
        _parse_backend(spelling)
    if spelling:
        with pytest.raises(ConfigurationError, match="unknown server"):
            parse_backends(spelling)
        with pytest.raises(UnknownImageError):
            find_recipe(spelling)


def test_datajoint_versions_come_from_the_adapters() -> None:
    assert [name for name, b in BACKENDS.items() if not b.supports_datajoint(0)] == ["postgresql"]
    assert all(backend.supports_datajoint(2) for backend in BACKENDS.values())
    assert not supports("0.14.10", "postgresql") and supports("2.3.5", "pg")
    assert [(c.datajoint, c.db) for c in combinations(["0.14.10", "2.3.5"], BACKENDS)] == [
        ("0.14.10", "mysql"),
        ("0.14.10", "mariadb"),
        ("2.3.5", "mysql"),
        ("2.3.5", "mariadb"),
        ("2.3.5", "postgresql"),
    ]


def test_this_datajoint_refuses_only_the_servers_its_adapters_say_it_cannot_use() -> None:
    major = compat.major_version()
    for name, backend in BACKENDS.items():
        if backend.supports_datajoint(major):
            compat.require_backend_support(name)
        else:
            with pytest.raises(ConfigurationError, match=r"arrived in DataJoint 2\.0") as raised:
                compat.require_backend_support(name)
            assert raised.value.hint == "use --db mysql or --db mariadb, or install datajoint>=2"


def test_config_value_manifest_family_title_and_tls_policy() -> None:
    assert {name: b.datajoint_backend for name, b in BACKENDS.items()} == {
        "mysql": "mysql",
        "mariadb": "mysql",
        "postgresql": "postgresql",
    }
    names = {name: manifest_path("x", "1.0", 2, None, name).name for name in BACKENDS}
    assert names == {
        "mysql": "x-1.0.dj2.json",
        "mariadb": "x-1.0.dj2.json",
        "postgresql": "x-1.0.dj2.postgresql.json",
    }
    assert [b.title for b in BACKENDS.values()] == ["MySQL", "MariaDB", "PostgreSQL"]
    from harness.matrix.plan import Combination

    assert column_label(Combination("2.3.5", "mariadb"), "10.11.18") == "2.3.5 · MariaDB 10.11"
    plain = {name: b.wants_plain_connection("127.0.0.1") for name, b in BACKENDS.items()}
    assert plain == {"mysql": True, "mariadb": True, "postgresql": False}
    assert not get_backend("mysql").wants_plain_connection("db.example.org")


def test_a_mysql_protocol_server_says_when_it_is_mariadb() -> None:
    mysql = get_backend("mysql")
    assert mysql.identify("10.11.18-MariaDB-0+deb12u1") == "mariadb"
    assert mysql.identify("9.7.0") == "mysql"
    assert get_backend("postgresql").identify("15.8 (Debian 15.8-0+deb12u1)") == "postgresql"
