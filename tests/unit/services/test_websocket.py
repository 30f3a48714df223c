"""Which operations may run over graphql-transport-ws (subscriptions, nothing else), and which of
their results are sent."""

from __future__ import annotations

from typing import Any

import pytest

from rolepulse.services.graphql.errors import MASKED_MESSAGE
from rolepulse.services.graphql.subscriptions import payload_digest
from rolepulse.services.websocket import NOT_A_SUBSCRIPTION, failed_inside, refusal

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


def test_a_results_digest_is_its_data_and_errors_not_its_extensions() -> None:
    one = {"data": {"a": 1}, "extensions": {"cost": {"throttleStatus": {"currentlyAvailable": 9}}}}
    two = {"data": {"a": 1}, "extensions": {"cost": {"throttleStatus": {"currentlyAvailable": 5}}}}
    assert payload_digest(one) == payload_digest(two)
    assert payload_digest(one) != payload_digest({"data": {"a": 2}})
    assert payload_digest(one) != payload_digest({"data": {"a": 1}, "errors": [{"message": "x"}]})


def test_only_results_that_failed_inside_are_held_back() -> None:
    masked = {"message": MASKED_MESSAGE, "path": ["roleUpdated", "weeklyTrend"]}
    assert failed_inside({"data": None, "errors": [masked]})
    assert not failed_inside({"data": {"a": 1}})
    client_error = {"message": "Unknown role slug 'x'", "extensions": {"code": "BAD_USER_INPUT"}}
    assert not failed_inside({"data": None, "errors": [masked, client_error]})
