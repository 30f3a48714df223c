"""The logs of `rolepulse run`'s processes: one file each in the run directory, and what of them
reaches the terminal.

Every process `run` starts writes its output to ``<run dir>/<name>.log`` (Tansu and SecantusDB
already did, through ``devservices``; the consumer, the API and the sweeper do the same), so the
terminal keeps one live display: the load's progress bars, a short status block and one line per
supervision event. A file is appended to across restarts, each incarnation introduced by a marker
line in the JSON shape of our own logs. When a process exits, the lines of its current
incarnation that say why (an error-level log line, a traceback's exception, an ``error:`` line)
are quoted in the message that names its log. ``--verbose`` follows the files and prints every new
line, prefixed with the process's name, through the same console as the progress bars.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

MARKER_LOGGER = "rolepulse.run"
# An exit is explained by the end of a log, and a long-running consumer's log can be large.
_TAIL_BYTES = 256 * 1024
_MAX_CHARS = 240
_FOLLOW_POLL_S = 0.2

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A traceback's last line ("ValueError: boom", "pymongo.errors.AutoReconnect: ..."), the
# CLI's own one-line errors ("error: port 8000 is busy"), uvicorn's "ERROR:    [Errno 98] ...",
# Rust's "... ERROR tansu::broker ..." and "thread 'main' panicked at ...".
_ERROR_LINE = re.compile(
    r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure)\b|(?i:error|fatal|critical)\b)"
    r"|\b(?:ERROR|FATAL|CRITICAL)\b|panicked at"
)
_ERROR_LEVELS = {"error", "critical", "fatal"}


def marker_line(message: str, now: datetime | None = None) -> str:
    """A line marking a (re)start in a log file, shaped like the processes' own JSON lines."""
    at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    entry = {"at": at, "level": "info", "logger": MARKER_LOGGER, "msg": message}
    return json.dumps(entry) + "\n"


def describe_exit(code: int) -> str:
    """``exited with code 1``; a signal is named: ``exited with code -9, SIGKILL``."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"exited with code {code}, {signal.Signals(-code).name}"
    return f"exited with code {code}"


def relevant_lines(text: str, limit: int = 3) -> list[str]:
    """The last ``limit`` lines of a log that say what went wrong, oldest first.

    JSON lines count at error level or above (their message, and the last line of the
    exception they carry); other lines when they look like an error (see ``_ERROR_LINE``).
    """
    found: list[str] = []
    for raw in text.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if line.startswith("{"):
            summary = _json_error(line)
        # Indented lines are a traceback's source lines: `log.error(...)` says nothing.
        elif line[:1].isspace() or not _ERROR_LINE.search(line):
            summary = None
        else:
            summary = line
        if summary and (not found or found[-1] != _short(summary)):
            found.append(_short(summary))
    return found[-limit:] if limit > 0 else []


def last_lines(text: str, limit: int = 3) -> list[str]:
    """The last ``limit`` non-blank lines, for an exit whose log names no error."""
    lines = [_short(s) for raw in text.splitlines() if (s := _ANSI.sub("", raw).strip())]
    return lines[-limit:] if limit > 0 else []


def why_it_exited(text: str, code: int, limit: int = 3) -> list[str]:
    """What to quote from an incarnation's log when it exited with ``code``.

    Its error lines; failing those, after an exit of its own accord with a non-zero code, its
    last lines (whatever it said last is the best clue). A process killed by a signal was
    stopped from outside: its last ordinary lines say nothing, so nothing is quoted.
    """
    found = relevant_lines(text, limit)
    if found or code <= 0:
        return found
    return [line for line in last_lines(text, limit) if not _is_marker(line)]


def _json_error(line: str) -> str | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or str(entry.get("level", "")).lower() not in _ERROR_LEVELS:
        return None
    msg = str(entry.get("msg", "")).strip()
    exc = str(entry.get("exc") or "").strip()
    cause = exc.splitlines()[-1].strip() if exc else ""
    return f"{msg}: {cause}" if msg and cause else msg or cause or None


def _is_marker(line: str) -> bool:
    return f'"logger": "{MARKER_LOGGER}"' in line


def _short(line: str) -> str:
    return line if len(line) <= _MAX_CHARS else line[: _MAX_CHARS - 1] + "…"


class ProcessLog:
    """One process's log file and where its current incarnation's output begins in it."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._start = 0  # the whole file, until a marker says otherwise

    def mark(self, message: str) -> None:
        """Append a marker line; what follows it is the incarnation about to start."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            self._start = out.tell()
            out.write(marker_line(message))

    def current(self) -> str:
        """The current incarnation's output (its last ``_TAIL_BYTES`` at most)."""
        try:
            with self.path.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(max(self._start, size - _TAIL_BYTES))
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def why_it_exited(self, code: int, limit: int = 3) -> list[str]:
        return why_it_exited(self.current(), code, limit)


def exit_report(log: ProcessLog, code: int, when: str, limit: int = 3) -> str:
    """``<name> exited with code 2 <when>; its log <path> ends:`` and the lines that say why,
    indented below; for an error message that must not send the user digging."""
    lines = log.why_it_exited(code, limit)
    head = f"{log.name} {describe_exit(code)} {when}; log: {display_path(log.path)}"
    if not lines:
        return head
    return head + "\n" + "\n".join(f"  {line}" for line in lines)


def display_path(path: Path) -> str:
    """``path`` with the home directory shown as ``~``: the run dir is deep under it."""
    with contextlib.suppress(ValueError, RuntimeError):
        return f"~/{path.relative_to(Path.home())}"
    return str(path)


class LogFollower:
    """Prints every line appended to some log files from now on, until ``stop()``.

    Polls the files from a thread: the processes write to the files directly (a pipe through
    this supervisor would block them whenever it is busy, and kill them if it died), and the
    lines only need to reach the terminal about as fast as a person reads them.
    """

    def __init__(self, logs: Iterable[ProcessLog], emit: Callable[[str, str], None]) -> None:
        self._emit = emit
        self._files = {log.name: log.path for log in logs}
        # From now on: what was written before the user asked to see it is in the files.
        self._pos = {name: _size(path) for name, path in self._files.items()}
        self._partial = dict.fromkeys(self._files, b"")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Print what is left (the processes' last words) and stop."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def poll(self) -> None:
        """Emit the complete lines written since the last poll."""
        for name, path in self._files.items():
            try:
                with path.open("rb") as f:
                    if f.seek(0, 2) < self._pos[name]:
                        self._pos[name] = 0  # truncated or replaced: read it from the start
                    f.seek(self._pos[name])
                    data = f.read()
            except FileNotFoundError:
                continue
            self._pos[name] += len(data)
            *lines, self._partial[name] = (self._partial[name] + data).split(b"\n")
            for line in lines:
                text = _ANSI.sub("", line.decode("utf-8", errors="replace")).rstrip()
                if text:
                    self._emit(name, text)

    def _run(self) -> None:
        while not self._stopping.wait(_FOLLOW_POLL_S):
            self.poll()
        self.poll()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
