"""graphql-transport-ws on /graphql, for subscriptions only.

Queries go over HTTP, where every guard of the API stands: the door limits (body size, JSON shape,
tokens), the execution timeout, the response cache and per-client rate limiting are HTTP
wrappers around the GraphQL view, and a `subscribe` message runs the schema directly, past all of
them. So an operation that is not a subscription is answered with an `error` message naming the
HTTP endpoint, before it is executed; the schema's own guards (cost, depth, aliases) still apply to
subscriptions. The query is parsed under the same token limit as an HTTP request.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

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


def subscriptions_only(max_tokens: int) -> type[BaseGraphQLTransportWSHandler[Any, Any]]:
    """strawberry's graphql-transport-ws handler, refusing queries and mutations."""

    class SubscriptionsOnly(BaseGraphQLTransportWSHandler[Any, Any]):
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
