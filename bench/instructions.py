"""Instructions per request under callgrind: a measure a busy machine cannot disturb.

    python bench/instructions.py [--requests=400] [--connections=8] [--only=read-memory,...]

Throughput on a shared 2-core machine moves by tens of percent with whatever
else runs; the number of CPU instructions a request executes does not. This
runs bare Tornado and the bench server under ``valgrind --tool=callgrind``,
sends each scenario's requests over keep-alive connections (8 at once, so
that, as under wrk, one event-loop pass serves several requests), and counts
the instructions the server executed for them (counters zeroed after a
warm-up, dumped after the run). ``bare / scenario`` estimates the throughput ratio on a
quiet machine; it is how the optimizations in ``sessions/`` were judged (see
docs/benchmarks.md). It is a development tool: it needs valgrind, and it is
slow (a few minutes). The ``app-*`` scenarios are counted on the bench
server's copy of the app (``make_app`` served by ``make_server``: the same
routes, handlers and HTTP server as ``app.py``), not on ``app.py`` itself as
``run.py`` measures them. Bare Tornado is served by Tornado's ``HTTPServer``.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for its stores

import processes as procs  # noqa: E402
import stores  # noqa: E402
from processes import SERVER_CORE, Processes  # noqa: E402
from scenarios import SCENARIOS, Scenario, port_for, prepare  # noqa: E402

HERE = Path(__file__).resolve().parent
WARMUP = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", type=lambda text: text.split(","))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package valgrind)")
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    with Processes() as processes:
        redis_url = None
        if any(s.store == "redis" for s in chosen) and stores.missing("redis") is None:
            _, redis_url = procs.start_redis(processes)
        load = (args.requests, args.connections)
        bare = _count(processes, "bare", [], lambda ports: (ports[0], "/", None), load)
        print(f"{'bare':<14} {bare:10,.0f} instructions per request")
        for store in stores.STORES:
            group = [s for s in chosen if s.store == store]
            reason = stores.missing(store)
            for scenario in group if reason is None else []:
                extra = [f"--store={store}"] + ([f"--redis-url={redis_url}"] if redis_url else [])
                count = _count(processes, "server", extra, _preparer(scenario), load)
                print(f"{scenario.name:<14} {count:10,.0f} instructions per request  x{bare / count:.2f} bare")
            for scenario in group if reason is not None else []:
                print(f"{scenario.name:<14} SKIPPED: {store} store: {reason}")
    return 0


def _preparer(scenario: Scenario) -> Callable[[list[int]], tuple[int, str, str | None]]:
    def prepared(ports: list[int]) -> tuple[int, str, str | None]:
        port = port_for(scenario, ports)
        return port, scenario.path, prepare(scenario, port).cookie

    return prepared


def _count(
    processes: Processes,
    script: str,
    extra: list[str],
    target: Callable[[list[int]], tuple[int, str, str | None]],
    load: tuple[int, int],
) -> float:
    """Start ``script`` under callgrind, warm it up, and count instructions per request under ``load``."""
    requests, connections = load
    out = processes.workdir / f"callgrind-{script}-{len(processes.started)}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(HERE / f"{script}.py"),
    ]
    started = processes.start(f"callgrind-{script}", command + extra, SERVER_CORE, stdout=subprocess.PIPE)
    try:
        port, path, cookie = target(procs.ports(started, timeout=120))
        _send_concurrently(port, path, cookie, WARMUP, connections)
        _callgrind_control("-z", started.pid)
        sent = _send_concurrently(port, path, cookie, requests, connections)
        _callgrind_control("-d", started.pid)
        return _summary(out, started) / sent
    finally:
        processes.stop(started, grace=30)


def _send_concurrently(port: int, path: str, cookie: str | None, requests: int, connections: int) -> int:
    """Send about ``requests`` requests over ``connections`` keep-alive connections at once; return how many."""
    each = max(1, requests // connections)
    with ThreadPoolExecutor(connections) as pool:
        return sum(pool.map(lambda _: _send(port, path, cookie, each), range(connections)))


def _send(port: int, path: str, cookie: str | None, count: int) -> int:
    connection = http.client.HTTPConnection(procs.HOST, port, timeout=120)
    headers = {"Cookie": cookie} if cookie else {}
    try:
        for _ in range(count):
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
    finally:
        connection.close()
    return count


def _callgrind_control(flag: str, pid: int) -> None:
    subprocess.run(["callgrind_control", flag, str(pid)], check=True, capture_output=True, timeout=120)


def _summary(out: Path, started: procs.Started) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for dump in out.parent.glob(out.name + "*"):
            for line in dump.read_text(errors="replace").splitlines():
                if line.startswith("summary:"):
                    dump.unlink()
                    return int(line.split()[1])
        time.sleep(0.2)
    raise RuntimeError(f"callgrind wrote no dump:\n{started.log_tail()}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted: every process this run started has been stopped")
