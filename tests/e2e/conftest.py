"""`rolepulse serve` as a process of its own, on a free port, over this test's database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rolepulse.settings import MongoSettings

START_TIMEOUT_S = 60


@dataclass(frozen=True)
class ApiProcess:
    url: str  # http://127.0.0.1:<port>
    log: Path  # uvicorn's output, for failure messages

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


StartApi = Callable[..., ApiProcess]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start_api(mongo_settings: MongoSettings, tmp_path: Path) -> Iterator[StartApi]:
    """`start_api(ROLEPULSE_API_X="...")` starts `rolepulse serve`; it is stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> ApiProcess:
        port = free_port()
        log = tmp_path / f"api-{port}.log"
        environment = os.environ | {
            "ROLEPULSE_MONGO_URI": mongo_settings.uri,
            "ROLEPULSE_MONGO_DATABASE": mongo_settings.database,
            "ROLEPULSE_API_PORT": str(port),
            **env,
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "rolepulse", "serve"],
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        api = ApiProcess(f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"rolepulse serve exited:\n{api.log_text()}"
            assert time.monotonic() < deadline, f"no /healthz within {START_TIMEOUT_S}s"
            try:
                if httpx.get(f"{api.url}/healthz", timeout=2).status_code == 200:
                    return api
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is a clean exit too.
        assert code in (0, -signal.SIGTERM), f"rolepulse serve exited with {code} on SIGTERM"
