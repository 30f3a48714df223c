"""One service process: spawn with logs in a run dir, wait until a probe passes, stop by PID.

Every process spawned here dies with the process that spawned it (``die_with_parent``), and its
PID file names both: a later process can tell an orphan (its spawner is gone) from a service
someone still runs, and the recorded start time tells the orphan from an unrelated process that
reused its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# pid_alive is part of this module's interface (tests and callers import it from here).
from rolepulse.runstate import pid_alive as pid_alive
from rolepulse.runstate import process_started

Probe = Callable[[], None]

_POLL_S = 0.05
_LOG_TAIL_LINES = 40

# Runs between fork and the real program, in the child: PR_SET_PDEATHSIG (1) makes the kernel
# send SIGTERM when the spawning thread dies, even by SIGKILL, which no handler of the parent
# can catch. Then exec: the PID, the session and the setting stay (exec keeps it for programs
# that are not set-user-ID). If the parent died before prctl took effect, nobody will signal
# us: exit instead of running orphaned. A separate interpreter rather than preexec_fn, which
# Python documents as unsafe in a process with threads (pymongo's and the test runner's).
# Without a usable prctl the program still runs (the next `run` stops what is left over).
# Python starts with SIGPIPE and SIGXFSZ ignored, and exec keeps ignored signals ignored: they
# are reset first, as subprocess does for the programs it starts.
_PDEATHSIG_TRAMPOLINE = (
    "import ctypes,os,signal,sys\n"
    "try: ctypes.CDLL(None).prctl(1,signal.SIGTERM)\n"
    "except Exception: pass\n"
    "os.getppid()==int(sys.argv[1]) or sys.exit(1)\n"
    "for s in signal.SIGPIPE,signal.SIGXFSZ: signal.signal(s,signal.SIG_DFL)\n"
    "os.execvp(sys.argv[2],sys.argv[2:])"
)


def die_with_parent(argv: list[str]) -> list[str]:
    """``argv`` wrapped so that the process gets SIGTERM when its parent dies (Linux).

    The signal follows the death of the calling *thread*: spawn from a thread that outlives the
    child (the main thread, as `run` and the tests do). Elsewhere ``argv`` is returned as is;
    ``rolepulse run`` stops what a killed run left behind when it starts (``orphans``).
    """
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-I", "-S", "-c", _PDEATHSIG_TRAMPOLINE, str(os.getpid()), *argv]


class ServiceStartError(RuntimeError):
    """A service exited during startup or never passed its readiness probe."""

    def __init__(self, message: str, *, exited: bool) -> None:
        super().__init__(message)
        self.exited = exited  # True when the process died: worth retrying on another port


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free right now (bind to port 0 and read back the choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """A child process serving on ``port``, its PID recorded in ``<run_dir>/<name>.pid``."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        run_dir: Path,
        probe: Probe,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.run_dir = run_dir
        self._probe = probe
        self._env = {**os.environ, **(env or {})}
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._popen.pid

    @property
    def exit_code(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal)."""
        return None if self._popen is None else self._popen.poll()

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    def start(self, timeout_s: float) -> None:
        """Spawn the process and block until its probe passes; raise ``ServiceStartError``."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # A session of its own: a Ctrl-C meant for the parent does not kill the service
            # mid-test, and stop() can signal the whole group if the service forks.
            self._popen = subprocess.Popen(
                die_with_parent(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                env=self._env,
                start_new_session=True,
            )
        pid, owner = self._popen.pid, os.getpid()
        record = {
            "pid": pid,
            "argv": self.argv,
            "port": self.port,
            "started": process_started(pid),
            "owner": owner,
            "owner_started": process_started(owner),
        }
        self.pid_path.write_text(json.dumps(record))
        try:
            self._wait_ready(timeout_s)
        except BaseException:  # also Ctrl-C while waiting: never leave an orphan behind
            self.stop()
            raise

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, wait up to ``grace_s``, then SIGKILL; reap the child and drop the PID file."""
        if self._popen is not None and self._popen.poll() is None:
            _signal_group(self._popen.pid, signal.SIGTERM)
            try:
                self._popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(self._popen.pid, signal.SIGKILL)
                self._popen.wait(grace_s)
        self.pid_path.unlink(missing_ok=True)

    def log_tail(self) -> str:
        """The last lines of the service log, for error messages."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(empty log)"

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._popen is not None
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if (code := self._popen.poll()) is not None:
                raise ServiceStartError(self._failure(f"exited with code {code}"), exited=True)
            try:
                self._probe()
                return
            except Exception as exc:  # any probe failure means "not ready yet"
                last_error = exc
            time.sleep(_POLL_S)
        reason = f"not ready after {timeout_s:.0f}s (last probe error: {last_error!r})"
        raise ServiceStartError(self._failure(reason), exited=False)

    def _failure(self, reason: str) -> str:
        command = " ".join(self.argv)
        return f"{self.name} {reason}\ncommand: {command}\nlog {self.log_path}:\n{self.log_tail()}"


@dataclass(frozen=True)
class Recorded:
    """A PID file: the process, what it runs, and who started it (None in older files)."""

    name: str
    pid: int
    argv: list[str]
    started: int | None  # clock ticks after boot, /proc/<pid>/stat
    owner: int | None
    owner_started: int | None
    path: Path

    def running(self) -> bool:
        """Whether ``pid`` is still this service: same start time, same command line."""
        return is_process(self.pid, self.started, lambda cmdline: _runs(cmdline, self.argv))

    def orphaned(self) -> bool:
        """Whether the process that started it is gone (unknown for older files: False)."""
        if self.owner is None:
            return False
        return not is_process(self.owner, self.owner_started, lambda _: True)


def read_recorded(pid_file: Path) -> Recorded | None:
    """The PID file's record; None if it is missing or not one of ours."""
    try:
        record = json.loads(pid_file.read_text())
        return Recorded(
            name=pid_file.stem,
            pid=int(record["pid"]),
            argv=[str(a) for a in record["argv"]],
            started=_opt_int(record.get("started")),
            owner=_opt_int(record.get("owner")),
            owner_started=_opt_int(record.get("owner_started")),
            path=pid_file,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stop_recorded(pid_file: Path, grace_s: float = 10.0) -> bool:
    """Stop a service started by another process from its PID file; True if one was stopped.

    The recorded start time and command line are compared with ``/proc/<pid>`` so a PID the OS
    has since reused for an unrelated process is never signalled.
    """
    recorded = read_recorded(pid_file)
    stopped = recorded is not None and recorded.running()
    if recorded is not None and stopped:
        terminate([recorded.pid], grace_s)
    pid_file.unlink(missing_ok=True)
    return stopped


def is_process(pid: int, started: int | None, cmdline_ok: Callable[[list[str]], bool]) -> bool:
    """Whether ``pid`` is alive, started at ``started`` (if known) and its command line passes.

    A PID plus its start time names one process since boot; the command line is checked too,
    for records without a start time and as a second guard.
    """
    if not pid_alive(pid):
        return False
    if started is not None and process_started(pid) not in (started, None):
        return False
    cmdline = command_line(pid)
    return cmdline is not None and cmdline_ok(cmdline)


def command_line(pid: int) -> list[str] | None:
    """``pid``'s argv from /proc; None if it cannot be read (gone, or another user's)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def terminate(pids: Iterable[int], grace_s: float = 10.0) -> None:
    """SIGTERM (and SIGCONT) each process, its group if it leads one, wait up to ``grace_s``
    for all of them together, then SIGKILL what is left; returns when they are gone."""
    pending = [pid for pid in pids if pid_alive(pid)]
    for pid in pending:
        _signal_group(pid, signal.SIGTERM)
        # A stopped process (Ctrl-Z, a debugger) only acts on SIGTERM once continued; without
        # this it would wait out the grace for SIGKILL (systemd does the same).
        _signal_group(pid, signal.SIGCONT)
    deadline = time.monotonic() + grace_s
    for pid in pending:
        if not _wait_gone(pid, max(0.0, deadline - time.monotonic())):
            _signal_group(pid, signal.SIGKILL)
            _wait_gone(pid, grace_s)


def _runs(cmdline: list[str], argv: list[str]) -> bool:
    # A script is run by its interpreter: /proc shows [python, script, args...] for [script,
    # args...]. So: the program appears, and the command line ends with the arguments.
    if not argv or argv[0] not in cmdline:
        return False
    args = argv[1:]
    return not args or cmdline[-len(args) :] == args


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(_POLL_S)
    return not pid_alive(pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # Our services lead their own session (start_new_session), so their group id is their PID
    # and a fork of theirs is signalled too; a process that leads no group gets the signal
    # alone, never the unrelated group that happens to carry its number.
    with contextlib.suppress(ProcessLookupError):
        if _group(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _group(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        # After the command name: state, ppid, pgrp (proc(5)); the name may contain ")".
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    return None
