"""The report formats, built from real results of sample Elements on MariaDB 10.11.

The results of three Elements (two that pass, one that fails to declare a
table) are obtained once per module; every format is then checked against
them: JUnit counts, Mermaid syntax, the HTML page rendered by headless
Chromium (which must be installed: a missing browser fails, never skips), and
the pytest plugin's ``--harness-report``, serial and with two xdist workers.
"""

from __future__ import annotations

import copy
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.activation.failures import Failure, FailureClass
from harness.activation.runner import check_options
from harness.db.provider import provide_server
from harness.progress import PlainProgress, choose_progress
from harness.reports import REPORT_FILES, write_reports
from harness.reports.graph import build_graph
from harness.reports.html import render_html
from harness.reports.junit import junit_tree
from harness.reports.loading import result_from_dict
from harness.reports.markdown import render_markdown
from harness.reports.mermaid import er_diagram, safe_type
from harness.reports.svg import MARKER, TIER_COLORS
from harness.results import ElementResult, Status
from harness.runinfo import RunIdentity
from harness.session import RunReport, prepare_targets, run_checks
from harness.settings import Settings
from tests.conftest import MARIADB

pytestmark = pytest.mark.docker

TARGETS = ("sample-clean", "sample-references", "broken-declaration")
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report() -> RunReport:
    settings = Settings(db="mariadb", image=MARIADB)
    run = RunIdentity.new()
    targets = prepare_targets(TARGETS, install=False, say=lambda text: None)
    started: list[str] = []
    steps: set[str] = set()
    with provide_server(settings, run) as server:
        report = run_checks(
            targets,
            server,
            run,
            check_options(settings),
            on_start=lambda target: started.append(target.name),
            on_step=lambda target, step: steps.add(step),
        )
    assert started == list(TARGETS), "on_start is called once per target, in order"
    assert {"import", "activate", "teardown"} <= steps, "on_step announces the engine's steps"
    return report


def _by_name(report: RunReport, name: str) -> ElementResult:
    return next(result for result in report.results if result.name == name)


def test_the_sample_results_are_what_the_reports_are_checked_against(report: RunReport) -> None:
    assert [r.status for r in report.results] == ["passed", "passed", "failed"]
    broken = _by_name(report, "broken-declaration")
    assert broken.failure is not None and broken.failure.class_ == "declaration_error"


# -- JUnit ------------------------------------------------------------------------------------


def _expected_counts(result: ElementResult) -> dict[str, int]:
    statuses = [check.status for check in result.checks]
    return {
        "tests": len(statuses),
        "failures": statuses.count(Status.FAILED),
        "errors": 0,
        "skipped": statuses.count(Status.SKIPPED),
    }


def test_junit_parses_and_counts_every_check(report: RunReport, tmp_path: Path) -> None:
    paths = write_reports(report, tmp_path)
    root = ET.parse(tmp_path / REPORT_FILES["junit"]).getroot()
    assert tmp_path / REPORT_FILES["junit"] in paths
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"{name} [mariadb]" for name in TARGETS]
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite, result in zip(suites, report.results, strict=True):
        cases = suite.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        assert counted == _expected_counts(result)
        assert {key: int(suite.get(key, "-1")) for key in counted} == counted
        assert [c.get("name") for c in cases] == [check.name for check in result.checks]
        assert {c.get("classname") for c in cases} == {result.name}
        assert all(float(c.get("time", "x")) >= 0 for c in cases)
        for key in totals:
            totals[key] += counted[key]
    assert {key: int(root.get(key, "-1")) for key in totals} == totals
    assert totals["failures"] >= 2 and totals["skipped"] >= 1


def test_junit_puts_the_element_failure_on_the_failing_check(report: RunReport) -> None:
    broken = _by_name(report, "broken-declaration")
    assert broken.failure is not None
    suite = junit_tree(report).getroot().findall("testsuite")[2]
    failing = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    carrier = next(c for c in failing if c.find("failure").get("type") == "declaration_error")
    assert carrier.get("file", "").endswith("broken_declaration/scan.py")
    assert carrier.get("line") == str(broken.failure.line)
    text = carrier.find("failure").text or ""
    assert "hint: fix the table definition" in text and f":{broken.failure.line}" in text
    skipped = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert skipped == [c.name for c in broken.checks if c.status == Status.SKIPPED]


def test_junit_reports_server_errors_as_errors_and_failures_without_checks() -> None:
    lost = ElementResult(target="a", name="a")
    lost.add_check("imported", True)
    failure = Failure(FailureClass.SERVER_ERROR, "connection lost", module="a.m")
    lost.fail(failure)
    lost.add_check("activated", False, failure.render())
    early = ElementResult(target="b", name="b")
    early.fail(Failure("import_error", "b is not installed", module="b"))
    environment = {"server": {"backend": "mysql"}}
    root = junit_tree(RunReport("0", environment, [lost, early])).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    assert root.find("testsuite/testcase/error").get("type") == FailureClass.SERVER_ERROR
    orphan = root.findall("testsuite")[1].find("testcase")
    assert orphan.get("name") == "element" and orphan.find("failure").get("type") == "import_error"


# -- Markdown and Mermaid -------------------------------------------------------------------

_ENTITY = re.compile(r"^    (?P<name>[A-Za-z_][\w-]*) \{$")
_ATTRIBUTE = re.compile(r"^        [A-Za-z_][\w()\[\]-]* [A-Za-z_][\w-]*( PK| FK| PK, FK)?$")
_RELATION = re.compile(
    r'^    (?P<parent>[A-Za-z_][\w-]*) \|\|--o\{ (?P<child>[A-Za-z_][\w-]*) : ""$'
)


def _mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.DOTALL)


def _check_er_diagram(block: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Every line is a declaration, an attribute, a closing brace or a relationship."""
    lines = block.splitlines()
    assert lines[0] == "erDiagram"
    declared: set[str] = set()
    relations: list[tuple[str, str]] = []
    inside = False
    for line in lines[1:]:
        if inside:
            if line == "    }":
                inside = False
            else:
                assert _ATTRIBUTE.match(line), f"not a Mermaid attribute line: {line!r}"
        elif entity := _ENTITY.match(line):
            declared.add(entity["name"])
            inside = True
        else:
            relation = _RELATION.match(line)
            assert relation, f"not a Mermaid relationship line: {line!r}"
            relations.append((relation["parent"], relation["child"]))
    assert not inside, "an entity block is not closed"
    for parent, child in relations:
        assert {parent, child} <= declared, f"{parent} or {child} is used but not declared"
    return declared, relations


def test_markdown_has_a_valid_er_diagram_per_element(report: RunReport) -> None:
    markdown = render_markdown(report)
    blocks = _mermaid_blocks(markdown)
    assert len(blocks) == len(TARGETS)
    clean, references, broken = (_check_er_diagram(block) for block in blocks)
    assert {"lab__Lab", "lab__Lab__Room"} <= clean[0]
    assert ("lab__Lab", "lab__Lab__Room") in clean[1]
    assert {"Subject_mock", "Atlas_mock", "Device_mock"} <= references[0]
    assert ("Subject_mock", "pairing__Pair") in references[1]
    assert ("Session_mock", "scan__Scan") in broken[1]
    sample_clean = next(r for r in report.results if r.name == "sample-clean")
    assert len(clean[0]) == len(sample_clean.tables)


def test_markdown_summarises_environment_checks_failures_and_warnings(report: RunReport) -> None:
    markdown = render_markdown(report)
    server = report.environment["server"]
    assert f"DataJoint {report.environment['datajoint']}" in markdown
    assert f"mariadb {server['version']}" in markdown and MARIADB in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| broken-declaration ")]
    assert len(rows) == 1 and "❌" in rows[0] and "⏭" in rows[0] and "✅" in rows[0]
    assert "declaration_error: broken_declaration.scan.ScanInfo" in markdown
    with_warning = copy.deepcopy(report)
    with_warning.results[0].warnings.append("datajoint: a | warning")
    text = render_markdown(with_warning)
    assert "<details><summary>Warnings (" in text and "a \\| warning" in text


def test_every_format_shows_the_data_round_trip_and_its_seed(
    report: RunReport, tmp_path: Path
) -> None:
    clean = _by_name(report, "sample-clean")
    assert clean.data_roundtrip is not None
    seed = clean.data_roundtrip["seed"]
    outcome = clean.check("data_roundtrip")
    assert outcome is not None and outcome.status == "passed" and f"seed {seed}" in outcome.detail
    broken = _by_name(report, "broken-declaration")
    skipped = broken.check("data_roundtrip")
    assert (
        skipped is not None and skipped.status == Status.SKIPPED and broken.data_roundtrip is None
    )
    assert result_from_dict(clean.to_dict()).data_roundtrip == clean.data_roundtrip
    suite = junit_tree(report).getroot().findall("testsuite")[0]
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["data_seed"] == str(seed)
    assert "data_roundtrip" in [case.get("name") for case in suite.findall("testcase")]
    line = f"data round-trip: seed {seed}, {clean.data_roundtrip['rows']} row(s) in "
    assert line in render_markdown(report) and line in render_html(report)
    header = next(x for x in render_markdown(report).splitlines() if x.startswith("| Element"))
    assert "`manifest_match` | `data_roundtrip` | `teardown_clean`" in header


def test_mermaid_rewrites_names_and_types_it_cannot_parse() -> None:
    assert safe_type("decimal(5,2) unsigned") == "decimal(5_2)_unsigned"
    assert safe_type("enum('a','b')") == "enum(_a_b_)"
    assert safe_type("<blob>") == "blob" and safe_type("3d") == "t_3d"
    result = result_from_dict(
        {
            "target": "x",
            "name": "x",
            "status": "passed",
            "tables": [
                {
                    "schema": "s",
                    "name": "T",
                    "tier": "manual",
                    "master": None,
                    "primary_key": ["k"],
                    "attributes": [
                        {"name": "k", "type": "enum('a','b')", "nullable": False, "default": None}
                    ],
                    "foreign_keys": [
                        {"parent": "mock.Up", "attributes": {"k": "k"}, "nullable": False}
                    ],
                }
            ],
            "mocked": {"tables": {"up.Up": "k: enum('a','b')\n---\nnote: varchar(8)"}},
        }
    )
    declared, relations = _check_er_diagram(er_diagram(build_graph(result)))
    assert declared == {"s__T", "Up_mock"} and relations == [("Up_mock", "s__T")]


# -- HTML in headless Chromium ----------------------------------------------------------------


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Debian's chromium, headless and offline; a missing binary fails the test."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def _png_rows(path: Path) -> Iterator[bytes]:
    """Decoded RGB(A) rows of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride, previous = zlib.decompress(b"".join(chunks)), width * bpp, bytearray(width * bpp)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride) if kind else ():
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], (previous[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        previous = line
        yield bytes(line[i : i + 3] for i in range(0, stride, bpp)) if bpp == 4 else bytes(line)


def _pixels_of(path: Path, colour: str) -> int:
    target = bytes.fromhex(colour.lstrip("#"))
    return sum(
        sum(1 for i in range(0, len(row), 3) if row[i : i + 3] == target) for row in _png_rows(path)
    )


def test_html_renders_the_diagrams_in_headless_chromium(report: RunReport, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    assert "<script" not in page.read_text() and "http://" not in page.read_text().replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    dom = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    assert len(re.findall(rf"<svg[^>]* {MARKER}=", dom)) == len(TARGETS)
    shot = tmp_path / "shot.png"
    _chromium(
        f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri(), profile=tmp_path / "p2"
    )
    assert shot.stat().st_size > 10_000
    manual = _pixels_of(shot, TIER_COLORS["manual"])
    assert manual > 2_000, "the table headers of the diagrams are not in the screenshot"
    # The same page without its diagrams has none of that colour: the count means the diagram.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<svg.*?</svg>", "", page.read_text(), flags=re.DOTALL))
    control = tmp_path / "control.png"
    _chromium(
        f"--screenshot={control}", "--window-size=1200,2000", bare.as_uri(), profile=tmp_path / "p3"
    )
    assert _pixels_of(control, TIER_COLORS["manual"]) == 0


# -- progress -------------------------------------------------------------------------------


def test_plain_progress_prints_failures_only_when_quiet(
    report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = PlainProgress(quiet=True)
    for result in report.results:
        quiet.finish(result)
    out = capsys.readouterr().out
    assert "FAIL  broken-declaration" in out and "sample-clean" not in out
    verbose = PlainProgress(verbose=True)
    verbose.finish(_by_name(report, "sample-references"))
    out = capsys.readouterr().out
    assert "time: namespace" in out and "mocked: tables" in out


class _Terminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_live_display_only_on_a_terminal_without_no_color() -> None:
    def kind(tty: bool, environ: dict[str, str], quiet: bool = False) -> str:
        chosen = choose_progress(["a"], quiet=quiet, stream=_Terminal(tty), environ=environ)  # type: ignore[arg-type]
        return type(chosen).__name__

    assert kind(True, {}) == "LiveProgress"
    assert kind(False, {}) == "PlainProgress"
    assert kind(True, {"NO_COLOR": ""}) == "PlainProgress"
    assert kind(True, {}, quiet=True) == "PlainProgress"


# -- the pytest plugin ----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist"])
def test_pytest_plugin_writes_every_report(pytester: pytest.Pytester, workers: int) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.harness]
        elements = ["sample-clean", "broken-declaration"]
        db = "mariadb"
        image = "{MARIADB}"
        """
    )
    out = pytester.path / "reports"
    xdist = ["-p", "xdist", "-n", str(workers), "-v"] if workers else []
    run = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--harness-report", str(out), *xdist
    )
    run.assert_outcomes(passed=1, failed=1)
    if workers:  # two items, two workers: xdist hands one to each
        assert {"[gw0]", "[gw1]"} <= set(re.findall(r"\[gw\d\]", run.stdout.str()))
    assert {path.name for path in out.iterdir()} == set(REPORT_FILES.values())
    root = ET.parse(out / REPORT_FILES["junit"]).getroot()
    names = [suite.get("name") for suite in root.findall("testsuite")]
    assert names == ["sample-clean [mariadb]", "broken-declaration [mariadb]"]
    assert int(root.get("failures", "0")) >= 1
    markdown = (out / REPORT_FILES["markdown"]).read_text()
    assert len(_mermaid_blocks(markdown)) == 2 and "MariaDB" in markdown
    for block in _mermaid_blocks(markdown):
        _check_er_diagram(block)
    assert (out / REPORT_FILES["html"]).read_text().count(f"{MARKER}=") == 2
