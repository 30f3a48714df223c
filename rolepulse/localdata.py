"""The database `rolepulse run` keeps between runs: where it lives, whether it holds a market."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pymongo import MongoClient

from rolepulse.connections import mongo_client_kwargs
from rolepulse.settings import MongoSettings

# {_id: "market", at: ...} once a load has been applied in full: a run stopped halfway through
# its load has a market document but not this one, and loads again (replays count once by id).
_LOADED = "local_run"


def data_dir(home: Path) -> Path:
    """Where `run` keeps SecantusDB's files: ``<home>/data/secantusdb``."""
    return home / "data" / "secantusdb"


def prepare_database(mongo: MongoSettings, topic: str) -> bool:
    """Whether a market was loaded in full before; rewinds the stored offsets to the new log.

    The broker always starts empty, so offsets recorded against the previous broker's log name
    positions that do not exist any more; the new log starts at 0. Only `next_offset` goes (the
    load's progress reads it); `max_event_at`, the stream's clock, stays.
    """
    client: MongoClient[dict[str, object]] = MongoClient(**mongo_client_kwargs(mongo))
    try:
        db = client[mongo.database]
        db.consumer_offsets.update_many({"topic": topic}, {"$set": {"next_offset": 0}})
        return db[_LOADED].find_one({"_id": "market"}) is not None
    finally:
        client.close()


def mark_loaded(mongo: MongoSettings) -> None:
    """Record that a market was loaded in full (see `prepare_database`)."""
    client: MongoClient[dict[str, object]] = MongoClient(**mongo_client_kwargs(mongo))
    try:
        at = datetime.now(UTC)
        client[mongo.database][_LOADED].replace_one({"_id": "market"}, {"at": at}, upsert=True)
    finally:
        client.close()
