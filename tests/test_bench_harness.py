"""The benchmark harness works: it starts its servers, produces numbers, and stops everything.

These tests run ``bench/run.py --quick`` as a user would. They assert nothing
about speed (this machine's load decides that), only that every available
scenario was really measured, that unavailable ones are skipped with a reason
instead of being counted, and that no process the harness started outlives it,
also when it is interrupted with Ctrl-C.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = [sys.executable, str(ROOT / "bench" / "run.py")]
#: A run far longer than the tests take to interrupt it (they do so as soon as its servers and load
#: generator are up), so that however slow a busy machine makes them, it cannot end on its own first.
ONE_SCENARIO_RUN = [*RUN, "--quick", "--seconds=600", "--only=anonymous", "--no-micro"]
#: Every scenario: all stores and steps are on main, and the suite needs redis-server anyway.
ALWAYS_AVAILABLE = {
    "anonymous",
    "read-floor",
    "new-session",
    "securecookie",
    *(f"{kind}-{store}" for kind in ("read", "write") for store in ("memory", "sqlite", "redis", "cookie")),
    "app-read-memory",
    "app-read-sqlite",
    "app-write-memory",
}


def run_harness(tmp_path: Path, *args: str) -> dict[str, Any]:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [*RUN, "--quick", f"--json={results}", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(results.read_text())


def assert_measured(scenario: dict[str, Any]) -> None:
    assert scenario["status"] == "measured", scenario
    assert scenario["rps"] > 0
    assert scenario["ratio"] > 0
    assert scenario["p99_us"] >= scenario["p50_us"] > 0
    assert scenario["cpu_us"] is not None
    assert scenario["cpu_us"] > 0
    assert scenario["failed"] == 0, "a scenario that answers errors must not be measured as if it worked"
    assert scenario["rounds"], "a measured scenario keeps its raw runs"


def assert_all_stopped(pids: list[int]) -> None:
    alive = [pid for pid in pids if _alive(pid)]
    assert not alive, f"processes left running: {alive}"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def test_quick_run_measures_every_available_scenario_and_stops_its_processes(tmp_path):
    report = run_harness(tmp_path)

    assert report["bare"]["rps"] > 0
    assert report["bare"]["cpu_us"] > 0
    by_name = {s["name"]: s for s in report["scenarios"]}
    for name in ALWAYS_AVAILABLE:
        assert_measured(by_name[name])
    for scenario in report["scenarios"]:
        if scenario["status"] == "skipped":
            assert scenario["skipped_because"], "a skipped scenario says why"
            assert "rps" not in scenario, "a skipped scenario has no numbers"
            assert "ratio" not in scenario, "a skipped scenario has no numbers"
        else:
            assert_measured(scenario)
    # Set-Cookie goes out only when the cookie changes: for a new session, and for a
    # cookie-only session that was written; never for a read or a server-side write.
    assert by_name["new-session"]["sets_cookie_every_response"] is True
    assert by_name["write-cookie"]["sets_cookie_every_response"] is True
    for name in (
        "read-floor",
        "read-memory",
        "read-sqlite",
        "read-redis",
        "write-memory",
        "write-sqlite",
        "write-redis",
        "securecookie",
        "read-cookie",
        "app-read-memory",
        "app-read-sqlite",
        "app-write-memory",
    ):
        assert by_name[name]["sets_cookie_every_response"] is False, name
    assert report["pids"], "the harness reports what it started"
    assert_all_stopped(report["pids"])

    micro = report["micro"]
    assert micro["codec_round_trips"]["plain"]["per_second"] > 0
    assert micro["codec_round_trips"]["aes-gcm"]["per_second"] > 0
    for store in ("memory", "sqlite", "redis", "cookie"):
        assert micro["store_load_save"][store]["per_second"] > 0, store
    assert micro["memory_store"]["traced_bytes"] > 0


def test_asyncio_client_fallback_measures_too(tmp_path):
    report = run_harness(tmp_path, "--client=asyncio", "--only=anonymous,read-memory", "--no-micro")

    assert report["plan"]["client"] == "asyncio"
    assert [s["name"] for s in report["scenarios"]] == ["anonymous", "read-memory"]
    for scenario in report["scenarios"]:
        assert_measured(scenario)
    assert report["micro"] is None
    assert_all_stopped(report["pids"])


def test_ctrl_c_stops_every_process_the_harness_started(tmp_path):
    harness = subprocess.Popen(
        [*ONE_SCENARIO_RUN, f"--json={tmp_path / 'r.json'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        assert harness.stdout is not None
        line = harness.stdout.readline()  # printed once the servers are up and the load is about to start
        while line.startswith("warning:"):  # a busy machine is announced first
            line = harness.stdout.readline()
        assert line.startswith("round 1/1"), line
        started = _wait_for_children(harness.pid, at_least=3)  # bare server, bench server, load generator
        harness.send_signal(signal.SIGINT)
        output, _ = harness.communicate(timeout=60)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
    assert harness.returncode != 0
    assert "interrupted" in output
    assert_all_stopped(started)
    assert not (tmp_path / "r.json").exists(), "an interrupted run writes no results"


def test_a_killed_harness_takes_its_processes_with_it(tmp_path):
    """Even SIGKILL, which no clean-up code sees: the children were asked to die with their parent."""
    harness = subprocess.Popen(
        [*ONE_SCENARIO_RUN, f"--json={tmp_path / 'r.json'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        started = _wait_for_children(harness.pid, at_least=3)
    finally:
        harness.kill()
        harness.wait()
    deadline = time.monotonic() + 30  # a bound on waiting, not a speed assertion
    while time.monotonic() < deadline and any(_alive(pid) for pid in started):
        time.sleep(0.1)
    assert_all_stopped(started)


def _wait_for_children(pid: int, at_least: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = _children(pid)
        if len(children) >= at_least:
            return children
        time.sleep(0.05)
    pytest.fail(f"the harness started {len(_children(pid))} processes, expected {at_least}")


def test_every_step_of_the_read_breakdown_runs_the_session_code_it_names():
    """``bench/components.py`` loops each step under callgrind; here each loop runs once, without valgrind.

    A step that raised (a renamed method) would make its figure meaningless; the set-up refuses
    to measure unless the read finds the logged-in session and has nothing to save.
    """
    components = ROOT / "bench" / "components.py"
    steps = ["nothing", "cookie", "codec", "store-open", "expiry", "session", "request-state", "typed-read"]
    for step in [*steps, "pending-write", "headers", "handler", "whole-read"]:
        done = subprocess.run([sys.executable, str(components), f"--step={step}", "--calls=3"], capture_output=True)
        assert done.returncode == 0, (step, done.stderr.decode()[-2000:])
