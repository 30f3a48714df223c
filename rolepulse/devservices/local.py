"""Tansu (Kafka) and SecantusDB (MongoDB) as local child processes, for dev runs and tests."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rolepulse.devservices.install import (
    SECANTUSDB,
    TANSU,
    Progress,
    default_home,
    ensure_installed,
)
from rolepulse.devservices.orphans import ensure_data_dir_free
from rolepulse.devservices.probes import kafka_api_versions, mongo_ping
from rolepulse.devservices.process import (
    ServiceProcess,
    ServiceStartError,
    free_port,
    stop_recorded,
)

HOST = "127.0.0.1"
_READY_TIMEOUT_S = 60.0
_PORT_ATTEMPTS = 3  # a freed port can be taken by someone else before the service binds it
_ENDPOINTS_FILE = "services.json"


def tansu_process(binary: Path, port: int, run_dir: Path) -> ServiceProcess:
    """Tansu on ``HOST:port`` with in-memory storage (topics vanish when it stops)."""
    url = f"tcp://{HOST}:{port}"
    # Both flags: the listener defaults to 0.0.0.0 and the advertised one to localhost:9092.
    argv = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
    argv += ["--storage-engine", "memory://tansu/"]
    # Tansu logs every request at info level; warnings are what a failing test needs.
    env = {"RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    return ServiceProcess(
        "tansu", argv, port, run_dir, lambda: kafka_api_versions(HOST, port), env=env
    )


def secantusdb_process(binary: Path, port: int, run_dir: Path, storage: str) -> ServiceProcess:
    """SecantusDB on ``HOST:port``; ``storage`` is a WiredTiger directory or ``:memory:``."""
    config = run_dir / "secantusd.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.touch()  # an explicit (empty) config turns off discovery of ~/.secantus/ files
    argv = [str(binary), "--config", str(config), "--host", HOST, "--port", str(port)]
    argv += ["--storage-path", storage, "--log-level", "WARNING"]
    if storage != ":memory:":
        # By default SecantusDB acknowledges a commit before its journal record leaves the
        # process: a SIGKILL loses the last writes (measured: the last 3 of 30 upserts, e.g.
        # the marker of a completed load, or a consumer batch whose Kafka offsets were then
        # committed). Writing the journal at each commit costs ~0.3 ms per commit here, and
        # the consumer commits once per batch.
        argv.append("--sync-on-commit")
    uri = mongo_uri(port)
    return ServiceProcess("secantusdb", argv, port, run_dir, lambda: mongo_ping(uri))


def mongo_uri(port: int) -> str:
    return f"mongodb://{HOST}:{port}/?directConnection=true"


class LocalServices:
    """A running Tansu broker and SecantusDB server; use ``LocalServices.start()``.

    >>> with LocalServices.start() as svc:  # doctest: +SKIP
    ...     svc.kafka_bootstrap, svc.mongo_uri
    """

    def __init__(
        self, kafka: ServiceProcess, mongo: ServiceProcess, run_dir: Path, owns_run_dir: bool
    ) -> None:
        self.kafka = kafka
        self.mongo = mongo
        self.run_dir = run_dir
        self._owns_run_dir = owns_run_dir

    @classmethod
    def start(
        cls,
        home: Path | None = None,
        run_dir: Path | None = None,
        mongo_storage: str = ":memory:",
        progress: Progress | None = None,
    ) -> LocalServices:
        """Install (if needed) and start both services; they are ready when this returns.

        ``home`` defaults to ``$ROLEPULSE_HOME`` or ``~/.cache/rolepulse``; ``run_dir`` (logs,
        PID files, ``services.json``) defaults to a fresh directory under ``home/run`` that is
        removed again by ``stop()``.
        """
        home = home or default_home()
        owns_run_dir = run_dir is None
        if run_dir is None:
            (home / "run").mkdir(parents=True, exist_ok=True)
            run_dir = Path(tempfile.mkdtemp(prefix="services-", dir=home / "run"))
        try:
            stop_stale(run_dir)
            if mongo_storage != ":memory:":
                # Held by another SecantusDB, the directory would fail three starts in a row
                # with a WiredTiger traceback; say who holds it instead.
                ensure_data_dir_free(Path(mongo_storage))
            tansu_bin = ensure_installed(TANSU, home, progress)
            secantusd_bin = ensure_installed(SECANTUSDB, home, progress)
            kafka = _launch(progress, lambda port: tansu_process(tansu_bin, port, run_dir))
            try:
                mongo = _launch(
                    progress,
                    lambda port: secantusdb_process(secantusd_bin, port, run_dir, mongo_storage),
                )
            except BaseException:
                kafka.stop()
                raise
        except BaseException:
            if owns_run_dir:  # nothing runs from it: do not leave an empty run dir per failure
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        services = cls(kafka, mongo, run_dir, owns_run_dir)
        services._write_endpoints()
        return services

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka.port}"

    @property
    def mongo_uri(self) -> str:
        return mongo_uri(self.mongo.port)

    def restart_kafka(self) -> None:
        """Kill and restart Tansu on the same port (memory storage: its data is lost)."""
        self._restart(self.kafka)

    def restart_mongo(self) -> None:
        """Restart SecantusDB on the same port; data survives only with a directory storage."""
        self._restart(self.mongo)

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop both services (idempotent) and remove a run dir this object created."""
        self.kafka.stop(grace_s)
        self.mongo.stop(grace_s)
        (self.run_dir / _ENDPOINTS_FILE).unlink(missing_ok=True)
        if self._owns_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> LocalServices:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _restart(self, service: ServiceProcess) -> None:
        service.stop()
        service.start(_READY_TIMEOUT_S)

    def _write_endpoints(self) -> None:
        # Lets another process (e.g. a second CLI invocation) find and stop these services.
        endpoints = {"kafka_bootstrap": self.kafka_bootstrap, "mongo_uri": self.mongo_uri}
        (self.run_dir / _ENDPOINTS_FILE).write_text(json.dumps(endpoints, indent=2))


def stop_stale(run_dir: Path) -> list[str]:
    """Stop services whose PID files were left in ``run_dir`` (e.g. by a killed process)."""
    return [pid_file.stem for pid_file in run_dir.glob("*.pid") if stop_recorded(pid_file)]


def _launch(progress: Progress | None, build: Callable[[int], ServiceProcess]) -> ServiceProcess:
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        service = build(free_port(HOST))
        started = time.monotonic()
        try:
            service.start(_READY_TIMEOUT_S)
        except ServiceStartError as exc:
            if not exc.exited or attempt == _PORT_ATTEMPTS:
                raise
            continue
        if progress is not None:
            elapsed = time.monotonic() - started
            progress(f"{service.name} ready on {HOST}:{service.port} in {elapsed:.2f}s")
        return service
    raise AssertionError("unreachable")  # the loop returns or raises
