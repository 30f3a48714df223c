"""Read cost of requests that miss the response cache, in process: does it grow with the data?

Run by `benchmarks/api_bench.py` (its `--companies`, `--stored`, `--data` options); two parts:

- **Employers.** The contract query against the seed-page market and against the same market
  with thousands more employers in both compared roles (`--companies`: extra open postings per
  role, each at its own company and its own salary values, so the role documents' company maps
  and salary histograms grow by as many entries), each with the read memo on (the default:
  services/read_memo.py) and off (every request reads and derives anew, as before it).
- **Stored postings.** A filtered `role` query, metros + seniorities (the cell rollups) and one
  skill (the skill rollup), with 10,000 and 1,000,000 stored postings (`--stored`). The
  postings, role and market documents are those of benchmarks/postings_bench.py (its
  `load_market`, reused: written directly, and kept with `--data DIR` for the next run of either
  benchmark); the rollups are written here from the same postings, each document what the
  consumer's `_add_to_rollups` would store (`contribution` summed, pruned, `encode_payload`).
  The memo-off rows show what the first request after each consumer commit pays.

Requests go one at a time straight into the ASGI app (no sockets: the HTTP rows of api_bench
cover those), each app built by services.main.build_app over its own database, response cache
off, every limit on. The cases (data size x query) take turns over `--read-rounds` rounds, so
each meets the same moments of this shared machine's load; all of them with the memo on, then
all with it off (`measure_both` says why); p50 and p99 of the wall time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import AsyncMongoClient

from rolepulse.consumers.store import COLLECTION_OF_KIND, ROLLUP_COLLECTIONS
from rolepulse.domain.aggregates import add_increments, contribution
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import NormalizedSalary
from rolepulse.domain.rollups import add_in_place, encode_payload, rollup_fields

Doc = dict[str, Any]
ROLES = ("ai-software-engineer", "ai-product-manager")  # the contract query's two
ROLLUPS_VERSION = 1  # bump when the rollups written here change: stored ones are rewritten


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    cases: Mapping[str, tuple[Any, bytes]], requests: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """p50 / p99 in ms per case (an app and a request body), cases taking turns per round."""
    from api_bench import asgi_post  # benchmarks/ is on sys.path: api_bench runs this

    times: dict[str, list[float]] = {name: [] for name in cases}
    per_round = max(1, requests // rounds)
    for round_ in range(rounds):
        order = list(cases) if round_ % 2 == 0 else list(reversed(list(cases)))
        for name in order:
            app, body = cases[name]
            for i in range(per_round + (3 if round_ == 0 else 0)):
                started = time.perf_counter()
                await asgi_post(app, body)
                if round_ or i >= 3:  # three warm-up requests (the memo's first read)
                    times[name].append((time.perf_counter() - started) * 1000)
    return {name: (percentile(t, 0.5), percentile(t, 0.99)) for name, t in times.items()}


# ---- employers ---------------------------------------------------------------------------


def seed_documents() -> dict[tuple[str, str], Doc]:
    """The seed-page market's role and market documents (the consumer's pure batch plan)."""
    from rolepulse.consumers.decode import decode
    from rolepulse.consumers.plan import plan_batch
    from rolepulse.demo.seed_page import generate
    from rolepulse.domain.lifecycle import Closed, Expired, Observed
    from rolepulse.domain.normalize import Normalizer
    from rolepulse.taxonomy import load_taxonomy

    normalizer = Normalizer(load_taxonomy())
    outcomes = [decode(json.dumps(e).encode(), normalizer) for e in generate()]
    transitions = [t for t in outcomes if isinstance(t, Observed | Closed | Expired)]
    plan = plan_batch(transitions, {}, set())
    return {
        ref: add_increments({"_id": ref[1]}, inc)
        for ref, inc in plan.increments.items()
        if ref[0] in COLLECTION_OF_KIND
    }


def employer_postings(role: str, extra: int) -> Iterable[PostingState]:
    """`extra` open postings of `role`, each at its own company with its own salary values."""
    from rolepulse.demo.synthetic_postings import MarketShape, posting_state

    shape = dataclasses.replace(MarketShape.default(pay_share=1.0), roles=(role,))
    for i in range(extra):
        state = posting_state(shape, 7, i, extra)
        assert state.posting is not None
        low = 90_000 + i * 7  # distinct values: the histograms grow as the company map does
        salary = NormalizedSalary(low, low + 60_011, "USD", "year", low, low + 60_011, "text")
        posting = dataclasses.replace(
            state.posting,
            role=role,
            company=f"Employer {role[:6]} {i:05d}",
            salary=salary,
            flags=(),
        )
        yield dataclasses.replace(state, posting=posting, open=True, closed_reason=None)


async def write_employers(
    uri: str, database: str, base: Mapping[tuple[str, str], Doc], extra: int
) -> int:
    """The seed market plus `extra` employers in each of ROLES; the first role's company count."""
    increments: dict[tuple[str, str], dict[str, int]] = {}
    for role in ROLES:
        for state in employer_postings(role, extra):
            for (ref, path), value in contribution(state).items():
                if ref[0] in COLLECTION_OF_KIND:
                    inc = increments.setdefault(ref, {})
                    inc[path] = inc.get(path, 0) + value
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri)
    await client.drop_database(database)
    db = client[database]
    for ref in {*base, *increments}:
        doc = add_increments(base.get(ref, {"_id": ref[1]}), increments.get(ref, {}))
        await db[COLLECTION_OF_KIND[ref[0]]].insert_one(doc)
    await client.close()
    return len(
        add_increments(base[("role", ROLES[0])], increments.get(("role", ROLES[0]), {}))[
            "companies"
        ]
    )


# ---- stored postings ---------------------------------------------------------------------


async def load_rollups(uri: str, database: str, size: int) -> None:
    """The cell, skill and total rollups of postings_bench's market of `size`, written as the
    consumer keeps them; nothing is written if they are already stored."""
    from postings_bench import SEED  # the market's own seed

    from rolepulse.consumers.documents import doc_to_state
    from rolepulse.demo.synthetic_postings import MarketShape, posting_docs

    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    db = client[database]
    marker = {"_id": "rollups", "size": size, "seed": SEED, "version": ROLLUPS_VERSION}
    if await db.bench_market.find_one(marker) is not None:
        print(f"  rollups of {size:,} postings already stored", flush=True)
        await client.close()
        return
    started = time.perf_counter()
    flat: dict[tuple[str, str], dict[str, int]] = {}
    shape = MarketShape.default()
    for i, doc in enumerate(posting_docs(shape, SEED, size)):
        if doc["counted"]:  # a job counts through one member of its cluster
            for (ref, path), value in contribution(doc_to_state(doc)).items():
                if ref[0] in ROLLUP_COLLECTIONS:
                    counters = flat.setdefault(ref, {})
                    counters[path] = counters.get(path, 0) + value
        if (i + 1) % 200_000 == 0:
            print(f"  rollups: {i + 1:,} / {size:,} postings added", flush=True)
    for kind, collection in ROLLUP_COLLECTIONS.items():
        await db[collection].delete_many({})
        docs = [
            {"_id": doc_id, **rollup_fields(kind, doc_id), "c": encode_payload(counters)}
            for (k, doc_id), increments in flat.items()
            if k == kind and (counters := add_in_place({}, increments))
        ]
        for start in range(0, len(docs), 500):
            await db[collection].insert_many(docs[start : start + 500])
    await db.bench_market.replace_one({"_id": "rollups"}, marker, upsert=True)
    took = time.perf_counter() - started
    print(f"  rollups of {size:,} postings: {len(flat):,} documents in {took:,.0f} s", flush=True)
    await client.close()


def filtered_queries() -> dict[str, bytes]:
    from postings_bench import ROLE

    from rolepulse.demo.synthetic_postings import MarketShape

    metros = list(MarketShape.default().metros[:2])
    fields = (
        "openPositions salary { n avgMax p25 median p75 } experienceMix { entryPct seniorPct }"
        " topSkills(limit: 8) { name count } topMetros(limit: 3) { name count }"
    )
    cells = {"metros": metros, "seniorities": ["SENIOR", "LEAD"]}
    queries = {
        f"metros {' + '.join(metros)}, senior + lead (cells)": (
            cells,
            fields + " topCompanies(limit: 4) { name count }",
        ),
        "one skill, Python (skill rollup)": ({"skills": ["Python"]}, fields),
    }
    text = (
        "query F($slug: String!, $filter: PostingFilter) "
        "{ role(slug: $slug, filter: $filter) { %s } }"
    )
    return {
        name: json.dumps(
            {"query": text % selection, "variables": {"slug": ROLE, "filter": f}}
        ).encode()
        for name, (f, selection) in queries.items()
    }


def build(uri: str, database: str, memo: bool) -> Any:
    """The API over `database`, read memo on or off."""
    from rolepulse.services.main import build_app
    from rolepulse.settings import ApiSettings, MongoSettings
    from rolepulse.taxonomy import load_taxonomy

    settings = ApiSettings(response_cache=False, read_memo_max_bytes=128 * 2**20 if memo else 0)
    return build_app(settings, MongoSettings(uri=uri, database=database), load_taxonomy().roles)


async def measure_both(
    uri: str, cases: Mapping[str, tuple[str, bytes]], requests: int, rounds: int
) -> dict[tuple[str, bool], tuple[float, float]]:
    """Each case (name -> (database, body)) with the memo on, then all with it off.

    Not interleaved: the apps share this process's garbage collector, and an app without the
    memo makes a role document's worth of objects per request, which would make the
    collector's passes slower for the others.
    """
    from contextlib import AsyncExitStack

    out: dict[tuple[str, bool], tuple[float, float]] = {}
    for memo in (True, False):
        apps = {database: build(uri, database, memo) for database, _ in cases.values()}
        async with AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            await asyncio.sleep(0.5)  # the data version known, so the memo serves
            measured = await measure(
                {name: (apps[db], body) for name, (db, body) in cases.items()}, requests, rounds
            )
        out |= {(name, memo): times for name, times in measured.items()}
        gc.collect()
    return out


async def employers(uri: str, extras: list[int], requests: int, rounds: int) -> None:
    """The contract query with `extras` more employers per compared role: p50 / p99 table."""
    from api_bench import CONTRACT_QUERY, VARIABLES

    print("employers: seed-page market + extra employers per compared role", flush=True)
    base = seed_documents()
    companies: dict[int, int] = {}
    body = json.dumps({"query": CONTRACT_QUERY, "variables": VARIABLES}).encode()
    cases: dict[str, tuple[str, bytes]] = {}
    for extra in extras:
        database = f"read_cost_employers_{extra}"
        companies[extra] = await write_employers(uri, database, base, extra)
        cases[str(extra)] = (database, body)
    measured = await measure_both(uri, cases, requests, rounds)
    print(f"\n| companies in {ROLES[0]} | memo on: p50 / p99 | memo off: p50 / p99 |")
    print("|---|---|---|")
    small = str(min(extras))
    for extra in extras:
        on, off = measured[str(extra), True], measured[str(extra), False]
        print(
            f"| {companies[extra]:,} | {on[0]:.2f} / {on[1]:.2f} ms "
            f"({on[0] / measured[small, True][0]:.2f}x) | {off[0]:.2f} / {off[1]:.2f} ms "
            f"({off[0] / measured[small, False][0]:.2f}x) |"
        )


async def stored(uri: str, sizes: list[int], requests: int, rounds: int) -> None:
    """The filtered role queries with `sizes` stored postings: p50 / p99 table."""
    from postings_bench import load_market

    for size in sizes:
        database = f"postings_bench_{size}"  # postings_bench's: one --data serves both
        print(f"{size:,} stored postings (postings_bench's market)", flush=True)
        await load_market(uri, database, size)
        await load_rollups(uri, database, size)
    queries = filtered_queries()
    cases = {
        f"{query}|{size}": (f"postings_bench_{size}", body)
        for query, body in queries.items()
        for size in sizes
    }
    measured = await measure_both(uri, cases, requests, rounds)
    small, large = min(sizes), max(sizes)
    columns = " | ".join(f"{size:,} stored" for size in sizes)
    print(f"\n| filtered role query | memo | {columns} | {large:,} / {small:,}, p50 |")
    print("|---|---|" + "---|" * len(sizes) + "---|")
    for query in queries:
        for memo in (True, False):
            cells = [measured[f"{query}|{size}", memo] for size in sizes]
            ratio = measured[f"{query}|{large}", memo][0] / measured[f"{query}|{small}", memo][0]
            row = " | ".join(f"{p50:.2f} / {p99:.2f} ms" for p50, p99 in cells)
            print(f"| {query} | {'on' if memo else 'off'} | {row} | {ratio:.2f}x |")
