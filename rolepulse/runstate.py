"""The running local system's state file: where `rolepulse run`'s services listen.

`rolepulse run` writes ``$ROLEPULSE_HOME/run/current.json`` once its processes are started and
removes it when it stops; every other command reads it to find the broker and the database
(after flags and environment, see ``rolepulse.endpoints``). A file left behind by a killed
`run` names a dead supervisor PID and is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

STATE_FILE = "current.json"
_VERSION = 1


def state_path(home: Path) -> Path:
    """Where `rolepulse run` publishes its endpoints: ``<home>/run/current.json``."""
    return home / "run" / STATE_FILE


@dataclass(frozen=True)
class RunState:
    """What a running `rolepulse run` publishes about itself."""

    pid: int  # the supervising `rolepulse run` process
    started_at: str  # ISO 8601, UTC
    kafka_bootstrap: str
    mongo_uri: str
    api_url: str  # http://host:port
    run_dir: str  # logs and PID files of the services
    data_dir: str | None  # SecantusDB's storage; None: in memory, lost on stop
    processes: dict[str, int] = field(default_factory=dict)  # name -> PID
    logs: dict[str, str] = field(default_factory=dict)  # name -> its log file, in run_dir
    # The supervisor's start time in clock ticks since boot (/proc/<pid>/stat): a PID the OS
    # reused for another process after a crash does not make a stale file look live.
    pid_started: int | None = None
    # name -> start time of that PID (clock ticks), filled in by write_state: a later `run`
    # stops what a killed one left running, and must not signal a process that reused a PID.
    processes_started: dict[str, int] = field(default_factory=dict, compare=False)
    # Where this state was read from; not part of the file.
    path: Path | None = field(default=None, compare=False)

    @property
    def graphiql_url(self) -> str:
        return f"{self.api_url}/graphql"

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self) | {"version": _VERSION}
        del data["path"]
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> RunState:
        """Parse a state file; ``ValueError`` when it is not one this version wrote."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.pop("version", None) != _VERSION:
            raise ValueError("not a version 1 rolepulse state file")
        try:
            return cls(**data, path=path)
        except TypeError as exc:
            raise ValueError(f"malformed state file: {exc}") from None


def write_state(path: Path, state: RunState) -> None:
    """Write atomically (temp file + rename): a reader never sees half a file.

    Records the start time of each process it names, read from /proc now.
    """
    started = {
        n: t for n, pid in state.processes.items() if (t := process_started(pid)) is not None
    }
    state = replace(state, processes_started=started)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    tmp.replace(path)


def remove_state(path: Path, pid: int) -> None:
    """Remove the state file if it is ``pid``'s: a later `run` may have replaced it."""
    state = read_state(path)
    if state is not None and state.pid == pid:
        path.unlink(missing_ok=True)


def read_state(path: Path) -> RunState | None:
    """The state in ``path``, live or not; None if there is none or it cannot be read."""
    try:
        return RunState.from_json(path.read_text(encoding="utf-8"), path)
    except (OSError, ValueError):
        return None


def live_state(path: Path) -> RunState | None:
    """The state in ``path`` if its supervisor still runs; a stale file counts as none."""
    state = read_state(path)
    return state if state is not None and is_live(state) else None


def is_live(state: RunState) -> bool:
    if not pid_alive(state.pid):
        return False
    started = process_started(state.pid)
    return state.pid_started is None or started is None or started == state.pid_started


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its parent counts as gone)."""
    if pid <= 0:  # os.kill would address a process group
        return False
    stat = _stat_fields(pid)
    if stat is not None:
        return stat[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def process_started(pid: int) -> int | None:
    """``pid``'s start time in clock ticks after boot, or None without procfs."""
    stat = _stat_fields(pid)
    # Fields after the command name: state is field 3, starttime field 22 of proc(5).
    return int(stat[19]) if stat is not None else None


def _stat_fields(pid: int) -> list[str] | None:
    with contextlib.suppress(OSError, ValueError):
        # The command name may contain spaces and parentheses: split after its last ")".
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return None
