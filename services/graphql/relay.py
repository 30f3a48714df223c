"""Relay connection parts every paginated field can share (GraphQL Cursor Connections spec)."""

from __future__ import annotations

import strawberry


@strawberry.type(
    description="Where a page of a connection stands. Forward pagination only: pass `endCursor` "
    "as `after` for the next page while `hasNextPage` is true."
)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="Always false: connections here page forward only."
    )
    start_cursor: str | None = strawberry.field(description="The first edge's cursor.")
    end_cursor: str | None = strawberry.field(
        description="Where the next page starts: the last edge's cursor, or, on a page that "
        "stopped early, where reading stopped (it may lie past the last edge); null on an empty "
        "last page."
    )
