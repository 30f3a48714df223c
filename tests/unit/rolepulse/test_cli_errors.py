"""Ordinary mistakes through the real CLI: one line on stderr, a non-zero exit, quickly.

No broker or database runs here: the services are ports nobody listens on.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rolepulse.cli import app
from rolepulse.endpoints import KAFKA_ENV, MONGO_ENV


@pytest.fixture(autouse=True)
def no_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A home without a running system, and no endpoints in the environment."""
    monkeypatch.setenv("ROLEPULSE_HOME", str(tmp_path / "home"))
    for name in (KAFKA_ENV, MONGO_ENV, "ROLEPULSE_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    # The commands quiet aiokafka's own logging of what they report; not for later tests.
    kafka_log = logging.getLogger("aiokafka")
    level = kafka_log.level
    yield
    kafka_log.setLevel(level)


@pytest.fixture
def closed_port() -> int:
    """A port that was free a moment ago and has no listener now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str) -> tuple[Outcome, float]:
    """The CLI in this process (typer's runner)."""
    started = time.monotonic()
    result = CliRunner().invoke(app, list(args))
    return Outcome(result.exit_code, result.stdout, result.stderr), time.monotonic() - started


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[Outcome, float]:
    """The CLI in a process of its own, for commands that talk to MongoDB.

    pymongo's async monitor leaks the socket it is connecting with when client.close()
    cancels it mid-connect (pool_shared._create_connection handles TimeoutError and OSError,
    not CancelledError); in this process pytest would report that ResourceWarning against
    some later test. A real process also measures the time a user waits, start-up included.
    """
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "rolepulse", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | (env or {}),
    )
    took = time.monotonic() - started
    return Outcome(proc.returncode, proc.stdout, proc.stderr), took


def one_error_line(result: Outcome) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_normalize_a_missing_file() -> None:
    result, _ = invoke("normalize", "nope.jsonl")
    assert result.exit_code == 2
    assert one_error_line(result) == "error: no such file: nope.jsonl (check the path)"


def test_normalize_a_directory(tmp_path: Path) -> None:
    result, _ = invoke("normalize", str(tmp_path))
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: {tmp_path} is a directory: give the path of a file"


def test_produce_to_a_closed_port_fails_fast_naming_the_address(
    tmp_path: Path, closed_port: int
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event_id": "e1"}\n')
    result, took = invoke("produce", str(events), "--kafka", f"127.0.0.1:{closed_port}")
    assert result.exit_code == 3
    line = one_error_line(result)
    assert f"no Kafka broker answered at 127.0.0.1:{closed_port} (from --kafka)" in line
    assert took < 5


def test_produce_names_the_environment_when_the_address_came_from_there(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event_id": "e1"}\n')
    monkeypatch.setenv(KAFKA_ENV, f"127.0.0.1:{closed_port}")
    result, _ = invoke("produce", str(events))
    assert result.exit_code == 3
    assert f"(from {KAFKA_ENV})" in one_error_line(result)


def test_verify_without_a_database_gives_up_after_the_server_selection_timeout(
    closed_port: int,
) -> None:
    uri = f"mongodb://app:s3cret@127.0.0.1:{closed_port}/?directConnection=true"
    result, took = run_cli("verify", "--mongo", uri)
    assert result.exit_code == 3
    line = one_error_line(result)
    assert f"no MongoDB server answered at mongodb://app:***@127.0.0.1:{closed_port}/" in line
    assert "within 5.0 s" in line
    assert "s3cret" not in result.stdout + result.stderr
    assert took < 7.5  # the documented 5 s, plus start-up on a loaded machine


def test_verify_follows_the_configured_timeout(closed_port: int) -> None:
    result, took = run_cli(
        "verify",
        "--mongo",
        f"mongodb://127.0.0.1:{closed_port}/",
        env={"ROLEPULSE_MONGO_SERVER_SELECTION_TIMEOUT_MS": "500"},
    )
    assert result.exit_code == 3
    assert "within 0.5 s" in one_error_line(result)
    assert took < 3


def test_status_with_nothing_running_exits_non_zero(closed_port: int) -> None:
    # Not the default ports: a developer's own broker on 9092 would count as running.
    result, took = run_cli(
        "status",
        env={
            KAFKA_ENV: f"127.0.0.1:{closed_port}",
            MONGO_ENV: f"mongodb://127.0.0.1:{closed_port}/",
        },
    )
    assert result.exit_code == 3
    assert one_error_line(result).startswith("error: nothing is running")
    assert result.stdout == ""
    assert took < 5


def test_env_with_nothing_running_prints_no_exports() -> None:
    result, _ = invoke("env")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "no `rolepulse run` is running" in one_error_line(result)


def test_run_on_a_busy_port_stops_before_starting_anything(busy_port: int) -> None:
    result, took = invoke("run", "--port", str(busy_port))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"error: port {busy_port} is in use (by PID {os.getpid()}")
    assert line.endswith("pick another with --port")
    assert took < 2


def test_serve_on_a_busy_port_says_so(busy_port: int) -> None:
    result, _ = invoke("serve", "--port", str(busy_port))
    assert result.exit_code == 2
    assert f"port {busy_port} is in use" in one_error_line(result)
