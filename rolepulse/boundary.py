"""The CLI's one error boundary and the per-invocation state it reads.

Every command runs inside ``ErrorBoundary.invoke``: a failure ``rolepulse.errors.explain``
knows becomes ``error: <one line>`` on stderr and its exit code; anything else, and everything
under ``--debug`` (or ``ROLEPULSE_DEBUG=1``), keeps its traceback. Commands record the endpoints
they resolved (``resolve``) so a connection error can name the address tried and its origin.
"""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from rolepulse.endpoints import Endpoints, resolve_endpoints
from rolepulse.errors import explain


@dataclass
class Invocation:
    """What the boundary needs to know about the command it wraps."""

    debug: bool = False
    endpoints: Endpoints | None = None  # resolved by the command, named in connection errors


# Set for the length of one command; a ContextVar rather than click's context because typer
# vendors click and offers no public way to reach its current context from a command.
_invocation: ContextVar[Invocation] = ContextVar("rolepulse_invocation")


def current() -> Invocation:
    """The running command's invocation (a fresh one outside the boundary, e.g. in tests)."""
    try:
        return _invocation.get()
    except LookupError:
        _invocation.set(Invocation())
        return _invocation.get()


class ErrorBoundary(TyperGroup):
    """The `rolepulse` group: runs each command inside the error boundary."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click.Context
        invocation = Invocation()
        token = _invocation.set(invocation)
        try:
            return super().invoke(ctx)
        except Exception as exc:
            failure = explain(exc, invocation.endpoints)
            if failure is None or invocation.debug:
                raise
            typer.echo(f"error: {failure.message}", err=True)
            raise typer.Exit(failure.exit_code) from None
        finally:
            _invocation.reset(token)


def resolve(kafka: str | None = None, mongo: str | None = None) -> Endpoints:
    """Broker and database from flags, environment, the running system, defaults; recorded
    for the boundary's messages."""
    from rolepulse.devservices import default_home
    from rolepulse.runstate import live_state, state_path

    endpoints = resolve_endpoints(
        kafka_flag=kafka,
        mongo_flag=mongo,
        env=os.environ,
        state=live_state(state_path(default_home())),
    )
    current().endpoints = endpoints
    return endpoints


def quiet_client_logs() -> None:
    """For one-shot commands: the boundary reports a connection failure in one line, and
    aiokafka would log it too (through logging's last-resort handler). --debug keeps it."""
    if not current().debug:
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
