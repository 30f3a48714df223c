"""`rolepulse run`: the whole system on one machine, supervised by one process.

Starts Tansu and SecantusDB (installing them on first use), then the consumer, the API and the
sweeper as child processes configured through the same environment variables production uses,
loads a market into a database that has none yet, prints the GraphiQL URL and watches: a child
that exits is restarted with backoff (one line on the terminal), one that keeps crashing ends the
run. Ctrl-C or SIGTERM stops every process it started, children first, then the services.

Every process logs to a file of its own in the run dir (``rolepulse.childlogs``), so the terminal
has one live display: a spinner while the services start, the load's progress bars, then a short
"ready" block, and one line per restart, give-up or stop; ``--verbose`` adds the log lines.

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
from rich.markup import escape
from rich.progress import MofNCompleteColumn, Progress
from rich.text import Text

from rolepulse.catchup import wait_consumed
from rolepulse.childlogs import LogFollower, ProcessLog, describe_exit, display_path, exit_report
from rolepulse.consumers.topics import ensure_topics
from rolepulse.devservices import LocalServices, default_home, recover_previous_run
from rolepulse.devservices.process import ServiceStartError, die_with_parent
from rolepulse.errors import UserError
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
SERVICES = ("tansu", "secantusdb")

Children = dict[str, subprocess.Popen[bytes]]
Logs = dict[str, ProcessLog]


class _StopRequestedError(Exception):
    pass


class RunFailedError(UserError):
    """A process `run` started exited before the system was up, or the load stalled; the
    message names it, its log and the lines of the log that say why."""

    exit_code = 1


def run_local(
    port: int,
    events: Path | None,
    console: Console,
    fresh: bool = False,
    memory: bool = False,
    verbose: bool = False,
) -> int:
    # A killed run's leftovers hold what this one needs (its API the port, its SecantusDB the
    # data dir): stop those proven ours first; anything else holding the data dir is an error.
    leftovers = recover_previous_run(default_home(), None if memory else data_dir(default_home()))
    if leftovers is not None:
        console.print(leftovers, markup=False, soft_wrap=True)
    # Before anything starts: a busy port found after minutes of loading is found too late.
    ensure_port_free(ApiSettings().host, port)
    store = None if memory else data_dir(default_home())
    if store is not None:
        if fresh:
            shutil.rmtree(store, ignore_errors=True)
        store.mkdir(parents=True, exist_ok=True)
    storage = ":memory:" if store is None else str(store)
    # A terminal echoes Ctrl-C as "^C" without a line break: the next line starts after it.
    past_ctrl_c = console.is_terminal
    try:
        with _signals_raise_stop():
            # One live display at a time on the terminal: this spinner, then the progress bars.
            with console.status("starting the broker and the database"):
                svc = LocalServices.start(mongo_storage=storage, progress=_note(console))
            logs = _process_logs(svc)
            follower = LogFollower(logs.values(), _echo(console)).start() if verbose else None
            stopped = False
            try:
                return _run_with(svc, logs, port, events, store, console, verbose)
            except _StopRequestedError:
                stopped = True
                if past_ctrl_c:
                    console.print()  # now: the stopping processes' --verbose lines follow
                    past_ctrl_c = False
                raise
            finally:
                svc.kafka.stop(KAFKA_STOP_GRACE_S)
                svc.mongo.stop(MONGO_STOP_GRACE_S)
                if follower is not None:
                    follower.stop()  # after the stops: their last lines are shown too
                if stopped:
                    svc.stop()  # both are down: removes the run dir, logs included
                # Otherwise the run failed, and its messages point into the logs: kept.
    except _StopRequestedError:
        if past_ctrl_c:
            console.print()
        console.print("stopped: API, consumer, sweeper, broker and database are down")
        return 0


def _run_with(
    svc: LocalServices,
    logs: Logs,
    port: int,
    events: Path | None,
    store: Path | None,
    console: Console,
    verbose: bool,
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
        # Their logs go to files; unbuffered, a line is there (and on --verbose) when written.
        "PYTHONUNBUFFERED": "1",
    }
    with _children(env, logs, console) as children:
        publish = _publisher(svc, children, logs, port, store)
        try:
            publish()
            if needs_load(events is not None, loaded):

                def check() -> None:
                    _check_running(svc, children, logs, "while the market was loading")

                _load(events, kafka, mongo, console, check, logs["consumer"])
                mark_loaded(mongo)
            # Only now, with the data loaded and the API answering, does the terminal say so.
            _wait_healthy(port, svc, children, logs)
            _print_ready(console, port, svc.run_dir, verbose)
            reason = _supervise(svc, children, logs, env, kafka, console, publish)
        finally:
            remove_state(state_path(default_home()), os.getpid())
    console.print(f"[red]giving up:[/] {escape(reason)}", soft_wrap=True)
    return 1


def _print_ready(console: Console, port: int, run_dir: Path, verbose: bool) -> None:
    names = ",".join((*CHILD_COMMANDS, *SERVICES))
    console.print()
    console.print("[bold green]ready:[/] the data is loaded and the API answers")
    console.print(f"  [bold]GraphiQL:[/] http://127.0.0.1:{port}/graphql")
    # Brace form: one line for five files, and `tail -f` takes it as it is in a shell.
    logs = escape(f"{display_path(run_dir)}/{{{names}}}.log")
    console.print(f"  [bold]logs:[/]     {logs}", soft_wrap=True)
    if not verbose:
        console.print("            (`rolepulse run --verbose` shows them here as well)")
    console.print("  [bold]status:[/]   rolepulse status")
    console.print("Ctrl-C stops the API, the consumer, the sweeper, the broker and the database.")


def _process_logs(svc: LocalServices) -> Logs:
    """Every process's log, in the run dir beside the ones the services already write."""
    logs = {name: ProcessLog(name, svc.run_dir / f"{name}.log") for name in CHILD_COMMANDS}
    logs["tansu"] = ProcessLog("tansu", svc.kafka.log_path)
    logs["secantusdb"] = ProcessLog("secantusdb", svc.mongo.log_path)
    return logs


def _note(console: Console) -> Callable[[str], None]:
    """How the services' start-up messages (installing, ready on a port) reach the terminal."""

    def note(message: str) -> None:
        console.print(escape(message), style="dim", soft_wrap=True)

    return note


def _echo(console: Console) -> Callable[[str, str], None]:
    """--verbose: a line of a process's log, printed above any progress bar (never through
    it), prefixed with the process's name."""

    def echo(name: str, line: str) -> None:
        prefix = (f"{name:>10} | ", "cyan")
        console.print(Text.assemble(prefix, line), soft_wrap=True, highlight=False)

    return echo


def _load(
    events: Path | None,
    kafka: KafkaSettings,
    mongo: MongoSettings,
    console: Console,
    check: Callable[[], None],
    consumer_log: ProcessLog,
) -> None:
    lines = _event_lines(events)
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    with Progress(*columns, console=console) as progress:
        sent = progress.add_task("publishing events", total=len(lines))
        ends = asyncio.run(publish_lines(lines, kafka, lambda n: progress.advance(sent, n)))
        applied = progress.add_task("consumer applying", total=sum(ends.values()))

        def on_progress(done: int, _total: int) -> None:
            check()
            progress.update(applied, completed=done)

        try:
            asyncio.run(wait_consumed(mongo, kafka.topic, ends, CONSUME_TIMEOUT_S, on_progress))
        except TimeoutError as exc:
            why = "".join(f"\n  {line}" for line in consumer_log.why_it_exited(0))
            where = display_path(consumer_log.path)
            raise RunFailedError(f"the load stalled: {exc}; consumer log: {where}{why}") from None


def _event_lines(events: Path | None) -> list[bytes]:
    if events is not None:
        return [line for line in events.read_bytes().splitlines() if line.strip()]
    from rolepulse.demo.dating import shift_to_now
    from rolepulse.demo.seed_page import generate

    dated = shift_to_now(generate(), datetime.now(UTC))
    return [json.dumps(e, separators=(",", ":")).encode() for e in dated]


def _spawn(name: str, env: dict[str, str], log: ProcessLog, why: str) -> subprocess.Popen[bytes]:
    # Own sessions, so a terminal's Ctrl-C reaches only this supervisor, which then stops the
    # children in order and waits for them (the consumer drains its batch on SIGTERM).
    argv = [sys.executable, "-m", "rolepulse", CHILD_COMMANDS[name]]
    log.mark(f"{why}: rolepulse {CHILD_COMMANDS[name]}")
    # Output straight into the file, not through a pipe to us: a busy supervisor never blocks
    # a child's logging, and a killed one does not take the children's output with it.
    with log.path.open("ab") as out:
        return subprocess.Popen(
            die_with_parent(argv),  # a SIGKILLed supervisor leaves no child behind (Linux)
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def _children(env: dict[str, str], logs: Logs, console: Console) -> Iterator[Children]:
    procs = {name: _spawn(name, env, logs[name], f"starting {name}") for name in CHILD_COMMANDS}
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
    svc: LocalServices, children: Children, logs: Logs, port: int, store: Path | None
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
            logs={name: str(log.path) for name, log in logs.items()},
        )
        write_state(path, state)

    return publish


def _supervise(
    svc: LocalServices,
    children: Children,
    logs: Logs,
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
            log = logs[name]
            if delay is None:
                window = f"{policy.window_s:.0f}s"
                return exit_report(log, code, f"({len(history)} exits within {window})")
            time.sleep(delay)
            pid = _restart(name, svc, children, env, kafka, log, code)
            where = f"log: {escape(display_path(log.path))}"
            if pid is None:
                console.print(
                    f"[yellow]{name} {escape(_exit_and_cause(log, code))}; restart failed, "
                    f"retrying[/]; {where}",
                    soft_wrap=True,
                )
                continue
            publish()
            console.print(
                f"[yellow]restarted {name}[/] ({escape(_exit_and_cause(log, code))}) as pid {pid} "
                f"after {delay:.1f}s; {where}",
                soft_wrap=True,
            )


def _exit_and_cause(log: ProcessLog, code: int) -> str:
    """``exited with code 1: ValueError: boom``: the exit and the last line of the log that
    says why, if one does, for a message of one line."""
    cause = log.why_it_exited(code, limit=1)
    return describe_exit(code) + (f": {cause[0]}" if cause else "")


def _exited(svc: LocalServices, children: Children) -> list[tuple[str, int]]:
    # Services first: a consumer that died because the database did comes back after it.
    found = [(name, s.exit_code) for name, s in (("secantusdb", svc.mongo), ("tansu", svc.kafka))]
    found += [(name, p.poll()) for name, p in children.items()]
    return [(name, code) for name, code in found if code is not None]


def _restart(
    name: str,
    svc: LocalServices,
    children: Children,
    env: dict[str, str],
    kafka: KafkaSettings,
    log: ProcessLog,
    code: int,
) -> int | None:
    """Start ``name`` again (services on their old port); its new PID, None if it failed."""
    why = f"restarting {name}, which {describe_exit(code)}"
    try:
        if name in SERVICES:
            log.mark(why)  # the services append to the same file when they start
        if name == "secantusdb":
            svc.restart_mongo()
            return svc.mongo.pid
        if name == "tansu":
            svc.restart_kafka()  # empty: memory storage; the consumer rewinds to its start
            asyncio.run(ensure_topics(kafka))
            return svc.kafka.pid
    except ServiceStartError:
        return None
    children[name] = _spawn(name, env, log, why)
    return children[name].pid


def _check_running(svc: LocalServices, children: Children, logs: Logs, when: str) -> None:
    """Fail, naming the process, its log and why, when one has exited: before the system is
    up nothing is restarted, and a process gone now would stall the load for minutes."""
    for name, code in _exited(svc, children):
        raise RunFailedError(exit_report(logs[name], code, when))


def _wait_healthy(port: int, svc: LocalServices, children: Children, logs: Logs) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _check_running(svc, children, logs, "during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    api = logs["api"]
    why = "".join(f"\n  {line}" for line in api.why_it_exited(0))
    raise RunFailedError(
        f"the API did not become healthy at {url} within 60s; log: {display_path(api.path)}{why}"
    )


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
