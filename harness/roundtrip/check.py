"""The ``data_roundtrip`` check: fill every table, read it back exactly, delete from the roots.

Runs after verification, on the check's own connection, over every table of the
namespace (the Element's, its mock upstream's and any real upstream Element's),
in DataJoint's dependency order. Every foreign key is satisfied by copying the
key of a row inserted into the parent (a renamed reference through its
``attr_map``; a nullable reference is left NULL in the second row). Each table
gets up to two rows: the first with every nullable attribute set, the second
with them NULL; attributes with a default are left out. Rows are fetched back
and compared exactly (:mod:`harness.roundtrip.compare`); then the rows are
deleted from the roots with DataJoint's own cascading delete, and every table
must hold what it held before (Lookup contents are kept: they are never
deleted, and a cascade that reaches them is a failure).

The rows come from a seed per Element (recorded in the report; ``--data-seed``
replays it), so a failure reproduces.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.failures import SERVER_GONE_HINT, Failure, FailureClass, server_gone
from harness.db.catalog import classify_table_name
from harness.redact import redact_text
from harness.results import ElementResult, Status
from harness.roundtrip.columns import Column, UnknownType, column, declared_type, synthesize
from harness.roundtrip.compare import describe, same_value
from harness.roundtrip.reuse import (
    constraints_read_once,
    deletes_not_logged,
    headings_loaded_once,
)
from harness.roundtrip.stores import store_location

CHECK = "data_roundtrip"
ROWS_PER_TABLE = 2
_ATTEMPTS = 12
_COUNTS_PER_QUERY = 100


def default_seed(name: str, version: str | None) -> int:
    """The seed of an Element's rows: stable across runs and machines for one release."""
    return zlib.crc32(f"{name} {version or ''}".encode())


@dataclass
class _Table:
    full_name: str
    shown: str
    table: Any
    columns: dict[str, Column]
    #: (parent full name, {child attribute: parent attribute}) per foreign key.
    references: list[tuple[str, dict[str, str]]]
    key: list[str]
    before: int = 0
    existing: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: Inserted rows that reference no row this check inserted: where deletes start.
    root_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Run:
    prefix: str
    files: Path
    fetched: Path
    rng: random.Random
    problems: list[tuple[str, str | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The table being worked on, for an error that stops the round trip.
    current: str | None = None
    #: Tables that refused a synthesized row (a failure): their children are not tried.
    refused: set[str] = field(default_factory=set)
    tables: dict[str, _Table] = field(default_factory=dict)


def round_trip(
    result: ElementResult,
    prefix: str,
    data_root: Path,
    options: Any,
    known_headings: Iterable[Any] = (),
) -> None:
    """Run the check on the live connection and record it (and its seed) in ``result``.

    ``known_headings`` are headings of the activated tables, already loaded from the
    server: the check reuses them instead of loading them again.
    """
    if not options.data:
        result.add_check(
            CHECK, None, "not run: turned off (--no-data, HARNESS_NO_DATA, data = false)"
        )
        return
    if result.status != Status.PASSED:
        result.add_check(CHECK, None, "not run: the check failed")
        return
    seed = (
        options.data_seed
        if options.data_seed is not None
        else default_seed(result.name, result.version)
    )
    result.data_roundtrip = {"seed": seed}
    run = _Run(
        prefix=prefix,
        files=data_root / "roundtrip-files",
        fetched=data_root / "roundtrip-fetched",
        rng=random.Random(seed),
    )
    run.fetched.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            # DataJoint 0.14 leaves attachment files open while it uploads them: noise.
            warnings.simplefilter("ignore", ResourceWarning)
            with headings_loaded_once(known_headings), deletes_not_logged():
                _fill_compare_delete(run, data_root)
    except Exception as exc:  # the server or DataJoint failed outside one table's rows
        if server_gone(exc):
            _record_server_gone(result, run, exc)
            return
        where = f"{run.current}: " if run.current else ""
        run.problems.append((f"{where}the round trip stopped: {_error(exc)}", run.current))
    tables = [table for table in run.tables.values() if table.rows]
    rows = sum(len(table.rows) for table in tables)
    result.data_roundtrip.update(
        tables=len(tables),
        rows=rows,
        not_filled=list(run.notes),
        failures=[text for text, _ in run.problems],
    )
    result.warnings.extend(f"data_roundtrip: {note}" for note in run.notes)
    if run.problems:
        text, table = run.problems[0]
        advice = (
            "declare <blob> (a bare longblob holds raw bytes under DataJoint 2.x)"
            if "longblob" in text
            else "declare a type that holds such values on this DataJoint and server"
        )
        failure = Failure(
            FailureClass.DATA_ROUNDTRIP,
            text,
            table=table,
            hint=f"replay with --data-seed {seed}; {advice}",
        )
        if result.failure is None:
            result.fail(failure)
        others = [other for other, _ in run.problems[1:]]
        result.add_check(CHECK, False, "\n".join([failure.render(), *others]))
        return
    unfilled = f"; not filled: {len(run.notes)} table(s), see warnings" if run.notes else ""
    result.add_check(
        CHECK,
        True,
        f"{rows} row(s) in {len(tables)} table(s) inserted, read back unchanged and deleted "
        f"from the roots; seed {seed}{unfilled}",
    )


def _raise_if_server_gone(exc: Exception) -> None:
    """Let a failed connection stop the round trip: it is the server's fault, not a row's."""
    if server_gone(exc):
        raise exc


def _record_server_gone(result: ElementResult, run: _Run, exc: Exception) -> None:
    """Report the round trip stopped by the server as ``server_error``, not a data failure."""
    where = f" at {run.current}" if run.current else ""
    failure = Failure(
        FailureClass.SERVER_ERROR,
        f"the database connection failed during the data round trip{where}: {_error(exc)}",
        table=run.current,
        hint=SERVER_GONE_HINT,
    )
    result.record_failure(CHECK, failure)


def _error(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}".strip().splitlines()[0])


def _fill_compare_delete(run: _Run, data_root: Path) -> None:
    dj = compat.datajoint()
    connection = dj.conn()
    graph = connection.dependencies
    graph.load()
    names = [name for name in _topological(graph) if _in_namespace(name, run.prefix)]
    for name in names:
        described = _describe_table(run, dj, connection, graph, name)
        if described is not None:
            run.tables[name] = described
    counts = _row_counts(connection, run.tables.values())
    for table in run.tables.values():
        table.before = counts[table.full_name]
        table.existing = _keys(table.table) if table.before else []
    with _download_path(run.fetched):
        for table in run.tables.values():
            run.current = table.shown
            _fill(run, table, data_root)
        for table in run.tables.values():
            run.current = table.shown
            _compare(run, table)
    run.current = None
    with constraints_read_once(connection, run.prefix):
        _delete(run)


def _topological(graph: Any) -> list[str]:
    import networkx

    return [str(node) for node in networkx.topological_sort(graph)]


def _in_namespace(name: str, prefix: str) -> bool:
    if name.isdigit():
        return False
    schema, _, table = name.replace("`", "").replace('"', "").partition(".")
    return schema.startswith(prefix + "_") and classify_table_name(table) is not None


def _shown(prefix: str, full_name: str) -> str:
    schema, _, table = full_name.replace("`", "").replace('"', "").partition(".")
    described = classify_table_name(table)
    return f"{schema[len(prefix) + 1 :]}.{described[0] if described else table}"


def _references(graph: Any, name: str) -> list[tuple[str, dict[str, str]]]:
    """Each foreign key of ``name`` as (parent, attr_map); 0.14 routes renames via alias nodes."""
    found = []
    for parent, _child, data in graph.in_edges(name, data=True):
        parent = str(parent)
        attr_map = dict(data.get("attr_map") or {})
        if parent.isdigit():
            parent = str(next(iter(graph.in_edges(parent)))[0])
        found.append((parent, attr_map))
    return found


def _describe_table(run: _Run, dj: Any, connection: Any, graph: Any, name: str) -> _Table | None:
    shown = _shown(run.prefix, name)
    table = dj.FreeTable(connection, name)
    heading = table.heading
    references = _references(graph, name)
    from_parents = {child for _, attr_map in references for child in attr_map}
    columns: dict[str, Column] = {}
    for attribute in heading.attributes.values():
        if attribute.name.startswith("_"):
            continue
        try:
            columns[attribute.name] = column(attribute)
        except UnknownType:
            if attribute.name in from_parents:
                columns[attribute.name] = Column(attribute.name, declared_type(attribute), "copied")
            elif attribute.nullable or attribute.default is not None:
                run.notes.append(
                    f"{shown}.{attribute.name}: type {declared_type(attribute)} is not known to "
                    "the synthesizer; left out (NULL or its default)"
                )
            else:
                run.notes.append(
                    f"cannot fill {shown}: type {declared_type(attribute)} of attribute "
                    f"{attribute.name} is not known to the synthesizer"
                )
                return None
    return _Table(name, shown, table, columns, references, list(heading.primary_key))


def _row_counts(connection: Any, tables: Iterable[_Table]) -> dict[str, int]:
    """Each table's number of rows, read in one query per hundred tables.

    A ``len()`` per table is one round trip each, twice per table per check. The
    count is of distinct primary keys in a derived table, as DataJoint counts:
    that works on every backend, and on MySQL 8+ it avoids the parallel scan of
    a bare ``COUNT(*)``, which costs tens of milliseconds even on an empty table.
    """
    tables = list(tables)
    counts: dict[str, int] = {}
    for start in range(0, len(tables), _COUNTS_PER_QUERY):
        chunk = tables[start : start + _COUNTS_PER_QUERY]
        query = " UNION ALL ".join(
            f"SELECT {number} AS n, (SELECT count(*) FROM (SELECT DISTINCT "
            f"{_key_columns(table)} FROM {table.full_name}) AS counted_{number}) AS c"
            for number, table in enumerate(chunk)
        )
        for number, count in connection.query(query).fetchall():
            counts[chunk[int(number)].full_name] = int(count)
    return counts


def _key_columns(table: _Table) -> str:
    """The quoted primary key, as DataJoint writes it (a singleton table counts as one)."""
    if not table.key:
        return "1"
    return str(table.table.heading.as_sql(table.key, include_aliases=False))


def _keys(table: Any) -> list[dict[str, Any]]:
    if compat.major_version() >= 2:
        return list(table.keys())
    return list(table.fetch("KEY"))


@contextlib.contextmanager
def _download_path(path: Path) -> Iterator[None]:
    """Where 2.x writes fetched attachments (a config key; 0.14 takes an argument)."""
    if compat.major_version() < 2:
        yield
        return
    config = compat.datajoint().config
    previous = config["download_path"]
    config["download_path"] = str(path)
    try:
        yield
    finally:
        config["download_path"] = previous


def _fill(run: _Run, table: _Table, data_root: Path) -> None:
    parents_missing = [
        parent
        for parent, _ in table.references
        if parent not in run.tables or not _candidates(run, parent)
    ]
    if parents_missing:
        missing = _shown(run.prefix, parents_missing[0])
        if any(parent in run.refused for parent in parents_missing):
            run.refused.add(table.full_name)  # a consequence of that failure, not a warning
            return
        run.notes.append(f"cannot fill {table.shown}: its parent {missing} has no row to reference")
        return
    taken = {_key_of(table, row) for row in table.existing}
    rows: list[tuple[dict[str, Any], bool]] = []
    for row_no in range(ROWS_PER_TABLE):
        row, is_root = _unique_row(run, table, row_no, taken)
        if row is None:
            if not rows:
                run.notes.append(
                    f"cannot fill {table.shown}: no primary key value left that is not taken"
                )
            break
        taken.add(_key_of(table, row))
        rows.append((row, is_root))
    if not _insert_all(table, [row for row, _ in rows], data_root):
        # One statement inserts all rows or none: insert them one by one to name the refused one.
        for number, (row, _) in enumerate(rows):
            try:
                table.table.insert1(_to_insert(table, row, data_root), allow_direct_insert=True)
            except Exception as exc:
                _raise_if_server_gone(exc)
                run.problems.append((_insert_failure(table, row, exc), table.shown))
                run.refused.add(table.full_name)
                rows = rows[:number]
                break
    for row, is_root in rows:
        table.rows.append(row)
        if is_root:
            table.root_rows.append(row)


def _insert_all(table: _Table, rows: list[dict[str, Any]], data_root: Path) -> bool:
    """Insert ``rows`` in one statement; False if it failed (and so inserted none of them).

    One statement takes one list of attributes: what a row leaves NULL by leaving it
    out (the second row's nullable attributes) is given as None there.
    """
    if not rows:
        return True
    names = list(dict.fromkeys(name for row in rows for name in row))
    values = [_to_insert(table, row, data_root) for row in rows]
    try:
        table.table.insert(
            [{name: value.get(name) for name in names} for value in values],
            allow_direct_insert=True,
        )
    except Exception as exc:
        _raise_if_server_gone(exc)
        return False
    return True


def _candidates(run: _Run, parent: str) -> list[dict[str, Any]]:
    """Rows of ``parent`` to reference: the ones inserted here first, then existing ones."""
    described = run.tables[parent]
    return [*described.rows, *described.existing]


def _key_of(table: _Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(row.get(name)) for name in table.key)


def _unique_row(
    run: _Run, table: _Table, row_no: int, taken: set[tuple[Any, ...]]
) -> tuple[dict[str, Any] | None, bool]:
    """A row whose primary key is free, and whether it is a root row (None: none found)."""
    for attempt in range(_ATTEMPTS):
        value_no = row_no if attempt == 0 else ROWS_PER_TABLE + attempt
        row, uses_inserted = _row(run, table, value_no, row_no, attempt)
        if row is None:
            return None, False
        if _key_of(table, row) not in taken:
            return row, not uses_inserted
    return None, False


def _row(
    run: _Run, table: _Table, value_no: int, row_no: int, attempt: int
) -> tuple[dict[str, Any] | None, bool]:
    row: dict[str, Any] = {}
    uses_inserted = False
    for parent, attr_map in table.references:
        nullable = all(
            table.columns.get(child, Column(child, "", "")).nullable and child not in table.key
            for child in attr_map
        )
        if nullable and row_no % 2 == 1:
            continue  # the second row leaves a nullable reference NULL
        candidates = [
            candidate
            for candidate in _candidates(run, parent)
            if all(p in candidate for p in attr_map.values())
            and all(row.get(child, candidate[p]) == candidate[p] for child, p in attr_map.items())
        ]
        if not candidates:
            return None, False
        own = run.tables[parent].rows
        chosen = candidates[(row_no + attempt) % len(candidates)]
        uses_inserted |= any(chosen is inserted for inserted in own)
        for child, parent_attribute in attr_map.items():
            row[child] = chosen[parent_attribute]
    for name, described in table.columns.items():
        if name in row or described.kind == "copied" or described.has_default:
            continue
        if described.nullable and row_no % 2 == 1:
            continue
        row[name] = synthesize(described, run.rng, value_no, _files_for(run, described))
    return row, uses_inserted


def _files_for(run: _Run, described: Column) -> Path:
    if described.kind == "filepath":
        return store_location(run.files.parent, described.params["store"]) / "roundtrip"
    return run.files


def _to_insert(table: _Table, row: dict[str, Any], data_root: Path) -> dict[str, Any]:
    """Attachments go in as path strings; a 2.x file path is relative to its store."""
    values = dict(row)
    for name, value in row.items():
        described = table.columns.get(name)
        if described is None or not isinstance(value, Path):
            continue
        if described.kind == "filepath" and compat.major_version() >= 2:
            values[name] = str(
                value.relative_to(store_location(data_root, described.params["store"]))
            )
        else:
            values[name] = str(value)
    return values


def _insert_failure(table: _Table, row: dict[str, Any], exc: BaseException) -> str:
    """Name the attribute when the error does (quoted) or names its value's type."""
    error = _error(exc)
    for name, value in row.items():
        type_name = type(value).__name__
        quoted = any(f"{quote}{name}{quote}" in error for quote in "`\"'")
        if quoted or f"'{type_name}'" in error or f"{type(value).__module__}.{type_name}" in error:
            described = table.columns[name]
            return (
                f"{table.shown}.{name} ({described.declared}): inserted {describe(value)}, "
                f"the insert failed: {error}"
            )
    return f"{table.shown}: inserting a synthesized row failed: {error}"


def _fetch(table: _Table, key: dict[str, Any], fetched: Path) -> dict[str, Any]:
    restricted = table.table & key
    if compat.major_version() >= 2:
        return dict(restricted.fetch1())
    return dict(restricted.fetch1(download_path=str(fetched)))


def _fetch_all(table: _Table, fetched: Path) -> list[dict[str, Any]]:
    """Every inserted row of ``table`` in one query (empty if that query failed)."""
    restricted = table.table & [{name: row[name] for name in table.key} for row in table.rows]
    try:
        if compat.major_version() >= 2:
            return [dict(row) for row in restricted.to_dicts()]
        return [dict(row) for row in restricted.fetch(as_dict=True, download_path=str(fetched))]
    except Exception as exc:
        _raise_if_server_gone(exc)
        return []


def _same_key(table: _Table, row: dict[str, Any], back: dict[str, Any]) -> bool:
    for name in table.key:
        inserted, returned = row.get(name), back.get(name)
        described = table.columns.get(name)
        try:
            if described is not None and described.kind != "copied":
                if not same_value(described.kind, inserted, returned):
                    return False
            elif not (inserted == returned or str(inserted) == str(returned)):
                return False
        except Exception:
            return False
    return True


def _compare(run: _Run, table: _Table) -> None:
    fetched_all = _fetch_all(table, run.fetched) if table.rows else []
    for row in table.rows:
        matches = [back for back in fetched_all if _same_key(table, row, back)]
        if len(matches) == 1:
            back = matches[0]
        else:  # not told apart in one fetch: fetch this row on its own
            key = {name: row[name] for name in table.key}
            try:
                back = _fetch(table, key, run.fetched)
            except Exception as exc:
                _raise_if_server_gone(exc)
                run.problems.append(
                    (
                        f"{table.shown}: fetching a synthesized row back failed: {_error(exc)}",
                        table.shown,
                    )
                )
                return
        for name, described in table.columns.items():
            if described.has_default or described.kind == "copied":
                continue
            inserted = row.get(name)
            returned = back.get(name)
            if not same_value(described.kind, inserted, returned):
                run.problems.append(
                    (
                        f"{table.shown}.{name} ({described.declared}): inserted "
                        f"{describe(inserted)}, returned {describe(returned)}",
                        table.shown,
                    )
                )


def _delete(run: _Run) -> None:
    """Delete from the roots with DataJoint's cascade; every table must be as it was."""
    for root in reversed([table for table in run.tables.values() if table.root_rows]):
        keys = [{name: row[name] for name in root.key} for row in root.root_rows]
        try:
            _cascade_delete(root.table & keys)
        except Exception as exc:
            _raise_if_server_gone(exc)
            run.problems.append(
                (f"{root.shown}: deleting the synthesized rows failed: {_error(exc)}", root.shown)
            )
    counts = _row_counts(compat.datajoint().conn(), run.tables.values())
    for table in run.tables.values():
        now = counts[table.full_name]
        if now > table.before:
            run.problems.append(
                (
                    f"{table.shown}: {now - table.before} synthesized row(s) left after deleting "
                    "from the roots (the cascade did not reach it)",
                    table.shown,
                )
            )
        elif now < table.before:
            run.problems.append(
                (
                    f"{table.shown}: deleting the synthesized rows also removed "
                    f"{table.before - now} row(s) it held before",
                    table.shown,
                )
            )


def _cascade_delete(restricted: Any) -> None:
    """DataJoint's own delete, without a prompt, taking masters along with their parts."""
    parameters = inspect.signature(restricted.delete).parameters
    kwargs: dict[str, Any] = {}
    if "prompt" in parameters:
        kwargs["prompt"] = False
    if "safemode" in parameters:
        kwargs["safemode"] = False
    if "part_integrity" in parameters:
        kwargs["part_integrity"] = "cascade"
    elif "force_masters" in parameters:
        kwargs["force_masters"] = True
    restricted.delete(**kwargs)
