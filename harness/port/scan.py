"""Find every DataJoint 2 incompatibility in an Element's modules, from their AST.

All the package's ``.py`` files are read, not only those an activation imports:
a report module, a loader or a ``__init__`` breaks a 2.x install as surely as a
schema module does. Nothing is imported or executed. Which names mean DataJoint
is read from each module's imports (``import datajoint as dj``, ``from datajoint
import schema``), so a local ``schema`` variable is never mistaken for
``dj.schema``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.port import definitions
from harness.port.findings import Edit, Finding, shorten
from harness.port.rules import (
    REMOVED_CONFIG_METHODS,
    REMOVED_METHODS,
    REMOVED_NAMES,
    RULES,
    config_key_status,
)
from harness.port.text import SourceText

_AUTOPOPULATED = {"Computed", "Imported"}
_TIERS = {"Manual", "Lookup", "Computed", "Imported", "Part"}
#: fetch keywords the 2.x to_* methods take as they are.
_PASSED_ON = {"order_by", "limit", "offset", "squeeze"}


@dataclass
class ScanResult:
    """What a scan found, and the files it could not read."""

    root: Path
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file:line: reason"


def python_files(package_dir: Path) -> list[Path]:
    """Every module of the package, in a stable order; caches and hidden trees skipped."""
    return sorted(
        path
        for path in package_dir.rglob("*.py")
        if not any(
            part.startswith(".") or part == "__pycache__"
            for part in path.relative_to(package_dir).parts
        )
    )


def scan_package(package_dir: Path) -> ScanResult:
    """Scan every module under ``package_dir``; paths are relative to its parent."""
    root = package_dir.parent
    result = ScanResult(root=root)
    for path in python_files(package_dir):
        relative = path.relative_to(root).as_posix()
        result.files.append(relative)
        try:
            source = SourceText.read(path)
            tree = ast.parse(source.text, filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            line = getattr(exc, "lineno", None) or 0
            result.unreadable.append(f"{relative}:{line}: {exc.__class__.__name__}: {exc}")
            continue
        result.findings.extend(ModuleScanner(source, relative).scan(tree))
    result.findings.sort(key=lambda finding: (finding.file, finding.line, finding.column))
    return result


class ModuleScanner(ast.NodeVisitor):
    """The findings of one module."""

    def __init__(self, source: SourceText, relative: str) -> None:
        self.source = source
        self.relative = relative
        self.dj_names: set[str] = set()  # names bound to the datajoint module
        self.config_names: set[str] = set()  # names bound to datajoint.config
        self.tier_names: dict[str, str] = {}  # local name -> tier, from `from datajoint import`
        self.class_tiers: dict[str, str] = {}  # classes of this module -> tier
        self.findings: list[Finding] = []
        self._parents: dict[ast.AST, ast.AST] = {}
        self._classes: list[str] = []

    def scan(self, tree: ast.Module) -> list[Finding]:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self._parents[child] = parent
        self._read_imports(tree)
        self.visit(tree)
        return self.findings

    # --- what names mean DataJoint -------------------------------------------------

    def _read_imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "datajoint":
                        self.dj_names.add(alias.asname or "datajoint")
            elif isinstance(node, ast.ImportFrom) and node.module == "datajoint":
                for alias in node.names:
                    local = alias.asname or alias.name
                    if alias.name == "config":
                        self.config_names.add(local)
                    elif alias.name in _TIERS:
                        self.tier_names[local] = alias.name

    def _is_dj(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in self.dj_names

    def _is_config(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.config_names
        return isinstance(node, ast.Attribute) and node.attr == "config" and self._is_dj(node.value)

    # --- findings --------------------------------------------------------------------

    def _add(
        self,
        rule_id: str,
        node: ast.AST,
        replacement: str,
        edit: Edit | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
        code: str | None = None,
        table: str | None = None,
    ) -> None:
        if line is None:
            line, column = self.source.position(self.source.span(node)[0])
        self.findings.append(
            Finding(
                rule_id=rule_id,
                file=self.relative,
                line=line,
                column=column or 1,
                code=shorten(code if code is not None else self.source.segment(node)),
                replacement=replacement or RULES[rule_id].replacement,
                edit=edit,
                table=table,
            )
        )

    def _edit(self, start: int, end: int, text: str) -> Edit:
        return Edit(self.source.path, start, end, text)

    def _with(self, node: ast.AST, edit: Edit | None) -> str | None:
        """``node``'s source as ``edit`` leaves it: the replacement a finding shows."""
        if edit is None:
            return None
        start, end = self.source.span(node)
        text = self.source.text
        return text[start : edit.start] + edit.text + text[edit.end : end]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module != "datajoint":
            return
        for alias in node.names:
            if alias.name not in REMOVED_NAMES:
                continue
            new, advice = REMOVED_NAMES[alias.name]
            edit = None  # no 2.x counterpart: the advice alone
            if new is not None:
                start, end = self.source.span(alias)
                name_end = start + len(alias.name)
                # Keep the local name, so the module's uses of it stay valid.
                text = new if alias.asname else f"{new} as {alias.name}"
                edit = self._edit(start, name_end, text)
                advice = f"from datajoint import {text}{self.source.text[name_end:end]}"
            self._add("removed-name", alias, advice, edit)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self._is_dj(node.value) and node.attr in REMOVED_NAMES:
            new, advice = REMOVED_NAMES[node.attr]
            edit = None
            if new is not None:
                _, end = self.source.span(node)
                edit = self._edit(end - len(node.attr), end, new)
            self._add("removed-name", node, advice, edit)
        elif node.attr in REMOVED_METHODS:
            self._removed_method(node)
        self.generic_visit(node)

    def _removed_method(self, node: ast.Attribute) -> None:
        """``x.spawn_missing_classes(context=c)`` -> ``x.make_classes(into=c)``, one edit."""
        new, keywords, advice = REMOVED_METHODS[node.attr]
        call = self._parents.get(node)
        if new is None:
            self._add("removed-method", node, advice)
            return
        _, end = self.source.span(node)
        start, text, shown = end - len(node.attr), new, node
        if isinstance(call, ast.Call) and call.func is node:
            _, end = self.source.span(call)
            text = new + self.source.text[start + len(node.attr) : end]
            for keyword in sorted(call.keywords, key=lambda kw: -self.source.span(kw)[0]):
                if keyword.arg in keywords:
                    at = self.source.span(keyword)[0] - start - len(node.attr) + len(new)
                    text = text[:at] + keywords[keyword.arg] + text[at + len(keyword.arg) :]
            shown = call
        edit = self._edit(start, end, text)
        self._add("removed-method", shown, self._with(shown, edit) or advice, edit)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if isinstance(key, str) and self._is_config(node.value):
            self._config_key(node, key, statement=self._statement_of(node))
        self.generic_visit(node)

    def _config_key(self, node: ast.AST, key: str, statement: ast.stmt | None) -> None:
        rule_id = config_key_status(key)
        if rule_id is None:
            return
        if rule_id == "config-obsolete-key":
            edit = self._statement_removal(statement) if statement is not None else None
            self._add(rule_id, node, "delete the statement", edit)
        else:
            self._add(rule_id, node, "")

    def _statement_of(self, node: ast.AST) -> ast.stmt | None:
        """The statement ``node`` is the whole target of (``dj.config[k] = v``), if it is."""
        parent = self._parents.get(node)
        if isinstance(parent, ast.Assign) and parent.targets == [node]:
            return parent
        return None

    def _statement_removal(self, statement: ast.stmt) -> Edit | None:
        """Delete a statement standing alone on its lines, unless its block would be empty."""
        parent = self._parents.get(statement)
        siblings = next(
            (
                body
                for name in ("body", "orelse", "finalbody")
                if statement in (body := getattr(parent, name, []) or [])
            ),
            [],
        )
        start, end = self.source.span(statement)
        first, last = statement.lineno, statement.end_lineno or statement.lineno
        before = self.source.text[self.source.line_start(first) : start]
        after = self.source.text[end : self.source.line_end(last)]
        if len(siblings) < 2 or before.strip() or after.strip():
            return None
        return self._edit(self.source.line_start(first), self.source.line_end(last), "")

    def visit_Compare(self, node: ast.Compare) -> None:
        tests = zip(node.ops, node.comparators, strict=True)
        if any(isinstance(op, ast.In | ast.NotIn) and self._is_config(c) for op, c in tests):
            self._add("config-membership", node, "")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if self._is_config(func.value):
                self._config_call(node, func)
            elif func.attr == "drop":
                self._drop(node)
            elif func.attr in {"fetch", "fetch1"}:
                self._fetch(node, func)
        self.generic_visit(node)

    def _config_call(self, node: ast.Call, func: ast.Attribute) -> None:
        if func.attr in REMOVED_CONFIG_METHODS:
            self._add("config-method", node, "")
        elif func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant):
            key = node.args[0].value
            rule_id = config_key_status(key) if isinstance(key, str) else None
            if rule_id is not None:
                self._add(rule_id, node, "")

    def _drop(self, node: ast.Call) -> None:
        force = next((kw for kw in node.keywords if kw.arg == "force"), None)
        positional = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if force is not None:
            value = force.value
            fixed = _prompt_for(value)
            edit = None
            if fixed is not None:
                start, end = self.source.span(force)
                edit = self._edit(start, end, fixed)
            self._add("drop-force", node, self._with(node, edit) or "", edit)
        elif isinstance(positional, ast.Constant) and isinstance(positional.value, bool):
            fixed = _prompt_for(positional)
            start, end = self.source.span(positional)
            edit = self._edit(start, end, str(fixed))
            self._add("drop-force", node, self._with(node, edit) or "", edit)

    def _fetch(self, node: ast.Call, func: ast.Attribute) -> None:
        items: list[ast.AST] = [*node.args, *node.keywords]
        items.sort(key=lambda item: self.source.span(item)[0])
        bad = [
            kw
            for kw in node.keywords
            if kw.arg is not None and kw.arg not in _PASSED_ON | {"as_dict", "format"}
        ]
        key_objects = [arg for arg in node.args if self._is_dj_key(arg)]
        if bad or key_objects:
            names = ", ".join(f"{kw.arg}=" for kw in bad) or "dj.key"
            self._add("fetch-argument", node, f"{func.attr}(...) without {names}")
            return
        if func.attr == "fetch1":
            return  # fetch1 stays in 2.x, with the same positional forms
        method, removed = self._fetch_method(node)
        if method is None:
            self._add("fetch-deprecated", node, "to_arrays / to_dicts / to_pandas / keys")
            return
        _, call_end = self.source.span(node)
        _, func_end = self.source.span(func)
        start = func_end - len(func.attr)
        if len(removed) == len(items):
            text = f"{method}()"
        else:
            text = self.source.text[start:call_end]
            for piece_start, piece_end in sorted(_removal_spans(self.source, items, removed))[::-1]:
                text = text[: piece_start - start] + text[piece_end - start :]
            text = method + text[len(func.attr) :]
        self._add("fetch-deprecated", node, text, self._edit(start, call_end, text))

    def _is_dj_key(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "key" and self._is_dj(node.value)

    def _fetch_method(self, node: ast.Call) -> tuple[str | None, list[ast.AST]]:
        """The 2.x method for this fetch and the arguments it no longer needs."""
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            kw.arg is None for kw in node.keywords
        ):
            return None, []
        attrs = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
        if len(attrs) != len(node.args) or not all(isinstance(a, str) for a in attrs):
            return None, []
        keywords = {kw.arg: kw for kw in node.keywords}
        as_dict = keywords.get("as_dict")
        fmt = keywords.get("format")
        removed: list[ast.AST] = []
        dict_wanted = False
        if as_dict is not None:
            if not isinstance(as_dict.value, ast.Constant):
                return None, []
            dict_wanted = bool(as_dict.value.value)
            removed.append(as_dict)
        frame = False
        if fmt is not None:
            if not isinstance(fmt.value, ast.Constant) or fmt.value.value not in ("array", "frame"):
                return None, []
            frame = fmt.value.value == "frame"
            removed.append(fmt)
        if "KEY" in attrs:
            if attrs != ["KEY"] or dict_wanted or frame:
                return None, []
            return "keys", [*removed, node.args[0]]
        if frame:
            return (None, []) if attrs or dict_wanted else ("to_pandas", removed)
        if dict_wanted:
            return (None, []) if attrs else ("to_dicts", removed)
        return "to_arrays", removed

    # --- tables ----------------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        tier = self._tier(node)
        if tier is not None:
            self.class_tiers[node.name] = tier
        self._classes.append(node.name)
        table = ".".join(self._classes)
        for statement in node.body:
            definition = _definition_literal(statement)
            if definition is not None:
                self._definition(definition, tier, table)
        self.generic_visit(node)
        self._classes.pop()

    def _tier(self, node: ast.ClassDef) -> str | None:
        for base in node.bases:
            if isinstance(base, ast.Attribute) and self._is_dj(base.value) and base.attr in _TIERS:
                return base.attr
            if isinstance(base, ast.Name):
                if base.id in self.tier_names:
                    return self.tier_names[base.id]
                if base.id in self.class_tiers:
                    return self.class_tiers[base.id]
        return None

    def _definition(self, node: ast.Constant, tier: str | None, table: str) -> None:
        for attribute in definitions.attribute_lines(self.source, node):
            found = definitions.type_rule(attribute.type)
            if found is not None:
                rule_id, new_type, advice = found
                edit = None
                if new_type is not None and attribute.start is not None:
                    end, text = definitions.retyped(attribute, new_type)
                    edit = self._edit(attribute.start, end, text)
                self._add(
                    rule_id,
                    node,
                    advice if new_type is None else _replaced_line(attribute, new_type),
                    edit,
                    line=attribute.line,
                    column=attribute.column,
                    code=attribute.text,
                    table=table,
                )
            if attribute.in_key and tier in _AUTOPOPULATED:
                self._add(
                    "computed-new-key",
                    node,
                    "",
                    line=attribute.line,
                    column=attribute.column,
                    code=attribute.text,
                    table=table,
                )


def _replaced_line(attribute: definitions.AttributeLine, new_type: str) -> str:
    """The definition line with its type replaced, as ``--write`` leaves it."""
    head, sep, tail = attribute.text.partition(attribute.type)
    return shorten(f"{head}{new_type}{tail}" if sep else new_type)


def _definition_literal(statement: ast.stmt) -> ast.Constant | None:
    """The string of ``definition = "..."`` in a class body."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None
    is_definition = isinstance(target, ast.Name) and target.id == "definition"
    if is_definition and isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value
    return None


def _prompt_for(value: ast.AST) -> str | None:
    """``prompt=`` text for a 0.14 ``force`` value, when it is a constant."""
    if isinstance(value, ast.Constant) and isinstance(value.value, bool):
        return "prompt=False" if value.value else "prompt=None"
    return None


def _removal_spans(
    source: SourceText, items: list[ast.AST], removed: list[ast.AST]
) -> Iterator[tuple[int, int]]:
    """Character spans that delete ``removed`` from a call's argument list, commas included.

    At least one argument is kept (the caller writes ``()`` otherwise). A removed
    argument takes the separator before it with it; the leading ones (before the first
    kept argument) take the separator after them, so what remains reads as written.
    """
    spans = [source.span(item) for item in items]
    removed_index = {index for index, item in enumerate(items) if item in removed}
    kept = [index for index in range(len(items)) if index not in removed_index]
    first_kept = kept[0]
    if first_kept > 0:
        yield spans[0][0], spans[first_kept][0]
    for index in sorted(removed_index):
        if index > first_kept:
            yield spans[index - 1][1], spans[index][1]
