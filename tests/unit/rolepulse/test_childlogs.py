"""`rolepulse run`'s process logs: what an exit message quotes, markers, --verbose following."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from rolepulse.childlogs import (
    LogFollower,
    ProcessLog,
    describe_exit,
    exit_report,
    marker_line,
    relevant_lines,
    why_it_exited,
)
from rolepulse.errors import explain
from rolepulse.local_run import RunFailedError, _echo


def entry(level: str, msg: str, **extra: object) -> str:
    return json.dumps({"at": "2026-11-26T00:00:00.000+00:00", "level": level, "msg": msg} | extra)


TRACEBACK = """Traceback (most recent call last):
  File "/app/rolepulse/consumers/main.py", line 12, in run
    log.error("giving up")
  File "/app/rolepulse/consumers/main.py", line 40, in apply
    raise ValueError("bad offset")
ValueError: bad offset"""


def test_json_lines_count_from_error_level_with_the_last_line_of_their_exception() -> None:
    text = "\n".join(
        [
            entry("info", "batch: 200 messages"),
            entry("warning", "slow batch"),
            entry("error", "sweep failed", exc=TRACEBACK),
            entry("info", "partitions revoked: []"),
        ]
    )
    assert relevant_lines(text) == ["sweep failed: ValueError: bad offset"]


def test_plain_error_lines_count_and_a_tracebacks_source_lines_do_not() -> None:
    text = "\n".join(
        [
            "INFO:     Started server process [26132]",
            "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000)",
            "2026-11-26T00:10:32Z ERROR tansu_server::broker: storage unavailable",
            "error: no MongoDB server answered at mongodb://127.0.0.1:1/ within 5.0 s",
            TRACEBACK,
        ]
    )
    assert relevant_lines(text, limit=10) == [
        "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000)",
        "2026-11-26T00:10:32Z ERROR tansu_server::broker: storage unavailable",
        "error: no MongoDB server answered at mongodb://127.0.0.1:1/ within 5.0 s",
        "ValueError: bad offset",
    ]
    assert relevant_lines(text, limit=1) == ["ValueError: bad offset"]


def test_repeated_errors_are_quoted_once_and_long_ones_cut() -> None:
    text = "\n".join(["error: retrying"] * 3 + ["error: " + "x" * 1000])
    found = relevant_lines(text)
    assert found[0] == "error: retrying"
    assert len(found) == 2
    assert len(found[1]) == 240
    assert found[1].endswith("…")


def test_an_exit_of_its_own_quotes_the_last_lines_when_no_line_is_an_error() -> None:
    text = marker_line("starting api: rolepulse serve") + "INFO: starting\nport taken, bye\n"
    assert why_it_exited(text, 3) == ["INFO: starting", "port taken, bye"]


def test_a_process_killed_by_a_signal_quotes_only_error_lines() -> None:
    # Its last ordinary lines were written before someone else killed it: no clue in them.
    assert why_it_exited(entry("info", "batch: 200 messages"), -9) == []
    assert why_it_exited(entry("error", "lost the database"), -9) == ["lost the database"]


def test_exits_name_the_signal() -> None:
    assert describe_exit(-9) == "exited with code -9, SIGKILL"
    assert describe_exit(2) == "exited with code 2"
    assert describe_exit(-200) == "exited with code -200"


def test_a_marker_is_a_json_line_and_begins_the_current_incarnation(tmp_path: Path) -> None:
    log = ProcessLog("consumer", tmp_path / "consumer.log")
    log.mark("starting consumer: rolepulse consume")
    with log.path.open("a") as f:
        f.write("ValueError: first crash\n")
    log.mark("restarting consumer, which exited with code 1")
    with log.path.open("a") as f:
        f.write(entry("info", "consuming postings") + "\n")
    lines = log.path.read_text().splitlines()
    assert json.loads(lines[0])["logger"] == "rolepulse.run"
    assert json.loads(lines[2])["msg"] == "restarting consumer, which exited with code 1"
    # The first crash is history: the current incarnation said nothing wrong.
    assert log.why_it_exited(-15) == []
    assert "first crash" not in log.current()
    assert "consuming postings" in log.current()


def test_the_exit_report_names_the_process_its_log_and_what_it_said(tmp_path: Path) -> None:
    log = ProcessLog("api", tmp_path / "api.log")
    log.mark("starting api: rolepulse serve")
    with log.path.open("ab") as out:
        code = subprocess.run(
            [sys.executable, "-c", "import sys; print('error: port 8000 is busy'); sys.exit(2)"],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    report = exit_report(log, code, "during start-up")
    assert report == (
        f"api exited with code 2 during start-up; log: {log.path}\n  error: port 8000 is busy"
    )
    failure = explain(RunFailedError(report))
    assert failure is not None
    assert failure.exit_code == 1


def test_the_follower_prints_only_new_complete_lines_of_every_file(tmp_path: Path) -> None:
    old = ProcessLog("consumer", tmp_path / "consumer.log")
    old.path.write_text("written before --verbose\n")
    later = ProcessLog("api", tmp_path / "api.log")  # created after the follower started
    seen: list[tuple[str, str]] = []
    follower = LogFollower([old, later], lambda name, line: seen.append((name, line)))
    with old.path.open("a") as f:
        f.write("one\ntwo, half")
        f.flush()
        follower.poll()
        assert seen == [("consumer", "one")]
        f.write(" done\n")
    later.path.write_text("INFO:     Uvicorn running\n")
    follower.poll()
    assert seen == [
        ("consumer", "one"),
        ("consumer", "two, half done"),
        ("api", "INFO:     Uvicorn running"),
    ]


def test_the_follower_thread_prints_the_last_lines_when_stopped(tmp_path: Path) -> None:
    log = ProcessLog("sweeper", tmp_path / "sweeper.log")
    seen: list[str] = []
    follower = LogFollower([log], lambda _name, line: seen.append(line)).start()
    log.path.write_text("swept\n")
    time.sleep(0.5)
    with log.path.open("a") as f:
        f.write("stopping\n")
    follower.stop()
    assert seen == ["swept", "stopping"]


def test_verbose_lines_print_above_a_live_progress_bar_as_they_are() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=60, color_system=None)
    line = '{"level": "info", "msg": "[red]not markup[/] and longer than the sixty columns here"}'
    with Progress(console=console, auto_refresh=False) as progress:
        progress.add_task("consumer applying", total=10)
        _echo(console)("consumer", line)
    text = out.getvalue()
    # Unwrapped, unstyled, whole: the terminal soft-wraps it, the bar is redrawn below it.
    assert f"  consumer | {line}" in text
    assert text.index(line) < text.rindex("consumer applying")
