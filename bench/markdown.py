"""Print ``bench/results/scratch/latest.json`` (or the given file) as the Markdown tables of docs/benchmarks.md.

    python bench/markdown.py [results.json]

So that the numbers in the docs are pasted from a run, never typed by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def tables(results: dict[str, Any]) -> str:
    machine, plan, bare, load = results["machine"], results["plan"], results["bare"], results["load_average"]
    lines = [
        f"Run of {results['date']} (UTC): {machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
        f"Tornado {machine['tornado']}, {machine['os']}; load generator `{plan['client']}` with {plan['connections']} "
        f"connections, server and load generator pinned to different cores: {'yes' if plan['pinned'] else 'no'}; "
        f"{plan['rounds']} rounds of {plan['seconds']} s per scenario, each beside a bare-Tornado run; "
        f"load average {load['before'][0]:.2f} before, {load['after'][0]:.2f} after.",
        "",
        f"Bare Tornado: {bare['rps']:.0f} req/s (median of {bare['runs']} runs, spread {bare['rps_spread']:.0%}), "
        f"p50 {bare['p50_us'] / 1000:.2f} ms, p99 {bare['p99_us'] / 1000:.2f} ms, "
        f"{bare['cpu_us']:.0f} µs of server CPU per request.",
        "",
        _saturation(bare),
        "",
        "| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | × bare (req/s) | × bare (CPU) | target | met "
        "| Set-Cookie on every response |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for s in results["scenarios"]:
        target = "" if s["target"] is None else f"≥ {s['target']:.2f}"
        if s["status"] != "measured":
            lines.append(f"| {s['title']} | not measured: {s['skipped_because']} | | | | | | {target} | | |")
            continue
        met = "" if s["target"] is None else ("yes" if s["ratio"] >= s["target"] else "**no**")
        if met and bare.get("saturated") is False:
            met = "no verdict"  # an invalid run proves nothing either way
        cpu_ratio = "" if s["cpu_ratio"] is None else f"{s['cpu_ratio']:.2f}"
        lines.append(
            f"| {s['title']} | {s['rps']:.0f} | {s['p50_us'] / 1000:.2f} | {s['p99_us'] / 1000:.2f} | "
            f"{s['cpu_us']:.0f} | **{s['ratio']:.2f}** | {cpu_ratio} | {target} | {met} | "
            f"{'yes' if s['sets_cookie_every_response'] else 'no'} |"
        )
    if results.get("micro"):
        lines += ["", "| micro benchmark | result | target |", "| --- | ---: | ---: |"]
        lines += _micro_rows(results["micro"])
    return "\n".join(lines)


def _saturation(bare: dict[str, Any]) -> str:
    """Whether the run is worth quoting: bare Tornado must have been limited by the server core alone."""
    share = bare.get("core_share")
    if share is None:
        return "Bare Tornado's use of the server core was not measured (a run older than this check)."
    if bare["saturated"]:
        return f"Bare Tornado kept the server core {share:.0%} busy: the server was the bottleneck, as it must be."
    return (
        f"**Invalid run: bare Tornado kept the server core only {share:.0%} busy** (at least 90 % needed): "
        "something else limited it, so every ratio to bare is flattered."
    )


def _micro_rows(micro: dict[str, Any]) -> list[str]:
    rows = []
    for name, figure in micro["codec_round_trips"].items():
        target = "≥ 100,000/s" if name == "aes-gcm" else ""
        rows.append(f"| codec encode+decode, {name} | {_per_second(figure)} | {target} |")
    for name, figure in micro["store_load_save"].items():
        rows.append(f"| store load+save, {name} | {_per_second(figure)} | |")
    memory = micro["memory_store"]
    rows.append(
        f"| memory per idle session, memory store ({memory['sessions']:,} sessions) | "
        f"{memory['traced_bytes']:.0f} B (tracemalloc), {memory['rss_bytes']:.0f} B (RSS) | ≤ 1 KB |"
    )
    return rows


def _per_second(figure: dict[str, Any]) -> str:
    return f"{figure['per_second']:,.0f}/s" if "per_second" in figure else f"not measured: {figure['skipped']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=HERE / "results" / "scratch" / "latest.json")
    results = parser.parse_args().results
    if not results.is_file():
        parser.error(f"{results} does not exist: run python bench/run.py first, or name a results file")
    print(tables(json.loads(results.read_text())))


if __name__ == "__main__":
    main()
