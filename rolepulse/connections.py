"""Settings -> client keyword arguments, one function per client family.

Every Kafka client (consumer, producers, admin) and every MongoDB client the product builds takes
its connection arguments from here, so TLS and credentials reach all of them or none. Call sites
add what is theirs (group id, acks, tz_aware) next to the spread:

    AIOKafkaProducer(**kafka_client_kwargs(kafka), acks="all")
    AsyncMongoClient(**mongo_client_kwargs(mongo), tz_aware=True)
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiokafka.errors import KafkaConnectionError
from aiokafka.helpers import create_ssl_context

from rolepulse.settings import KafkaSettings, MongoSettings


def kafka_client_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    """Bootstrap servers, security protocol, SASL credentials and TLS context for aiokafka."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        # Never None here: the settings refuse a SASL protocol without all three.
        password = kafka.sasl_password
        kwargs |= {
            "sasl_mechanism": kafka.sasl_mechanism,
            # aiokafka's names; SCRAM reads its credentials from the same two arguments.
            "sasl_plain_username": kafka.sasl_username,
            "sasl_plain_password": password.get_secret_value() if password else None,
        }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        # Built per call, not cached: clients are few and long-lived, and a certificate rotated
        # on disk reaches the next one started. aiokafka's helper always verifies the broker's
        # certificate and host name.
        kwargs["ssl_context"] = create_ssl_context(
            cafile=kafka.ssl_cafile, certfile=kafka.ssl_certfile, keyfile=kafka.ssl_keyfile
        )
    return kwargs


class _Startable(Protocol):
    async def start(self) -> None: ...


class KafkaBootstrapTimeoutError(KafkaConnectionError):  # type: ignore[misc]  # untyped base
    """The broker did not complete a client's start within the bootstrap timeout."""

    def __init__(self, servers: str, seconds: float) -> None:
        super().__init__(f"no answer from {servers} within {seconds:g} s")
        self.seconds = seconds


async def start_kafka_client(client: _Startable, kafka: KafkaSettings) -> None:
    """`client.start()` (any aiokafka producer, consumer or admin client), bounded in time.

    On timeout the client is left to its owner's `finally` to stop, as after a failed start.
    """
    seconds = kafka.bootstrap_timeout_ms / 1000
    try:
        await asyncio.wait_for(client.start(), seconds)
    except TimeoutError:
        raise KafkaBootstrapTimeoutError(kafka.bootstrap_servers, seconds) from None


def mongo_client_kwargs(mongo: MongoSettings) -> dict[str, Any]:
    """URI, server-selection timeout, TLS and credentials for (Async)MongoClient.

    Options left unset are not passed, so what the URI says (`tls=true`, credentials) holds;
    those that are set take precedence over the URI, as pymongo gives keyword arguments.
    """
    kwargs: dict[str, Any] = {
        "host": mongo.uri,
        "serverSelectionTimeoutMS": mongo.server_selection_timeout_ms,
    }
    if mongo.tls is not None:
        kwargs["tls"] = mongo.tls
    if mongo.tls_ca_file is not None:
        kwargs["tlsCAFile"] = str(mongo.tls_ca_file)
    if mongo.username is not None and mongo.password is not None:
        kwargs["username"] = mongo.username
        kwargs["password"] = mongo.password.get_secret_value()
    return kwargs
