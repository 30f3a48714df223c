"""The CLI's error boundary: known exceptions -> one line saying what was wrong and what to do.

An ordinary mistake (a missing file, a service that does not answer, a busy port) is the user's
to fix, and a traceback only hides the one fact they need. ``explain`` maps the exception types
we know onto a message and an exit code; anything else is a bug and keeps its traceback, as does
everything under ``--debug``.

Exit codes: 1 a check failed or a service could not start, 2 bad input or settings, 3 a service
could not be reached or nothing is running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rolepulse.endpoints import Endpoint, Endpoints
from rolepulse.settings import redacted_uri

BAD_INPUT = 2
UNREACHABLE = 3


class UserError(Exception):
    """A failure the user can fix, already worded for them."""

    exit_code = BAD_INPUT


class NothingRunningError(UserError):
    exit_code = UNREACHABLE


@dataclass(frozen=True)
class Failure:
    message: str
    exit_code: int


def explain(exc: BaseException, endpoints: Endpoints | None = None) -> Failure | None:
    """The message and exit code for a known exception; None for anything else (a bug)."""
    if isinstance(exc, BaseExceptionGroup):
        # A task group fails with a group: the first known cause speaks for it.
        return next(
            (f for inner in exc.exceptions if (f := explain(inner, endpoints)) is not None), None
        )
    for explainer in (_user, _files, _kafka, _mongo, _settings, _services):
        failure = explainer(exc, endpoints)
        if failure is not None:
            return failure
    return None


def _user(exc: BaseException, _: Endpoints | None) -> Failure | None:
    return Failure(str(exc), exc.exit_code) if isinstance(exc, UserError) else None


def _files(exc: BaseException, _: Endpoints | None) -> Failure | None:
    name = getattr(exc, "filename", None)
    if name is None:
        return None
    if isinstance(exc, IsADirectoryError):
        return Failure(f"{name} is a directory: give the path of a file", BAD_INPUT)
    if isinstance(exc, FileNotFoundError):
        return Failure(f"no such file: {name} (check the path)", BAD_INPUT)
    if isinstance(exc, PermissionError):
        return Failure(f"permission denied: {name}", BAD_INPUT)
    return None


def _kafka(exc: BaseException, endpoints: Endpoints | None) -> Failure | None:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

    from rolepulse.connections import KafkaBootstrapTimeoutError

    if not isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return None
    if endpoints is None:
        return Failure(f"cannot reach the Kafka broker: {exc}", UNREACHABLE)
    where = endpoints.kafka
    # A refused connection fails at once; a silent host is given the bootstrap timeout.
    within = (
        f" within {exc.seconds:g} s (ROLEPULSE_KAFKA_BOOTSTRAP_TIMEOUT_MS)"
        if isinstance(exc, KafkaBootstrapTimeoutError)
        else ""
    )
    return Failure(
        f"no Kafka broker answered at {where.value} ({where.origin}){within}; "
        f"{_advice(where, 'kafka')}",
        UNREACHABLE,
    )


def _mongo(exc: BaseException, endpoints: Endpoints | None) -> Failure | None:
    from pymongo.errors import ConfigurationError, ConnectionFailure, OperationFailure

    where = endpoints.mongo if endpoints is not None else None
    at = f" at {redacted_uri(where.value)} ({where.origin})" if where is not None else ""
    if isinstance(exc, ConnectionFailure):
        advice = f"; {_advice(where, 'mongo')}" if where is not None else ""
        # pymongo states the server-selection timeout it applied: "..., Timeout: 5.0s, ...".
        waited = re.search(r"Timeout: ([0-9.]+)s", str(exc))
        within = f"within {waited[1]} s" if waited else "in time"
        return Failure(f"no MongoDB server answered{at} {within}{advice}", UNREACHABLE)
    if isinstance(exc, ConfigurationError):
        return Failure(f"MongoDB settings{at}: {exc}", BAD_INPUT)
    if isinstance(exc, OperationFailure) and exc.code == _MONGO_AUTH_FAILED:
        return Failure(f"MongoDB{at} refused the credentials", BAD_INPUT)
    return None


_MONGO_AUTH_FAILED = 18


def _settings(exc: BaseException, _: Endpoints | None) -> Failure | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    # Settings hide their input in errors (secrets); the messages name the variables.
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"]
        for e in exc.errors()
    )
    return Failure(f"invalid {exc.title}: {problems}", BAD_INPUT)


def _services(exc: BaseException, _: Endpoints | None) -> Failure | None:
    from rolepulse.devservices import InstallError, ServiceStartError

    # Their messages already say what failed, with the command and the log tail.
    if isinstance(exc, InstallError | ServiceStartError):
        return Failure(str(exc), 1)
    return None


def _advice(where: Endpoint, service: str) -> str:
    flag = f"--{service}"
    if where.source == "default":
        return f"start the local system with `rolepulse run`, or point {flag} at a server"
    if where.source == "state":
        return "the local system does not answer: see `rolepulse status`"
    return "check the address and that the server runs"
