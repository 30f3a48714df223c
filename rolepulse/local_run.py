"""`rolepulse run`: the whole system on one machine, supervised by one process.

Starts Tansu and SecantusDB (installing them on first use), then the consumer and the API as
child processes configured through the same environment variables production uses, loads a
market, prints the GraphiQL URL and waits. Ctrl-C or SIGTERM stops every process it started,
children first, then the services.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from consumers.topics import ensure_topics
from rolepulse.catchup import wait_consumed
from rolepulse.devservices import LocalServices, default_home
from rolepulse.ports import ensure_port_free
from rolepulse.publish import publish_lines
from rolepulse.runstate import RunState, process_started, remove_state, state_path, write_state
from rolepulse.settings import ApiSettings, KafkaSettings, MongoSettings

CONSUME_TIMEOUT_S = 600.0
CHILD_STOP_TIMEOUT_S = 15.0


class _StopRequestedError(Exception):
    pass


def run_local(port: int, events: Path | None, console: Console) -> int:
    # Before anything starts: a busy port found after minutes of loading is found too late.
    ensure_port_free(ApiSettings().host, port)
    try:
        with _signals_raise_stop(), LocalServices.start(progress=console.log) as svc:
            return _run_with(svc, port, events, console)
    except _StopRequestedError:
        console.print("stopped: API, consumer, broker and database are down")
        return 0


def _run_with(svc: LocalServices, port: int, events: Path | None, console: Console) -> int:
    bootstrap, mongo_uri = svc.kafka_bootstrap, svc.mongo_uri
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    mongo = MongoSettings(uri=mongo_uri)
    asyncio.run(ensure_topics(kafka))
    env = os.environ | {
        "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ROLEPULSE_MONGO_URI": mongo_uri,
        "ROLEPULSE_API_PORT": str(port),
    }
    with _children(env, console) as children, _published(svc, children, port):
        _load(events, kafka, mongo, console)
        _wait_healthy(port, children)
        console.print(f"\n[bold green]GraphiQL:[/] http://127.0.0.1:{port}/graphql")
        console.print("Ctrl-C stops the API, the consumer, the broker and the database.")
        _wait_until_a_child_exits(children)
        console.print("[red]a child process exited; shutting down[/]")
        return 1


def _load(
    events: Path | None, kafka: KafkaSettings, mongo: MongoSettings, console: Console
) -> None:
    lines = _event_lines(events)
    with Progress(console=console) as progress:
        sent = progress.add_task("publishing events", total=len(lines))
        ends = asyncio.run(publish_lines(lines, kafka, lambda n: progress.advance(sent, n)))
        applied = progress.add_task("consumer applying", total=sum(ends.values()))
        asyncio.run(
            wait_consumed(
                mongo,
                kafka.topic,
                ends,
                CONSUME_TIMEOUT_S,
                lambda done, _total: progress.update(applied, completed=done),
            )
        )


def _event_lines(events: Path | None) -> list[bytes]:
    if events is not None:
        return [line for line in events.read_bytes().splitlines() if line.strip()]
    from rolepulse.demo.seed_page import generate

    return [json.dumps(e, separators=(",", ":")).encode() for e in generate()]


@contextmanager
def _children(env: dict[str, str], console: Console) -> Iterator[list[subprocess.Popen[bytes]]]:
    # Own sessions, so a terminal's Ctrl-C reaches only this supervisor, which then stops the
    # children in order and waits for them (the consumer drains its batch on SIGTERM).
    cmd = [sys.executable, "-m", "rolepulse"]
    procs = [
        subprocess.Popen([*cmd, "consume"], env=env, start_new_session=True),
        subprocess.Popen([*cmd, "serve"], env=env, start_new_session=True),
        subprocess.Popen([*cmd, "sweep"], env=env, start_new_session=True),
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                console.print(f"[yellow]pid {p.pid} ignored SIGTERM; killing[/]")
                p.kill()
                p.wait()


@contextmanager
def _published(
    svc: LocalServices, children: list[subprocess.Popen[bytes]], port: int
) -> Iterator[None]:
    """Publish where everything listens in the state file other commands read; remove it on
    the way out. Written once the children run, so `rolepulse status` can watch the load."""
    path = state_path(default_home())
    consumer, api, sweeper = children
    state = RunState(
        pid=os.getpid(),
        pid_started=process_started(os.getpid()),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        kafka_bootstrap=svc.kafka_bootstrap,
        mongo_uri=svc.mongo_uri,
        api_url=f"http://{ApiSettings().host}:{port}",
        run_dir=str(svc.run_dir),
        data_dir=None,  # SecantusDB runs with --storage-path :memory:
        processes={
            "tansu": svc.kafka.pid,
            "secantusdb": svc.mongo.pid,
            "consumer": consumer.pid,
            "api": api.pid,
            "sweeper": sweeper.pid,
        },
    )
    write_state(path, state)
    try:
        yield
    finally:
        remove_state(path, os.getpid())


def _wait_healthy(port: int, children: list[subprocess.Popen[bytes]]) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in children):
            raise RuntimeError("a child process exited during start-up; see its log above")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not become healthy at {url} within 60s")


def _wait_until_a_child_exits(children: list[subprocess.Popen[bytes]]) -> None:
    while all(p.poll() is None for p in children):
        time.sleep(0.5)


@contextmanager
def _signals_raise_stop() -> Iterator[None]:
    def handler(signum: int, frame: types.FrameType | None) -> None:
        # Only the first signal interrupts; later ones must not cut the orderly shutdown short.
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        raise _StopRequestedError

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
