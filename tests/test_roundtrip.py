"""The data round-trip check on real servers, under the DataJoint line this suite runs with.

``sample-roundtrip`` declares every attribute type DataJoint offers on the installed
version, a Lookup with contents, Part tables, ``.proj`` renames, a nullable
reference and references across its two schemas and into the mock upstream. It
round-trips on MySQL under both lines and on MariaDB under 0.14; DataJoint 2.x
itself loses on MariaDB (codec metadata of attachments and file paths) and on
PostgreSQL (UUIDs sent as bytes), and the check says so, exactly.
``sample-json`` holds JSON documents (MySQL and PostgreSQL). ``broken-roundtrip``
declares a bare ``longblob``: fine under 0.14, refused or corrupted under 2.x.
Tests that need no server check the synthesizer and the comparison on their own.
"""

from __future__ import annotations

import decimal
import functools
import json
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy
import pytest
from conftest import MARIADB, MYSQL, POSTGRES, check_in_process, started_server

from harness.activation import compat
from harness.activation.namespace import new_prefix
from harness.activation.runner import CheckOptions, ElementCheck
from harness.db.server import ServerInfo
from harness.elements.targets import resolve_target
from harness.results import ElementResult
from harness.roundtrip.check import default_seed
from harness.roundtrip.columns import UnknownType, column, synthesize
from harness.roundtrip.compare import describe, same_value
from harness.runinfo import RunIdentity

RUN = RunIdentity.new()
SAMPLES = Path(__file__).resolve().parents[1] / "elements" / "samples"
DJ2 = compat.major_version() >= 2
IMAGES = {"mysql": MYSQL, "mariadb": MARIADB, "postgresql": POSTGRES}
#: PostgreSQL needs DataJoint 2 (the refusal under 0.14 is tested in test_activation.py).
BACKENDS = ["mysql", "mariadb", *(["postgresql"] if DJ2 else [])]

#: Tables of sample-roundtrip that receive rows (the mocks Subject and Device included).
ROUNDTRIP_TABLES = 10


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerInfo]:
    with started_server(request.param, IMAGES[request.param], RUN) as started:
        yield started


check = functools.partial(check_in_process, run=RUN)


def roundtrip_failures(result: ElementResult) -> list[str]:
    assert result.data_roundtrip is not None
    return list(result.data_roundtrip["failures"])


# -- on real servers --------------------------------------------------------------------------


@pytest.mark.docker
def test_every_attribute_type_and_reference_round_trips(server: ServerInfo, tmp_path: Path) -> None:
    options: dict[str, Any] = {}
    if DJ2 and server.backend == "mariadb":
        # 2.x keeps codec metadata in json columns, which MariaDB reports as longtext: the
        # manifest MySQL and MariaDB share cannot match; this test is about the data.
        options = {"update_manifests": True, "manifest_dir": tmp_path}
    result = check("sample-roundtrip", server, **options)
    outcome = result.check("data_roundtrip")
    assert outcome is not None
    seed = default_seed("sample-roundtrip", result.version)
    assert result.data_roundtrip is not None and result.data_roundtrip["seed"] == seed
    if DJ2 and server.backend == "mariadb":
        # DataJoint 2.x hands the JSON metadata of <attach@>/<filepath@> to the driver as
        # a dict where MariaDB's json is longtext: every other table still round-trips.
        assert roundtrip_failures(result) == [
            "reference.Document: inserting a synthesized row failed: "
            "TypeError: dict can not be used as parameter"
        ]
        assert result.failure is not None and result.failure.class_ == "data_roundtrip"
        assert result.failure.table == "reference.Document"
        assert result.data_roundtrip["tables"] == ROUNDTRIP_TABLES - 1
        return
    if DJ2 and server.backend == "postgresql":
        # DataJoint 2.3 sends a UUID as 16 bytes, PostgreSQL's uuid column refuses them.
        (failure,) = roundtrip_failures(result)
        assert re.fullmatch(
            r"reference\.Tag\.tag \(uuid\): inserted uuid\.UUID UUID\('[0-9a-f-]{36}'\), "
            r'the insert failed: DatatypeMismatch: column "tag" is of type uuid but '
            r"expression is of type bytea",
            failure,
        ), failure
        assert result.data_roundtrip["tables"] == ROUNDTRIP_TABLES - 1
        return
    assert result.status == "passed", result.failure and result.failure.render()
    assert outcome.status == "passed"
    assert outcome.detail == (
        f"{2 * ROUNDTRIP_TABLES} row(s) in {ROUNDTRIP_TABLES} table(s) inserted, read back "
        f"unchanged and deleted from the roots; seed {seed}"
    )
    assert not [w for w in result.warnings if w.startswith("data_roundtrip")]


@pytest.mark.docker
@pytest.mark.parametrize("server", [b for b in BACKENDS if b != "mariadb"], indirect=True)
def test_json_documents_round_trip(server: ServerInfo) -> None:
    """Not on MariaDB: its json is a longtext, so MySQL's manifest does not fit it."""
    result = check("sample-json", server, reactivate=False)
    assert result.status == "passed", result.failure and result.failure.render()
    outcome = result.check("data_roundtrip")
    assert outcome is not None and outcome.detail.startswith("2 row(s) in 1 table(s) inserted")


@pytest.mark.docker
def test_bare_longblob_loses_arrays_under_datajoint_2(server: ServerInfo) -> None:
    result = check("broken-roundtrip", server)
    not_filled = (
        "data_roundtrip: cannot fill recording.Schedule: type time of attribute starts_at "
        "is not known to the synthesizer"
    )
    if server.backend == "postgresql":
        # 2.x on PostgreSQL has no longblob at all: refused at declaration, no round trip.
        assert result.failure is not None and result.failure.class_ == "unsupported_datajoint"
        outcome = result.check("data_roundtrip")
        assert outcome is not None and outcome.status == "skipped"
        assert outcome.detail == "not run: the check failed"
        return
    if not DJ2:
        assert result.status == "passed", result.failure and result.failure.render()
        assert not_filled in result.warnings
        return
    assert result.failure is not None and result.failure.class_ == "data_roundtrip"
    message = result.failure.message
    assert message.startswith(
        "recording.Recording.samples (longblob): inserted numpy.ndarray float64 (3, 4), "
    ), message
    # DataJoint 2.3 refuses the array; earlier 2.x stored its text (issue 1527).
    assert (
        "the insert failed: DataJointError: Attribute `samples` is declared as the native "
        "binary type `longblob`"
        in message
        or ", returned bytes b'[[" in message
    ), message
    assert result.failure.hint is not None and "--data-seed" in result.failure.hint
    outcome = result.check("data_roundtrip")
    assert outcome is not None and outcome.status == "failed"
    assert outcome.detail == result.failure.render()
    assert f"hint: replay with --data-seed {result.data_roundtrip['seed']}; declare <blob>" in (
        outcome.detail
    )


@pytest.mark.docker
@pytest.mark.parametrize("server", ["mysql"], indirect=True)  # the seed is the harness's
def test_seed_replays_and_no_data_skips(server: ServerInfo) -> None:
    first = check("sample-references", server, data_seed=7, reactivate=False)
    second = check("sample-references", server, data_seed=7, reactivate=False)
    assert first.data_roundtrip is not None and first.data_roundtrip["seed"] == 7
    assert first.check("data_roundtrip") == second.check("data_roundtrip")
    assert first.check("data_roundtrip").status == "passed"  # type: ignore[union-attr]
    off = check("sample-references", server, data=False, reactivate=False)
    outcome = off.check("data_roundtrip")
    assert outcome is not None and outcome.status == "skipped"
    assert outcome.detail == "not run: turned off (--no-data, HARNESS_NO_DATA, data = false)"
    assert off.data_roundtrip is None and off.status == "passed"
    assert "roundtrip_s" in first.timings and "roundtrip_s" not in off.timings  # not timed


@pytest.mark.docker
@pytest.mark.parametrize("server", ["mysql"], indirect=True)
def test_rows_a_test_inserted_are_kept_and_lookup_contents_survive(server: ServerInfo) -> None:
    """In ``activated()`` a test's own rows exist when the round trip runs; it keeps them."""
    check_ = ElementCheck(resolve_target("sample-roundtrip"), server, new_prefix(RUN.run_id))
    with check_.activated() as activation:
        reference = activation.modules["sample_roundtrip.reference"]
        contents = len(reference.Species())
        reference.Species.insert1(("danio rerio", "zebrafish"))
    result = activation.result
    assert contents == 2
    assert result.check("data_roundtrip").status == "passed"  # type: ignore[union-attr]


@pytest.mark.docker
def test_users_turn_the_round_trip_off_or_replay_its_seed(
    installed_harness: Any, tmp_path: Path
) -> None:
    """From an Element's own repository, with the installed wheel: the four spellings work."""
    repository = tmp_path / "repository"
    shutil.copytree(SAMPLES / "broken_roundtrip", repository / "broken_roundtrip")
    pyproject = repository / "pyproject.toml"
    pyproject.write_text('[project]\nname = "broken-roundtrip"\nversion = "0.1.0"\n')

    def harness_check(
        *args: str, env: dict[str, str] | None = None, exit_code: int = 0
    ) -> dict[str, Any]:
        done = installed_harness.run(
            "harness",
            "check",
            "./broken_roundtrip",
            "--db",
            "mariadb",
            "--image",
            MARIADB,
            "--json",
            "report.json",
            *args,
            cwd=repository,
            env=env,
        )
        assert done.returncode == exit_code, done.stdout + done.stderr
        (element,) = json.loads((repository / "report.json").read_text())["elements"]
        return element

    def roundtrip(element: dict[str, Any]) -> dict[str, Any]:
        return next(c for c in element["checks"] if c["name"] == "data_roundtrip")

    replayed = harness_check("--data-seed", "41", exit_code=1 if DJ2 else 0)
    assert replayed["data_roundtrip"]["seed"] == 41
    assert replayed["status"] == ("failed" if DJ2 else "passed")
    assert roundtrip(replayed)["status"] == ("failed" if DJ2 else "passed")
    off = "not run: turned off (--no-data, HARNESS_NO_DATA, data = false)"
    for element in (
        harness_check("--no-data"),
        harness_check(env={"HARNESS_NO_DATA": "1"}),
    ):
        assert roundtrip(element) == {"name": "data_roundtrip", "status": "skipped", "detail": off}
        assert element["status"] == "passed" and element["data_roundtrip"] is None
    pyproject.write_text(pyproject.read_text() + "\n[tool.harness]\ndata = false\n")
    assert roundtrip(harness_check())["status"] == "skipped"


# -- without a server -------------------------------------------------------------------------


def _attribute(type_: str, **fields: Any) -> Any:
    values = dict(
        name="a",
        type=type_,
        in_key=False,
        nullable=False,
        default=None,
        uuid=False,
        json=False,
        is_blob=False,
        store=None,
    )
    values.update(fields)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("declared", "row", "expected"),
    [
        ("tinyint unsigned", 0, 255),
        ("tinyint unsigned", 1, 0),
        ("smallint", 1, -32768),
        ("bigint unsigned", 0, 2**64 - 1),
        ("int", 0, 2**31 - 1),
        ("decimal(5,2)", 0, decimal.Decimal("999.99")),
        ("decimal(5,2)", 1, decimal.Decimal("-999.99")),
        ("enum('Low','High')", 1, "High"),
    ],
)
def test_synthesized_values_sit_at_the_edges_of_the_declared_type(
    declared: str, row: int, expected: Any, tmp_path: Path
) -> None:
    value = synthesize(column(_attribute(declared)), random.Random(1), row, tmp_path)
    assert value == expected and type(value) is type(expected)


def test_strings_have_their_declared_length_and_core_types_are_read(tmp_path: Path) -> None:
    rng = random.Random(3)
    assert len(synthesize(column(_attribute("varchar(40)")), rng, 0, tmp_path)) == 40
    assert len(synthesize(column(_attribute("char(6)")), rng, 0, tmp_path)) == 6
    core = column(_attribute("tinyint", original_type="int8"))
    assert (core.kind, core.declared, core.params["bits"]) == ("int", "int8", 8)
    assert column(_attribute("tinyint", original_type="bool")).kind == "bool"
    assert column(_attribute("double precision")).kind == "float64"
    stamp = column(_attribute("timestamp(3) without time zone"))
    assert (stamp.kind, stamp.params["precision"]) == ("timestamp", 3)
    assert synthesize(stamp, rng, 0, tmp_path).microsecond % 1000 == 0


def test_an_unknown_type_is_reported_not_guessed() -> None:
    with pytest.raises(UnknownType, match=r"^time$"):
        column(_attribute("time"))
    with pytest.raises(UnknownType, match="point"):
        column(_attribute("point"))


def test_the_text_of_an_array_is_not_the_array() -> None:
    array = numpy.arange(12, dtype=numpy.float64).reshape(3, 4)
    assert same_value("blob", array, array.copy())
    assert not same_value("blob", array, str(array).encode())
    assert not same_value("blob", array, array.astype(numpy.float32))
    assert not same_value("blob", array, array.reshape(4, 3))
    assert describe(str(array).encode()).startswith("bytes b'[[ 0.  1.  2.  3.]\\n")
    assert describe(array) == "numpy.ndarray float64 (3, 4)"
    nested = {"counts": [1, 2], "nested": {"trace": numpy.arange(3, dtype=numpy.int32)}}
    assert same_value(
        "blob", nested, {"counts": [1, 2], "nested": {"trace": nested["nested"]["trace"]}}
    )
    wider = {"counts": [1, 2], "nested": {"trace": numpy.arange(3, dtype=numpy.int64)}}
    assert not same_value("blob", nested, wider)
    assert not same_value("blob", nested, {"counts": [1], "nested": {}})


def test_decimals_and_floats_compare_exactly() -> None:
    assert same_value("decimal", decimal.Decimal("1.50"), decimal.Decimal("1.5"))
    assert not same_value("decimal", decimal.Decimal("1.25"), 1.25)
    assert same_value("float32", 12.25, 12.25)
    assert not same_value("float64", 0.1 + 0.2, 0.3)
    assert not same_value("int", 3, "3")
    assert same_value("int", 3, numpy.int64(3))


@pytest.mark.docker
@pytest.mark.parametrize("server", ["mysql"], indirect=True)  # passes on both DataJoint lines
def test_the_round_trip_leaves_the_check_process_as_it_found_it(server: ServerInfo) -> None:
    """Its temporary stores are the harness's, not the Element's: no ``global_state`` failure.

    In a process of its own, a check fails when ``dj.config`` differs afterwards; the
    stores the round trip configures must be undone exactly (under 0.14: no key at all).
    """
    from harness.session import run_checks

    report = run_checks([resolve_target("sample-roundtrip")], server, RUN, CheckOptions(), jobs=1)
    (result,) = report.results
    assert result.failure is None, result.failure
    assert result.status == "passed", [c.to_dict() for c in result.checks if c.status == "failed"]
    assert result.check("data_roundtrip").status == "passed"
