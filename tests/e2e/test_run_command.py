"""`rolepulse run` as a user runs it: it starts, answers GraphQL, and SIGTERM stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from rolepulse.demo.seed_page import generate
from rolepulse.devservices import default_home


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


def isolated_home(tmp_path: Path) -> Path:
    """A ROLEPULSE_HOME of this test's own (its run/current.json), sharing the installed
    services so nothing is installed again."""
    services = default_home() / "services"
    services.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / "services").symlink_to(services, target_is_directory=True)
    return home


def test_run_serves_the_loaded_market_and_sigterm_stops_every_process(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    sample = [e for e in generate() if e["event_type"] == "posting.observed"][:300]
    events.write_text("\n".join(json.dumps(e) for e in sample) + "\n")
    port = 18_000 + os.getpid() % 1000
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS", "ROLEPULSE_MONGO_URI")
    } | {"COLUMNS": "200", "ROLEPULSE_HOME": str(isolated_home(tmp_path))}
    with (tmp_path / "run.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rolepulse", "run", "--port", str(port), "--events", events],
            stdout=log, stderr=subprocess.STDOUT, env=env,
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
        # The other commands find the running system with no flags.
        status = subprocess.run(
            [sys.executable, "-m", "rolepulse", "status"],
            capture_output=True, text=True, timeout=30, env=env, check=False,
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert f"http://127.0.0.1:{port}/graphql" in status.stdout
        assert "DEAD" not in status.stdout
        assert "postings: p0 " in status.stdout, status.stdout  # lag known: both answer
        # Every process logs to a file of its own, which `status` names.
        logs = {
            name: Path(path) for name, path in _state(Path(env["ROLEPULSE_HOME"]))["logs"].items()
        }
        assert set(logs) == {"consumer", "api", "sweeper", "tansu", "secantusdb"}
        assert all(str(path) in status.stdout for path in logs.values()), status.stdout
        for name in ("consumer", "api", "sweeper"):
            assert f"starting {name}: rolepulse " in logs[name].read_text()
        assert '"logger": "rolepulse.consumer"' in logs["consumer"].read_text()
        assert "Uvicorn running" in logs["api"].read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    text = (tmp_path / "run.log").read_text()
    assert code == 0, text
    assert [p for p in started if alive(p)] == []
    assert not (Path(env["ROLEPULSE_HOME"]) / "run" / "current.json").exists()
    # The terminal had the progress, the ready block and the stop line; no process's log line.
    assert "ready: the data is loaded" in text
    assert "consumer applying" in text
    assert [line for line in text.splitlines() if _log_line(line)] == [], text


def _log_line(line: str) -> bool:
    """A line of a process's own log: one of our JSON lines, or uvicorn's."""
    return '"level": ' in line or line.startswith(("INFO:", "WARNING:", "ERROR:"))


def _state(home: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((home / "run" / "current.json").read_text())
    return state


CONTRACT_QUERY = (Path(__file__).parents[2] / "schema" / "contract_query.graphql").read_text()
ROLES = {"a": "ai-software-engineer", "b": "ai-product-manager"}


def _start_run(
    tmp_path: Path, env: dict[str, str], name: str, *args: str
) -> subprocess.Popen[bytes]:
    with (tmp_path / name).open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "rolepulse", "run", *args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def _wait_for(log: Path, proc: subprocess.Popen[bytes], text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {text!r} within {timeout_s}s:\n{log.read_text()}"
        time.sleep(0.2)


def _pids(home: Path) -> dict[str, int]:
    return {str(k): int(v) for k, v in _state(home)["processes"].items()}


def _postings_seen(port: int, timeout_s: float) -> int:
    """The market's postings seen, once the API answers it (retrying through a restart)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": "{ market { postingsSeen } }"},
                timeout=5,
            )
            body = r.json()
            if r.status_code == 200 and body.get("errors") is None:
                return int(body["data"]["market"]["postingsSeen"])
        except (httpx.HTTPError, ValueError):
            pass
        assert time.monotonic() < deadline, f"the API did not answer within {timeout_s}s"
        time.sleep(0.3)


def _stop_within(proc: subprocess.Popen[bytes], seconds: float) -> int:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    assert time.monotonic() - started <= seconds, f"stopping took {time.monotonic() - started:.1f}s"
    return code


def test_run_restarts_killed_children_and_a_second_run_uses_the_kept_data(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    sample = [e for e in generate() if e["event_type"] == "posting.observed"][:300]
    events.write_text("\n".join(json.dumps(e) for e in sample) + "\n")
    expected = len({(e["source"], e["posting"]["source_id"]) for e in sample})  # type: ignore[index]
    port = 19_000 + os.getpid() % 1000
    home = isolated_home(tmp_path)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS", "ROLEPULSE_MONGO_URI")
    } | {"COLUMNS": "200", "ROLEPULSE_HOME": str(home)}
    log = tmp_path / "run1.log"
    proc = _start_run(tmp_path, env, log.name, "--port", str(port), "--events", str(events))
    try:
        _wait_for(log, proc, "GraphiQL:", 300)
        assert _postings_seen(port, 10) == expected
        before = _pids(home)
        os.kill(before["consumer"], signal.SIGKILL)
        _wait_for(log, proc, "restarted consumer", 30)
        # One line, pointing at the log, where a marker begins the new incarnation.
        consumer_log = Path(_state(home)["logs"]["consumer"])
        line = next(x for x in log.read_text().splitlines() if "restarted consumer" in x)
        assert "(exited with code -9, SIGKILL)" in line
        assert line.endswith(f"log: {consumer_log}"), line
        assert "restarting consumer, which exited with code -9, SIGKILL" in consumer_log.read_text()
        os.kill(before["secantusdb"], signal.SIGKILL)
        _wait_for(log, proc, "restarted secantusdb", 60)
        # The database kept its files: the API answers from them again, health included.
        assert _postings_seen(port, 30) == expected
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        after = _pids(home)
        assert after["consumer"] != before["consumer"]
        assert after["secantusdb"] != before["secantusdb"]
        assert all(alive(after[name]) for name in ("consumer", "secantusdb", "sweeper"))
    finally:
        code = _stop_within(proc, 10)
    text = log.read_text()
    assert code == 0, text
    assert "killing" not in text, text
    assert [p for p in after.values() if alive(p)] == []

    # Second start on the same home: no load, the contract query answers within 15 s. With
    # --verbose, the processes' log lines are on the terminal as well, each named.
    log2 = tmp_path / "run2.log"
    started = time.monotonic()
    proc = _start_run(tmp_path, env, log2.name, "--port", str(port), "--verbose")
    try:
        while True:
            assert proc.poll() is None, log2.read_text()
            assert time.monotonic() - started < 15, f"no answer within 15s:\n{log2.read_text()}"
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": CONTRACT_QUERY, "variables": ROLES},
                    timeout=5,
                )  # fmt: skip
                if r.status_code == 200 and r.json().get("errors") is None:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert _postings_seen(port, 5) == expected
        text = log2.read_text()
        assert "using the data in" in text, text
        assert "publishing events" not in text, text
        _wait_for(log2, proc, '"logger": "rolepulse.consumer"', 15)
        lines = log2.read_text().splitlines()
        streamed = [x for x in lines if re.match(r" *[a-z]+ \| ", x)]
        assert any(x.startswith("  consumer | {") for x in streamed), streamed
        assert any(x.startswith("       api | INFO:") for x in streamed), streamed
        assert [x for x in lines if _log_line(x) and x not in streamed] == [], lines
    finally:
        code = _stop_within(proc, 10)
    assert code == 0, log2.read_text()


def test_a_child_failing_at_start_up_is_named_with_its_log_and_error(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    sample = [e for e in generate() if e["event_type"] == "posting.observed"][:20]
    events.write_text("\n".join(json.dumps(e) for e in sample) + "\n")
    port = 20_000 + os.getpid() % 1000
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS", "ROLEPULSE_MONGO_URI")
    } | {
        "COLUMNS": "200",
        "ROLEPULSE_HOME": str(isolated_home(tmp_path)),
        # Read by the sweeper alone: it exits at once, the others start.
        "ROLEPULSE_SWEEPER_EXPIRY_DAYS": "-1",
    }
    log = tmp_path / "run.log"
    proc = _start_run(
        tmp_path, env, log.name, "--port", str(port), "--memory", "--events", str(events)
    )
    code = proc.wait(timeout=120)
    text = log.read_text()
    assert code == 1, text
    # Named, with its log, and the log's error line quoted: no digging, no traceback.
    found = re.search(r"sweeper exited with code 2 .*; log: (\S+)\n  (.*expiry_days.*)", text)
    assert found is not None, text
    sweeper_log = Path(found[1]).expanduser()
    assert found[2] in sweeper_log.read_text()  # kept: the run failed
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if _log_line(line)] == [], text
