"""`rolepulse run` as a user runs it: it starts, answers GraphQL, and SIGTERM stops it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rolepulse.demo.seed_page import generate


def children_of(pid: int) -> set[int]:
    """Every live descendant of `pid`, read from /proc (Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_serves_the_loaded_market_and_sigterm_stops_every_process(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    sample = [e for e in generate() if e["event_type"] == "posting.observed"][:300]
    events.write_text("\n".join(json.dumps(e) for e in sample) + "\n")
    port = 18_000 + os.getpid() % 1000
    with (tmp_path / "run.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rolepulse", "run", "--port", str(port), "--events", events],
            stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"COLUMNS": "200"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "GraphiQL:" not in (tmp_path / "run.log").read_text():
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, "no GraphiQL URL within 300s"
            time.sleep(0.5)
        r = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ market { openPositions postingsSeen } }"},
            timeout=10,
        )
        assert r.status_code == 200
        body = r.json()
        assert body.get("errors") is None, body
        postings = {(e["source"], e["posting"]["source_id"]) for e in sample}  # type: ignore[index]
        assert body["data"]["market"]["postingsSeen"] == len(postings)
        assert (
            httpx.get(
                f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"}
            ).status_code
            == 200
        )
        started = children_of(proc.pid)
        assert len(started) >= 4  # consumer, API, broker, database
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, (tmp_path / "run.log").read_text()
    assert [p for p in started if alive(p)] == []
