"""`rolepulse run`: the whole system on one machine, supervised by one process.

Starts Tansu and SecantusDB (installing them on first use), then the consumer, the API and the
sweeper as child processes configured through the same environment variables production uses,
loads a market into a database that has none yet, prints the GraphiQL URL and watches: a child
that exits is restarted with backoff (one line on the terminal), one that keeps crashing ends the
run. Ctrl-C or SIGTERM stops every process it started, children first, then the services.

SecantusDB keeps its data under ``$ROLEPULSE_HOME/data/secantusdb`` (``--fresh`` wipes it,
``--memory`` keeps nothing); Tansu has only memory and s3 engines here, so the broker always
starts empty: nothing in the database depends on the topic's contents (see the README).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from rolepulse.catchup import wait_consumed
from rolepulse.consumers.topics import ensure_topics
from rolepulse.devservices import LocalServices, default_home
from rolepulse.devservices.process import ServiceStartError
from rolepulse.localdata import data_dir, mark_loaded, prepare_database
from rolepulse.ports import ensure_port_free
from rolepulse.publish import publish_lines
from rolepulse.runstate import RunState, process_started, remove_state, state_path, write_state
from rolepulse.settings import ApiSettings, KafkaSettings, MongoSettings
from rolepulse.supervise import RestartPolicy, needs_load

CONSUME_TIMEOUT_S = 600.0
# Ctrl-C must stop everything within 10 s: the consumer abandons a batch it cannot finish
# draining (uncommitted, replayed by event id later) well before the supervisor would kill it.
CHILD_STOP_TIMEOUT_S = 5.5
CONSUMER_DRAIN_S = "3.5"
# SecantusDB takes ~2 s to close its files on SIGTERM; the in-memory broker has nothing to keep.
MONGO_STOP_GRACE_S = 3.0
KAFKA_STOP_GRACE_S = 0.5
_POLL_S = 0.5
CHILD_COMMANDS = {"consumer": "consume", "api": "serve", "sweeper": "sweep"}

Children = dict[str, subprocess.Popen[bytes]]


class _StopRequestedError(Exception):
    pass


def run_local(
    port: int, events: Path | None, console: Console, fresh: bool = False, memory: bool = False
) -> int:
    # Before anything starts: a busy port found after minutes of loading is found too late.
    ensure_port_free(ApiSettings().host, port)
    store = None if memory else data_dir(default_home())
    if store is not None:
        if fresh:
            shutil.rmtree(store, ignore_errors=True)
        store.mkdir(parents=True, exist_ok=True)
    storage = ":memory:" if store is None else str(store)
    try:
        with _signals_raise_stop():
            svc = LocalServices.start(mongo_storage=storage, progress=console.log)
            try:
                return _run_with(svc, port, events, store, console)
            finally:
                svc.kafka.stop(KAFKA_STOP_GRACE_S)
                svc.mongo.stop(MONGO_STOP_GRACE_S)
                svc.stop()  # both are down: removes the run dir
    except _StopRequestedError:
        console.print("stopped: API, consumer, sweeper, broker and database are down")
        return 0


def _run_with(
    svc: LocalServices, port: int, events: Path | None, store: Path | None, console: Console
) -> int:
    kafka = KafkaSettings(bootstrap_servers=svc.kafka_bootstrap)
    mongo = MongoSettings(uri=svc.mongo_uri)
    asyncio.run(ensure_topics(kafka))
    loaded = prepare_database(mongo, kafka.topic)
    if store is not None and loaded:
        console.print(f"using the data in {store}; --fresh to start over")
    elif store is not None:
        console.print(f"keeping the data in {store} for the next run")
    env = {"ROLEPULSE_CONSUMER_DRAIN_TIMEOUT_S": CONSUMER_DRAIN_S} | dict(os.environ)
    env |= {
        "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS": svc.kafka_bootstrap,
        "ROLEPULSE_MONGO_URI": svc.mongo_uri,
        "ROLEPULSE_API_PORT": str(port),
    }
    with _children(env, console) as children:
        publish = _publisher(svc, children, port, store)
        try:
            publish()
            if needs_load(events is not None, loaded):
                _load(events, kafka, mongo, console, lambda: _check_running(children))
                mark_loaded(mongo)
            _wait_healthy(port, children)
            console.print(f"\n[bold green]GraphiQL:[/] http://127.0.0.1:{port}/graphql")
            console.print("Ctrl-C stops the API, the consumer, the broker and the database.")
            reason = _supervise(svc, children, env, kafka, console, publish)
        finally:
            remove_state(state_path(default_home()), os.getpid())
    console.print(f"[red]giving up: {reason}[/]")
    return 1


def _load(
    events: Path | None,
    kafka: KafkaSettings,
    mongo: MongoSettings,
    console: Console,
    check: Callable[[], None],
) -> None:
    lines = _event_lines(events)
    with Progress(console=console) as progress:
        sent = progress.add_task("publishing events", total=len(lines))
        ends = asyncio.run(publish_lines(lines, kafka, lambda n: progress.advance(sent, n)))
        applied = progress.add_task("consumer applying", total=sum(ends.values()))

        def on_progress(done: int, _total: int) -> None:
            check()
            progress.update(applied, completed=done)

        asyncio.run(
            wait_consumed(
                mongo,
                kafka.topic,
                ends,
                CONSUME_TIMEOUT_S,
                on_progress,
            )
        )


def _event_lines(events: Path | None) -> list[bytes]:
    if events is not None:
        return [line for line in events.read_bytes().splitlines() if line.strip()]
    from rolepulse.demo.dating import shift_to_now
    from rolepulse.demo.seed_page import generate

    dated = shift_to_now(generate(), datetime.now(UTC))
    return [json.dumps(e, separators=(",", ":")).encode() for e in dated]


def _spawn(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Own sessions, so a terminal's Ctrl-C reaches only this supervisor, which then stops the
    # children in order and waits for them (the consumer drains its batch on SIGTERM).
    argv = [sys.executable, "-m", "rolepulse", CHILD_COMMANDS[name]]
    return subprocess.Popen(argv, env=env, start_new_session=True)


@contextmanager
def _children(env: dict[str, str], console: Console) -> Iterator[Children]:
    procs = {name: _spawn(name, env) for name in CHILD_COMMANDS}
    try:
        yield procs
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
        for name, p in procs.items():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                console.print(f"[yellow]{name} (pid {p.pid}) ignored SIGTERM; killing[/]")
                p.kill()
                p.wait()


def _publisher(
    svc: LocalServices, children: Children, port: int, store: Path | None
) -> Callable[[], None]:
    """Publish where everything listens in the state file other commands read; called again
    after every restart, as PIDs change."""
    path = state_path(default_home())
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    def publish() -> None:
        processes = {"tansu": svc.kafka.pid, "secantusdb": svc.mongo.pid}
        processes |= {name: p.pid for name, p in children.items()}
        state = RunState(
            pid=os.getpid(),
            pid_started=process_started(os.getpid()),
            started_at=started_at,
            kafka_bootstrap=svc.kafka_bootstrap,
            mongo_uri=svc.mongo_uri,
            api_url=f"http://{ApiSettings().host}:{port}",
            run_dir=str(svc.run_dir),
            data_dir=None if store is None else str(store),
            processes=processes,
        )
        write_state(path, state)

    return publish


def _supervise(
    svc: LocalServices,
    children: Children,
    env: dict[str, str],
    kafka: KafkaSettings,
    console: Console,
    publish: Callable[[], None],
) -> str:
    """Restart whatever exits until a stop signal (raised out of here) or a child that keeps
    crashing; returns the reason to give up."""
    policy = RestartPolicy()
    crashes: dict[str, list[float]] = {}
    while True:
        time.sleep(_POLL_S)
        for name, code in _exited(svc, children):
            now = time.monotonic()
            history = crashes[name] = [*policy.recent(crashes.get(name, []), now), now]
            delay = policy.delay(history, now)
            if delay is None:
                window = f"{policy.window_s:.0f}s"
                return f"{name} exited {len(history)} times within {window} (last code {code})"
            time.sleep(delay)
            pid = _restart(name, svc, children, env, kafka)
            if pid is None:
                console.print(f"[yellow]{name} exited (code {code}); restart failed, retrying[/]")
                continue
            publish()
            console.print(
                f"[yellow]restarted {name}[/] (exited with code {code}) as pid {pid} "
                f"after {delay:.1f}s"
            )


def _exited(svc: LocalServices, children: Children) -> list[tuple[str, int]]:
    # Services first: a consumer that died because the database did comes back after it.
    found = [(name, s.exit_code) for name, s in (("secantusdb", svc.mongo), ("tansu", svc.kafka))]
    found += [(name, p.poll()) for name, p in children.items()]
    return [(name, code) for name, code in found if code is not None]


def _restart(
    name: str, svc: LocalServices, children: Children, env: dict[str, str], kafka: KafkaSettings
) -> int | None:
    """Start ``name`` again (services on their old port); its new PID, None if it failed."""
    try:
        if name == "secantusdb":
            svc.restart_mongo()
            return svc.mongo.pid
        if name == "tansu":
            svc.restart_kafka()  # empty: memory storage; the consumer rewinds to its start
            asyncio.run(ensure_topics(kafka))
            return svc.kafka.pid
    except ServiceStartError:
        return None
    children[name] = _spawn(name, env)
    return children[name].pid


def _check_running(children: Children) -> None:
    # During the load nothing is restarted yet: a child gone now would stall it for minutes.
    for name, p in children.items():
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited with code {p.returncode} while loading; see its log")


def _wait_healthy(port: int, children: Children) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in children.values()):
            raise RuntimeError("a child process exited during start-up; see its log above")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not become healthy at {url} within 60s")


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
