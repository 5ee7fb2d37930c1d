"""Draw ``bench/results/scratch/ratios.png``: each scenario's throughput as a share of bare Tornado, beside its target.

    pip install -r bench/requirements.txt && python bench/chart.py [results.json] [out.png]

Reads what ``bench/run.py`` wrote. Skipped scenarios are listed as such on
the chart, never drawn as bars.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent


def draw(results: dict[str, Any], out: Path) -> None:
    scenarios = list(reversed(results["scenarios"]))
    labels = [s["name"] if s["status"] == "measured" else f"{s['name']} (skipped)" for s in scenarios]
    ratios = [s.get("ratio") or 0.0 for s in scenarios]
    colours = [_colour(s) for s in scenarios]
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(scenarios) + 1.6))
    axes.barh(labels, ratios, color=colours)
    for row, scenario in enumerate(scenarios):
        if scenario["status"] == "measured":
            axes.text(scenario["ratio"] + 0.01, row, f"{scenario['ratio']:.2f}", va="center", fontsize=8)
        if scenario["target"] is not None:
            axes.plot([scenario["target"]] * 2, [row - 0.4, row + 0.4], color="black", linewidth=2)
    axes.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    axes.set_xlim(0, max(1.15, max(ratios) + 0.1))
    axes.set_xlabel("requests per second, as a share of bare Tornado in the same run (black tick: target)")
    machine, bare = results["machine"], results["bare"]
    axes.set_title(
        f"Session cost over bare Tornado ({bare['rps']:.0f} req/s), {results['date'][:10]}\n"
        f"{machine['cores']} cores, Python {machine['python']}, Tornado {machine['tornado']}, "
        f"{results['plan']['client']} -c{results['plan']['connections']}",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def _colour(scenario: dict[str, Any]) -> str:
    if scenario["status"] != "measured":
        return "lightgrey"
    if scenario["target"] is None:
        return "tab:blue"
    return "tab:green" if scenario["ratio"] >= scenario["target"] else "tab:red"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=HERE / "results" / "scratch" / "latest.json")
    parser.add_argument("out", nargs="?", type=Path, default=HERE / "results" / "scratch" / "ratios.png")
    arguments = parser.parse_args()
    if not arguments.results.is_file():
        parser.error(f"{arguments.results} does not exist: run python bench/run.py first, or name a results file")
    draw(json.loads(arguments.results.read_text()), arguments.out)
    print(f"wrote {arguments.out}")


if __name__ == "__main__":
    main()
