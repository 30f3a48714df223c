"""What a killed `rolepulse run` leaves behind, stopped before the next `run` starts.

A `run` killed by SIGKILL cannot stop anything. Its children get SIGTERM from the kernel
(``process.die_with_parent``), but that is not the end of them at once: SecantusDB takes seconds
to close its files, a child can ignore or outlive the signal, and outside Linux nothing is sent
at all. What is left holds what the next run needs: the API its port, SecantusDB the WiredTiger
lock of ``$ROLEPULSE_HOME/data/secantusdb`` (SecantusDB then fails to start, three times over).
So `run` first stops what it can prove is a leftover of a dead run of the same home, and refuses,
in one line, to start on a data directory that something else holds.

A process is proven ours when all of this holds, read from /proc: it is named by a stale state
file (``run/current.json`` whose supervisor is dead) or by a PID file under ``run/services-*``
whose spawner is dead; it started at the recorded time (a PID plus its start time names one
process since boot; older files without it are held to the next check alone); its command line
is the recorded one (a service) or ``python -m rolepulse ...`` (a child of `run`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from rolepulse.devservices.process import (
    ServiceStartError,
    command_line,
    is_process,
    read_recorded,
    terminate,
)
from rolepulse.runstate import (
    RunState,
    is_live,
    process_started,
    read_state,
    remove_state,
    state_path,
)

RUN_DIR_GLOB = "services-*"  # LocalServices.start's run directories under <home>/run
LOCK_FILE = "WiredTiger.lock"  # SecantusDB's storage engine holds a POSIX lock on it
# Leftovers get SIGTERM together: the consumer abandons its batch within its drain timeout
# (3.5 s under `run`), SecantusDB closes its files in about 2 s; SIGKILL after this. Not
# longer: SecantusDB's SIGTERM handler sometimes never finishes (seen here while testing),
# and its commits are on disk when acknowledged (--sync-on-commit), so SIGKILL loses nothing.
STOP_GRACE_S = 6.0
_DESCRIBE_CHARS = 100


class RunAlreadyRunningError(ServiceStartError):
    """A live `rolepulse run` already uses this home."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exited=False)


class DataDirBusyError(ServiceStartError):
    """Another process holds the database directory (its WiredTiger lock)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exited=False)


@dataclass(frozen=True)
class Leftover:
    name: str
    pid: int
    pid_file: Path | None = None


def recover_previous_run(home: Path, store: Path | None) -> str | None:
    """Stop what a killed `run` of ``home`` left running; the line to print, None if nothing.

    Raises ``RunAlreadyRunningError`` if a `run` of ``home`` is alive (it owns the state file
    the other commands read) and ``DataDirBusyError`` if ``store`` is still held afterwards.
    """
    path = state_path(home)
    state = read_state(path)
    if state is not None and is_live(state):
        raise RunAlreadyRunningError(
            f"`rolepulse run` is already running with ROLEPULSE_HOME={home} (PID {state.pid}, "
            f"GraphiQL at {state.graphiql_url}): use it, or stop it first (Ctrl-C in its "
            f"terminal, or kill {state.pid})"
        )
    leftovers = find_leftovers(home, state)
    terminate([left.pid for left in leftovers], STOP_GRACE_S)
    for left in leftovers:
        if left.pid_file is not None:
            left.pid_file.unlink(missing_ok=True)
    if state is not None:
        remove_state(path, state.pid)
    if store is not None:
        ensure_data_dir_free(store)
    if not leftovers:
        return None
    names = ", ".join(f"{left.name} (PID {left.pid})" for left in leftovers)
    # Without a state file: a run killed before it wrote one, or another user of LocalServices.
    killed = "a killed process" if state is None else f"the killed run (PID {state.pid})"
    return f"stopped what {killed} left running: {names}"


def find_leftovers(home: Path, state: RunState | None) -> list[Leftover]:
    """Processes proven to belong to a dead run of ``home`` (``state``: its stale state file)."""
    found: dict[int, Leftover] = {}
    stale_dir = None if state is None else Path(state.run_dir)
    run_dirs = set((home / "run").glob(RUN_DIR_GLOB)) | ({stale_dir} if stale_dir else set())
    for run_dir in sorted(run_dirs):
        for pid_file in sorted(run_dir.glob("*.pid")):
            recorded = read_recorded(pid_file)
            if recorded is None:
                continue
            # PID files written before owners were recorded: the stale state proves the owner.
            dead_owner = recorded.orphaned() or (recorded.owner is None and run_dir == stale_dir)
            if not dead_owner:
                continue  # a live process (a test session, a run starting up) runs it
            if recorded.running():
                found[recorded.pid] = Leftover(recorded.name, recorded.pid, pid_file)
            else:
                pid_file.unlink(missing_ok=True)
    if state is not None:
        for name, pid in state.processes.items():
            if pid not in found and _is_child(pid, state.processes_started.get(name), state):
                found[pid] = Leftover(name, pid)
    return list(found.values())


def ensure_data_dir_free(store: Path) -> None:
    """``DataDirBusyError`` naming the process that holds ``store``'s storage lock, if any."""
    holders = lock_holders(store / LOCK_FILE)
    if not holders:
        return
    who = ", ".join(f"PID {pid} ({describe(pid)})" for pid in holders if pid > 0)
    kill = " ".join(str(pid) for pid in holders if pid > 0)
    raise DataDirBusyError(
        f"the database directory {store} is in use by {who or 'another process'}, not a "
        f"leftover of a `rolepulse run` of this ROLEPULSE_HOME: stop it "
        f"({f'kill {kill}' if kill else 'see lsof'}) if nothing needs it, or run with --memory "
        f"or another ROLEPULSE_HOME"
    )


def lock_holders(path: Path, proc: Path = Path("/proc")) -> list[int]:
    """PIDs holding a POSIX lock on ``path`` (from ``/proc/locks``); -1 for a holder the
    kernel does not name (an open-file-description lock) that no open descriptor reveals."""
    try:
        st = path.stat()
        rows = (proc / "locks").read_text().splitlines()
    except OSError:
        return []
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids: set[int] = set()
    for row in rows:
        cols = row.split()
        # "1: POSIX  ADVISORY  WRITE 25584 fe:00:2312141 0 EOF"; "1: -> ..." is a waiter.
        if len(cols) < 6 or cols[1] == "->":
            continue
        with contextlib.suppress(ValueError):
            major, minor, inode = cols[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == wanted:
                pids.add(int(cols[4]))
    if pids and all(pid <= 0 for pid in pids):
        return _opened_by(path, proc) or [-1]
    return sorted(pid for pid in pids if pid > 0)


def describe(pid: int) -> str:
    """``pid``'s command line, shortened for a one-line message."""
    cmdline = command_line(pid)
    # Arguments can hold newlines (python -c ...): the message stays one line.
    text = " ".join(" ".join(cmdline).split()) if cmdline else "unknown command"
    return text if len(text) <= _DESCRIBE_CHARS else text[: _DESCRIBE_CHARS - 1] + "…"


def _is_child(pid: int, started: int | None, state: RunState) -> bool:
    if started is None and state.pid_started is not None:
        # A state file written before start times were recorded: the process must at least
        # have started after that supervisor did.
        since = process_started(pid)
        if since is not None and since < state.pid_started:
            return False
    return is_process(pid, started, _runs_rolepulse)


def _runs_rolepulse(cmdline: list[str]) -> bool:
    # `run` starts its children as [python, "-m", "rolepulse", <command>, ...].
    return any(cmdline[i : i + 2] == ["-m", "rolepulse"] for i in range(len(cmdline) - 1))


def _opened_by(path: Path, proc: Path) -> list[int]:
    target = path.resolve()
    pids = []
    for fd_dir in proc.glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(_points_to(fd, target) for fd in fd_dir.iterdir()):
                pids.append(int(fd_dir.parent.name))
    return sorted(pids)


def _points_to(fd: Path, target: Path) -> bool:
    try:
        return Path(os.readlink(fd)) == target
    except OSError:
        return False
