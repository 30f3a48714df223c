"""Strawberry's ASGI view with its own guards: an execution timeout, an `extensions.code` on every
refusal, and JSON (not text/plain) for the HTTP errors strawberry raises itself.

Most malformed requests never get here (services/limits.py refuses them at the door); what is
left are errors only strawberry can see: an unknown `operationName`, a GET without a query,
GraphiQL switched off.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping_fields
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import (
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from graphql.validation.validate import ValidationAbortedError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from rolepulse.services.graphql.context import Context
from rolepulse.services.limits import (
    JSON_MEDIA_TYPE,
    METHOD_NOT_ALLOWED,
    QUERY_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    error_body,
)

log = logging.getLogger(__name__)

TIMEOUT = "TIMEOUT"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
VALIDATION_ABORTED = "VALIDATION_ABORTED"
TOO_MANY_VALIDATION_ERRORS = "TOO_MANY_VALIDATION_ERRORS"
BAD_USER_INPUT = "BAD_USER_INPUT"
BAD_REQUEST = "BAD_REQUEST"
NOT_FOUND = "NOT_FOUND"
SUBSCRIPTION_OVER_HTTP = "SUBSCRIPTION_OVER_HTTP"

HTTP_CODES = {
    400: BAD_REQUEST,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    415: UNSUPPORTED_MEDIA_TYPE,
}


def limit_validation_work(budget: int) -> None:
    """Bound the work of graphql-core's overlapping-fields check, the one quadratic rule.

    Only fields sharing a response name are compared, so real queries spend next to nothing
    (the contract query: 0), while `{ __typename __typename ... }` spends n²: at graphql-core's
    default of 500,000 that is ~150 ms of blocked event loop per request before it aborts. The
    budget is a module attribute graphql-core reads when each validation starts.
    """
    overlapping_fields.MAX_COMPLEXITY_BUDGET = budget


class GuardedGraphQL(GraphQL[Context, None]):
    """Set `execution_timeout_s` to cancel executions that take longer (None: no limit)."""

    execution_timeout_s: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            response = Response(
                error_body(error.reason, HTTP_CODES.get(error.status_code, BAD_REQUEST)),
                status_code=error.status_code,
                media_type=JSON_MEDIA_TYPE,
            )
        await response(scope, receive, send)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        if is_subscription(request_data.query, request_data.operation_name):
            # Strawberry would execute it like a query and fail inside (a masked internal
            # error and a traceback): say where subscriptions are served instead.
            message = (
                "Subscriptions run over a websocket (graphql-transport-ws) at this same path, "
                "not over HTTP; send queries over HTTP"
            )
            return ExecutionResult(
                data=None,
                errors=[GraphQLError(message, extensions={"code": SUBSCRIPTION_OVER_HTTP})],
            )
        execute = super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if self.execution_timeout_s is None:
            return await execute
        deadline = asyncio.timeout(self.execution_timeout_s)
        try:
            async with deadline:
                return await execute
        except TimeoutError:
            if not deadline.expired():
                raise  # a TimeoutError of its own, not our deadline
        # Cancelled: pending reads are abandoned and nothing half-done is answered (or cached:
        # responses with errors never are). HTTP 200 like every other GraphQL error.
        log.warning("GraphQL execution cancelled after %ss", self.execution_timeout_s)
        message = (
            f"The query did not finish within {self.execution_timeout_s:g} s and was cancelled; "
            "ask for less, or try again"
        )
        return ExecutionResult(
            data=None, errors=[GraphQLError(message, extensions={"code": TIMEOUT})]
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = [with_code(error) for error in result.errors]
        return await super().process_result(request, result)


@lru_cache(maxsize=256)
def is_subscription(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation a request would run is a subscription (unparsable, ambiguous or
    missing operations are not: execution reports those). Parsed only when the text names
    the keyword at all, and remembered per text, so queries pay a substring search."""
    if query is None or "subscription" not in query:
        return False
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return False
    chosen = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
    ]
    return len(chosen) == 1 and chosen[0].operation is OperationType.SUBSCRIPTION


def with_code(error: GraphQLError) -> GraphQLError:
    """`error` with an `extensions.code` saying why, if it has none yet.

    Errors of resolvers carry theirs (BAD_USER_INPUT) or are masked; what is left are errors of
    parsing, validation and variable coercion, which graphql-core leaves without a code.
    """
    if error.extensions and "code" in error.extensions:
        return error
    message = error.message
    if isinstance(error, GraphQLSyntaxError):
        # Strawberry's MaxTokensLimiter, if a schema adds it, aborts with a syntax error.
        code = QUERY_TOO_LARGE if "tokens. Parsing aborted" in message else GRAPHQL_PARSE_FAILED
    elif isinstance(error, ValidationAbortedError):
        if message.startswith("Too many validation errors"):
            code = TOO_MANY_VALIDATION_ERRORS
            message = (
                "Too many validation errors: validation stopped at the limit; fix the errors "
                "listed and send the query again"
            )
        else:  # graphql-core gives no reason for its work limits
            code = VALIDATION_ABORTED
            message = (
                "Validation aborted: checking this query needs more work than allowed (too many "
                "fields with the same response name, or fragments nested too deeply); simplify it"
            )
    elif error.path is None and error.original_error is None:
        code = BAD_USER_INPUT if message.startswith("Variable '$") else GRAPHQL_VALIDATION_FAILED
    else:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )
