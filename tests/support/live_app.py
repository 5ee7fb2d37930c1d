"""Run ``python app.py`` as a real process on a free port, for tests that need one."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveApp:
    """``python app.py --port=N ...`` started and stopped by a test."""

    def __init__(
        self,
        *options: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        new_session: bool = False,
        open_files: tuple[int, int] | None = None,
    ) -> None:
        """``new_session``: the app leads a process group of its own, as a terminal's foreground job does;
        ``open_files``: the (soft, hard) open-file limit it starts with, as ``ulimit -n`` would set it."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "app.py", f"--port={self.port}", "--logging=info", *options]
        # A file, not a pipe: a pipe nobody reads fills up and blocks the app's logging.
        # Open until stop(), which keeps what it holds for output() and closes it.
        self.log = tempfile.TemporaryFile(mode="w+")
        self._output = ""
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files)) if open_files else None,
        )
        self._wait_until_serving()

    def _wait_until_serving(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited early:\n{self.output()}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("app.py did not start serving in time")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> tuple[int, str]:
        """Stop the app the way a user would (Ctrl-C); return its exit code and output."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        output = self.output()
        self.log.close()
        return self.process.returncode, output

    def output(self) -> str:
        """Everything the app has logged so far (all of it, once stopped)."""
        if not self.log.closed:
            self.log.seek(0)
            self._output = self.log.read()
        return self._output

    def __enter__(self) -> LiveApp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
