"""What the data round-trip check costs, against the activation measured in the same run.

One process, one server (the local MySQL image), the 12 real Elements checked in
turn with the default options (data round-trip on), ``--rounds`` times. For each
Element the check's own per-step timings give:

* **activation**: the ``activated`` check's steps (namespace, import, plan, mock,
  ``activate()`` calls), the figure the target is stated against;
* **check**: every timed step except the round trip (activation, reactivation,
  catalog, verification, teardown): what a check cost before this check existed;
* **round trip**: ``roundtrip_s`` (fill every table, fetch, compare, delete).

The medians over the rounds are printed, with the round trip as a share of
activation and of the check, per Element and summed over the 12.

    python bench/roundtrip_cost.py [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

IMAGE = "element-harness/mysql:9.7"
ACTIVATION_STEPS = ("namespace_s", "import_s", "plan_s", "mock_s", "activate_s")


def measure(rounds: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import machine, say
    from elements_e2e import ELEMENTS

    from harness.activation import compat
    from harness.activation.namespace import new_prefix
    from harness.activation.runner import CheckOptions, ElementCheck
    from harness.db.provider import provide_server
    from harness.runinfo import RunIdentity
    from harness.session import prepare_targets
    from harness.settings import Settings

    run = RunIdentity.new()
    targets = prepare_targets(ELEMENTS, install=True, say=say)
    samples: dict[str, list[dict[str, float]]] = {target.name: [] for target in targets}
    outcomes: dict[str, str] = {}
    with provide_server(Settings(db="mysql", image=IMAGE, startup_timeout=90), run) as server:
        for round_no in range(rounds):
            for target in targets:
                say(f"round {round_no + 1}/{rounds}: {target.name}")
                result = ElementCheck(target, server, new_prefix(run.run_id), CheckOptions()).run()
                timings = result.timings
                roundtrip = result.check("data_roundtrip")
                outcomes[target.name] = roundtrip.status if roundtrip else "absent"
                samples[target.name].append(
                    {
                        "activation_s": sum(timings.get(step, 0.0) for step in ACTIVATION_STEPS),
                        "check_s": sum(v for k, v in timings.items() if k != "roundtrip_s"),
                        "roundtrip_s": timings.get("roundtrip_s", 0.0),
                        "rows": float((result.data_roundtrip or {}).get("rows", 0)),
                    }
                )
    medians = {
        name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for name, runs in samples.items()
    }
    return {
        "datajoint": compat.version(),
        "server": f"mysql {server.version} ({IMAGE})",
        "rounds": rounds,
        "machine": machine(),
        "elements": {
            name: {**values, "data_roundtrip": outcomes[name]} for name, values in medians.items()
        },
    }


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def render(report: dict[str, Any]) -> str:
    lines = [
        f"DataJoint {report['datajoint']} · {report['server']} · "
        f"median of {report['rounds']} round(s)",
        "",
        "| Element | rows | activation s | check s (without) | round trip s | "
        "of activation | of check | data_roundtrip |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals = {"activation_s": 0.0, "check_s": 0.0, "roundtrip_s": 0.0, "rows": 0.0}
    for name, values in report["elements"].items():
        for key in totals:
            totals[key] += values[key]
        lines.append(
            f"| {name} | {values['rows']:.0f} | {values['activation_s']:.3f} | "
            f"{values['check_s']:.3f} | {values['roundtrip_s']:.3f} | "
            f"{_share(values['roundtrip_s'], values['activation_s'])} | "
            f"{_share(values['roundtrip_s'], values['check_s'])} | {values['data_roundtrip']} |"
        )
    lines.append(
        f"| **all 12** | {totals['rows']:.0f} | {totals['activation_s']:.3f} | "
        f"{totals['check_s']:.3f} | {totals['roundtrip_s']:.3f} | "
        f"{_share(totals['roundtrip_s'], totals['activation_s'])} | "
        f"{_share(totals['roundtrip_s'], totals['check_s'])} | |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    args = parser.parse_args()
    report = measure(args.rounds)
    from common import write_json

    print(render(report))
    write_json(report, args.json)


if __name__ == "__main__":
    main()
