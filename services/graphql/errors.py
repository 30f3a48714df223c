"""Errors a client caused, and the rule that masks everything else.

A `BadInputError` message reaches the client verbatim (with `extensions.code = "BAD_USER_INPUT"`);
any other exception raised while resolving is replaced by a generic message and logged, so
internals never leak and a failure is a GraphQL error, never a 500 page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError

from rolepulse.domain.trends import MAX_WEEKS

log = logging.getLogger(__name__)

MASKED_MESSAGE = "Internal error; it has been logged."
LIMIT_MIN, LIMIT_MAX = 1, 100
MAX_ECHO = 100  # characters of a client's input repeated in an error
WEEKS_MIN, WEEKS_MAX = 1, MAX_WEEKS


class BadInputError(Exception):
    """A request the client can fix; its message is shown as-is."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": "BAD_USER_INPUT", **details}


class UnknownRoleError(BadInputError):
    def __init__(self, slug: str, valid: Iterable[str]) -> None:
        valid_slugs = sorted(valid)
        shown = echo(slug)
        super().__init__(
            f"Unknown role slug {shown!r}. Valid slugs: {', '.join(valid_slugs)}",
            slug=shown,
            validSlugs=valid_slugs,
        )


def echo(text: str) -> str:
    """`text` cut to MAX_ECHO characters (then ending in "…"): an error never grows with input."""
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}…"


def check_limit(limit: int) -> int:
    if not LIMIT_MIN <= limit <= LIMIT_MAX:
        raise BadInputError(
            f"limit must be between {LIMIT_MIN} and {LIMIT_MAX} (inclusive), got {limit}",
            argument="limit",
        )
    return limit


def check_weeks(weeks: int) -> int:
    if not WEEKS_MIN <= weeks <= WEEKS_MAX:
        raise BadInputError(
            f"weeks must be between {WEEKS_MIN} and {WEEKS_MAX} (inclusive), got {weeks}",
            argument="weeks",
        )
    return weeks


def is_unexpected(error: GraphQLError) -> bool:
    """True for errors from a failing resolver; syntax and validation errors have no cause."""
    original = error.original_error
    return original is not None and not isinstance(original, BadInputError | GraphQLError)


def log_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_unexpected(error):
            log.error("resolver failed at %s: %s", error.path, error, exc_info=error.original_error)
        else:
            log.debug("client error: %s", error.message)
