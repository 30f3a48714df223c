"""graphql-transport-ws on /graphql, for subscriptions only.

Queries go over HTTP, where every guard of the API stands: the door limits (body size, JSON shape,
tokens), the execution timeout, the response cache and per-client rate limiting are HTTP
wrappers around the GraphQL view, and a `subscribe` message runs the schema directly, past all of
them. So an operation that is not a subscription is answered with an `error` message naming the
HTTP endpoint, before it is executed; the schema's own guards (cost, depth, aliases) still apply to
subscriptions. The query is parsed under the same token limit as an HTTP request.

A subscription's result is sent only when it differs from the last one sent on it (see
services/graphql/subscriptions.py), and a result that failed inside (a read during a database
outage: a masked internal error) does not replace a good one already sent: the subscriber keeps
its last value and hears of the next real change. When rate limiting is on, each subscribe is
charged its cost to the client's bucket (`SubscriptionAdmission`), as an HTTP query would be.
"""

from __future__ import annotations

from typing import Any, cast

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)

from rolepulse.services.graphql.errors import MASKED_MESSAGE
from rolepulse.services.graphql.subscriptions import payload_digest
from rolepulse.services.ratelimit import Admission, Decision

NOT_A_SUBSCRIPTION = "NOT_A_SUBSCRIPTION"


def refusal(payload: Any, max_tokens: int) -> GraphQLError | None:
    """Why this subscribe payload may not run over the websocket, or None if it may."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None  # malformed: strawberry answers it as the protocol requires
    query, name = payload["query"], payload.get("operationName")
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        return error
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if name is None or (op.name and op.name.value == name)]
    if len(chosen) != 1 or chosen[0].operation is OperationType.SUBSCRIPTION:
        # No such operation, or an ambiguous choice: the schema refuses it before executing.
        return None
    return GraphQLError(
        f"Only subscriptions run over the websocket; send this {chosen[0].operation.value} as an "
        "HTTP POST to /graphql",
        extensions={"code": NOT_A_SUBSCRIPTION},
    )


class SubscriptionAdmission(Admission):
    """A websocket's access to its client's bucket: EVERY operation is charged.

    An HTTP request's `Admission` charges once (one request, one operation); a socket carries
    any number of subscribes over its life, and each must pay like a query would.
    """

    __slots__ = ()

    def admit(self, cost: int) -> Decision:
        self.decision = self.limiter.charge(self.client, cost)
        return self.decision


def failed_inside(payload: Any) -> bool:
    """True for a result whose every error is a masked internal one (a failed read)."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(e, dict) and e.get("message") == MASKED_MESSAGE for e in errors)


def subscriptions_only(max_tokens: int) -> type[BaseGraphQLTransportWSHandler[Any, Any]]:
    """strawberry's graphql-transport-ws handler, refusing queries and mutations and sending a
    subscription's result only when it changed."""

    class SubscriptionsOnly(BaseGraphQLTransportWSHandler[Any, Any]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.sent: dict[str, bytes] = {}  # operation id -> digest of its last result sent

        async def send_message(self, message: Message) -> None:
            fields = cast(dict[str, Any], message)
            kind, operation_id = fields.get("type"), fields.get("id")
            if kind == "next" and isinstance(operation_id, str):
                digest = payload_digest(fields.get("payload"))
                last = self.sent.get(operation_id)
                if last == digest:
                    return  # the commit changed nothing this subscription selected
                if last is not None and failed_inside(fields.get("payload")):
                    return  # keep the good value sent; the next version will tell
                self.sent[operation_id] = digest
            elif kind in ("complete", "error") and isinstance(operation_id, str):
                self.sent.pop(operation_id, None)
            await super().send_message(message)

        async def cleanup_operation(self, operation_id: str) -> None:
            # The client's `complete`, or the socket closing: forget what was sent on it.
            self.sent.pop(operation_id, None)
            await super().cleanup_operation(operation_id)

        async def handle_subscribe(self, message: SubscribeMessage) -> None:
            # Checked after the handshake and duplicate-id rules, which close the socket.
            if self.connection_acknowledged and message["id"] not in self.operations:
                error = refusal(message["payload"], max_tokens)
                if error is not None:
                    await self.send_message(
                        {"id": message["id"], "type": "error", "payload": [error.formatted]}
                    )
                    return
            await super().handle_subscribe(message)

    return SubscriptionsOnly
