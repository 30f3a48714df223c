"""The `metro-levels` demo market: a second market, shaped unlike the seed page, that carries the
truth about every posting it publishes.

Where the seed page is two roles tuned to published figures, this market is about slicing
(rolepulse/demo/metro_shape.py): pay that differs by metro (London, Toronto, Berlin and Bengaluru
paid in their own currencies), by seniority, role, employer and skill; all five seniorities in
each of five roles; every work mode; employers hiring across roles. Its feed has what a real one
has: pay by the year, month, day or hour, as fields or text, undisclosed or implausible; the same
job on two boards (sometimes with other pay or skills there); re-observations, raises and
promotions; closes, sweeper expiries (some stale), reopenings, a close delivered before its
posting's first observation, stale events delivered late; verbatim redeliveries.

`generate` returns the events and, for each board posting, what it must end up as
(`BoardPosting`): the labels the generator wrote into its text and the lifecycle it played. Tests
recompute figures from those labels alone (tests/integration/services/test_metro_market.py), so
the market checks rolepulse's figures without borrowing its aggregation. Deterministic for a
seed and a rate lookup: only `random.Random(seed)` draws, and times are anchored to `END`.
"""

from __future__ import annotations

import copy
import random
import uuid
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rolepulse.demo.metro_shape import (
    CLOSINGS,
    END,
    NON_AI_JOBS,
    PROMOTION,
    ROLES,
    SKILL_SENTENCES,
    SKILLS,
    SPAN,
    Draft,
    PublishedPay,
    RateLookup,
    draft_pay,
    non_ai_draft,
    publish_pay,
    role_drafts,
    target_pay,
)
from rolepulse.demo.render import SOURCES, Json, SourceIds, board_url, stamp
from rolepulse.domain.model import Seniority, WorkMode

# What happens to a job after its first observation (README "Posting lifecycle"), with weights.
FATES = {
    "open": 56,
    "reobserved": 12,  # seen again, unchanged
    "raised": 5,  # seen again with new pay
    "promoted": 3,  # seen again one level up (same normalized title), with new pay
    "stale_update": 3,  # an older observation with other pay delivered after the newest
    "closed": 6,
    "expired": 4,  # the sweeper's conditional close, applied
    "expired_reopened": 2,  # expired, then observed again: open
    "stale_expiry": 2,  # an expiry that saw an older observation than the latest: ignored
    "stale_close": 2,  # a close older than the latest observation, delivered after it: ignored
    "reopened": 3,  # closed, then observed again: open
    "tombstone": 2,  # a close delivered before the (older) first observation: closed
}
CROSS_POSTED = 90  # open jobs also posted on a second board
CROSS_KINDS = {"both": 60, "original_closed": 25, "copy_closed": 15}
HEARTBEATS = 48  # open postings observed again at END, so every partition's clock reaches it
REDELIVERED = 50
UNDISCLOSED = (None, "Competitive", "DOE")
# Every event but the heartbeats and late deliveries happens before this; those are delivered
# at most half an hour after it, and redeliveries before `END`.
LAST = END - timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class BoardPosting:
    """What one board posting must end up as after all its events: the truth tests use."""

    key: str  # "<source>:<source_id>"
    job: int  # the job it lists; a cross-posted job's board postings share it
    role: str | None
    seniority: Seniority
    metro: str | None
    work_mode: WorkMode
    company: str | None  # canonical
    skills: frozenset[str]  # canonical, the title's included
    pay: PublishedPay | None  # None when none is published ("Competitive", nothing)
    first_seen: datetime
    open: bool


@dataclass(frozen=True, slots=True)
class Market:
    events: list[Json]  # in delivery order
    postings: list[BoardPosting]
    clock: datetime  # the stream clock once every event is applied


def generate(rates: RateLookup, seed: int = 10) -> Market:
    """The market's events and truth; `rates` (USD per unit on a day) is what the normalizer
    converts foreign pay at, e.g. `metro_shape.ecb_rates()`."""
    rng = random.Random(seed)
    drafts = [d for shape in ROLES for d in role_drafts(shape, rng)]
    drafts += [non_ai_draft(rng) for _ in range(NON_AI_JOBS)]
    feed = _Feed(rng, rates, drafts)
    ai = [i for i, d in enumerate(drafts) if d.role is not None]
    crossed = feed.cross_post_candidates(ai)
    for i, d in enumerate(drafts):
        feed.play(i, d, crossed.get(i))
    feed.heartbeats()
    return Market(feed.delivered(), feed.truth(), END)


@dataclass(slots=True)
class _Board:
    """One board posting while its events are written."""

    job: int
    source: str
    source_id: str
    posted: datetime
    draft: Draft  # as its newest observation says
    body: Json  # its newest observation's `posting`
    seen: list[datetime] = field(default_factory=list)
    open: bool = True
    fate: str = "open"


class _Feed:
    def __init__(self, rng: random.Random, rates: RateLookup, drafts: Sequence[Draft]) -> None:
        self.rng = rng
        self.rates = rates
        self.drafts = drafts
        self.ids = SourceIds(rng)
        # Jobs alike enough to share a cluster key (company, title, metro) must not look like one
        # job on two boards, so every job with the same company, role and metro (a coarser key)
        # goes to one board, where two postings are two requisitions; only a job alone under its
        # key may be copied to a second board.
        self.homes = Counter(_home_key(d, i) for i, d in enumerate(drafts))
        self.fates = [self._fate(d) for d in drafts]
        self.boards: list[_Board] = []
        self.timed: list[tuple[datetime, int, Json]] = []  # (delivered at, order, event)

    def _fate(self, d: Draft) -> str:
        if d.role is None:
            return "open" if self.rng.random() < 0.7 else "closed"
        return self.rng.choices(list(FATES), weights=list(FATES.values()))[0]

    def cross_post_candidates(self, ai: Sequence[int]) -> dict[int, str]:
        alone = [i for i in ai if self.fates[i] in ("open", "reobserved") and self._alone(i)]
        picked = self.rng.sample(alone, CROSS_POSTED)
        kinds = self.rng.choices(
            list(CROSS_KINDS), weights=list(CROSS_KINDS.values()), k=len(picked)
        )
        return dict(zip(picked, kinds, strict=True))

    def _alone(self, i: int) -> bool:
        # A posting without an employer joins no cluster (README "Publishing events").
        d = self.drafts[i]
        return d.company is not None and self.homes[_home_key(d, i)] == 1

    # ---- one job ----------------------------------------------------------------------------

    def play(self, i: int, d: Draft, cross: str | None) -> None:
        t1 = END - SPAN + timedelta(seconds=self.rng.randrange(25 * 86_400))
        posted = t1 - timedelta(hours=self.rng.randrange(120))
        d = replace(d, pay=draft_pay(d, posted.date(), self.rates, self.rng))
        source = SOURCES[zlib.crc32(_home_key(d, i).encode()) % len(SOURCES)]
        b = self._board(i, source, posted, d)
        b.fate = fate = self.fates[i]
        t2, t3 = sorted(self._after(t1) for _ in range(2))
        if fate == "tombstone":
            self._emit(t1 - timedelta(hours=1), self._close(b, t2))
            self._observe(b, t1)
            b.open = False
            return
        self._observe(b, t1, self._variant(b) if fate == "stale_update" else None)
        match fate:
            case "reobserved":
                self._observe(b, t2)
            case "raised" | "promoted":
                self._observe(b, t2, self._raised(b, promote=fate == "promoted"))
            case "stale_update":
                self._observe(b, t3, d)
                self._observe(b, t2, self._variant(b), final=False, deliver=t3 + _later(self.rng))
            case "closed":
                self._emit(t2, self._close(b, t2))
                b.open = False
            case "expired":
                self._emit(t2, self._expire(b, t2, t1))
                b.open = False
            case "expired_reopened":
                self._emit(t2, self._expire(b, t2, t1))
                self._observe(b, t3)
            case "stale_expiry":
                self._observe(b, t2)
                self._emit(t3, self._expire(b, t3, t1))
            case "stale_close":
                self._observe(b, t3)
                self._emit(t3 + _later(self.rng), self._close(b, t2))
            case "reopened":
                self._emit(t2, self._close(b, t2))
                self._observe(b, t3)
        if cross is not None:
            self._cross_post(b, cross)

    def _cross_post(self, b: _Board, kind: str) -> None:
        """The same job on another board, first seen before or after the original."""
        others = [s for s in SOURCES if s != b.source]
        tc = END - SPAN + timedelta(seconds=self.rng.randrange(26 * 86_400))
        copy_ = self._board(b.job, self.rng.choice(others), b.posted, self._copy_of(b))
        copy_.fate = "copy"
        self._observe(copy_, tc)
        closing = b if kind == "original_closed" else copy_ if kind == "copy_closed" else None
        if closing is not None:
            at = self._after(max(b.seen + copy_.seen))
            self._emit(at, self._close(closing, at))
            closing.open = False

    def _copy_of(self, b: _Board) -> Draft:
        """What another board shows of the job: maybe other pay, a skill fewer, the arrangement
        worded differently, another spelling of the employer; never another title or place."""
        rng, d = self.rng, b.draft
        company = d.company
        spelling = rng.choice(company.spellings) if company else None
        pay = d.pay
        roll = rng.random()
        if roll < 0.25:
            pay = None
        elif roll < 0.5:
            pay = self._reprice(b, d, 1.04)
        skills = d.skills[:-1] if d.skills and rng.random() < 0.3 else d.skills
        mode = d.work_mode
        if rng.random() < 0.2:
            mode = _SWAPPED_MODE.get(mode, mode)
        return replace(d, spelling=spelling, pay=pay, skills=skills, work_mode=mode)

    def _raised(self, b: _Board, *, promote: bool) -> Draft:
        d = b.draft
        if promote and d.seniority in PROMOTION:
            level = PROMOTION[d.seniority]
            shape = next(r for r in ROLES if r.role == d.role)
            d = replace(d, seniority=level, title=self.rng.choice(shape.titles[level]))
        return replace(d, pay=self._reprice(b, d, 1.08))

    def _variant(self, b: _Board) -> Draft:
        return replace(b.draft, pay=self._reprice(b, b.draft, self.rng.uniform(0.85, 0.97)))

    def _reprice(self, b: _Board, d: Draft, factor: float) -> PublishedPay:
        """New pay for `d` on `b`, converted at the rate of `b`'s posting date."""
        lo, hi = (round(x * factor) for x in target_pay(d, self.rng))
        return publish_pay(lo, hi, d.metro, b.posted.date(), self.rates, self.rng)

    # ---- events -----------------------------------------------------------------------------

    def _board(self, job: int, source: str, posted: datetime, d: Draft) -> _Board:
        source_id = self.ids.next(source)
        b = _Board(job, source, source_id, posted, d, {})
        b.body = self._render(b, d)
        self.boards.append(b)
        return b

    def _observe(
        self,
        b: _Board,
        at: datetime,
        d: Draft | None = None,
        *,
        final: bool = True,
        deliver: datetime | None = None,
    ) -> None:
        body = copy.deepcopy(b.body) if d is None or d == b.draft else self._render(b, d)
        if final:
            b.draft, b.body = (d or b.draft), body
        b.seen.append(at)
        self._emit(deliver or at, self._event("posting.observed", at, b, body))

    def _close(self, b: _Board, at: datetime) -> Json:
        return self._event("posting.closed", at, b, {"source_id": b.source_id}) | {
            "reason": "filled"
        }

    def _expire(self, b: _Board, at: datetime, last_observed: datetime) -> Json:
        """As the sweeper publishes it: closed unless observed after `last_observed`."""
        event = self._event("posting.closed", at, b, {"source_id": b.source_id})
        key = f"{b.source}:{b.source_id}"
        return event | {
            "event_id": f"expiry:{key}:{stamp(last_observed)}",
            "reason": "expired",
            "last_observed_at": stamp(last_observed),
        }

    def _event(self, kind: str, at: datetime, b: _Board, posting: Json) -> Json:
        return {
            "version": 1,
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "event_type": kind,
            "occurred_at": stamp(at),
            "source": b.source,
            "posting": posting,
        }

    def _emit(self, deliver: datetime, event: Json) -> None:
        self.timed.append((deliver, len(self.timed), event))

    def _after(self, at: datetime) -> datetime:
        """A whole second strictly after `at` and before `LAST`."""
        return at + timedelta(seconds=self.rng.randrange(1, int((LAST - at).total_seconds())))

    def _render(self, b: _Board, d: Draft) -> Json:
        rng = self.rng
        location, remote = _where(d, rng)
        return {
            "source_id": b.source_id,
            "url": board_url(b.source, b.source_id, d.spelling or "confidential"),
            "title": d.title,
            "company": d.spelling,
            "location": location,
            "remote": remote,
            "description": _description(d, rng),
            "salary": d.pay.salary if d.pay else None,
            "salary_text": d.pay.salary_text if d.pay else rng.choice(UNDISCLOSED),
            "seniority": None,
            "employment_type": "Full-time",
            "posted_at": stamp(b.posted),
        }

    # ---- the end of the feed ----------------------------------------------------------------

    def heartbeats(self) -> None:
        plain = [b for b in self.boards if b.fate == "open" and b.open and b.draft.role]
        for b in self.rng.sample(plain, HEARTBEATS):
            self._observe(b, END)

    def delivered(self) -> list[Json]:
        """Events in delivery order, some delivered twice verbatim a little later."""
        timed = sorted(self.timed, key=lambda t: (t[0], t[1]))
        before_end = [t for t in timed if t[0] < END]
        for at, order, event in self.rng.sample(before_end, REDELIVERED):
            again = min(
                at + timedelta(minutes=self.rng.randrange(1, 2_000)), END - timedelta(hours=1)
            )
            timed.append((again, len(self.timed) + order, copy.deepcopy(event)))
        return [event for _, _, event in sorted(timed, key=lambda t: (t[0], t[1]))]

    def truth(self) -> list[BoardPosting]:
        return [
            BoardPosting(
                key=f"{b.source}:{b.source_id}",
                job=b.job,
                role=b.draft.role,
                seniority=b.draft.seniority,
                metro=b.draft.metro.name,
                work_mode=b.draft.work_mode,
                company=b.draft.company.name if b.draft.company else None,
                skills=frozenset(b.draft.title_skills + b.draft.skills),
                pay=b.draft.pay,
                first_seen=min(b.seen),
                open=b.open,
            )
            for b in self.boards
        ]


_SWAPPED_MODE = {
    WorkMode.ONSITE: WorkMode.HYBRID,
    WorkMode.HYBRID: WorkMode.ONSITE,
    WorkMode.REMOTE: WorkMode.REMOTE,
    WorkMode.UNKNOWN: WorkMode.REMOTE,
}


def _home_key(d: Draft, i: int) -> str:
    return f"{d.company.name if d.company else f'#{i}'}|{d.role}|{d.metro.name}"


def _later(rng: random.Random) -> timedelta:
    return timedelta(seconds=rng.randrange(60, 1_800))


def _where(d: Draft, rng: random.Random) -> tuple[str | None, bool | None]:
    """The location field and remote flag a board writes for `d`'s metro and work mode."""
    if d.metro.name is None:
        if d.work_mode is WorkMode.UNKNOWN:
            return rng.choice((None, "United States")), None
        return rng.choice((("Remote", True), ("Remote - US", True), (None, True), ("Remote", None)))
    place = rng.choice(d.metro.places)
    match d.work_mode:
        case WorkMode.HYBRID:
            return rng.choice((f"{place} (Hybrid)", f"Hybrid remote in {place}")), rng.choice(
                (None, False)
            )
        case WorkMode.REMOTE:
            return rng.choice((place, f"Remote in {place}")), True
    return place, rng.choice((None, False))


def _description(d: Draft, rng: random.Random) -> str:
    parts = [d.intro]
    if d.skills:
        phrases = [rng.choice(SKILLS[s][1]) for s in d.skills]
        listed = (
            phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        )
        parts.append(rng.choice(SKILL_SENTENCES).format(skills=listed))
    parts.append(rng.choice(CLOSINGS))
    return " ".join(p for p in parts if p)
