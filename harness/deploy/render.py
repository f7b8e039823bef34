"""The plan and the apply result as text: what a lab reviews before saying yes."""

from __future__ import annotations

from harness.deploy.planner import CREATE, DRIFT, MATCH, DeployPlan, ElementPlan


def _names(tables: list[str], indent: str = "    ") -> list[str]:
    return [f"{indent}{name}" for name in tables]


def render_element(element: ElementPlan, ddl: bool) -> list[str]:
    lines = [f"{element.label} (manifest {element.manifest})"]
    if element.schemas_to_create:
        lines.append("  schemas to create: " + ", ".join(element.schemas_to_create))
        if ddl:
            lines += [f"    {statement}" for statement in element.schema_ddl]
    create = element.with_status(CREATE)
    lines.append(f"  tables to create: {len(create)}")
    for table in create:
        lines.append(f"    + {table.name}")
        if ddl:
            for statement in table.ddl:
                lines += [f"        {line}" for line in statement.splitlines()]
    match = element.with_status(MATCH)
    lines.append(f"  present and matching: {len(match)}")
    lines += _names([t.name for t in match])
    drift = element.with_status(DRIFT)
    lines.append(f"  drift: {len(drift)} table(s)")
    for table in drift:
        lines += [f"    {change.render()}" for change in table.changes]
    return lines


def render_plan(plan: DeployPlan, *, ddl: bool = True) -> str:
    lines: list[str] = []
    for element in plan.elements:
        lines += render_element(element, ddl)
    lines.append(summary(plan))
    return "\n".join(lines)


def summary(plan: DeployPlan) -> str:
    return (
        f"plan: {len(plan.schemas_to_create)} schema(s) and {len(plan.all(CREATE))} table(s) "
        f"to create, {len(plan.all(MATCH))} present and matching, "
        f"{len(plan.all(DRIFT))} drifting"
    )
