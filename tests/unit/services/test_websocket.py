"""Which operations may run over graphql-transport-ws: subscriptions, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from rolepulse.services.websocket import NOT_A_SUBSCRIPTION, refusal

TOKENS = 5_000


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "subscription { ticks }"},
        {"query": "query Q { a } subscription S { b }", "operationName": "S"},
        # Left to strawberry and the schema, which refuse them without executing anything:
        {"query": "query A { a } query B { b }"},  # ambiguous
        {"query": "query A { a }", "operationName": "Nope"},  # no such operation
        {"query": 42},  # malformed
        "not an object",
    ],
)
def test_subscriptions_and_what_the_schema_refuses_pass(payload: Any) -> None:
    assert refusal(payload, TOKENS) is None


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"query": "{ market { openPositions } }"}, "query"),
        ({"query": "mutation { x }"}, "mutation"),
        ({"query": "query Q { a } subscription S { b }", "operationName": "Q"}, "query"),
    ],
)
def test_queries_and_mutations_are_sent_to_http(payload: dict[str, Any], kind: str) -> None:
    error = refusal(payload, TOKENS)
    assert error is not None
    assert error.extensions == {"code": NOT_A_SUBSCRIPTION}
    assert f"send this {kind} as an HTTP POST to /graphql" in error.message


def test_the_token_limit_applies_before_anything_else() -> None:
    error = refusal({"query": "subscription { " + "a " * 100 + "}"}, 50)
    assert error is not None
    assert "token" in error.message.lower()
