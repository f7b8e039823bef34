"""What the human-readable reports (Markdown, HTML) say, independent of their markup.

Both formats must tell the same story: one environment line, one row per
Element with a mark per check, the failures and the warnings. Keeping the
wording here means the two cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.results import ElementResult, Status

if TYPE_CHECKING:
    from harness.session import RunReport

MARKS = {Status.PASSED: "✅", Status.FAILED: "❌", Status.SKIPPED: "⏭"}
#: The documented order of checks (docs/report-format.md); unknown ones follow in order seen.
CHECK_ORDER = (
    "imported",
    "activated",
    "reactivation_idempotent",
    "declared_all",
    "references_resolved",
    "namespace_confined",
    "manifest_match",
    "data_roundtrip",
    "teardown_clean",
)


def environment_line(environment: dict[str, Any]) -> str:
    """``DataJoint 0.14.10 · Python 3.11.7 · mariadb 10.11.18 (container, image ...)``."""
    parts = [
        f"DataJoint {environment.get('datajoint', '?')}",
        f"Python {environment.get('python', '?')}",
    ]
    server = environment.get("server")
    if server:
        where = [str(server.get("kind", ""))]
        image = server.get("image")
        if image:
            where.append(f"image {image.get('name')}")
        parts.append(f"{server.get('backend')} {server.get('version')} ({', '.join(where)})")
    else:
        parts.append("no server")
    return " · ".join(parts)


def headline(report: RunReport) -> str:
    summary = report.summary()
    failed = summary.get("failed", 0) + summary.get("error", 0)
    return f"element-harness: {summary['passed']} passed, {failed} failed"


def check_columns(results: list[ElementResult]) -> list[str]:
    seen = [check.name for result in results for check in result.checks]
    known = [name for name in CHECK_ORDER if name in seen]
    return known + [name for name in dict.fromkeys(seen) if name not in CHECK_ORDER]


def mark(result: ElementResult, check: str) -> str:
    outcome = result.check(check)
    return "" if outcome is None else MARKS.get(outcome.status, "?")


def status_text(result: ElementResult) -> str:
    return f"{MARKS.get(result.status, '❌')} {result.status}"


def failure_lines(result: ElementResult) -> list[str]:
    """The failure (class, message, where, hint) and every failed check not already quoted."""
    lines: list[str] = []
    rendered = result.failure.render() if result.failure else None
    if result.failure is not None and rendered is not None:
        lines.extend(rendered.splitlines())
    lines.extend(
        f"check {check.name} failed: {check.detail}"
        for check in result.checks
        if check.status == Status.FAILED and check.detail != rendered
    )
    return lines


def roundtrip_line(result: ElementResult) -> str | None:
    """``data round-trip: seed 123, 18 row(s) in 9 table(s)`` (None: it did not run)."""
    data = result.data_roundtrip
    if not data:
        return None
    parts = [f"data round-trip: seed {data.get('seed')}"]
    if "rows" in data:
        parts.append(f"{data['rows']} row(s) in {data.get('tables', 0)} table(s)")
    if data.get("not_filled"):
        parts.append(f"{len(data['not_filled'])} not filled (see warnings)")
    if data.get("failures"):
        parts.append(f"{len(data['failures'])} failure(s)")
    return ", ".join(parts) + f"; replay with --data-seed {data.get('seed')}"


def mock_line(result: ElementResult) -> str | None:
    real = real_upstream_text(result)
    if (
        not result.mocked_tables
        and not result.mocked_functions
        and not result.stubbed_imports
        and not real
    ):
        return None
    parts = [f"mocked tables: {', '.join(result.mocked_tables) or '-'}"]
    parts.append(f"mocked functions: {', '.join(result.mocked_functions) or '-'}")
    if real:
        parts.append(f"real upstream: {real}")
    if result.stubbed_imports:
        parts.append(f"stubbed imports: {stubs_text(result)}")
    return "; ".join(parts)


def real_upstream_text(result: ElementResult) -> str:
    """Upstream names linked to real tables, with where from: ``Lab (element_lab.lab.Lab)``."""
    return ", ".join(
        f"{name} ({origin['table']})"
        for name, origin in sorted(result.upstream.items())
        if origin.get("source") != "mock"
    )


def stubs_text(result: ElementResult) -> str:
    """``cv2 (element_x/model.py:9), ...``: each stubbed package with the import asking for it.

    A stub's submodules (``intern.remote.boss``) have their own sites in the JSON
    report; here the package's site stands for them. Reports from before sites
    were recorded carry package names only.
    """
    packages = [site for site in result.stub_sites if "." not in site.module]
    if not packages:
        return ", ".join(result.stubbed_imports)
    return ", ".join(f"{site.module} ({site.where})" for site in packages)
