"""Driving one measurement: a load generator against one URL, and the server's CPU time.

``wrk`` is used when installed (``-t1 -c32``, latency distribution on);
otherwise ``bench/loadgen.py``, a bounded asyncio client. Either way the load
generator runs in its own process, pinned to the client core, for a fixed
number of seconds, and the server's CPU time is read before and after, so
that CPU µs per request is measured, not estimated.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from processes import CLIENT_CORE, Processes, cpu_seconds, python_command

CONNECTIONS = 32
LOADGEN = Path(__file__).with_name("loadgen.py")
_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


@dataclass
class Measurement:
    """One load-generator run against one URL."""

    requests: int
    seconds: float
    p50_us: float
    p99_us: float
    failed: int  # answers that were not 2xx/3xx, plus socket errors
    server_cpu_s: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def core_share(self) -> float | None:
        """How much of one core the server used during the run (1.0: it was the bottleneck)."""
        return None if self.server_cpu_s is None or not self.seconds else self.server_cpu_s / self.seconds

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s / self.requests * 1e6


def default_client() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio"


def measure(
    processes: Processes,
    client: str,
    url: str,
    seconds: int,
    server_pid: int,
    cookie: str | None = None,
) -> Measurement:
    """Load ``url`` for ``seconds``; ``cookie`` is sent as a ``Cookie`` header on every request."""
    headers = [] if cookie is None else [f"Cookie: {cookie}"]
    if client == "wrk":
        command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
        command += [arg for header in headers for arg in ("-H", header)] + [url]
    else:
        command = python_command(LOADGEN, url, f"--connections={CONNECTIONS}", f"--duration={seconds}")
        command += [f"--header={header}" for header in headers]
    cpu_before = cpu_seconds(server_pid)
    started = processes.start(client, command, CLIENT_CORE, stdout=subprocess.PIPE)
    try:
        output, _ = started.popen.communicate(timeout=seconds + 30)
    finally:
        processes.stop(started)
    cpu_after = cpu_seconds(server_pid)
    if started.popen.returncode != 0:
        raise RuntimeError(f"{client} failed ({started.popen.returncode}):\n{output}\n{started.log_tail()}")
    parsed = parse_wrk(output) if client == "wrk" else json.loads(output)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Measurement(**parsed, server_cpu_s=cpu)


def parse_wrk(output: str) -> dict[str, float]:
    """Pick requests, duration, p50, p99 and failures out of ``wrk --latency`` output."""
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(\w+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(\w+)", output, re.MULTILINE)
    if not (done and p50 and p99):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": int(done.group(1)),
        "seconds": float(done.group(2)) * _UNITS[done.group(3)] / 1e6,
        "p50_us": float(p50.group(1)) * _UNITS[p50.group(2)],
        "p99_us": float(p99.group(1)) * _UNITS[p99.group(2)],
        "failed": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }
