"""The `rolepulse` command line: one entry point per process kind plus data tools."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from rolepulse.boundary import ErrorBoundary, current, quiet_client_logs, resolve
from rolepulse.endpoints import Endpoints
from rolepulse.errors import NothingRunningError
from rolepulse.settings import (
    ApiSettings,
    ConsumerSettings,
    KafkaSettings,
    MongoSettings,
    SweeperSettings,
)

# Plain tracebacks for bugs and --debug: rich's, with locals, ran to hundreds of lines.
app = typer.Typer(
    cls=ErrorBoundary,
    no_args_is_help=True,
    add_completion=False,
    help=__doc__,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

KafkaOption = Annotated[
    str | None,
    typer.Option(
        "--kafka",
        help="Kafka bootstrap servers; else $ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS, else the "
        "running `rolepulse run`, else 127.0.0.1:9092",
        show_default=False,
    ),
]
MongoOption = Annotated[
    str | None,
    typer.Option(
        "--mongo",
        help="MongoDB URI; else $ROLEPULSE_MONGO_URI, else the running `rolepulse run`, "
        "else mongodb://127.0.0.1:27017",
        show_default=False,
    ),
]


@app.callback()
def _global(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="ROLEPULSE_DEBUG", help="show tracebacks instead of one-line errors"
        ),
    ] = False,
) -> None:
    """The `rolepulse` command line: one entry point per process kind plus data tools."""
    current().debug = debug


def _kafka_settings(endpoints: Endpoints) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=endpoints.kafka.value)


def _mongo_settings(endpoints: Endpoints) -> MongoSettings:
    return MongoSettings(uri=endpoints.mongo.value)


def _logging() -> None:
    from rolepulse.logs import configure

    configure()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@app.command()
def run(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    events: Annotated[
        Path | None,
        typer.Option(
            help="JSONL events to load instead of the demo market", exists=True, dir_okay=False
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option(help="wipe $ROLEPULSE_HOME/data first and load the market again")
    ] = False,
    memory: Annotated[
        bool, typer.Option(help="keep the database in memory: nothing is kept after the run")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="also print the processes' log lines here (they always go to files in the "
            "run directory)",
        ),
    ] = False,
) -> None:
    """Start broker, database, consumer, sweeper and API locally; serve until Ctrl-C.

    The database keeps its data under $ROLEPULSE_HOME/data: the demo market is loaded on the
    first run only. A child that crashes is restarted. Every process logs to a file of its own
    in the run directory; the terminal shows progress, then where things are and one line per
    restart (--verbose: the log lines too). While it runs,
    $ROLEPULSE_HOME/run/current.json says where everything listens: the other commands find the
    broker and the database there (see `rolepulse status`, `rolepulse env`).
    """
    from rolepulse.local_run import run_local

    code = run_local(
        port=port, events=events, console=err, fresh=fresh, memory=memory, verbose=verbose
    )
    raise typer.Exit(code)


@app.command()
def produce(
    file: Annotated[Path, typer.Argument(help="JSONL file, one event per line")],
    kafka_at: KafkaOption = None,
) -> None:
    """Publish events to the configured broker's postings topic; prints how many."""
    from rolepulse.publish import publish_lines

    lines = file.read_bytes().splitlines()
    kafka = _kafka_settings(resolve(kafka=kafka_at))
    quiet_client_logs()
    # Drawn only on a terminal: redirected, its last frame would be noise around the result.
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("publishing", total=len(lines))
        ends = asyncio.run(publish_lines(lines, kafka, lambda n: progress.advance(task, n)))
    typer.echo(f"published {sum(_counts(lines))} events to {kafka.topic} ({len(ends)} partitions)")


def _counts(lines: list[bytes]) -> list[int]:
    return [1 for line in lines if line.strip()]


import_app = typer.Typer(
    no_args_is_help=True, help="Turn other tools' job exports into posting events and publish them."
)
app.add_typer(import_app, name="import")


def _publish_or_write(
    lines: list[bytes], out: Path | None, kafka_at: str | None, *, append: bool = False
) -> None:
    """Publish events like `produce`, or write them to `out` as JSON lines."""
    if out is not None:
        with out.open("ab" if append else "wb") as fh:
            fh.writelines(line + b"\n" for line in lines)
        typer.echo(f"wrote {len(lines)} events to {out}")
        return
    from rolepulse.publish import publish_lines

    kafka = _kafka_settings(resolve(kafka=kafka_at))
    quiet_client_logs()
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("publishing", total=len(lines))
        ends = asyncio.run(publish_lines(lines, kafka, lambda n: progress.advance(task, n)))
    typer.echo(f"published {len(lines)} events to {kafka.topic} ({len(ends)} partitions)")


SourceOption = Annotated[
    str | None,
    typer.Option(
        help="the events' source (Kafka key prefix); default: each row's site (indeed, "
        "linkedin, ...)",
        show_default=False,
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(help="append the events to this JSONL file instead of publishing them"),
]


@import_app.command("jobspy")
def import_jobspy(
    file: Annotated[Path, typer.Argument(help="a python-jobspy CSV export")],
    source: SourceOption = None,
    out: OutOption = None,
    observed_at: Annotated[
        str | None,
        typer.Option(
            help="when the rows were scraped (RFC 3339 with a zone); default: the file's "
            "modification time, so importing the same file again changes nothing",
            show_default=False,
        ),
    ] = None,
    kafka_at: KafkaOption = None,
) -> None:
    """Publish a JobSpy CSV export as posting events (or write them with --out).

    Event ids are digests of each event's content: a re-import is recognised as redelivery.
    Rows that cannot become an event are counted and skipped, the first few with their reason.
    """
    from rolepulse.importers.jobspy import events_from_rows, observed_at_of, read_jobspy_csv

    rows = read_jobspy_csv(file)
    seen = _observed_at(observed_at) if observed_at else observed_at_of(file)
    report = events_from_rows(rows, observed_at=seen, source=_source(source))
    for line in report.summary():
        typer.echo(line, err=True)
    if not report.events:
        raise typer.Exit(1 if report.rows else 0)
    _publish_or_write(report.lines(), out, kafka_at)


@app.command()
def scrape(
    search: Annotated[str, typer.Option(help="search terms, e.g. 'machine learning engineer'")],
    location: Annotated[
        str | None, typer.Option(help="e.g. 'San Francisco, CA'", show_default=False)
    ] = None,
    sites: Annotated[
        str, typer.Option(help="comma-separated JobSpy site names")
    ] = "indeed,linkedin",
    results: Annotated[int, typer.Option(help="postings wanted per site", min=1)] = 50,
    hours_old: Annotated[
        int | None, typer.Option(help="only postings this recent", show_default=False)
    ] = None,
    country: Annotated[str, typer.Option(help="Indeed/Glassdoor country")] = "usa",
    source: SourceOption = None,
    out: OutOption = None,
    kafka_at: KafkaOption = None,
) -> None:
    """Scrape job boards with python-jobspy (optional extra `scrape`) and publish as it goes.

    Each site is scraped, mapped like `rolepulse import jobspy` and published before the next;
    needs network access to the boards.
    """
    from datetime import UTC

    from rolepulse.importers.jobspy import events_from_rows
    from rolepulse.importers.scrape import load_jobspy, scrape_sites

    jobspy = load_jobspy()
    names = [name.strip() for name in sites.split(",") if name.strip()]
    if out is not None:
        out.write_bytes(b"")  # each site's events are appended as they come
    for result in scrape_sites(
        jobspy,
        names,
        search=search,
        location=location,
        results=results,
        hours_old=hours_old,
        country=country,
    ):
        now = datetime.now(UTC).replace(microsecond=0)
        report = events_from_rows(result.rows, observed_at=now, source=_source(source))
        typer.echo(f"{result.site}: " + "\n".join(report.summary()), err=True)
        for problem in result.errors:
            typer.echo(f"{result.site}: python-jobspy reported: {problem}", err=True)
        if report.events:
            _publish_or_write(report.lines(), out, kafka_at, append=True)


def _source(name: str | None) -> str | None:
    if name is not None and (not name or ":" in name or any(c.isspace() for c in name)):
        raise typer.BadParameter(f"--source {name!r}: a source has no ':' and no spaces")
    return name


def _observed_at(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise typer.BadParameter(
            f"--observed-at {text!r}: an RFC 3339 time with a zone, like 2026-11-24T09:30:00Z"
        )
    return at


@app.command()
def normalize(
    file: Annotated[str, typer.Argument(help="JSONL file of events, or - for stdin")] = "-",
) -> None:
    """Print the normalization of every event as one JSON object per line."""
    from rolepulse.domain.normalize import Normalizer
    from rolepulse.normalize_report import normalize_lines
    from rolepulse.taxonomy import load_taxonomy

    normalizer = Normalizer(load_taxonomy())
    with contextlib.ExitStack() as stack:
        stream = sys.stdin.buffer if file == "-" else stack.enter_context(Path(file).open("rb"))
        for row in normalize_lines(stream, normalizer):
            typer.echo(json.dumps(row, ensure_ascii=False))


@app.command("demo-market")
def demo_market(
    out: Annotated[Path, typer.Option(help="JSONL file to write")],
    scenario: Annotated[str, typer.Option(help="scenario name")] = "seed-page",
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
) -> None:
    """Write a deterministic demo market as JSONL events."""
    from rolepulse.demo.seed_page import SCENARIOS

    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    events = SCENARIOS[scenario](seed)
    with out.open("w", encoding="utf-8") as fh:
        for event in events:
            fh.write(json.dumps(event, separators=(",", ":")) + "\n")
    typer.echo(f"wrote {len(events)} events to {out}")


@app.command()
def consume(kafka_at: KafkaOption = None, mongo_at: MongoOption = None) -> None:
    """Run the postings consumer until SIGTERM/SIGINT (drains the batch in flight first)."""
    from rolepulse.consumers.main import run_consumer

    _logging()
    endpoints = resolve(kafka_at, mongo_at)
    kafka, mongo = _kafka_settings(endpoints), _mongo_settings(endpoints)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_consumer(kafka, mongo, ConsumerSettings(), stop)

    asyncio.run(main())


@app.command()
def sweep(
    once: Annotated[bool, typer.Option(help="sweep once and exit")] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="with --once: publish even if the pass expires more than "
            "ROLEPULSE_SWEEPER_MAX_EXPIRE_SHARE of the open postings"
        ),
    ] = False,
    kafka_at: KafkaOption = None,
    mongo_at: MongoOption = None,
) -> None:
    """Publish expiry events for open postings not re-observed within the expiry window.

    A pass that would expire more than the configured share of the open postings publishes
    nothing and exits 1 (with --once): check the clock, then rerun with --force.
    """
    from rolepulse.consumers.sweeper import run_sweeper, sweep_once_with_clients

    if force and not once:
        # A forced process would skip the guard on every later pass too, unattended.
        raise typer.BadParameter("--force applies to one pass: use it with --once")
    _logging()
    endpoints = resolve(kafka_at, mongo_at)
    kafka, mongo = _kafka_settings(endpoints), _mongo_settings(endpoints)
    settings = SweeperSettings(force=True) if force else SweeperSettings()
    if once:
        result = asyncio.run(sweep_once_with_clients(kafka, mongo, settings))
        waiting = f" ({result.pending} already published, waiting in the topic)"
        typer.echo(f"published {result.published} expiry events{waiting if result.pending else ''}")
        if result.refused:
            typer.echo(result.refused)
            raise typer.Exit(1)
        return

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_sweeper(kafka, mongo, settings, stop)

    asyncio.run(main())


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="override ROLEPULSE_API_PORT")] = None,
    mongo_at: MongoOption = None,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql, health at /healthz)."""
    from rolepulse.ports import ensure_port_free
    from rolepulse.services.main import serve as serve_api

    api = ApiSettings() if port is None else ApiSettings(port=port)
    ensure_port_free(api.host, api.port)  # uvicorn would log it and exit, after start-up
    _logging()
    serve_api(api, _mongo_settings(resolve(mongo=mongo_at)))


@app.command("export-schema")
def export_schema(
    out_dir: Annotated[Path, typer.Option(help="where the contract files go")] = Path("schema"),
) -> None:
    """Regenerate the committed contracts: event JSON Schema and GraphQL SDL."""
    from rolepulse.schema.export import event_json_schema
    from rolepulse.services.graphql.schema import export_sdl

    (out_dir / "posting-event-v1.schema.json").write_text(event_json_schema(), encoding="utf-8")
    (out_dir / "schema.graphql").write_text(export_sdl(), encoding="utf-8")
    typer.echo(f"wrote {out_dir}/posting-event-v1.schema.json and {out_dir}/schema.graphql")


@app.command()
def verify(mongo_at: MongoOption = None) -> None:
    """Recompute every aggregate from the stored postings and check the market's sanity.

    Exits 1 on any difference, and on a sanity problem: the stream clock ahead of the wall clock
    by more than the allowed skew, or a role that one sweep emptied.
    """
    from datetime import UTC, datetime, timedelta

    from pymongo import AsyncMongoClient

    from rolepulse.connections import mongo_client_kwargs
    from rolepulse.consumers.verify import aggregate_differences, sanity_problems
    from rolepulse.domain.sanity import duration

    mongo = _mongo_settings(resolve(mongo=mongo_at))
    quiet_client_logs()
    # The consumer's own bound on event times: a clock further ahead got past it.
    skew = timedelta(seconds=ConsumerSettings().max_event_skew_s)

    async def main() -> tuple[list[str], list[str]]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            **mongo_client_kwargs(mongo), tz_aware=True
        )
        try:
            db = client[mongo.database]
            return (
                await aggregate_differences(db),
                await sanity_problems(db, datetime.now(UTC), skew),
            )
        finally:
            await client.close()

    differences, problems = asyncio.run(main())
    for line in differences:
        typer.echo(line)
    typer.echo(f"{len(differences)} differences between stored and recomputed aggregates")
    for line in problems:
        typer.echo(line)
    typer.echo(
        f"{len(problems)} sanity problems (stream clock at most {duration(skew)} ahead of the "
        "wall clock, no role emptied by one sweep)"
    )
    raise typer.Exit(1 if differences or problems else 0)


@app.command("eval-normalize")
def eval_normalize(
    file: Annotated[Path, typer.Argument(help="JSONL of {event, expected} labelled postings")],
    targets: Annotated[
        str,
        typer.Option(
            help="which targets to hold it to: labelled (issue 3: role, skills F1, salary, "
            "company, metro) or real-text (issue 11: AI F1, role and seniority on AI postings, "
            "work mode, metro, salary)"
        ),
    ] = "labelled",
) -> None:
    """Score normalization against hand labels: per-field accuracy, skills F1, the misses.

    Exits 1 when a target of the chosen set is missed.
    """
    from rolepulse.domain.normalize import Normalizer
    from rolepulse.evaluation import TARGET_SETS, evaluate_file, format_report
    from rolepulse.taxonomy import load_taxonomy

    if targets not in TARGET_SETS:
        raise typer.BadParameter(f"unknown targets {targets!r}; known: {', '.join(TARGET_SETS)}")
    chosen = TARGET_SETS[targets]
    try:
        with file.open("rb") as lines:
            report = evaluate_file(lines, Normalizer(load_taxonomy()))
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    typer.echo(format_report(report, chosen))
    raise typer.Exit(1 if report.failed_targets(chosen) else 0)


@app.command()
def status(kafka_at: KafkaOption = None, mongo_at: MongoOption = None) -> None:
    """Print what runs where: API and GraphiQL URLs, broker, database, PIDs, consumer lag.

    Exits 3 when nothing is running: no live `rolepulse run` and no broker or database answers.
    """
    from rolepulse.devservices import default_home
    from rolepulse.runstate import is_live, read_state, state_path
    from rolepulse.settings import redacted_uri
    from rolepulse.status import format_status, gather_status

    quiet_client_logs()
    path = state_path(default_home())
    endpoints = resolve(kafka_at, mongo_at)
    found = read_state(path)
    live = found if found is not None and is_live(found) else None
    report = asyncio.run(
        gather_status(
            endpoints,
            str(path),
            live,
            found if live is None else None,
            _kafka_settings(endpoints),
            _mongo_settings(endpoints),
        )
    )
    if not report.running:
        raise NothingRunningError(
            f"nothing is running: no `rolepulse run` ({path} absent or stale), no broker at "
            f"{endpoints.kafka.value}, no database at {redacted_uri(endpoints.mongo.value)}; "
            "start the system with `rolepulse run`"
        )
    for line in format_status(report):
        typer.echo(line)


@app.command()
def env() -> None:
    """Print `export` lines pointing a shell at the running `rolepulse run`.

    eval "$(rolepulse env)" and every command, in that shell and its children, uses the running
    system's broker and database. Reads only the running system's state file: a variable left
    over from an earlier run does not echo itself back. Exits 3 when nothing is running.
    """
    from rolepulse.devservices import default_home
    from rolepulse.endpoints import KAFKA_ENV, MONGO_ENV
    from rolepulse.runstate import live_state, state_path

    path = state_path(default_home())
    state = live_state(path)
    if state is None:
        raise NothingRunningError(
            f"no `rolepulse run` is running ({path} absent or stale); start one with "
            "`rolepulse run`"
        )
    typer.echo(f"export {KAFKA_ENV}={shlex.quote(state.kafka_bootstrap)}")
    typer.echo(f"export {MONGO_ENV}={shlex.quote(state.mongo_uri)}")
