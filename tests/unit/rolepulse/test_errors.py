"""The error boundary: each known exception -> one line and an exit code; bugs keep tracebacks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from pymongo.errors import ConfigurationError, OperationFailure, ServerSelectionTimeoutError
from typer.testing import CliRunner

from rolepulse import normalize_report
from rolepulse.cli import app
from rolepulse.connections import KafkaBootstrapTimeoutError
from rolepulse.devservices import InstallError, ServiceStartError
from rolepulse.endpoints import Endpoint, Endpoints
from rolepulse.errors import NothingRunningError, explain
from rolepulse.ports import PortInUseError
from rolepulse.settings import KafkaSettings

ENDPOINTS = Endpoints(
    kafka=Endpoint("127.0.0.1:9092", "default", "the default: no --kafka"),
    mongo=Endpoint("mongodb://app:s3cret@db:27017/", "env", "from ROLEPULSE_MONGO_URI"),
)
SELECTION = ServerSelectionTimeoutError("db:27017: [Errno 111] refused, Timeout: 5.0s, Topology")


def settings_error() -> Exception:
    try:
        KafkaSettings(partitions=0)
    except Exception as exc:
        return exc
    raise AssertionError("KafkaSettings accepted 0 partitions")


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (FileNotFoundError(2, "No such file", "nope.jsonl"), 2, ["no such file: nope.jsonl"]),
        (IsADirectoryError(21, "Is a directory", "/tmp"), 2, ["/tmp is a directory"]),
        (PermissionError(13, "Permission denied", "/root/x"), 2, ["permission denied: /root/x"]),
        (
            KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]"),
            3,
            ["no Kafka broker answered at 127.0.0.1:9092", "the default", "`rolepulse run`"],
        ),
        (KafkaTimeoutError(), 3, ["127.0.0.1:9092"]),
        (
            KafkaBootstrapTimeoutError("127.0.0.1:9092", 10.0),
            3,
            ["127.0.0.1:9092", "within 10 s", "ROLEPULSE_KAFKA_BOOTSTRAP_TIMEOUT_MS"],
        ),
        (
            SELECTION,
            3,
            ["mongodb://app:***@db:27017/", "from ROLEPULSE_MONGO_URI", "within 5.0 s"],
        ),
        (ConfigurationError("bad option"), 2, ["MongoDB settings", "bad option"]),
        (OperationFailure("Authentication failed.", code=18), 2, ["refused the credentials"]),
        (settings_error(), 2, ["invalid KafkaSettings: partitions"]),
        (PortInUseError(8000, "PID 5, python"), 2, ["port 8000 is in use (by PID 5, python)"]),
        (NothingRunningError("nothing is running"), 3, ["nothing is running"]),
        (InstallError("pip install tansu failed"), 1, ["pip install tansu failed"]),
        (ServiceStartError("tansu exited", exited=True), 1, ["tansu exited"]),
        (ExceptionGroup("tasks", [ValueError("x"), SELECTION]), 3, ["no MongoDB server"]),
    ],
)
def test_known_exceptions_become_a_message_and_an_exit_code(
    exc: Exception, code: int, words: list[str]
) -> None:
    failure = explain(exc, ENDPOINTS)
    assert failure is not None
    assert failure.exit_code == code
    for word in words:
        assert word in failure.message
    assert "s3cret" not in failure.message


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("a bug"),
        KeyError("k"),
        FileNotFoundError("no filename"),  # not about a path the user gave
        OperationFailure("other", code=2),
        ExceptionGroup("tasks", [ValueError("x")]),
    ],
)
def test_anything_else_is_a_bug_and_keeps_its_traceback(exc: Exception) -> None:
    assert explain(exc, ENDPOINTS) is None


def test_without_endpoints_the_message_still_says_what_failed() -> None:
    failure = explain(KafkaConnectionError("Unable to bootstrap"), None)
    assert failure is not None
    assert failure.message.startswith("cannot reach the Kafka broker")


@pytest.fixture
def failing_normalize(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """`rolepulse normalize -` raises whatever the test puts in the list."""
    raised: list[BaseException] = []

    def normalize_lines(*_: object) -> Iterator[dict[str, object]]:
        raise raised[0]
        yield {}

    monkeypatch.setattr(normalize_report, "normalize_lines", normalize_lines)
    return raised


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (FileNotFoundError(2, "No such file", "x.jsonl"), 2),
        (KafkaConnectionError("Unable to bootstrap"), 3),
        (SELECTION, 3),
        (PortInUseError(8000, None), 2),
    ],
)
def test_the_boundary_prints_one_line_and_exits_with_the_code(
    failing_normalize: list[BaseException], exc: Exception, code: int
) -> None:
    failing_normalize.append(exc)
    result = CliRunner().invoke(app, ["normalize", "-"], input="{}\n")
    assert result.exit_code == code
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert result.stdout == ""


def test_debug_lets_the_exception_through(failing_normalize: list[BaseException]) -> None:
    failing_normalize.append(FileNotFoundError(2, "No such file", "x.jsonl"))
    result = CliRunner().invoke(app, ["--debug", "normalize", "-"], input="{}\n")
    assert isinstance(result.exception, FileNotFoundError)
    assert "error: " not in result.stderr


def test_rolepulse_debug_in_the_environment_works_like_the_flag(
    failing_normalize: list[BaseException],
) -> None:
    failing_normalize.append(FileNotFoundError(2, "No such file", "x.jsonl"))
    result = CliRunner().invoke(app, ["normalize", "-"], input="{}\n", env={"ROLEPULSE_DEBUG": "1"})
    assert isinstance(result.exception, FileNotFoundError)


def test_a_bug_is_not_dressed_up_as_a_user_error(failing_normalize: list[BaseException]) -> None:
    failing_normalize.append(ValueError("a bug"))
    result = CliRunner().invoke(app, ["normalize", "-"], input="{}\n")
    assert isinstance(result.exception, ValueError)
    assert "error: " not in result.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rolepulse", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_real_process_prints_a_traceback_only_with_debug() -> None:
    quiet = run_cli("normalize", "nope.jsonl")
    assert (quiet.returncode, quiet.stdout) == (2, "")
    assert quiet.stderr == "error: no such file: nope.jsonl (check the path)\n"
    loud = run_cli("--debug", "normalize", "nope.jsonl")
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.rstrip().splitlines()[-1].startswith("FileNotFoundError")
