"""docker-compose.yml and deploy/Dockerfile, checked without a Docker engine.

The compose file is validated against the vendored Compose Specification schema; the rest
checks that it agrees with the code: settings names, CLI commands, files it mounts or copies.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from rolepulse.cli import app as cli_app
from rolepulse.settings import env_names

ROOT = Path(__file__).resolve().parents[3]
APP_SERVICES = {"api": "serve", "consumer": "consume"}

Compose = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> Compose:
    loaded: Compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    # The schema names draft-07 by a URI jsonschema does not map, so pick the draft explicitly.
    schema = json.loads((ROOT / "deploy" / "compose-spec.json").read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def test_compose_file_matches_the_compose_specification(
    compose: Compose, validator: Draft7Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_rejects_a_broken_compose_file(
    compose: Compose, validator: Draft7Validator
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"]["mongo"]["condition"] = "service_ready"
    broken["services"]["api"]["healthcheck"]["interval"] = 10
    assert len(list(validator.iter_errors(broken))) == 2


def test_rolepulse_variables_exist_in_settings(compose: Compose) -> None:
    known = env_names()
    used = {
        name
        for service in compose["services"].values()
        for name in service.get("environment", {})
        if name.startswith("ROLEPULSE_")
    }
    assert used, "the app services are configured through ROLEPULSE_ variables"
    assert used - known == set()


def test_app_services_run_existing_cli_commands_from_the_one_image(compose: Compose) -> None:
    commands = {
        info.name or info.callback.__name__ for info in cli_app.registered_commands if info.callback
    }
    for name, command in APP_SERVICES.items():
        service = compose["services"][name]
        assert service["command"] == [command]
        assert command in commands
        assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    env = compose["services"]["api"]["environment"]
    assert env["ROLEPULSE_API_HOST"] == "0.0.0.0"
    assert "replicaSet=rs0" in env["ROLEPULSE_MONGO_URI"]


def test_the_api_runs_with_the_production_switches(compose: Compose) -> None:
    env = compose["services"]["api"]["environment"]
    assert env["ROLEPULSE_API_GRAPHIQL"] == "false"
    assert env["ROLEPULSE_API_INTROSPECTION"] == "false"
    assert env.get("ROLEPULSE_API_SECURITY_HEADERS", "true") == "true"


def test_dependencies_wait_on_conditions_their_targets_can_meet(compose: Compose) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"
            if rule["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must run once"


def test_kafka_init_creates_the_configured_topics(compose: Compose) -> None:
    env = compose["services"]["consumer"]["environment"]
    kafka_env = compose["services"]["kafka"]["environment"]
    script = " ".join(compose["services"]["kafka-init"]["command"])
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for topic in (env["ROLEPULSE_KAFKA_TOPIC"], env["ROLEPULSE_KAFKA_DLQ_TOPIC"]):
        assert re.search(rf"(^|\s){re.escape(topic)}(\s|;|$)", script), topic
    assert f"--partitions {env['ROLEPULSE_KAFKA_PARTITIONS']}" in script


def test_mongo_replica_set_init_matches_the_uri(compose: Compose) -> None:
    mongo = compose["services"]["mongo"]
    assert mongo["command"][mongo["command"].index("--replSet") + 1] == "rs0"
    mounts = [volume.split(":") for volume in mongo["volumes"] if volume.startswith("./")]
    for source, target, *_ in mounts:
        assert (ROOT / source).is_file(), source
        assert target in mongo["healthcheck"]["test"]
    init_script = (ROOT / "deploy" / "mongo" / "rs-init.js").read_text()
    assert '_id: "rs0"' in init_script
    assert 'host: "mongo:27017"' in init_script


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(maxsplit=1) for line in lines if line and not line.startswith("#")]
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def test_dockerfile_copies_paths_that_exist_and_every_package() -> None:
    copied: set[str] = set()
    for instruction, rest in dockerfile_instructions():
        args = shlex.split(rest)
        if instruction == "COPY" and not any(arg.startswith("--from") for arg in args):
            copied |= {source.rstrip("/") for source in args[:-1]}
    missing = sorted(source for source in copied if not (ROOT / source).exists())
    assert missing == []
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages <= copied
    # rolepulse/services etc. are symlinks to top-level folders: the build needs those too.
    linked = {
        str(path.resolve().relative_to(ROOT))
        for package in packages
        for path in (ROOT / package).iterdir()
        if path.is_symlink()
    }
    assert linked == {"services", "schema", "consumers"}
    assert linked <= copied
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied


def test_dockerfile_installs_only_locked_hashed_files() -> None:
    runs = [args for instruction, args in dockerfile_instructions() if instruction == "RUN"]
    pip_commands = [
        command.strip()
        for run in runs
        for command in run.split("&&")
        if re.search(r"\bpip (install|download|wheel)\b", command)
    ]
    requirement_installs = [c for c in pip_commands if " -r " in c]
    assert requirement_installs, "the image installs its dependencies from a lock"
    for command in requirement_installs:
        assert "--require-hashes" in command, command
        [lock] = re.findall(r"-r (\S+)", command)
        assert Path(lock).name in {"runtime.lock", "build.lock"}, command
    for command in pip_commands:
        if " -r " not in command:
            # The project's own wheel: built or installed without reaching for other packages.
            assert "--no-deps" in command, command
    copied_locks = {
        Path(source).name
        for instruction, rest in dockerfile_instructions()
        if instruction == "COPY"
        for source in shlex.split(rest)[:-1]
        if source.endswith(".lock")
    }
    assert copied_locks == {"runtime.lock", "build.lock"}
    assert all((ROOT / "requirements" / lock).is_file() for lock in copied_locks)


def test_dockerfile_entrypoint_is_the_project_console_script() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entrypoints = [
        args for instruction, args in dockerfile_instructions() if instruction == "ENTRYPOINT"
    ]
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0]) == list(pyproject["project"]["scripts"])
