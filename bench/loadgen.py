"""A bounded asyncio HTTP/1.1 load generator, for machines without ``wrk``.

Keeps ``--connections`` keep-alive connections busy against one loopback URL
for ``--duration`` seconds, one request in flight per connection (as ``wrk``
does), and prints one JSON line: requests, seconds, latency p50/p99 (µs),
and how many answers were not 2xx/3xx (``failed``). It is slower than ``wrk``, so it
needs a core of its own to keep a Tornado server busy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


async def _connection(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> int:
    """Send requests on one connection until ``until``; return how many were not 2xx/3xx."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status_line[9:10] not in (b"2", b"3"):
                errors += 1
    finally:
        writer.close()
    return errors


async def run(url: str, connections: int, duration: float, headers: list[str]) -> dict[str, float]:
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise SystemExit("the load generator only targets 127.0.0.1")
    extra = "".join(f"{header}\r\n" for header in headers)
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n".encode()
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + duration
    tasks = [_connection(parts.hostname, parts.port or 80, request, until, latencies) for _ in range(connections)]
    errors = await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 10)
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "p50_us": cuts[49] * 1e6,
        "p99_us": cuts[98] * 1e6,
        "failed": sum(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.connections, args.duration, args.header))))


if __name__ == "__main__":
    main()
