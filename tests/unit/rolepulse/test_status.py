"""`rolepulse status` and `rolepulse env` against a state file, with no service answering."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rolepulse.cli import app
from rolepulse.endpoints import KAFKA_ENV, MONGO_ENV, Endpoint, Endpoints
from rolepulse.runstate import RunState, process_started, state_path, write_state
from rolepulse.status import Answer, StatusReport, format_status


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running_system(home: Path, port: int) -> RunState:
    """A state file whose supervisor is this test process (so it counts as live)."""
    state = RunState(
        pid=os.getpid(),
        pid_started=process_started(os.getpid()),
        started_at="2026-11-25T21:00:00+00:00",
        kafka_bootstrap=f"127.0.0.1:{port}",
        mongo_uri=f"mongodb://app:s3cret@127.0.0.1:{port}/?directConnection=true",
        api_url=f"http://127.0.0.1:{port}",
        run_dir=str(home / "run" / "services-x"),
        data_dir=None,
        processes={"tansu": os.getpid(), "api": 2**22 + 1},
        logs={name: str(home / "run" / "services-x" / f"{name}.log") for name in ("tansu", "api")},
    )
    write_state(state_path(home), state)
    return state


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROLEPULSE_HOME", str(tmp_path))
    monkeypatch.delenv(KAFKA_ENV, raising=False)
    monkeypatch.delenv(MONGO_ENV, raising=False)
    return tmp_path


def test_status_of_a_running_system_says_what_runs_where(home: Path) -> None:
    port = closed_port()
    running_system(home, port)
    # A process of its own: pymongo leaks a socket when its monitor is cancelled mid-connect,
    # which pytest would report against a later test (see test_cli_errors.run_cli).
    proc = subprocess.run(
        [sys.executable, "-m", "rolepulse", "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"PID {os.getpid()}" in out
    assert f"http://127.0.0.1:{port}/graphql" in out
    assert f"127.0.0.1:{port}: no answer" in out
    assert f"mongodb://app:***@127.0.0.1:{port}/" in out
    assert "s3cret" not in out + proc.stderr
    assert f"tansu {os.getpid()} alive, api {2**22 + 1} DEAD" in out
    assert "in memory" in out
    assert "unknown (needs both the broker and the database)" in out
    # Where each process logs, one file a line, ready to copy.
    logs = [line.split()[-1] for line in out.splitlines() if line.endswith(".log")]
    assert logs == [f"{home}/run/services-x/tansu.log", f"{home}/run/services-x/api.log"]


def test_env_prints_eval_able_exports_of_the_running_system(home: Path) -> None:
    state = running_system(home, closed_port())
    result = CliRunner().invoke(app, ["env"], env={KAFKA_ENV: "stale:1"})
    assert result.exit_code == 0, result.output
    script = f'{result.stdout}\necho "${KAFKA_ENV}|${MONGO_ENV}"'
    shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    # The running system's, not the variable left over in the environment.
    assert shell.stdout.strip() == f"{state.kafka_bootstrap}|{state.mongo_uri}"


def test_a_stale_state_file_is_reported_and_ignored(home: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_state(state_path(home), replace(running_system(home, 1), pid=dead.pid))
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 3
    assert "no `rolepulse run` is running" in result.stderr


ENDPOINTS = Endpoints(
    kafka=Endpoint("127.0.0.1:9092", "env", f"from {KAFKA_ENV}"),
    mongo=Endpoint("mongodb://u:pw@db/", "env", f"from {MONGO_ENV}"),
)


def test_format_shows_lag_per_partition_and_a_stale_file() -> None:
    stale = RunState(
        pid=42,
        started_at="x",
        kafka_bootstrap="k",
        mongo_uri="m",
        api_url="http://h:1",
        run_dir="/r",
        data_dir=None,
    )
    report = StatusReport(
        endpoints=ENDPOINTS,
        state_file="/home/run/current.json",
        state=None,
        stale=stale,
        kafka=Answer(True, "answers"),
        mongo=Answer(True, "answers"),
        topic="postings",
        lag={1: 5, 0: 0, 2: 12},
    )
    lines = format_status(report)
    assert lines[0].split(None, 2)[2] == (
        "not running (no live /home/run/current.json; stale file left by PID 42 ignored)"
    )
    assert lines[1].endswith("127.0.0.1:9092: answers (from ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS)")
    assert "mongodb://u:***@db/: answers" in lines[2]
    assert lines[-1].endswith("postings: p0 0, p1 5, p2 12 (total 17)")
    assert report.running
