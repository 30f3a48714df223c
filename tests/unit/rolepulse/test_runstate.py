"""The running system's state file: written whole, read back, stale files ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from rolepulse.runstate import (
    RunState,
    live_state,
    process_started,
    read_state,
    remove_state,
    state_path,
    write_state,
)

ME = RunState(
    pid=os.getpid(),
    pid_started=process_started(os.getpid()),
    started_at="2026-11-25T21:00:00+00:00",
    kafka_bootstrap="127.0.0.1:41000",
    mongo_uri="mongodb://127.0.0.1:42000/?directConnection=true",
    api_url="http://127.0.0.1:8000",
    run_dir="/tmp/run",
    data_dir=None,
    processes={"tansu": 11, "api": 12},
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the PID names no process now
    return proc.pid


def test_the_state_file_lives_under_home_run(tmp_path: Path) -> None:
    assert state_path(tmp_path) == tmp_path / "run" / "current.json"


def test_a_written_state_reads_back_with_its_path(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    write_state(path, ME)
    got = read_state(path)
    assert got == ME
    assert got is not None
    assert got.path == path
    assert got.graphiql_url == "http://127.0.0.1:8000/graphql"
    assert [p.name for p in path.parent.iterdir()] == ["current.json"]  # no temp file left


def test_a_live_supervisor_makes_the_state_live(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    write_state(path, ME)
    assert live_state(path) == ME


def test_a_dead_supervisor_makes_the_state_stale(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    write_state(path, replace(ME, pid=dead_pid(), pid_started=None))
    assert read_state(path) is not None
    assert live_state(path) is None


def test_a_reused_pid_does_not_make_a_stale_file_live(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    started = process_started(os.getpid())
    assert started is not None  # Linux procfs
    write_state(path, replace(ME, pid_started=started - 1))  # same PID, another process
    assert live_state(path) is None


def test_missing_or_foreign_files_count_as_no_state(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    assert read_state(path) is None
    path.parent.mkdir(parents=True)
    for text in ["{not json", "[]", '{"version": 99}', '{"version": 1, "pid": 3}']:
        path.write_text(text)
        assert read_state(path) is None, text


def test_remove_leaves_the_file_of_another_run_alone(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    write_state(path, ME)
    remove_state(path, pid=ME.pid + 1)
    assert path.exists()
    remove_state(path, pid=ME.pid)
    assert not path.exists()
    remove_state(path, pid=ME.pid)  # idempotent
