"""Where a scenario's server time goes: py-spy samples of the bench server under wrk load.

    pip install py-spy && python bench/profile_server.py read-memory [--seconds=10] [--raw=stacks.txt]

Starts the bench server for the scenario's store, loads it as ``bench/run.py``
does, samples it with ``py-spy record --nonblocking`` and prints each sample's
owner: the innermost frame that belongs to the session layer (``sessions/``,
``handlers/`` and the bench routes in ``bench/``), to redis-py, to Tornado, to asyncio or to the rest of the
standard library called from them. Stdlib work called from session code (``json``, ``secrets``)
counts as the session layer's, and Tornado work called from it (``set_header``)
as Tornado's, so the split says what the session layer's own code costs.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for its stores

import load  # noqa: E402
import processes as procs  # noqa: E402
from processes import CLIENT_CORE, SERVER_CORE, Processes  # noqa: E402
from scenarios import SCENARIOS, port_for, prepare  # noqa: E402

HERE = Path(__file__).resolve().parent
_OWNERS = (
    ("sessions/", "session layer"),
    ("handlers/", "session layer"),
    ("bench/", "session layer"),
    ("redis/", "redis-py"),
    ("tornado/", "Tornado"),
    ("asyncio/", "asyncio"),
)


def owner(frame: str) -> str | None:
    """Who a ``function (path:line)`` frame belongs to, or ``None`` for the stdlib and the rest."""
    path = frame[frame.rfind("(") + 1 :]  # py-spy shortens paths: "tornado/web.py:1315)"
    return next((name for marker, name in _OWNERS if path.startswith(marker) or "/" + marker in path), None)


def summarise(stacks: list[tuple[list[str], int]]) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Samples per owner, and per innermost session-layer function."""
    owners: collections.Counter[str] = collections.Counter()
    session_functions: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        for frame in reversed(frames):
            name = owner(frame)
            if name is not None:
                owners[name] += count
                if name == "session layer":
                    session_functions[frame.rsplit(":", 1)[0] + ")"] += count
                break
        else:
            owners["other (interpreter, selectors, sockets)"] += count
    return owners, session_functions


def read_raw(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return stacks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    with Processes() as processes:
        extra = []
        if scenario.store == "redis":
            _, redis_url = procs.start_redis(processes)
            extra.append(f"--redis-url={redis_url}")
        command = procs.python_command(HERE / "server.py", f"--store={scenario.store}", *extra)
        server = processes.start("server", command, SERVER_CORE, stdout=subprocess.PIPE)
        port = port_for(scenario, procs.ports(server))
        prepared = prepare(scenario, port)
        raw = args.raw or processes.workdir / "stacks.txt"
        spy = ["py-spy", "record", "--nonblocking", "-r", "500", "-d", str(args.seconds), "-f", "raw"]
        sampler = processes.start("py-spy", [*spy, "-o", str(raw), "-p", str(server.pid)], CLIENT_CORE)
        url = f"http://{procs.HOST}:{port}{scenario.path}"
        run = load.measure(processes, load.default_client(), url, args.seconds, server.pid, prepared.cookie)
        sampler.popen.wait(timeout=args.seconds + 30)
        owners, functions = summarise(read_raw(raw))
    total = sum(owners.values())
    cpu = run.cpu_us_per_request
    if cpu is None:
        raise SystemExit(f"no server CPU time was read for pid {server.pid} (/proc unreadable?): nothing to split")
    print(f"{scenario.name}: {run.rps:.0f} req/s, {cpu:.0f} µs server CPU per request, {total} samples")
    for name, count in owners.most_common():
        print(f"  {count / total:6.1%}  ~{cpu * count / total:5.0f} µs/req  {name}")
    print("innermost session-layer functions:")
    for frame, count in functions.most_common(12):
        print(f"  {count / total:6.1%}  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
