"""What a session costs over bare Tornado, per store, measured side by side in one run.

    python bench/run.py            # the full run (a few minutes), writes bench/results/scratch/latest.json
    python bench/run.py --quick    # a few seconds: proves the harness works, numbers mean little

Starts bare Tornado (``bench/bare.py``) and the project's app (``bench/server.py``,
one process per store in turn) on 127.0.0.1, the server pinned to one core and
the load generator (``wrk``, else ``bench/loadgen.py``) to the other; the
``app-*`` scenarios run ``python app.py --logging=warning`` itself instead, the
app's real routes as a user serves them. Each
scenario is measured right after bare Tornado, in several rounds; its ratio is
the median of its per-round ratios to the bare run beside it, so drift of the
machine between rounds cancels out. A run is flagged invalid, in its output and
its JSON (``bare.saturated``), when bare Tornado kept the server core less than
90 % busy: something else limited it then, and every ratio is flattered. Every
process it starts is stopped when
it ends, however it ends.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for its stores

import load  # noqa: E402
import processes as procs  # noqa: E402
import stores  # noqa: E402
from load import Measurement  # noqa: E402
from processes import SERVER_CORE, Processes  # noqa: E402
from scenarios import SCENARIOS, Prepared, Scenario, port_for, prepare  # noqa: E402

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "app.py"
#: A run's results land in the untracked scratch folder; one worth keeping is written with --json=bench/results/NAME.
DEFAULT_RESULTS = HERE / "results" / "scratch" / "latest.json"
#: Above this one-minute load average the machine is not quiet enough for figures worth publishing.
BUSY_LOAD = 0.5
#: Bare Tornado must keep the server core this busy: below it, something else (the load
#: generator, another job) limited the run, and every ratio to bare is flattered.
SATURATED = 0.90


@dataclass
class Plan:
    rounds: int
    seconds: int
    warmup: bool  # one unmeasured second against each freshly started server
    bare_beside_each: bool  # a bare run right before every scenario run (else one per server)
    micro: bool
    quick: bool


@dataclass
class Outcome:
    """Everything measured (or why nothing was) for one scenario."""

    scenario: Scenario
    skipped: str | None = None
    sets_cookie: bool | None = None
    pairs: list[tuple[Measurement, Measurement]] = field(default_factory=list)  # (bare, scenario)

    def summary(self) -> dict[str, float | None]:
        if not self.pairs:
            return {}
        runs = [run for _, run in self.pairs]
        cpu = [run.cpu_us_per_request for run in runs if run.cpu_us_per_request is not None]
        cpu_ratios = [
            bare.cpu_us_per_request / run.cpu_us_per_request
            for bare, run in self.pairs
            if bare.cpu_us_per_request and run.cpu_us_per_request
        ]
        return {
            "rps": statistics.median(run.rps for run in runs),
            "p50_us": statistics.median(run.p50_us for run in runs),
            "p99_us": statistics.median(run.p99_us for run in runs),
            "cpu_us": statistics.median(cpu) if cpu else None,
            "ratio": statistics.median(run.rps / bare.rps for bare, run in self.pairs),
            "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else None,
            "failed": sum(run.failed for run in runs),
        }


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    plan = _plan(args)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    if args.only and len(chosen) != len(args.only):
        unknown = set(args.only) - {s.name for s in SCENARIOS}
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    started_at = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    if load_before[0] > BUSY_LOAD:
        print(f"warning: load average {load_before[0]:.2f}: other work is running, numbers will be noisy", flush=True)
    with Processes() as processes:
        outcomes, bare_runs, micro = _run(processes, plan, args.client, chosen)
        pids = processes.pids()
    report = _report(plan, args.client, outcomes, bare_runs, micro, started_at, load_before, pids)
    _print_report(report)
    json_path = args.json or (DEFAULT_RESULTS if not plan.quick else None)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nresults written to {json_path}")
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: one round of one second each")
    parser.add_argument("--rounds", type=int, help="rounds of every scenario (default 3)")
    parser.add_argument("--seconds", type=int, help="seconds per measured run (default 5)")
    parser.add_argument("--client", choices=("wrk", "asyncio"), default=load.default_client())
    parser.add_argument("--only", type=lambda text: text.split(","), help="comma-separated scenario names")
    parser.add_argument("--no-micro", action="store_true", help="skip the micro benchmarks")
    parser.add_argument(
        "--json", type=Path, help=f"where to write the results (default: {DEFAULT_RESULTS.relative_to(HERE.parent)})"
    )
    return parser.parse_args(argv)


def _plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(args.rounds or 1, args.seconds or 1, False, False, not args.no_micro, True)
    return Plan(args.rounds or 3, args.seconds or 5, True, True, not args.no_micro, False)


def _run(
    processes: Processes, plan: Plan, client: str, chosen: list[Scenario]
) -> tuple[list[Outcome], list[Measurement], dict[str, Any] | None]:
    outcomes = [Outcome(s, skipped=_missing_store(s)) for s in chosen]
    bare = processes.start("bare", procs.python_command(HERE / "bare.py"), SERVER_CORE, stdout=subprocess.PIPE)
    (bare_port,) = procs.ports(bare)
    redis_url = None
    if any(o.skipped is None and o.scenario.store == "redis" for o in outcomes) or (
        plan.micro and stores.missing("redis") is None
    ):
        _, redis_url = procs.start_redis(processes)
    bare_runs: list[Measurement] = []

    def measure_bare() -> Measurement:
        bare_runs.append(load.measure(processes, client, f"http://{procs.HOST}:{bare_port}/", plan.seconds, bare.pid))
        return bare_runs[-1]

    if plan.warmup:
        measure_bare()
        bare_runs.clear()
    for round_number in range(1, plan.rounds + 1):
        for server in ("bench", "app"):
            for store in stores.STORES:
                group = [o for o in outcomes if (o.scenario.server, o.scenario.store) == (server, store)]
                group = [o for o in group if o.skipped is None]
                if group:
                    print(f"round {round_number}/{plan.rounds}: {store} store, {server} server", flush=True)
                    _run_group(processes, plan, client, group, (server, store), redis_url, measure_bare)
    micro = _run_micro(processes, plan, redis_url) if plan.micro else None
    return outcomes, bare_runs, micro


def _run_group(
    processes: Processes,
    plan: Plan,
    client: str,
    group: list[Outcome],
    server_store: tuple[str, str],
    redis_url: str | None,
    measure_bare: object,
) -> None:
    """Start a fresh server for ``(server, store)``, measure its scenarios (each beside bare Tornado), stop it."""
    kind, store = server_store
    if kind == "app":  # the app as a user runs it, logging as bare Tornado does (warnings only)
        port = procs.free_port()
        command = procs.python_command(APP, f"--port={port}", f"--address={procs.HOST}", "--logging=warning")
        command += [f"--store={store}", f"--sqlite-path={processes.workdir / f'app-{len(processes.started)}.db'}"]
    else:
        command = procs.python_command(HERE / "server.py", f"--store={store}")
    if redis_url is not None:
        command.append(f"--redis-url={redis_url}")
    server = processes.start(f"{kind}-{store}", command, SERVER_CORE, stdout=subprocess.PIPE)
    try:
        if kind == "app":
            procs.wait_listening(server, port)
            ports = [port]
        else:
            ports = procs.ports(server)
        ready: list[tuple[Outcome, Prepared]] = [
            (outcome, prepare(outcome.scenario, port_for(outcome.scenario, ports))) for outcome in group
        ]
        bare_run = None
        for index, (outcome, prepared) in enumerate(ready):
            url = f"http://{procs.HOST}:{port_for(outcome.scenario, ports)}{outcome.scenario.path}"
            if plan.warmup and index == 0:
                load.measure(processes, client, url, 1, server.pid, prepared.cookie)
            if plan.bare_beside_each or bare_run is None:
                bare_run = measure_bare()  # type: ignore[operator]
            run = load.measure(processes, client, url, plan.seconds, server.pid, prepared.cookie)
            outcome.sets_cookie = prepared.sets_cookie
            outcome.pairs.append((bare_run, run))
            print(f"  {outcome.scenario.name:<16} {run.rps:8.0f} req/s  x{run.rps / bare_run.rps:.2f} bare", flush=True)
    finally:
        processes.stop(server)


def _run_micro(processes: Processes, plan: Plan, redis_url: str | None) -> dict[str, Any]:
    command = procs.python_command(HERE / "micro.py", "--json")
    if plan.quick:
        command.append("--quick")
    if redis_url is not None:
        command.append(f"--redis-url={redis_url}")
    print("micro benchmarks", flush=True)
    micro = processes.start("micro", command, SERVER_CORE, stdout=subprocess.PIPE)
    try:
        output, _ = micro.popen.communicate(timeout=600)
    finally:
        processes.stop(micro)
    if micro.popen.returncode != 0:
        raise RuntimeError(f"micro benchmarks failed:\n{micro.log_tail()}")
    report: dict[str, Any] = json.loads(output)
    return report


def _missing_store(scenario: Scenario) -> str | None:
    reason = stores.missing(scenario.store)
    return None if reason is None else f"{scenario.store} store: {reason}"


def _machine() -> dict[str, Any]:
    import tornado

    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return {
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tornado": tornado.version,
        "os": platform.platform(),
    }


def _report(
    plan: Plan,
    client: str,
    outcomes: list[Outcome],
    bare_runs: list[Measurement],
    micro: dict[str, Any] | None,
    started_at: datetime.datetime,
    load_before: tuple[float, float, float],
    pids: list[int],
) -> dict[str, Any]:
    bare_rps = [run.rps for run in bare_runs]
    bare_cpu = [run.cpu_us_per_request for run in bare_runs if run.cpu_us_per_request is not None]
    core_shares = [run.core_share for run in bare_runs if run.core_share is not None]
    core_share = statistics.median(core_shares) if core_shares else None
    return {
        "date": started_at.isoformat(timespec="seconds"),
        "machine": _machine(),
        "plan": asdict(plan) | {"client": client, "pinned": procs.can_pin(), "connections": load.CONNECTIONS},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "bare": {
            "runs": len(bare_runs),
            "rps": statistics.median(bare_rps) if bare_rps else None,
            "rps_spread": (max(bare_rps) - min(bare_rps)) / statistics.median(bare_rps) if bare_rps else None,
            "p50_us": statistics.median(run.p50_us for run in bare_runs) if bare_runs else None,
            "p99_us": statistics.median(run.p99_us for run in bare_runs) if bare_runs else None,
            "cpu_us": statistics.median(bare_cpu) if bare_cpu else None,
            # The server core's share bare Tornado used (median over its runs): the run is valid
            # only if bare Tornado, the fastest server here, was limited by that core alone.
            "core_share": core_share,
            "saturated": None if core_share is None else core_share >= SATURATED,
        },
        "scenarios": [
            {
                "name": o.scenario.name,
                "title": o.scenario.title,
                "store": o.scenario.store,
                "path": o.scenario.path,
                "target": o.scenario.target,
                "server": o.scenario.server,
                "status": "skipped" if o.skipped else "measured",
                "skipped_because": o.skipped,
                "sets_cookie_every_response": o.sets_cookie,
                **o.summary(),
                "rounds": [{"bare": asdict(b), "scenario": asdict(r)} for b, r in o.pairs],
            }
            for o in outcomes
        ],
        "micro": micro,
        "pids": pids,
    }


def _print_report(report: dict[str, Any]) -> None:
    bare = report["bare"]
    machine = report["machine"]
    plan = report["plan"]
    load_average = report["load_average"]
    print(
        f"\n{machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, Tornado {machine['tornado']}; "
        f"client {plan['client']} -c{plan['connections']}, pinned: {plan['pinned']}, "
        f"{plan['rounds']} round(s) x {plan['seconds']} s; load average before {load_average['before'][0]:.2f}, "
        f"after {load_average['after'][0]:.2f}"
    )
    if bare["rps"] is not None:
        print(
            f"bare Tornado: {bare['rps']:.0f} req/s (spread {bare['rps_spread']:.0%} over {bare['runs']} runs), "
            f"p50 {bare['p50_us'] / 1000:.2f} ms, p99 {bare['p99_us'] / 1000:.2f} ms, {_num(bare['cpu_us'])} µs CPU/req"
        )
    if bare["saturated"] is False:
        print(
            f"\n*** INVALID RUN: bare Tornado used only {bare['core_share']:.0%} of the server core "
            f"(at least {SATURATED:.0%} needed): something else limited it (the load generator, another job), "
            "so every ratio below is flattered. Retake it on a quiet machine. ***\n"
        )
    elif bare["core_share"] is not None:
        print(f"bare Tornado kept the server core {bare['core_share']:.0%} busy: the server was the bottleneck")
    columns = f"{'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7} {'x bare':>7} {'target':>7}"
    header = f"{'scenario':<16} {columns}  met  cookie sent"
    print(header)
    for s in report["scenarios"]:
        if s["status"] == "skipped":
            print(f"{s['name']:<16} SKIPPED, not measured: {s['skipped_because']}")
            continue
        target = "" if s["target"] is None else f">={s['target']:.2f}"
        met = "" if s["target"] is None else ("yes" if s["ratio"] >= s["target"] else "NO")
        if met and bare["saturated"] is False:
            met = "??"  # an invalid run proves nothing either way
        failed = f"  ({s['failed']} failed requests!)" if s["failed"] else ""
        print(
            f"{s['name']:<16} {s['rps']:7.0f} {s['p50_us'] / 1000:7.2f} {s['p99_us'] / 1000:7.2f} "
            f"{_num(s['cpu_us']):>7} {s['ratio']:7.2f} {target:>7}  {met:<4} "
            f"{'every response' if s['sets_cookie_every_response'] else 'no'}{failed}"
        )
    if report["micro"]:
        print()
        for line in report["micro"]["lines"]:
            print(line)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted: every process this run started has been stopped")
