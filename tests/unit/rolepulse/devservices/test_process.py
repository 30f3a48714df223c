"""ServiceProcess and PID-file handling, driven with plain Python child processes."""

from __future__ import annotations

import json
import socket
import sys
import threading
from pathlib import Path

import pytest

from rolepulse.devservices.probes import kafka_api_versions
from rolepulse.devservices.process import (
    ServiceProcess,
    ServiceStartError,
    free_port,
    pid_alive,
    stop_recorded,
)

SLEEPER = [sys.executable, "-c", "import time; print('sleeping', flush=True); time.sleep(60)"]


def never_ready() -> None:
    raise ConnectionRefusedError("nobody home")


def test_a_ready_process_records_its_pid_and_stop_removes_it(tmp_path: Path) -> None:
    service = ServiceProcess("sleeper", SLEEPER, 1, tmp_path, probe=lambda: None)
    service.start(timeout_s=5)
    pid = service.pid
    assert json.loads(service.pid_path.read_text())["pid"] == pid
    assert pid_alive(pid)
    service.stop()
    assert not pid_alive(pid)
    assert not service.pid_path.exists()


def test_a_process_that_exits_fails_with_its_log_tail(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('port in use'); sys.exit(3)"]
    service = ServiceProcess("crasher", argv, 1, tmp_path, probe=never_ready)
    with pytest.raises(ServiceStartError, match="exited with code 3") as error:
        service.start(timeout_s=10)
    assert error.value.exited
    assert "port in use" in str(error.value)


def test_a_process_that_never_gets_ready_is_killed(tmp_path: Path) -> None:
    service = ServiceProcess("sleeper", SLEEPER, 1, tmp_path, probe=never_ready)
    with pytest.raises(ServiceStartError, match="not ready after") as error:
        service.start(timeout_s=0.5)
    assert not error.value.exited
    assert "nobody home" in str(error.value)
    assert not pid_alive(service.pid)


def test_stop_recorded_ignores_a_pid_now_running_something_else(tmp_path: Path) -> None:
    service = ServiceProcess("sleeper", SLEEPER, 1, tmp_path, probe=lambda: None)
    service.start(timeout_s=5)
    try:
        forged = tmp_path / "other.pid"
        forged.write_text(json.dumps({"pid": service.pid, "argv": ["/bin/not-this"], "port": 1}))
        assert not stop_recorded(forged)
        assert pid_alive(service.pid)
        assert stop_recorded(service.pid_path)
        assert not pid_alive(service.pid)
    finally:
        service.stop()


def test_stop_recorded_without_a_pid_file_is_a_no_op(tmp_path: Path) -> None:
    assert not stop_recorded(tmp_path / "missing.pid")


def answer_once(server: socket.socket, reply: bytes) -> None:
    connection, _ = server.accept()
    with connection:
        connection.recv(1024)
        connection.sendall(len(reply).to_bytes(4, "big") + reply)


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        ((0x5E1F).to_bytes(4, "big") + (0).to_bytes(2, "big") + b"\0\0\0\0", True),
        ((0x5E1F).to_bytes(4, "big") + (35).to_bytes(2, "big"), False),  # UNSUPPORTED_VERSION
        ((7).to_bytes(4, "big") + (0).to_bytes(2, "big"), False),  # someone else's answer
    ],
)
def test_kafka_probe_checks_the_api_versions_answer(reply: bytes, ok: bool) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        thread = threading.Thread(target=answer_once, args=(server, reply))
        thread.start()
        try:
            if ok:
                kafka_api_versions("127.0.0.1", port)
            else:
                with pytest.raises(ValueError, match="ApiVersions answered"):
                    kafka_api_versions("127.0.0.1", port)
        finally:
            thread.join(5)


def test_kafka_probe_fails_when_nothing_listens() -> None:
    with pytest.raises(ConnectionRefusedError):
        kafka_api_versions("127.0.0.1", free_port(), timeout_s=0.5)
