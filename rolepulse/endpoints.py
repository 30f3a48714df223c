"""Where the broker and the database are, and why: flags, environment, running system, defaults.

Every command that connects resolves its endpoints here, in one order: a flag (``--kafka``,
``--mongo``), the environment (``ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS``, ``ROLEPULSE_MONGO_URI``),
the state file of a running `rolepulse run` (``$ROLEPULSE_HOME/run/current.json``), the
defaults. Each endpoint keeps its origin, so an error can say which address was tried and
where it came from. Pure: the caller reads the environment and the state file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from rolepulse.runstate import RunState
from rolepulse.settings import KafkaSettings, MongoSettings

KAFKA_ENV = "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS"
MONGO_ENV = "ROLEPULSE_MONGO_URI"

Source = Literal["flag", "env", "state", "default"]


@dataclass(frozen=True)
class Endpoint:
    value: str
    source: Source
    origin: str  # for people: "from --kafka", "from ROLEPULSE_MONGO_URI", "the default: ..."


@dataclass(frozen=True)
class Endpoints:
    kafka: Endpoint
    mongo: Endpoint


def resolve_endpoints(
    *,
    kafka_flag: str | None,
    mongo_flag: str | None,
    env: Mapping[str, str],
    state: RunState | None,
) -> Endpoints:
    """The broker and database to use; ``state`` is the *live* running system, if any."""
    return Endpoints(
        kafka=_pick(
            "--kafka",
            kafka_flag,
            KAFKA_ENV,
            env,
            state.kafka_bootstrap if state else None,
            state,
            str(KafkaSettings.model_fields["bootstrap_servers"].default),
        ),
        mongo=_pick(
            "--mongo",
            mongo_flag,
            MONGO_ENV,
            env,
            state.mongo_uri if state else None,
            state,
            str(MongoSettings.model_fields["uri"].default),
        ),
    )


def _pick(
    flag: str,
    flag_value: str | None,
    env_name: str,
    env: Mapping[str, str],
    state_value: str | None,
    state: RunState | None,
    default: str,
) -> Endpoint:
    # An empty value counts as unset: `ROLEPULSE_MONGO_URI= rolepulse verify` means "not this".
    if flag_value:
        return Endpoint(flag_value, "flag", f"from {flag}")
    if env.get(env_name):
        return Endpoint(env[env_name], "env", f"from {env_name}")
    if state_value:
        where = f" {state.path}" if state is not None and state.path is not None else ""
        return Endpoint(state_value, "state", f"from the running system's state file{where}")
    return Endpoint(
        default, "default", f"the default: no {flag}, no {env_name}, no running `rolepulse run`"
    )
