"""Per-request context: the read model, the taxonomy and request-scoped DataLoaders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from strawberry.dataloader import DataLoader

from rolepulse.domain.aggregates import MARKET_DOC
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.errors import UnknownRoleError
from rolepulse.services.graphql.slicing import Slices
from rolepulse.services.ratelimit import Admission
from rolepulse.services.read_model import ReadModel, SliceModel, WeeklyDoc

if TYPE_CHECKING:  # subscriptions.py imports this module
    from rolepulse.services.graphql.subscriptions import LiveUpdates

# A weekly-history load key: (role slug, how many of its newest snapshots are needed).
WeeksKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RoleHistory:
    """One role's newest weekly snapshots (newest first) and the latest week of any role."""

    latest_week: str | None
    snapshots: list[WeeklyDoc]


@dataclass(frozen=True, slots=True)
class Context:
    """Built fresh for every request so loader caches never outlive it (no stale reads)."""

    read_model: ReadModel
    taxonomy: Mapping[str, RoleInfo]
    role_docs: DataLoader[str, RoleAggregateDoc]
    market_docs: DataLoader[str, MarketAggregateDoc]
    role_weeks: DataLoader[WeeksKey, RoleHistory]
    # The caller's rate-limit bucket when rate limiting is on (services/ratelimit.py); the cost
    # extension charges the query to it before validation and execution.
    admission: Admission | None = None
    # The app's live-updates hub (services/graphql/subscriptions.py), for subscriptions; None
    # where the server does not follow the data version.
    live: LiveUpdates | None = None
    # Filtered figures and the rollups' extra parts, memoized for the request (slicing.py).
    slices: Slices = field(default_factory=lambda: Slices(None))

    def role_info(self, slug: str) -> RoleInfo:
        info = self.taxonomy.get(slug)
        if info is None:
            raise UnknownRoleError(slug, self.taxonomy)
        return info

    async def market(self) -> MarketAggregateDoc:
        return await self.market_docs.load(MARKET_DOC)

    async def role_history(self, slug: str, snapshots: int) -> RoleHistory:
        return await self.role_weeks.load((slug, snapshots))


_HAS_ROLLUPS: dict[type, bool] = {}


def _has_rollups(model: object) -> bool:
    # A runtime protocol check walks the protocol's members (~10 µs), and the read model's
    # class never changes: once per class, not per request.
    kind = type(model)
    found = _HAS_ROLLUPS.get(kind)
    if found is None:
        found = _HAS_ROLLUPS[kind] = isinstance(model, SliceModel)
    return found


def build_context(
    read_model: ReadModel,
    taxonomy: Mapping[str, RoleInfo],
    admission: Admission | None = None,
    live: LiveUpdates | None = None,
) -> Context:
    async def load_roles(slugs: Sequence[str]) -> list[RoleAggregateDoc]:
        # One `$in` read for every role a query touches; a role without data is an empty doc.
        docs = await read_model.roles(slugs)
        return [docs.get(slug, RoleAggregateDoc()) for slug in slugs]

    async def load_market(keys: Sequence[str]) -> list[MarketAggregateDoc]:
        doc = await read_model.market()
        return [doc for _ in keys]

    async def load_weeks(keys: Sequence[WeeksKey]) -> list[RoleHistory]:
        # One read for every role and window a query asks for: the widest window serves all.
        slugs = list(dict.fromkeys(slug for slug, _ in keys))
        history = await read_model.role_weeks(slugs, max(n for _, n in keys))
        return [
            RoleHistory(history.latest_week, history.by_role.get(slug, [])[:n]) for slug, n in keys
        ]

    return Context(
        read_model=read_model,
        taxonomy=taxonomy,
        role_docs=DataLoader(load_fn=load_roles),
        market_docs=DataLoader(load_fn=load_market),
        role_weeks=DataLoader(load_fn=load_weeks),
        admission=admission,
        live=live,
        slices=Slices(cast(SliceModel, read_model) if _has_rollups(read_model) else None),
    )
