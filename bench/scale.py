"""Cost per operation as the work grows: stored sessions, session size, sessions per user, per store.

    python bench/scale.py [--quick] [--stores=memory,sqlite,redis] [--json=PATH] [--markdown=PATH] [--svg=PATH]

The per-request benchmarks (``run.py``, ``instructions.py``) measure one request
against a near-empty store. This drives the store interface itself (the calls a
manager makes: load, a one-key save, a create, ``destroy_user``) and reports the
fastest of five rounds, in microseconds per call, along three axes:

* stored sessions, 1,000 to 1,000,000: a store's cost must not grow with how many
  sessions others hold (the memory store's longest pause while a million expired
  sessions are swept is reported beside);
* fields per session, 1 to 1,000: a one-key save must cost one key's work, in the store
  and above it (``set()`` on a loaded ``Session``, held to the default size limit, then
  its save: the part of a request that writes);
* sessions of one user, 1 to 10,000: "log out everywhere" costs the user's own sessions.

Redis runs on a ``redis-server`` this script starts on a free loopback port (persistence
off) and stops however the run ends; a store that cannot run here is skipped with the
reason. SQLite's sessions beyond the first are written in one SQL transaction in the
store's layout, as its saves would write them (a million creates one by one would take
minutes). ``--quick`` runs small sizes in under a minute, for CI; it is for checking the
harness, not for figures. The tables and an SVG chart go where the options say
(by default, the Markdown to stdout, nothing else).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing
import os
import platform
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for its stores

import processes as procs  # noqa: E402
import stores as bench_stores  # noqa: E402

from sessions import Config, MemoryStore  # noqa: E402
from sessions.ids import new_session_id  # noqa: E402
from sessions.limits import size_limit  # noqa: E402
from sessions.record import Journal, Meta, Record  # noqa: E402
from sessions.session import Session  # noqa: E402
from sessions.stores.base import SessionStore  # noqa: E402
from sessions.stores.redis import RedisStore  # noqa: E402
from sessions.stores.sqlite import SQLiteStore  # noqa: E402

NS = "scale"
STORES = ("memory", "sqlite", "redis")
FULL = {
    "stored": (1_000, 10_000, 100_000, 1_000_000),
    "fields": (1, 10, 100, 1_000),
    "per_user": (1, 10, 100, 1_000, 10_000),
}
QUICK = {"stored": (1_000, 3_000), "fields": (1, 10, 100), "per_user": (1, 10, 100)}
#: Each figure is the fastest of this many rounds: the round least disturbed by whatever else the
#: machine runs (``timeit``'s advice), since a busy machine only ever adds time.
ROUNDS = 5
#: Calls per round: enough to average a call's noise away, few enough for a million-session store.
CALLS = {"full": 200, "quick": 20}
#: Writes through ``Session`` per round on the fields axis (over its five sessions).
SESSION_WRITES = 40
LIFETIME = 3600.0
#: How long each process count runs for SQLite's two-process figures (full, quick).
PROCESS_SECONDS = {False: 10.0, True: 0.5}


class ShiftedClock:
    """The wall clock plus an offset the run moves forward, to expire every stored session at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def journal(clock: Callable[[], float], *, create: bool, sets: dict[str, str], user: str | None = None) -> Journal:
    now = clock()
    return Journal(Meta(created=now, touched=now, expires_at=now + LIFETIME, user=user), create=create, sets=sets)


async def per_call(calls: Callable[[], Iterable[Awaitable[Any]]]) -> float:
    """The fastest of ``ROUNDS`` rounds, in microseconds per call, the calls awaited one after another."""
    rounds = []
    for _ in range(ROUNDS):
        awaitables = list(calls())
        started = time.perf_counter()
        for awaitable in awaitables:
            await awaitable
        rounds.append((time.perf_counter() - started) / len(awaitables) * 1e6)
    return min(rounds)


class Bench:
    """One store under measurement, with the session IDs it holds."""

    def __init__(self, name: str, store: SessionStore, clock: ShiftedClock, calls: int) -> None:
        self.name, self.store, self.clock, self.calls = name, store, clock, calls
        self.ids: list[str] = []

    async def fill(self, count: int, fields: dict[str, str]) -> None:
        """Bring the store to ``count`` sessions (of ``fields``), adding to those it holds.

        The objects made so far are then frozen out of the garbage collector's full passes
        (``gc.freeze``), whose cost grows with everything a process holds, not with the store.
        """
        new = [new_session_id() for _ in range(count - len(self.ids))]
        if isinstance(self.store, SQLiteStore) and new:
            await self.store.save(NS, new[0], journal(self.clock, create=True, sets=fields))  # lays the file out
            self._fill_sqlite(new[1:], fields)
        else:
            for start in range(0, len(new), 256):  # concurrently: Redis answers a batch per round trip
                chunk = new[start : start + 256]
                await asyncio.gather(
                    *(self.store.save(NS, i, journal(self.clock, create=True, sets=fields)) for i in chunk)
                )
        self.ids += new
        gc.collect()
        gc.freeze()

    def _fill_sqlite(self, new: list[str], fields: dict[str, str]) -> None:
        assert isinstance(self.store, SQLiteStore)
        now = self.clock()
        with sqlite3.connect(self.store.path) as db:
            db.executemany(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, NULL, ?, NULL)",
                [(NS, i, now, now, now + LIFETIME) for i in new],
            )
            db.executemany(
                "INSERT INTO session_fields VALUES (?, ?, ?, ?)",
                [(NS, i, name, text) for i in new for name, text in fields.items()],
            )

    def sample(self) -> list[str]:
        return random.sample(self.ids, min(self.calls, len(self.ids)))

    async def load(self, ids: list[str] | None = None) -> float:
        return await per_call(lambda: [self.store.load(NS, i) for i in ids or self.sample()])

    async def one_key_save(self, ids: list[str] | None = None) -> float:
        def calls() -> list[Awaitable[Any]]:
            sets = {"v:counter": str(random.randrange(1000))}
            return [self.store.save(NS, i, journal(self.clock, create=False, sets=sets)) for i in ids or self.sample()]

        return await per_call(calls)

    async def set_and_save(self, ids: list[str]) -> float:
        """``set()`` of one key on a loaded session, held to the default size limit, then its save.

        Each call gets its own copy of the loaded record, made before the clock starts (the
        load has its own row); a session counts its bytes at its first write, so this is
        the write part of a request at this size.
        """
        loaded = [(i, await self.store.load(NS, i)) for i in ids]
        limit = size_limit(Config(), self.store, secure=False)  # as the manager picks it: 64 KB

        async def write(session: Session) -> None:
            session.set("counter", random.randrange(1000))
            session.check_size()
            await self.store.save(NS, session.id, session.take_journal(session.meta.copy(), None))

        def calls() -> list[Awaitable[Any]]:
            sessions = [
                Session(i, Record(dict(record.fields), record.meta.copy()), stored=True, limit=limit)
                for _ in range(SESSION_WRITES // len(loaded))
                for i, record in loaded
                if record is not None
            ]
            return [write(session) for session in sessions]

        return await per_call(calls)

    async def create(self) -> float:
        def calls() -> list[Awaitable[Any]]:
            made = [new_session_id() for _ in range(self.calls)]
            self.ids += made
            return [self.store.save(NS, i, journal(self.clock, create=True, sets={"v:n": "1"})) for i in made]

        return await per_call(calls)

    async def destroy_user(self, sessions: int) -> float:
        """Microseconds for one ``destroy_user`` of a user holding ``sessions`` sessions (the fastest round)."""
        rounds = []
        for round_number in range(ROUNDS if sessions <= 1_000 else 1):  # one round of 10,000 is long enough
            user = f"user-{sessions}-{round_number}-{random.randrange(10**9)}"
            owned = [new_session_id() for _ in range(sessions)]
            for start in range(0, sessions, 256):
                await asyncio.gather(
                    *(
                        self.store.save(NS, i, journal(self.clock, create=True, sets={"v:n": "1"}, user=user))
                        for i in owned[start : start + 256]
                    )
                )
            started = time.perf_counter()
            gone = await self.store.destroy_user(NS, user)
            rounds.append((time.perf_counter() - started) * 1e6)
            if len(gone) != sessions:
                raise RuntimeError(f"{self.name}: destroy_user ended {len(gone)} of {sessions} sessions")
        return min(rounds)

    async def longest_sweep_pause(self) -> dict[str, float]:
        """Expire every stored session at once; time each write (CPU) while the memory store sweeps them."""
        assert isinstance(self.store, MemoryStore)
        held = len(self.store)
        self.clock.offset += 2 * LIFETIME
        writer = new_session_id()
        await self.store.save(NS, writer, journal(self.clock, create=True, sets={"v:n": "1"}))
        pauses = []
        while len(self.store) > 1:
            # CPU time of this thread: a busy machine's preemptions are not the store's pauses.
            started = time.thread_time()
            await self.store.save(NS, writer, journal(self.clock, create=False, sets={"v:n": "2"}))
            pauses.append(time.thread_time() - started)
        self.ids = [writer]
        return {"expired": held, "writes": len(pauses), "longest_ms": max(pauses, default=0.0) * 1e3}


def _process_worker(path: str, ids: list[str], operation: str, go: Any, seconds: float, counts: Any) -> None:
    """One app process's share of the load: ``operation`` on random sessions of the shared file until time is up."""

    async def work() -> int:
        store = SQLiteStore(path, max_sessions=None)
        clock = ShiftedClock()
        await store.load(NS, ids[0])  # opened before the clock starts
        go.wait()
        done, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            session_id = random.choice(ids)
            if operation == "load":
                await store.load(NS, session_id)
            else:
                await store.save(NS, session_id, journal(clock, create=False, sets={"v:n": str(done)}))
            done += 1
        await store.close()
        return done

    counts.put(asyncio.run(work()))


async def sqlite_processes(workdir: Path, seconds: float) -> dict[str, dict[str, float]]:
    """Loads and one-key saves per second from one app process and from two on the same file."""
    clock = ShiftedClock()
    store = SQLiteStore(workdir / "processes.sqlite3", clock=clock, max_sessions=None)
    bench = Bench("sqlite", store, clock, 0)
    await bench.fill(10_000 if seconds > 1 else 1_000, {"v:n": "1", "v:name": '"ada"'})
    await store.close()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each, as separate app processes are
    result = {}
    for operation in ("load", "one-key save"):
        rates = []
        for processes in (1, 2):
            go, counts = context.Event(), context.Queue()
            workers = [
                context.Process(
                    target=_process_worker, args=(str(store.path), bench.ids, operation, go, seconds, counts)
                )
                for _ in range(processes)
            ]
            for worker in workers:
                worker.start()
            await asyncio.sleep(1.0)  # each opens its store
            go.set()
            rates.append(sum(counts.get(timeout=seconds + 60) for _ in workers) / seconds)
            for worker in workers:
                worker.join()
        result[operation] = {"one process": rates[0], "two processes": rates[1], "ratio": rates[1] / rates[0]}
    return result


def open_store(name: str, workdir: Path, redis_url: str | None, clock: ShiftedClock, most_held: int) -> SessionStore:
    if name == "memory":
        return MemoryStore(max_bytes=2**40, clock=clock)  # the bound is not what this measures
    if name == "sqlite":
        # A bound above all the run holds: every create reads the count, none evicts.
        path = workdir / f"scale-{random.randrange(10**9)}.sqlite3"
        return SQLiteStore(path, clock=clock, max_sessions=2 * most_held)
    assert redis_url is not None
    return RedisStore(redis_url, clock=clock)


async def measure(
    name: str, sizes: dict[str, tuple[int, ...]], calls: int, workdir: Path, redis_url: str | None
) -> dict[str, Any]:
    result: dict[str, Any] = {"stored": {}, "fields": {}, "per_user": {}, "fill_seconds": 0.0}
    clock = ShiftedClock()
    # Every session the run holds at once stays under the bound: the largest stored size, the
    # creates made at each size, and the largest user's sessions made for destroy_user.
    most_held = max(sizes["stored"]) + len(sizes["stored"]) * calls * ROUNDS + max(sizes["per_user"])
    store = open_store(name, workdir, redis_url, clock, most_held)
    bench = Bench(name, store, clock, calls)
    try:
        for count in sizes["stored"]:
            started = time.perf_counter()
            await bench.fill(count, {"v:n": "1", "v:name": '"ada"'})
            result["fill_seconds"] += time.perf_counter() - started
            result["stored"][count] = {
                "load": await bench.load(),
                "one-key save": await bench.one_key_save(),
                "create": await bench.create(),
                "destroy_user (1 session)": await bench.destroy_user(1),
            }
            print(f"  {name} {count:>9,} stored: {result['stored'][count]}", file=sys.stderr)
        if isinstance(store, MemoryStore):
            result["sweep"] = await bench.longest_sweep_pause()
        if isinstance(store, SQLiteStore):
            result["processes"] = await sqlite_processes(workdir, PROCESS_SECONDS[calls == CALLS["quick"]])
        for count in sizes["fields"]:
            fields = {f"v:key{n}": '"' + "x" * 20 + '"' for n in range(count)}
            ids = [new_session_id() for _ in range(5)]
            for i in ids:
                await store.save(NS, i, journal(clock, create=True, sets=fields))
            result["fields"][count] = {
                "load": await bench.load(ids),
                "one-key save": await bench.one_key_save(ids),
                "set() and save": await bench.set_and_save(ids),
            }
        for count in sizes["per_user"]:
            result["per_user"][count] = await bench.destroy_user(count)
    finally:
        await store.close()
    return result


def markdown(results: dict[str, Any]) -> str:
    """The three tables of a run, in microseconds per call."""
    measured = results["stores"]
    lines = [f"Fastest of {ROUNDS} rounds, µs per call; {results['machine']}.", ""]
    stored = results["sizes"]["stored"]
    lines += _table("Stored sessions", stored, [
        (f"{store}: {op}", row) for store, data in measured.items()
        for op, row in _by_operation(data["stored"], stored).items()
    ])  # fmt: skip
    filled = ", ".join(f"{store} {data['fill_seconds']:,.0f} s" for store, data in measured.items())
    lines += [f"Filling each store to {stored[-1]:,} sessions (wall clock): {filled}.", ""]
    sweep = measured.get("memory", {}).get("sweep")
    if sweep:
        lines += [
            f"Memory, {sweep['expired']:,} sessions expiring at once: swept by the next {sweep['writes']:,} writes,"
            f" the longest {sweep['longest_ms']:.2f} ms of CPU.",
            "",
        ]
    shared = measured.get("sqlite", {}).get("processes")
    if shared:
        lines += [
            "| SQLite, one file | one process (/s) | two processes (/s) | two against one |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {op} | {r['one process']:,.0f} | {r['two processes']:,.0f} | {r['ratio']:.2f}x |"
            for op, r in shared.items()
        ]
        lines.append("")
    fields = results["sizes"]["fields"]
    lines += _table("Fields per session", fields, [
        (f"{store}: {op}", row) for store, data in measured.items()
        for op, row in _by_operation(data["fields"], fields).items()
    ])  # fmt: skip
    per_user = results["sizes"]["per_user"]
    lines += _table("Sessions of the user", per_user, [
        (f"{store}: destroy_user", [data["per_user"][str(k)] for k in per_user]) for store, data in measured.items()
    ])  # fmt: skip
    return "\n".join(lines)


def _by_operation(rows: dict[str, dict[str, float]], sizes: list[int]) -> dict[str, list[float]]:
    operations = rows[str(sizes[0])].keys()
    return {op: [rows[str(size)][op] for size in sizes] for op in operations}


def _table(axis: str, sizes: list[int], rows: list[tuple[str, list[float]]]) -> list[str]:
    lines = [f"| {axis} | " + " | ".join(f"{size:,}" for size in sizes) + " |"]
    lines.append("|---|" + "---:|" * len(sizes))
    lines += [f"| {label} | " + " | ".join(_figure(value) for value in row) + " |" for label, row in rows]
    return [*lines, ""]


def _figure(microseconds: float) -> str:
    return f"{microseconds:,.0f}" if microseconds >= 100 else f"{microseconds:.1f}"


#: A line's colour says the store, its dashes the operation.
COLOURS = {"memory": "#1f77b4", "sqlite": "#ff7f0e", "redis": "#2ca02c"}
DASHES = {
    "load": "",
    "one-key save": "6,3",
    "set() and save": "1,3",
    "create": "2,2",
    "destroy_user (1 session)": "9,3,2,3",
    "destroy_user": "9,3,2,3",
}
AXES = (("stored", "stored sessions"), ("fields", "fields per session"), ("per_user", "sessions of the user"))
PANEL_WIDTH, PANEL_HEIGHT, MARGIN = 330, 300, 50


def svg(results: dict[str, Any]) -> str:
    """Three log-log panels (cost against each axis), a line per store and operation; no plotting library."""
    labels: list[str] = []
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PANEL_WIDTH * 3}" height="{PANEL_HEIGHT + 190}"'
        ' font-size="10" font-family="sans-serif">'
    ]
    for index, (axis, title) in enumerate(AXES):
        sizes = results["sizes"][axis]
        parts += _panel(index * PANEL_WIDTH + MARGIN, title, sizes, _series(results["stores"], axis, sizes), labels)
    for n, label in enumerate(labels):
        x, y = MARGIN + (n % 4) * 240, PANEL_HEIGHT + 20 + (n // 4) * 16
        parts.append(f'<line x1="{x}" y1="{y - 3}" x2="{x + 20}" y2="{y - 3}" {_stroke(label)} stroke-width="2"/>')
        parts.append(f'<text x="{x + 25}" y="{y}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _series(measured: dict[str, Any], axis: str, sizes: list[int]) -> dict[str, list[float]]:
    if axis == "per_user":
        return {f"{store}: destroy_user": [data[axis][str(k)] for k in sizes] for store, data in measured.items()}
    return {
        f"{store}: {op}": row
        for store, data in measured.items()
        for op, row in _by_operation(data[axis], sizes).items()
    }


def _panel(left: float, title: str, sizes: list[int], series: dict[str, list[float]], labels: list[str]) -> list[str]:
    """One panel's frame, ticks and lines; ``labels`` gathers the legend across panels."""
    values = [value for row in series.values() for value in row if value > 0]
    low, high = math.log10(min(values)), math.log10(max(values))
    high = high if high > low else low + 1
    span = max(math.log10(sizes[-1] / sizes[0]), 1e-9)
    inner_width, inner_height = PANEL_WIDTH - MARGIN - 20, PANEL_HEIGHT - MARGIN

    def x_of(size: float) -> float:
        return left + math.log10(size / sizes[0]) / span * inner_width

    def y_of(value: float) -> float:
        return 20 + (high - math.log10(value)) / (high - low) * inner_height

    parts = [
        f'<text x="{left}" y="12" font-weight="bold">µs per call against {title} (log-log)</text>',
        f'<rect x="{left}" y="20" width="{inner_width}" height="{inner_height}" fill="none" stroke="#999"/>',
    ]
    parts += [f'<text x="{x_of(s):.1f}" y="{PANEL_HEIGHT - 15}" text-anchor="middle">{s:,}</text>' for s in sizes]
    for exponent in range(math.ceil(low), math.floor(high) + 1):
        y = y_of(10**exponent) + 3
        parts.append(f'<text x="{left - 4}" y="{y:.1f}" text-anchor="end">{10**exponent:g}</text>')
    for label, row in series.items():
        if label not in labels:
            labels.append(label)
        points = " ".join(f"{x_of(s):.1f},{y_of(v):.1f}" for s, v in zip(sizes, row, strict=True) if v > 0)
        parts.append(f'<polyline points="{points}" fill="none" {_stroke(label)} stroke-width="1.5"/>')
    return parts


def _stroke(label: str) -> str:
    store, operation = label.split(": ", 1)
    dashes = DASHES.get(operation, "")
    return f'stroke="{COLOURS.get(store, "#000")}"' + (f' stroke-dasharray="{dashes}"' if dashes else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, under a minute: checks the harness, not the figures"
    )
    parser.add_argument("--stores", default=",".join(STORES), help="comma-separated, of: " + ", ".join(STORES))
    parser.add_argument("--max-stored", type=int, help="stop the stored-sessions axis at this many (and measure it)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--markdown", type=Path, help="write the tables here instead of to stdout")
    parser.add_argument("--svg", type=Path, help="draw the chart here")
    arguments = parser.parse_args()
    names = [name for name in arguments.stores.split(",") if name]
    unknown = sorted(set(names) - set(STORES))
    if unknown:
        parser.error(f"unknown store(s) {', '.join(unknown)}; choose among {', '.join(STORES)}")
    mode = "quick" if arguments.quick else "full"
    sizes = dict(QUICK if arguments.quick else FULL)
    if arguments.max_stored is not None:
        kept = tuple(n for n in sizes["stored"] if n < arguments.max_stored)
        sizes["stored"] = (*kept, arguments.max_stored)
    results: dict[str, Any] = {
        "mode": mode,
        "machine": f"Python {platform.python_version()} on {platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "sizes": {axis: list(values) for axis, values in sizes.items()},
        "stores": {},
        "skipped": {},
    }
    with procs.Processes() as processes:
        redis_url = None
        for name in names:
            why = bench_stores.missing(name)
            if why is not None:
                results["skipped"][name] = why
                print(f"skipping {name}: {why}", file=sys.stderr)
                continue
            if name == "redis":
                _, redis_url = procs.start_redis(processes)
            measured = asyncio.run(measure(name, sizes, CALLS[mode], processes.workdir, redis_url))
            results["stores"][name] = json.loads(json.dumps(measured))  # sizes as text keys, as in the JSON file
        results["pids"] = processes.pids()  # what it started, all stopped on leaving this block
    text = markdown(results)
    if arguments.json:
        _write(arguments.json, json.dumps(results, indent=1) + "\n")
    if arguments.svg:
        _write(arguments.svg, svg(results))
    if arguments.markdown:
        _write(arguments.markdown, text + "\n")
    else:
        print(text)


def _write(path: Path, text: str) -> None:
    """Write one output, its folder made first (bench/results/scratch/ is not in a fresh clone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    main()
