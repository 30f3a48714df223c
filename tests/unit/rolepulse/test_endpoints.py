"""Endpoint resolution: flags, then environment, then the running system, then defaults."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from rolepulse.endpoints import KAFKA_ENV, MONGO_ENV, resolve_endpoints
from rolepulse.runstate import RunState, live_state, process_started, write_state

STATE = RunState(
    pid=1,
    started_at="2026-11-25T21:00:00+00:00",
    kafka_bootstrap="127.0.0.1:41000",
    mongo_uri="mongodb://127.0.0.1:42000/?directConnection=true",
    api_url="http://127.0.0.1:8000",
    run_dir="/tmp/run",
    data_dir=None,
)
ENV = {KAFKA_ENV: "env-kafka:9092", MONGO_ENV: "mongodb://env-mongo/"}


@pytest.mark.parametrize(
    ("flags", "env", "state", "expected"),
    [
        (("flag-kafka:1", "mongodb://flag/"), ENV, STATE, ("flag", "flag")),
        ((None, None), ENV, STATE, ("env", "env")),
        ((None, None), {}, STATE, ("state", "state")),
        ((None, None), {}, None, ("default", "default")),
        # Each endpoint on its own: a flag for one, the environment for the other.
        (("flag-kafka:1", None), ENV, None, ("flag", "env")),
        ((None, "mongodb://flag/"), {KAFKA_ENV: "env-kafka:9092"}, STATE, ("env", "flag")),
        # An empty variable counts as unset.
        ((None, None), {KAFKA_ENV: "", MONGO_ENV: ""}, STATE, ("state", "state")),
    ],
)
def test_the_first_source_that_has_a_value_wins(
    flags: tuple[str | None, str | None],
    env: dict[str, str],
    state: RunState | None,
    expected: tuple[str, str],
) -> None:
    got = resolve_endpoints(kafka_flag=flags[0], mongo_flag=flags[1], env=env, state=state)
    assert (got.kafka.source, got.mongo.source) == expected
    values = {
        "flag": (flags[0], flags[1]),
        "env": (env.get(KAFKA_ENV), env.get(MONGO_ENV)),
        "state": (STATE.kafka_bootstrap, STATE.mongo_uri),
        "default": ("127.0.0.1:9092", "mongodb://127.0.0.1:27017/?directConnection=true"),
    }
    assert got.kafka.value == values[expected[0]][0]
    assert got.mongo.value == values[expected[1]][1]


def test_origins_name_the_flag_the_variable_or_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "current.json"
    state = replace(STATE, path=path)
    got = resolve_endpoints(kafka_flag="k:1", mongo_flag=None, env={}, state=state)
    assert got.kafka.origin == "from --kafka"
    assert got.mongo.origin == f"from the running system's state file {path}"
    got = resolve_endpoints(kafka_flag=None, mongo_flag=None, env=ENV, state=None)
    assert got.kafka.origin == f"from {KAFKA_ENV}"
    got = resolve_endpoints(kafka_flag=None, mongo_flag=None, env={}, state=None)
    assert (
        got.mongo.origin == f"the default: no --mongo, no {MONGO_ENV}, no running `rolepulse run`"
    )


def test_a_state_file_read_from_disk_feeds_the_resolution(tmp_path: Path) -> None:
    path = tmp_path / "run" / "current.json"
    me = replace(STATE, pid=os.getpid(), pid_started=process_started(os.getpid()))
    write_state(path, me)
    got = resolve_endpoints(kafka_flag=None, mongo_flag=None, env={}, state=live_state(path))
    assert (got.kafka.value, got.kafka.source) == (STATE.kafka_bootstrap, "state")
    assert got.mongo.value == STATE.mongo_uri
