"""Plan files: a reviewed plan, bound to the pipeline, the target and its state.

``harness deploy P --target URL --plan --out PLAN.json`` writes the plan (every
statement and table), the target's state and its fingerprint
(:mod:`harness.deploy.fingerprint`). ``--apply PLAN.json`` applies it only if
it was made for this pipeline (name and file contents) and this target
(backend, host, port, user), the target's fingerprint is unchanged, and the
plan computed now is the reviewed one, statement for statement; anything else
is a refusal naming what differs and saying to plan again. The format is in
``docs/deploy.md``; the file holds no password.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.activation import compat
from harness.db.external import ExternalTarget
from harness.deploy.fingerprint import TargetState
from harness.deploy.pipeline import LoadedElement
from harness.deploy.planner import CREATE, DRIFT, MATCH, DeployPlan
from harness.deploy.render import summary
from harness.deploy.spec import PipelineSpec
from harness.errors import ConfigurationError

PLAN_FORMAT = "element-harness/deploy-plan"
PLAN_VERSION = 1


def file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def target_identity(target: ExternalTarget) -> dict[str, Any]:
    """Which server and account a plan is for (no password)."""
    return {
        "backend": target.backend,
        "host": target.host.lower(),
        "port": target.port,
        "user": target.user,
    }


def reviewed_plan(plan: DeployPlan, loaded: list[LoadedElement]) -> dict[str, Any]:
    """The part of a plan a reviewer approves: what is created, with which statements.

    ``loaded`` are the Elements the plan was computed from, in the same order.
    """
    elements = []
    statements: list[str] = []
    for element, source in zip(plan.elements, loaded, strict=True):
        create = element.with_status(CREATE)
        elements.append(
            {
                "element": element.label,
                "manifest": element.manifest,
                "manifest_sha256": file_digest(source.manifest_file),
                "schemas_to_create": list(element.schemas_to_create),
                "tables_to_create": [{"table": t.name, "ddl": list(t.ddl)} for t in create],
                "present_and_matching": [t.name for t in element.with_status(MATCH)],
                "drift": [c.render() for t in element.with_status(DRIFT) for c in t.changes],
            }
        )
        statements += [f"CREATE DATABASE `{s}`" for s in element.schemas_to_create]
        statements += [statement for t in create for statement in t.ddl]
    return {"summary": summary(plan), "elements": elements, "statements": statements}


def plan_document(
    spec: PipelineSpec,
    target: ExternalTarget,
    plan: DeployPlan,
    loaded: list[LoadedElement],
    state: TargetState,
) -> dict[str, Any]:
    """The whole plan file."""
    return {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "harness": __version__,
        "datajoint": compat.version(),
        "pipeline": {"name": spec.name, "file": str(spec.path), "sha256": file_digest(spec.path)},
        "target": target_identity(target),
        "fingerprint": state.fingerprint,
        "target_state": dict(state.canonical),
        "plan": reviewed_plan(plan, loaded),
    }


def write_plan(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically: a reader never sees half a plan."""
    path = Path(path)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the plan to {path}: {exc.strerror or exc}",
            hint="choose a path in a writable directory",
        ) from None


def read_plan(path: Path) -> dict[str, Any]:
    """A plan file, checked for shape and integrity (its state still hashes to its fingerprint)."""
    path = Path(path)
    hint = f"give a file written by `harness deploy ... --plan --out {path.name}`"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"plan file {path} does not exist", hint=hint) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"plan file {path} is not readable JSON: {exc}"
        raise ConfigurationError(problem, hint=hint) from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise ConfigurationError(f"{path} is not a harness deploy plan", hint=hint)
    if document.get("version") != PLAN_VERSION:
        raise ConfigurationError(
            f"plan file {path} has format version {document.get('version')!r}; this harness "
            f"reads version {PLAN_VERSION}",
            hint="make the plan again with this harness",
        )
    problem = _shape_problem(document)
    if problem is not None:
        raise ConfigurationError(f"plan file {path} is malformed: {problem}", hint=hint)
    if TargetState(document["target_state"]).fingerprint != document["fingerprint"]:
        raise ConfigurationError(
            f"plan file {path} was edited: its target state no longer matches its fingerprint",
            hint="a reviewed plan cannot be changed by hand; make the plan again",
        )
    return document


#: Where each part of a plan file is, and what type it must have.
_SHAPE: tuple[tuple[tuple[str, ...], type], ...] = (
    (("pipeline",), dict),
    (("pipeline", "name"), str),
    (("pipeline", "sha256"), str),
    (("target",), dict),
    (("fingerprint",), str),
    (("target_state",), dict),
    (("target_state", "schemas"), dict),
    (("target_state", "tables"), list),
    (("target_state", "other_tables"), list),
    (("plan",), dict),
    (("plan", "elements"), list),
    (("plan", "statements"), list),
)


_KIND = {str: "a string", dict: "an object", list: "a list"}


def _shape_problem(document: Mapping[str, Any]) -> str | None:
    """The first key missing or of the wrong type (None: the shape is right)."""
    for keys, kind in _SHAPE:
        value: Any = document
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, kind):
            return (
                f"{'.'.join(keys)} is missing or not a{'n' if kind is str else ''} {kind.__name__}"
            )
    if not all(isinstance(e, dict) and "element" in e for e in document["plan"]["elements"]):
        return "plan.elements holds an entry without an element"
    return None


def binding_problems(
    document: Mapping[str, Any], spec: PipelineSpec, target: ExternalTarget
) -> list[str]:
    """Why the plan is not for this pipeline and target (empty: it is)."""
    problems = []
    pipeline = document["pipeline"]
    if pipeline.get("name") != spec.name:
        problems.append(f"it was made for pipeline {pipeline.get('name')!r}, not {spec.name!r}")
    elif pipeline.get("sha256") != file_digest(spec.path):
        problems.append(f"the pipeline file {spec.path} changed since the plan was made")
    made_for, here = document["target"], target_identity(target)
    if made_for != here:
        shown = "{backend}://{user}@{host}:{port}"
        problems.append(f"it was made for {shown.format(**made_for)}, not {shown.format(**here)}")
    return problems


def plan_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """How the plan computed now differs from the reviewed one (empty: identical)."""
    old = {e["element"]: e for e in saved.get("elements", [])}
    new = {e["element"]: e for e in now.get("elements", [])}
    lines = [f"- element {name}" for name in old if name not in new]
    lines += [f"+ element {name}" for name in new if name not in old]
    for name in [n for n in new if n in old]:
        for key in (
            "manifest_sha256",
            "schemas_to_create",
            "tables_to_create",
            "present_and_matching",
            "drift",
        ):
            if old[name].get(key) != new[name].get(key):
                lines.append(f"~ {name}: {key.replace('_', ' ')} differ")
    if not lines and saved.get("statements") != now.get("statements"):
        lines.append("~ the statements differ")
    return lines
