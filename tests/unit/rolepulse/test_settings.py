"""Connection settings: what an operator gets wrong is one clear line naming the variable, and
no secret ever shows in a repr, an error or a logged URI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from rolepulse.settings import KafkaSettings, MongoSettings, redacted_uri

PASSWORD = "hunter2-s3cret"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ROLEPULSE_ variable of the developer's shell leaks into these settings."""
    for name in os.environ:
        if name.startswith("ROLEPULSE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """A file that exists; the settings check only that a configured path is a file."""
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


KAFKA_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "sasl without anything",
        {"security_protocol": "SASL_SSL"},
        "ROLEPULSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs ROLEPULSE_KAFKA_SASL_MECHANISM, "
        "ROLEPULSE_KAFKA_SASL_USERNAME, ROLEPULSE_KAFKA_SASL_PASSWORD "
        "(or ROLEPULSE_KAFKA_SASL_PASSWORD_FILE)",
    ),
    (
        "sasl without password",
        {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "u"},
        "ROLEPULSE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs ROLEPULSE_KAFKA_SASL_PASSWORD "
        "(or ROLEPULSE_KAFKA_SASL_PASSWORD_FILE)",
    ),
    (
        "sasl without mechanism",
        {"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": PASSWORD},
        "ROLEPULSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs ROLEPULSE_KAFKA_SASL_MECHANISM",
    ),
    (
        "credentials but the protocol forgotten",
        {"sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": PASSWORD},
        "ROLEPULSE_KAFKA_SASL_MECHANISM, ROLEPULSE_KAFKA_SASL_USERNAME, "
        "ROLEPULSE_KAFKA_SASL_PASSWORD set, but ROLEPULSE_KAFKA_SECURITY_PROTOCOL=PLAINTEXT "
        "has no SASL",
    ),
    (
        "credentials with TLS only",
        {"security_protocol": "SSL", "sasl_username": "u"},
        "ROLEPULSE_KAFKA_SASL_USERNAME set, but ROLEPULSE_KAFKA_SECURITY_PROTOCOL=SSL has no SASL",
    ),
    (
        "a CA file without TLS",
        {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "u",
            "sasl_password": PASSWORD,
            "ssl_cafile": "{pem}",
        },
        "ROLEPULSE_KAFKA_SSL_CAFILE set, but ROLEPULSE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT "
        "has no TLS",
    ),
    (
        "a CA file that is not there",
        {"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"},
        "ROLEPULSE_KAFKA_SSL_CAFILE=/nonexistent/ca.pem: no such file",
    ),
    (
        "a client key without its certificate",
        {"security_protocol": "SSL", "ssl_keyfile": "{pem}"},
        "ROLEPULSE_KAFKA_SSL_KEYFILE needs ROLEPULSE_KAFKA_SSL_CERTFILE",
    ),
    (
        "password twice",
        {"sasl_password": PASSWORD, "sasl_password_file": "{pem}"},
        "set ROLEPULSE_KAFKA_SASL_PASSWORD or ROLEPULSE_KAFKA_SASL_PASSWORD_FILE, not both",
    ),
    (
        "a password file that is not there",
        {"security_protocol": "SASL_SSL", "sasl_password_file": "/nonexistent/pw"},
        "ROLEPULSE_KAFKA_SASL_PASSWORD_FILE=/nonexistent/pw: No such file or directory",
    ),
    (
        "an unsupported mechanism",
        {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"},
        "sasl_mechanism\n  Input should be 'PLAIN', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'",
    ),
]


@pytest.mark.parametrize(
    ("given", "message"), [c[1:] for c in KAFKA_ERRORS], ids=[c[0] for c in KAFKA_ERRORS]
)
def test_kafka_settings_name_the_variable_to_fix(
    given: dict[str, Any], message: str, pem: Path
) -> None:
    values: dict[str, Any] = {
        k: v.format(pem=pem) if isinstance(v, str) else v for k, v in given.items()
    }
    with pytest.raises(ValidationError) as caught:
        KafkaSettings(**values)
    assert message in str(caught.value)
    assert PASSWORD not in str(caught.value)


MONGO_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "user without password",
        {"username": "alice"},
        "ROLEPULSE_MONGO_USERNAME and ROLEPULSE_MONGO_PASSWORD (or ROLEPULSE_MONGO_PASSWORD_FILE) "
        "go together",
    ),
    ("password without user", {"password": PASSWORD}, "ROLEPULSE_MONGO_USERNAME and"),
    (
        "a CA file that is not there",
        {"tls_ca_file": "/nonexistent/ca.pem"},
        "ROLEPULSE_MONGO_TLS_CA_FILE=/nonexistent/ca.pem: no such file",
    ),
    (
        "password twice",
        {"username": "alice", "password": PASSWORD, "password_file": "{pem}"},
        "set ROLEPULSE_MONGO_PASSWORD or ROLEPULSE_MONGO_PASSWORD_FILE, not both",
    ),
]


@pytest.mark.parametrize(
    ("given", "message"), [c[1:] for c in MONGO_ERRORS], ids=[c[0] for c in MONGO_ERRORS]
)
def test_mongo_settings_name_the_variable_to_fix(
    given: dict[str, Any], message: str, pem: Path
) -> None:
    values: dict[str, Any] = {
        k: v.format(pem=pem) if isinstance(v, str) else v for k, v in given.items()
    }
    with pytest.raises(ValidationError) as caught:
        MongoSettings(uri=f"mongodb://alice:{PASSWORD}@h/", **values)
    assert message in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_an_error_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEPULSE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ROLEPULSE_KAFKA_SASL_PASSWORD", PASSWORD)
    with pytest.raises(ValidationError) as caught:
        KafkaSettings()
    assert "needs ROLEPULSE_KAFKA_SASL_MECHANISM, ROLEPULSE_KAFKA_SASL_USERNAME" in str(
        caught.value
    )
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("content", [PASSWORD, PASSWORD + "\n", PASSWORD + "\r\n"])
def test_a_password_file_is_read_without_its_trailing_newline(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kafka").write_text(content)
    (tmp_path / "mongo").write_text(content)
    monkeypatch.setenv("ROLEPULSE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ROLEPULSE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ROLEPULSE_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("ROLEPULSE_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "kafka"))
    monkeypatch.setenv("ROLEPULSE_MONGO_USERNAME", "alice")
    monkeypatch.setenv("ROLEPULSE_MONGO_PASSWORD_FILE", str(tmp_path / "mongo"))
    kafka, mongo = KafkaSettings(), MongoSettings()
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == PASSWORD
    assert mongo.password is not None
    assert mongo.password.get_secret_value() == PASSWORD


def test_secrets_are_absent_from_repr_and_str() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="svc",
        sasl_password=PASSWORD,
    )
    mongo = MongoSettings(
        uri=f"mongodb+srv://alice:{PASSWORD}@cluster0.example.net/?retryWrites=true",
        username="alice",
        password=PASSWORD,
    )
    for text in (repr(kafka), str(kafka), repr(mongo), str(mongo)):
        assert PASSWORD not in text
    assert "mongodb+srv://alice:***@cluster0.example.net/?retryWrites=true" in repr(mongo)
    # Redacted only for display: the clients get the URI as given.
    assert mongo.uri.startswith(f"mongodb+srv://alice:{PASSWORD}@")


REDACTIONS = [
    ("mongodb://127.0.0.1:27017/?directConnection=true", None),
    (
        "mongodb://alice:pw@mongo-1,mongo-2/rolepulse?replicaSet=rs0",
        "mongodb://alice:***@mongo-1,mongo-2/rolepulse?replicaSet=rs0",
    ),
    (
        "mongodb+srv://alice:p%40ss@cluster0.ab1cd.mongodb.net/?retryWrites=true&w=majority",
        "mongodb+srv://alice:***@cluster0.ab1cd.mongodb.net/?retryWrites=true&w=majority",
    ),
    # An unescaped "@" in the password: nothing of it may show.
    ("mongodb://alice:p@ss@h:27017", "mongodb://alice:***@h:27017"),
    ("mongodb://alice:p?ss/w@h/?tls=true", "mongodb://alice:***@h/?tls=true"),
    ("not a uri", None),
    # X.509: a user name and no password; nothing to hide.
    ("mongodb://CN%3Dclient@h/?authMechanism=MONGODB-X509&tls=true", None),
    (
        "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=pw&appName=rp",
        "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=***&appName=rp",
    ),
    (
        "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok",
        "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=***",
    ),
]


@pytest.mark.parametrize(("uri", "expected"), REDACTIONS)
def test_redacted_uri_masks_passwords_only(uri: str, expected: str | None) -> None:
    assert redacted_uri(uri) == (uri if expected is None else expected)
    assert MongoSettings(uri=uri).redacted_uri() == redacted_uri(uri)


def test_protocol_and_mechanism_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEPULSE_KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.setenv("ROLEPULSE_KAFKA_SASL_MECHANISM", "scram-sha-256")
    kafka = KafkaSettings(sasl_username="svc", sasl_password=PASSWORD)
    assert (kafka.security_protocol, kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
