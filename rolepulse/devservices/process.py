"""One service process: spawn with logs in a run dir, wait until a probe passes, stop by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

Probe = Callable[[], None]

_POLL_S = 0.05
_LOG_TAIL_LINES = 40


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
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                env=self._env,
                start_new_session=True,
            )
        record = {"pid": self._popen.pid, "argv": self.argv, "port": self.port}
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


def stop_recorded(pid_file: Path, grace_s: float = 10.0) -> bool:
    """Stop a service started by another process from its PID file; True if one was stopped.

    The recorded command line is compared with ``/proc/<pid>/cmdline`` so a PID the OS has
    since reused for an unrelated process is never signalled.
    """
    try:
        record = json.loads(pid_file.read_text())
    except FileNotFoundError:
        return False
    pid, argv0 = int(record["pid"]), str(record["argv"][0])
    stopped = False
    if _alive(pid) and _runs(pid, argv0):
        _signal_group(pid, signal.SIGTERM)
        if not _wait_gone(pid, grace_s):
            _signal_group(pid, signal.SIGKILL)
            _wait_gone(pid, grace_s)
        stopped = True
    pid_file.unlink(missing_ok=True)
    return stopped


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (zombies awaiting their parent count as gone)."""
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _runs(pid: int, argv0: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(part.decode(errors="replace") == argv0 for part in cmdline)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(_POLL_S)
    return not _alive(pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The service leads its own session (start_new_session), so its group id is its PID.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
