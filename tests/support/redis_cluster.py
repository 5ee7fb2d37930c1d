"""A real Redis Cluster for the tests: 3 masters and 3 replicas on free loopback ports.

Six ``redis-server --cluster-enabled yes`` processes joined with ``redis-cli
--cluster create ... --cluster-replicas 1``, as the Redis documentation sets one
up. Nothing is written to disk but the cluster's own node files in a temporary
directory. ``cluster-require-full-coverage no`` lets the masters that are up keep
serving their slots while a failed master's replica has not taken over yet (the
default would refuse every command of the whole cluster meanwhile).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.support.live_app import free_port
from tests.support.redis_server import REDIS_SERVER

REDIS_CLI = str(Path(REDIS_SERVER).with_name("redis-cli"))
NODES = 6
#: How long a master may be unreachable before the others count it as failed (ms).
NODE_TIMEOUT_MS = 1000


class RedisCluster:
    """Start six nodes, join them, kill one master, stop them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = [free_port() for _ in range(NODES)]
        self._processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """Any node names the cluster; the first is as good as another."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            self._start_node(port)
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        self.wait_until(self._healthy, "the cluster did not become healthy")

    def _start_node(self, port: int) -> None:
        command = [
            REDIS_SERVER,
            "--port", str(port),
            "--cluster-port", str(free_port()),  # the bus port: port + 10000 may be past 65535
            "--bind", "127.0.0.1",
            "--cluster-enabled", "yes",
            "--cluster-config-file", f"nodes-{port}.conf",
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            "--cluster-require-full-coverage", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        self._processes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_until(lambda: self._answers(port), f"redis-server did not start on port {port}")

    def stop(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self._processes.values():
            process.wait(timeout=10)
        self._processes.clear()

    def kill(self, port: int) -> None:
        """SIGKILL one node, as a crash would: no goodbye to the others."""
        process = self._processes[port]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def masters(self) -> list[int]:
        """The ports of the running masters."""
        return [port for port in self._running() if self._info(port, "replication").get("role") == "master"]

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot now."""
        with redis.Redis(port=self._running()[0]) as client:
            slot = client.execute_command("CLUSTER KEYSLOT", key)
            for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    return int(master[1])
        raise LookupError(slot)

    def wait_replicated(self) -> None:
        """Wait until every replica has applied all its master has written (replication is asynchronous)."""

        def caught_up() -> bool:
            for port in self._running():
                replication = self._info(port, "replication")
                if replication.get("role") == "slave" and int(replication.get("slave_repl_offset", -1)) < int(
                    self._info(int(replication["master_port"]), "replication").get("master_repl_offset", 0)
                ):
                    return False
            return True

        self.wait_until(caught_up, "the replicas did not catch up")

    def flush(self) -> None:
        for port in self.masters():
            with redis.Redis(port=port) as client:
                client.flushall()

    def wait_until(self, condition: Callable[[], object], failure: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(failure)
            time.sleep(0.05)

    def _running(self) -> list[int]:
        return [port for port, process in self._processes.items() if process.poll() is None]

    def _healthy(self) -> bool:
        """Every node sees all slots served, and every replica has synchronised with its master."""
        for port in self._running():
            if self._info(port, "cluster").get("cluster_state") != "ok":
                return False
            replication = self._info(port, "replication")
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return len(self.masters()) == NODES // 2

    def _info(self, port: int, section: str) -> dict[str, str]:
        try:
            with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as client:
                if section == "cluster":
                    return {key: str(value) for key, value in client.execute_command("CLUSTER INFO").items()}
                return {key: str(value) for key, value in client.info(section).items()}
        except redis.RedisError:
            return {}

    def _answers(self, port: int) -> bool:
        try:
            with redis.Redis(port=port, socket_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False
