"""The scale benchmark runs as a user would run it: every store measured at every size, tables and chart written.

It asserts nothing about speed (this machine's load decides that), only that every
figure was really measured, that the documents it writes hold them, and that the
redis-server it started is gone when it ends.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCALE = ROOT / "bench" / "scale.py"


def test_the_quick_run_measures_every_store_along_every_axis_and_stops_its_redis(tmp_path):
    out = {"json": tmp_path / "scale.json", "markdown": tmp_path / "scale.md", "svg": tmp_path / "scale.svg"}
    done = subprocess.run(
        [sys.executable, str(SCALE), "--quick", *(f"--{kind}={path}" for kind, path in out.items())],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out["json"].read_text())

    assert results["mode"] == "quick"
    assert results["skipped"] == {}
    assert set(results["stores"]) == {"memory", "sqlite", "redis"}
    sizes = results["sizes"]
    for store, data in results["stores"].items():
        for count in sizes["stored"]:
            figures = data["stored"][str(count)]
            assert set(figures) == {"load", "one-key save", "create", "destroy_user (1 session)"}, store
            assert all(value > 0 for value in figures.values()), (store, count, figures)
        for count in sizes["fields"]:
            assert all(value > 0 for value in data["fields"][str(count)].values()), (store, count)
        assert all(data["per_user"][str(count)] > 0 for count in sizes["per_user"]), store
        assert data["fill_seconds"] > 0, store
    sweep = results["stores"]["memory"]["sweep"]
    assert sweep["expired"] >= sizes["stored"][-1]
    assert sweep["writes"] >= 1
    assert sweep["longest_ms"] > 0
    shared = results["stores"]["sqlite"]["processes"]
    assert all(rates["one process"] > 0 and rates["two processes"] > 0 for rates in shared.values()), shared

    tables = out["markdown"].read_text()
    for row in (
        "| memory: load |",
        "| sqlite: create |",
        "| redis: one-key save |",
        "| sqlite: set() and save |",
        "| redis: destroy_user |",
        "| load |",
    ):
        assert row in tables
    assert f"{sweep['expired']:,} sessions expiring at once" in tables
    assert f"Filling each store to {sizes['stored'][-1]:,} sessions" in tables
    chart = out["svg"].read_text()
    assert chart.startswith("<svg")
    assert chart.count("<polyline") == 3 * (4 + 3) + 3  # every series drawn

    assert results["pids"], "the redis-server it started is reported"
    for pid in results["pids"]:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"process {pid} outlived the run"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_an_unknown_store_is_refused_by_name():
    done = subprocess.run(
        [sys.executable, str(SCALE), "--quick", "--stores=memory,mongo"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2
    assert "unknown store(s) mongo" in done.stderr
