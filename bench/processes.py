"""The processes a benchmark run starts, and the guarantee that it stops them all.

Every server and load generator is started through ``Processes``, which pins
it to a core (``taskset``) when the machine has more than one, remembers it,
and stops it (SIGTERM, then SIGKILL) when the run ends, however it ends:
normally, on an error, on Ctrl-C or on SIGTERM. Should the harness itself be
killed outright, the kernel sends its children SIGTERM (``PR_SET_PDEATHSIG``).
Nothing here listens anywhere but 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from serving import HOST as HOST  # the one loopback address every bench process uses (re-exported)

#: The server gets this core to itself; load generators and redis-server share the other.
SERVER_CORE = 0
CLIENT_CORE = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def can_pin() -> bool:
    """Pinning needs ``taskset`` and two cores we are allowed to run on."""
    return shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its threads, from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Started:
    """A process this run started, with where its stderr goes (shown when it fails)."""

    name: str
    popen: subprocess.Popen[str]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """Starts pinned processes and stops every one of them on exit."""

    def __init__(self) -> None:
        self.pin = can_pin()
        self.workdir = Path(tempfile.mkdtemp(prefix="sessions-bench-"))
        self.started: list[Started] = []
        self._previous_sigterm: object = None

    def __enter__(self) -> Processes:
        # SIGTERM becomes an exception so that __exit__ runs and stops the children.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_exit)
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()
        signal.signal(signal.SIGTERM, self._previous_sigterm)  # type: ignore[arg-type]
        shutil.rmtree(self.workdir, ignore_errors=True)

    def start(self, name: str, command: list[str], core: int, *, stdout: int | None = None) -> Started:
        """Start ``command`` on ``core``; its stdout is a pipe only when asked."""
        if self.pin:
            command = ["taskset", "-c", str(core), *command]
        log_path = self.workdir / f"{name}-{len(self.started)}.log"
        with open(log_path, "w") as log:
            popen = subprocess.Popen(
                command,
                stdout=stdout if stdout is not None else subprocess.DEVNULL,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,  # Ctrl-C reaches only us; we stop them in order
                preexec_fn=_die_with_parent,
            )
        started = Started(name, popen, log_path)
        self.started.append(started)
        return started

    def stop(self, started: Started, grace: float = 5.0) -> None:
        """Ask politely (SIGTERM), then insist (SIGKILL); always reap it."""
        popen = started.popen
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(grace)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        if popen.stdout is not None:
            popen.stdout.close()

    def stop_all(self) -> None:
        for started in reversed(self.started):
            self.stop(started)

    def pids(self) -> list[int]:
        return [started.pid for started in self.started]


def ports(started: Started, timeout: float = 30) -> list[int]:
    """The ports a server announced on its first line: ``listening <port> [<port>...]``."""
    line = read_ready_line(started, timeout)
    words = line.split()
    if len(words) < 2 or words[0] != "listening":
        raise RuntimeError(f"{started.name} said {line!r} instead of 'listening <port>'")
    return [int(word) for word in words[1:]]


def read_ready_line(started: Started, timeout: float) -> str:
    """Wait for the first stdout line of a server."""
    assert started.popen.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(started.popen.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                line = started.popen.stdout.readline()
                if line:
                    return line.strip()
            if started.popen.poll() is not None:
                break
    raise RuntimeError(f"{started.name} did not start:\n{started.log_tail()}")


def python_command(script: Path, *args: str) -> list[str]:
    return [sys.executable, str(script), *args]


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the harness dies, even by SIGKILL (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the harness's own clean-up still stops its children


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def start_redis(processes: Processes) -> tuple[Started, str]:
    """Start a throwaway ``redis-server`` on a free loopback port, persistence off; return it and its URL."""
    port = free_port()
    command = ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    started = processes.start("redis-server", command, CLIENT_CORE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if started.popen.poll() is not None:
            break
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return started, f"redis://{HOST}:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start:\n{started.log_tail()}")
