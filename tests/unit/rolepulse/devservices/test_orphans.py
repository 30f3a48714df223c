"""Leftovers of a killed `rolepulse run`: children die with their parent; the next run stops
what is provably its own, never a process that reused a PID, and names a foreign data-dir
holder. Driven with plain Python child processes standing in for the services."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from rolepulse.devservices.orphans import (
    DataDirBusyError,
    RunAlreadyRunningError,
    lock_holders,
    recover_previous_run,
)
from rolepulse.devservices.process import (
    ServiceProcess,
    command_line,
    pid_alive,
    read_recorded,
)
from rolepulse.runstate import RunState, process_started, read_state, state_path, write_state

SLEEP = "import time; time.sleep(120)"
# What `run` starts its children as, as far as /proc can tell: [python, ..., -m, rolepulse, X].
CHILD = [sys.executable, "-c", SLEEP, "-m", "rolepulse", "consume"]
OTHER = [sys.executable, "-c", SLEEP, "unrelated"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts, each its own session (as `run` starts them); all reaped."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def start(procs: list[subprocess.Popen[bytes]], argv: list[str]) -> int:
    proc = subprocess.Popen(argv, start_new_session=True)
    procs.append(proc)
    assert wait_until(lambda: command_line(proc.pid) == argv), "the child did not start"
    return proc.pid


def stale_state(home: Path, processes: dict[str, int]) -> RunState:
    """A state file whose supervisor is dead; write_state records the start times."""
    state = RunState(
        pid=dead_pid(),
        pid_started=None,
        started_at="2026-11-25T21:00:00+00:00",
        kafka_bootstrap="127.0.0.1:41000",
        mongo_uri="mongodb://127.0.0.1:42000/?directConnection=true",
        api_url="http://127.0.0.1:8000",
        run_dir=str(home / "run" / "services-dead"),
        data_dir=None,
        processes=processes,
    )
    write_state(state_path(home), state)
    return state


def test_a_child_gets_sigterm_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent_code = (
        "import subprocess, sys, time\n"
        "from rolepulse.devservices.process import die_with_parent\n"
        f"p = subprocess.Popen(die_with_parent({OTHER!r}), start_new_session=True)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        # Same PID, the real program: the wrapper set the signal and exec'd it.
        assert wait_until(lambda: command_line(child) == OTHER)
        parent.kill()  # SIGKILL: no handler of the parent runs
        assert wait_until(lambda: not pid_alive(child), 5), "the child outlived its parent"
    finally:
        parent.kill()
        parent.communicate(timeout=10)  # reaps it and closes the pipe
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)


def test_die_with_parent_keeps_the_pid_file_identity(tmp_path: Path) -> None:
    service = ServiceProcess("sleeper", OTHER, 1, tmp_path, probe=lambda: None)
    service.start(timeout_s=5)
    try:
        recorded = read_recorded(service.pid_path)
        assert recorded is not None
        assert recorded.pid == service.pid
        assert recorded.started == process_started(service.pid)
        assert recorded.owner == os.getpid()
        assert not recorded.orphaned()
        assert wait_until(recorded.running)
    finally:
        service.stop()


def test_the_state_file_records_each_process_start_time(
    tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    pid = start(spawn, CHILD)
    stale_state(tmp_path, {"consumer": pid, "gone": dead_pid()})
    state = read_state(state_path(tmp_path))
    assert state is not None
    assert state.processes_started == {"consumer": process_started(pid)}


def test_leftovers_of_a_dead_run_are_stopped_and_nothing_else(
    tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    consumer, api, sweeper = start(spawn, CHILD), start(spawn, OTHER), start(spawn, CHILD)
    state = stale_state(tmp_path, {"consumer": consumer, "api": api, "sweeper": sweeper})
    # The sweeper's PID "was reused": another start time than the one recorded.
    data = json.loads(state_path(tmp_path).read_text())
    data["processes_started"]["sweeper"] -= 1
    state_path(tmp_path).write_text(json.dumps(data))
    # A service whose spawner died, from its PID file; one whose spawner lives is left alone.
    run_dir = tmp_path / "run" / "services-old"
    run_dir.mkdir(parents=True)
    tansu, mine = start(spawn, OTHER), start(spawn, OTHER)
    dead = dead_pid()
    for name, pid, owner in (("tansu", tansu, dead), ("mine", mine, os.getpid())):
        record = {"pid": pid, "argv": OTHER, "port": 1, "started": process_started(pid)}
        record |= {"owner": owner, "owner_started": process_started(owner)}
        (run_dir / f"{name}.pid").write_text(json.dumps(record))

    message = recover_previous_run(tmp_path, None)

    assert message is not None
    assert message.startswith(f"stopped what the killed run (PID {state.pid}) left running:")
    assert f"consumer (PID {consumer})" in message
    assert f"tansu (PID {tansu})" in message
    assert "\n" not in message
    assert not pid_alive(consumer)
    assert not pid_alive(tansu)
    assert pid_alive(api), "a command line that is not ours was signalled"
    assert pid_alive(sweeper), "a PID with another start time was signalled"
    assert pid_alive(mine), "a service whose spawner is alive was signalled"
    assert not state_path(tmp_path).exists()
    assert sorted(p.name for p in run_dir.iterdir()) == ["mine.pid"]
    assert recover_previous_run(tmp_path, None) is None  # nothing left: silent


def test_a_live_run_is_refused_and_left_alone(tmp_path: Path) -> None:
    state = stale_state(tmp_path, {})
    live = replace(state, pid=os.getpid(), pid_started=process_started(os.getpid()))
    write_state(state_path(tmp_path), live)
    with pytest.raises(RunAlreadyRunningError, match=f"already running .*PID {os.getpid()}"):
        recover_previous_run(tmp_path, None)
    assert state_path(tmp_path).exists()


def test_a_data_dir_held_by_another_process_names_it(tmp_path: Path) -> None:
    store = tmp_path / "data" / "secantusdb"
    store.mkdir(parents=True)
    lock = store / "WiredTiger.lock"
    lock.touch()
    assert lock_holders(lock) == []
    holder_code = (
        "import fcntl, sys, time\n"
        "f = open(sys.argv[1], 'r+')\n"
        "fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        assert lock_holders(lock) == [holder.pid]
        with pytest.raises(DataDirBusyError) as error:
            recover_previous_run(tmp_path, store)
        message = str(error.value)
        assert f"{store} is in use by PID {holder.pid} (" in message
        assert f"kill {holder.pid}" in message
        assert "--memory" in message
        assert "\n" not in message
        assert pid_alive(holder.pid), "a foreign holder was signalled"
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    assert lock_holders(lock) == []
    assert recover_previous_run(tmp_path, store) is None
