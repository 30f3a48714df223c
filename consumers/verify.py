"""Recompute every aggregate and rollup from the stored postings and list where the stored ones
differ (the postings' `counted` flags and the week index included); check the sanity of what a
recomputation cannot see (the stream clock, sweeps that emptied roles).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.consumers.documents import as_utc, doc_to_state
from rolepulse.consumers.store import COLLECTION_OF_KIND, ROLLUP_COLLECTIONS, stream_time
from rolepulse.consumers.sweeper import SWEEPS
from rolepulse.domain.aggregates import DocRef, add_increments
from rolepulse.domain.clusters import members_by_cluster, recompute, representative
from rolepulse.domain.expiry import RoleSweep
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.rollups import decode_payload, encode_payload, prune, rollup_fields
from rolepulse.domain.sanity import SweepRecord, clock_problems, emptied_roles
from rolepulse.schema.documents import ROLE_WEEKLY_INDEX, WEEK_INDEX_COMPLETE


async def aggregate_differences(db: AsyncDatabase[dict[str, Any]]) -> list[str]:
    """One line per counter whose stored value differs from the recomputation; [] when equal."""
    states: dict[str, PostingState] = {}
    flags: dict[str, bool] = {}
    async for doc in db.postings.find({}, {"events": 0}):
        states[doc["_id"]] = doc_to_state(doc)
        flags[doc["_id"]] = bool(doc.get("counted"))
    expected = recompute(states)
    stored: dict[DocRef, dict[str, int]] = {}
    for kind, collection in COLLECTION_OF_KIND.items():
        async for doc in db[collection].find({}):
            stored[(kind, str(doc["_id"]))] = flatten(doc, exclude={"_id"})
    for kind, collection in ROLLUP_COLLECTIONS.items():
        async for doc in db[collection].find({}):
            stored[(kind, str(doc["_id"]))] = flatten(decode_payload(doc.get("c")))
    return (
        diff(expected, stored)
        + counted_differences(states, flags)
        + await week_index_differences(db)
    )


async def week_index_differences(db: AsyncDatabase[dict[str, Any]]) -> list[str]:
    """The week index against the weekly documents it lists, one line per role that differs.

    The API reads weekly history through it once it is marked complete (services/weekly_read.py),
    so a week missing from a list would silently drop out of every trend; before the marker it
    is not read, and not checked.
    """
    index = {d["_id"]: d.get("weeks") async for d in db[ROLE_WEEKLY_INDEX].find({})}
    if WEEK_INDEX_COMPLETE not in index:
        return []
    del index[WEEK_INDEX_COMPLETE]
    weeks: dict[str, set[str]] = {}
    async for d in db.role_weekly.find({}, {"role": 1, "week": 1}):
        weeks.setdefault(d["role"], set()).add(d["week"])
    lines = []
    for role in sorted(set(index) | set(weeks)):
        listed, held = list(index.get(role) or []), sorted(weeks.get(role, ()))
        if listed != held:
            missing, extra = sorted(set(held) - set(listed)), sorted(set(listed) - set(held))
            lines.append(
                f"{ROLE_WEEKLY_INDEX}/{role}: lists {len(listed)} weeks, {len(held)} stored "
                f"(missing {missing[:5]}, without a document {extra[:5]}"
                f"{', not ascending' if not missing and not extra else ''})"
            )
    return lines


def counted_keys(states: Mapping[str, PostingState]) -> set[str]:
    """The postings that should carry `counted: true`: each cluster's representative."""
    reps = (representative(members) for members in members_by_cluster(states).values())
    return {rep.posting_key for rep in reps if rep is not None}


def rebuilt_documents(states: Mapping[str, PostingState]) -> dict[str, list[dict[str, Any]]]:
    """Every aggregate and rollup document recomputed from `states`, by collection, in the shape
    the consumer writes them (deploy/RUNBOOK.md: rebuilding aggregates from postings)."""
    out: dict[str, list[dict[str, Any]]] = {
        c: [] for c in (*COLLECTION_OF_KIND.values(), *ROLLUP_COLLECTIONS.values())
    }
    for (kind, doc_id), counters in recompute(states).items():
        if kind in COLLECTION_OF_KIND:
            out[COLLECTION_OF_KIND[kind]].append(add_increments({"_id": doc_id}, counters))
        else:
            payload = encode_payload(prune(add_increments({}, counters)))
            doc = {"_id": doc_id, **rollup_fields(kind, doc_id), "c": payload}
            out[ROLLUP_COLLECTIONS[kind]].append(doc)
    return out


def counted_differences(
    states: Mapping[str, PostingState], stored: Mapping[str, bool]
) -> list[str]:
    """A line per posting whose `counted` flag is not whether it represents its cluster."""
    reps = counted_keys(states)
    expected = {key: key in reps for key in states}
    return [
        f"postings/{key} counted: stored {stored.get(key, False)}, recomputed {want}"
        for key, want in sorted(expected.items())
        if stored.get(key, False) != want
    ]


async def sanity_problems(
    db: AsyncDatabase[dict[str, Any]], wall: datetime, max_skew: timedelta
) -> list[str]:
    """One line per sanity problem: stream clock ahead of `wall`, a role emptied by one sweep."""
    sweeps = [_sweep_record(doc) async for doc in db[SWEEPS].find({})]
    return clock_problems(await stream_time(db), wall, max_skew) + emptied_roles(sweeps)


def _sweep_record(doc: Mapping[str, Any]) -> SweepRecord:
    roles = {
        str(role): RoleSweep(open=int(r["open"]), expired=int(r["expired"]))
        for role, r in (doc.get("roles") or {}).items()
    }
    return SweepRecord(as_utc(doc["at"]), as_utc(doc["clock"]), bool(doc.get("forced")), roles)


def flatten(
    doc: Mapping[str, Any], exclude: set[str] | None = None, prefix: str = ""
) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in doc.items():
        if exclude and key in exclude:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, prefix=f"{path}."))
        elif isinstance(value, int | float):
            out[path] = int(value)
    return out


def diff(
    expected: Mapping[DocRef, Mapping[str, int]], stored: Mapping[DocRef, Mapping[str, int]]
) -> list[str]:
    lines = []
    for doc in sorted(set(expected) | set(stored)):
        want, have = expected.get(doc, {}), stored.get(doc, {})
        for path in sorted(set(want) | set(have)):
            w, h = want.get(path, 0), have.get(path, 0)
            if w != h:
                lines.append(f"{doc[0]}/{doc[1]} {path}: stored {h}, recomputed {w}")
    return lines
