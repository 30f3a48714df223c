"""The `rolepulse` command line: one entry point per process kind plus data tools."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from rolepulse.settings import (
    ApiSettings,
    ConsumerSettings,
    KafkaSettings,
    MongoSettings,
    SweeperSettings,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
err = Console(stderr=True)


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
        Path | None, typer.Option(help="JSONL events to load instead of the demo market")
    ] = None,
) -> None:
    """Start broker, database, consumer and API locally; load a market; serve until Ctrl-C."""
    from rolepulse.local_run import run_local

    raise typer.Exit(run_local(port=port, events=events, console=err))


@app.command()
def produce(file: Annotated[Path, typer.Argument(help="JSONL file, one event per line")]) -> None:
    """Publish events to the configured broker's postings topic; prints how many."""
    from rolepulse.publish import publish_lines

    kafka = KafkaSettings()
    lines = file.read_bytes().splitlines()
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("publishing", total=len(lines))
        ends = asyncio.run(publish_lines(lines, kafka, lambda n: progress.advance(task, n)))
    typer.echo(f"published {sum(_counts(lines))} events to {kafka.topic} ({len(ends)} partitions)")


def _counts(lines: list[bytes]) -> list[int]:
    return [1 for line in lines if line.strip()]


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
def consume() -> None:
    """Run the postings consumer until SIGTERM/SIGINT (drains the batch in flight first)."""
    from consumers.main import run_consumer

    _logging()

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_consumer(KafkaSettings(), MongoSettings(), ConsumerSettings(), stop)

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
) -> None:
    """Publish expiry events for open postings not re-observed within the expiry window.

    A pass that would expire more than the configured share of the open postings publishes
    nothing and exits 1 (with --once): check the clock, then rerun with --force.
    """
    from consumers.sweeper import run_sweeper, sweep_once_with_clients

    if force and not once:
        # A forced process would skip the guard on every later pass too, unattended.
        raise typer.BadParameter("--force applies to one pass: use it with --once")
    _logging()
    kafka, mongo = KafkaSettings(), MongoSettings()
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
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql, health at /healthz)."""
    from services.main import serve as serve_api

    _logging()
    api = ApiSettings() if port is None else ApiSettings(port=port)
    serve_api(api, MongoSettings())


@app.command("export-schema")
def export_schema(
    out_dir: Annotated[Path, typer.Option(help="where the contract files go")] = Path("schema"),
) -> None:
    """Regenerate the committed contracts: event JSON Schema and GraphQL SDL."""
    from schema.export import event_json_schema
    from services.graphql.schema import export_sdl

    (out_dir / "posting-event-v1.schema.json").write_text(event_json_schema(), encoding="utf-8")
    (out_dir / "schema.graphql").write_text(export_sdl(), encoding="utf-8")
    typer.echo(f"wrote {out_dir}/posting-event-v1.schema.json and {out_dir}/schema.graphql")


@app.command()
def verify() -> None:
    """Recompute every aggregate from the stored postings and check the market's sanity.

    Exits 1 on any difference, and on a sanity problem: the stream clock ahead of the wall clock
    by more than the allowed skew, or a role that one sweep emptied.
    """
    from datetime import UTC, datetime, timedelta

    from pymongo import AsyncMongoClient

    from consumers.verify import aggregate_differences, sanity_problems
    from rolepulse.domain.sanity import duration

    mongo = MongoSettings()
    # The consumer's own bound on event times: a clock further ahead got past it.
    skew = timedelta(seconds=ConsumerSettings().max_event_skew_s)

    async def main() -> tuple[list[str], list[str]]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri, tz_aware=True)
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
) -> None:
    """Score normalization against hand labels: per-field accuracy, skills F1, the misses.

    Exits 1 when a target (role, skills F1, salary, company, metro) is missed.
    """
    from rolepulse.domain.normalize import Normalizer
    from rolepulse.evaluation import evaluate_file, format_report
    from rolepulse.taxonomy import load_taxonomy

    try:
        with file.open("rb") as lines:
            report = evaluate_file(lines, Normalizer(load_taxonomy()))
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    typer.echo(format_report(report))
    raise typer.Exit(1 if report.failed_targets() else 0)
