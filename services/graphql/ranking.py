"""Relay connections over a ranking of names by open positions (`metros`, `companies`): argument
checks, opaque keyset cursors and pages. The ranking itself is rolepulse/domain/entities.py."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import strawberry

from rolepulse.domain.entities import Position, Ranking, page_after
from rolepulse.services.graphql.errors import LIMIT_MAX, LIMIT_MIN, BadInputError
from rolepulse.services.graphql.relay import PageInfo

FirstArgument = Annotated[
    int, strawberry.argument(description=f"Entries per page, {LIMIT_MIN}..{LIMIT_MAX}.")
]
AfterArgument = Annotated[
    str | None,
    strawberry.argument(description="The `endCursor` of the previous page; omitted: the first."),
]
_CURSOR_KEYS = {"k", "c", "n"}


def check_first(first: int) -> None:
    if not LIMIT_MIN <= first <= LIMIT_MAX:
        raise BadInputError(
            f"first must be between {LIMIT_MIN} and {LIMIT_MAX} (inclusive), got {first}",
            argument="first",
        )


def encode_cursor(kind: str, count: int, name: str) -> str:
    """Opaque to clients: base64url of the connection's kind and the entry's (count, name)."""
    raw = json.dumps({"k": kind, "c": count, "n": name}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, kind: str) -> Position:
    """The position `text` encodes; anything else (edited, truncated, another connection's) is
    BAD_USER_INPUT naming `after`, never a 500."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError and JSON errors included
        raise _bad_cursor(kind) from exc
    if (
        not isinstance(value, dict)
        or set(value) != _CURSOR_KEYS
        or value["k"] != kind
        or not isinstance(value["c"], int)
        or isinstance(value["c"], bool)
        or value["c"] < 0
        or not isinstance(value["n"], str)
    ):
        raise _bad_cursor(kind)
    return Position(value["c"], value["n"])


def _bad_cursor(kind: str) -> BadInputError:
    return BadInputError(
        f"`after` is not a cursor of `{kind}`; pass an `endCursor` or edge `cursor` this field "
        "returned, unchanged",
        argument="after",
    )


@dataclass(frozen=True, slots=True)
class RankPage:
    """One page of a ranking: its entries, each entry's cursor, and what the connection says."""

    entries: Ranking
    cursors: list[str]
    page_info: PageInfo
    total: int


def read_after(first: int, after: str | None, kind: str) -> Position | None:
    """The page arguments checked, before anything is read: `first`'s range, `after`'s form."""
    check_first(first)
    return None if after is None else decode_cursor(after, kind)


def rank_page(
    ranking: Sequence[tuple[str, int]], kind: str, first: int, after: Position | None
) -> RankPage:
    """The page of `ranking` after the position `after` (`read_after`)."""
    window = page_after(ranking, after, first)
    entries = window[:first]
    cursors = [encode_cursor(kind, count, name) for name, count in entries]
    info = PageInfo(
        has_next_page=len(window) > first,
        has_previous_page=False,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
    return RankPage(entries, cursors, info, len(ranking))
