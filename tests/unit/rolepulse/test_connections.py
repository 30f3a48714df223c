"""Settings -> client arguments, for every protocol and mechanism, however the settings arrive
(constructor, environment, password from a mounted file). No broker or server is contacted."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from pathlib import Path
from typing import Any, TypeVar

import certifi
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient

from rolepulse import connections
from rolepulse.connections import (
    KafkaBootstrapTimeoutError,
    kafka_client_kwargs,
    mongo_client_kwargs,
)
from rolepulse.settings import KafkaSettings, MongoSettings

PASSWORD = "hunter2-s3cret"
FILE_FIELDS = {"ssl_cafile", "ssl_certfile", "ssl_keyfile", "tls_ca_file"}
SOURCES = ["constructor", "environment", "password file"]
S = TypeVar("S", KafkaSettings, MongoSettings)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("ROLEPULSE_"):
            monkeypatch.delenv(name)


def build(
    cls: type[S],
    given: dict[str, Any],
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> S:
    """`cls` from `given` as the constructor, the environment, or the environment with the
    password in a file (file fields name files created under tmp_path) would set it."""
    values = dict(given)
    for field in FILE_FIELDS & values.keys():
        path = tmp_path / values[field]
        path.write_text("PEM\n")
        values[field] = path
    if source == "constructor":
        return cls(**values)
    password_field = "sasl_password" if cls is KafkaSettings else "password"
    if source == "password file" and password_field in values:
        secret = tmp_path / "password"
        secret.write_text(values.pop(password_field) + "\n")  # as `kubectl create secret` leaves
        values[f"{password_field}_file"] = secret
    prefix = cls.model_config.get("env_prefix", "")
    for field, value in values.items():
        monkeypatch.setenv(f"{prefix}{field}".upper(), str(value))
    return cls()


class FakeSslContext:
    """What create_ssl_context was called with, in place of the context it builds."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


KAFKA_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
    # (case, settings, client kwargs besides ssl_context, create_ssl_context arguments or None)
    ("local plaintext", {}, {"security_protocol": "PLAINTEXT"}, None),
    (
        "TLS, system CAs",
        {"security_protocol": "SSL"},
        {"security_protocol": "SSL"},
        {"cafile": None, "certfile": None, "keyfile": None},
    ),
    (
        "TLS, private CA",
        {"security_protocol": "SSL", "ssl_cafile": "ca.pem"},
        {"security_protocol": "SSL"},
        {"cafile": "ca.pem", "certfile": None, "keyfile": None},
    ),
    (
        "mutual TLS",
        {
            "security_protocol": "SSL",
            "ssl_cafile": "ca.pem",
            "ssl_certfile": "client.pem",
            "ssl_keyfile": "client.key",
        },
        {"security_protocol": "SSL"},
        {"cafile": "ca.pem", "certfile": "client.pem", "keyfile": "client.key"},
    ),
    (
        "SASL PLAIN over TLS (Confluent Cloud)",
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "API_KEY",
            "sasl_password": PASSWORD,
        },
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_plain_username": "API_KEY",
            "sasl_plain_password": PASSWORD,
        },
        {"cafile": None, "certfile": None, "keyfile": None},
    ),
    (
        "SCRAM-SHA-256 over TLS, private CA",
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_username": "svc",
            "sasl_password": PASSWORD,
            "ssl_cafile": "ca.pem",
        },
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_plain_username": "svc",
            "sasl_plain_password": PASSWORD,
        },
        {"cafile": "ca.pem", "certfile": None, "keyfile": None},
    ),
    (
        "SCRAM-SHA-512 over TLS",
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "svc",
            "sasl_password": PASSWORD,
        },
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "svc",
            "sasl_plain_password": PASSWORD,
        },
        {"cafile": None, "certfile": None, "keyfile": None},
    ),
    (
        "SCRAM-SHA-512 in the clear (inside a private network)",
        {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "svc",
            "sasl_password": PASSWORD,
        },
        {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "svc",
            "sasl_plain_password": PASSWORD,
        },
        None,
    ),
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("given", "expected", "ssl_args"),
    [c[1:] for c in KAFKA_CASES],
    ids=[c[0] for c in KAFKA_CASES],
)
def test_kafka_settings_map_to_client_kwargs(
    given: dict[str, Any],
    expected: dict[str, Any],
    ssl_args: dict[str, Any] | None,
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connections, "create_ssl_context", FakeSslContext)
    given = {"bootstrap_servers": "b-1:9096,b-2:9096", **given}
    kafka = build(KafkaSettings, given, source, tmp_path, monkeypatch)

    kwargs = kafka_client_kwargs(kafka)

    context = kwargs.pop("ssl_context", None)
    assert kwargs == {"bootstrap_servers": "b-1:9096,b-2:9096", **expected}
    if ssl_args is None:
        assert context is None
    else:
        assert isinstance(context, FakeSslContext)
        files = {k: None if v is None else tmp_path / v for k, v in ssl_args.items()}
        assert context.kwargs == files


def test_the_tls_context_verifies_the_broker() -> None:
    kafka = KafkaSettings(security_protocol="SSL", ssl_cafile=Path(certifi.where()))
    context = kafka_client_kwargs(kafka)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
async def test_every_kafka_client_accepts_the_kwargs(protocol: str) -> None:
    """aiokafka checks protocol, context and credentials when a client is built, not started."""
    sasl: dict[str, Any] = {
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_username": "svc",
        "sasl_password": PASSWORD,
    }
    kafka = KafkaSettings(security_protocol=protocol, **(sasl if "SASL" in protocol else {}))
    kwargs = kafka_client_kwargs(kafka)
    producer = AIOKafkaProducer(**kwargs, acks="all")
    consumer = AIOKafkaConsumer(**kwargs, group_id="g", enable_auto_commit=False)
    admin = AIOKafkaAdminClient(**kwargs)
    await producer.stop()
    await consumer.stop()
    await admin.close()


DEFAULT_URI = "mongodb://127.0.0.1:27017/?directConnection=true"
MONGO_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("local", {}, {"host": DEFAULT_URI, "serverSelectionTimeoutMS": 5000}),
    (
        "everything in the URI",
        {"uri": f"mongodb://app:{PASSWORD}@m-1,m-2/?replicaSet=rs0&tls=true"},
        {
            "host": f"mongodb://app:{PASSWORD}@m-1,m-2/?replicaSet=rs0&tls=true",
            "serverSelectionTimeoutMS": 5000,
        },
    ),
    (
        "private CA, timeout",
        {"uri": "mongodb://m-1/", "tls_ca_file": "ca.pem", "server_selection_timeout_ms": 2000},
        {"host": "mongodb://m-1/", "serverSelectionTimeoutMS": 2000, "tlsCAFile": "ca.pem"},
    ),
    (
        "TLS switched off explicitly",
        {"uri": "mongodb://m-1/?tls=true", "tls": False},
        {"host": "mongodb://m-1/?tls=true", "serverSelectionTimeoutMS": 5000, "tls": False},
    ),
    (
        "Atlas: SRV URI, credentials outside it",
        {
            "uri": "mongodb+srv://cluster0.ab1cd.mongodb.net/?retryWrites=true&w=majority",
            "tls": True,
            "username": "rolepulse",
            "password": PASSWORD,
        },
        {
            "host": "mongodb+srv://cluster0.ab1cd.mongodb.net/?retryWrites=true&w=majority",
            "serverSelectionTimeoutMS": 5000,
            "tls": True,
            "username": "rolepulse",
            "password": PASSWORD,
        },
    ),
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("given", "expected"), [c[1:] for c in MONGO_CASES], ids=[c[0] for c in MONGO_CASES]
)
def test_mongo_settings_map_to_client_kwargs(
    given: dict[str, Any],
    expected: dict[str, Any],
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mongo = build(MongoSettings, given, source, tmp_path, monkeypatch)
    if "tlsCAFile" in expected:
        expected = expected | {"tlsCAFile": str(tmp_path / expected["tlsCAFile"])}
    assert mongo_client_kwargs(mongo) == expected


def test_pymongo_accepts_the_kwargs() -> None:
    """Unknown options only warn in pymongo; the suite turns warnings into errors."""
    mongo = MongoSettings(
        uri="mongodb://m-1:27017,m-2:27017/?replicaSet=rs0",
        tls_ca_file=Path(certifi.where()),
        username="rolepulse",
        password=PASSWORD,
        server_selection_timeout_ms=1234,
    )
    client: MongoClient[dict[str, Any]] = MongoClient(**mongo_client_kwargs(mongo), connect=False)
    try:
        assert client.options.server_selection_timeout == 1.234
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["producer", "consumer", "admin"])
async def test_a_silent_broker_fails_the_start_within_the_bootstrap_timeout(kind: str) -> None:
    # A host that accepts connections and never answers: aiokafka alone waits 40 s for it.
    accepted: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", bootstrap_timeout_ms=300)
    client = {
        "producer": AIOKafkaProducer,
        "consumer": AIOKafkaConsumer,
        "admin": AIOKafkaAdminClient,
    }[kind](**kafka_client_kwargs(kafka))
    started = time.monotonic()
    try:
        with pytest.raises(KafkaBootstrapTimeoutError, match=r"within 0\.3 s"):
            await connections.start_kafka_client(client, kafka)
    finally:
        await (client.close() if kind == "admin" else client.stop())
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()
    assert accepted, "the client did connect: the wait was for an answer"
    assert time.monotonic() - started < 5
