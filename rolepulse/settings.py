"""One typed settings object per process, read once from the environment (prefix ROLEPULSE_)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(BaseSettings):
    # hide_input_in_errors: a validation error would otherwise print every input value, the
    # SASL password among them, into the log of a process that failed to start.
    model_config = SettingsConfigDict(
        env_prefix="ROLEPULSE_KAFKA_", extra="ignore", hide_input_in_errors=True
    )

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "postings"
    dlq_topic: str = "postings.dlq"
    partitions: int = Field(default=4, ge=1)  # used when we create the topic ourselves
    group_id: str = "rolepulse-consumer"
    # Tansu (local broker) needs small timeouts to rebalance quickly; real Kafka accepts them too.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    # How long starting a client (connect, API versions, metadata) may take. aiokafka's own
    # bound is its 40 s request timeout, so a host that accepts connections but never answers
    # (a wrong port, a broker stuck at start-up) kept every command waiting 40 s.
    bootstrap_timeout_ms: int = Field(default=10_000, ge=100)
    # Tansu rejects idempotent producers; real Kafka deployments may switch it on.
    enable_idempotence: bool = False
    # Managed clusters: SASL over TLS (SASL_SSL) or TLS alone (SSL), mapped onto every client by
    # rolepulse.connections.kafka_client_kwargs. Tansu, the local broker, speaks PLAINTEXT only.
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # A Kubernetes Secret mounted as a file: the password is its content (trailing newline
    # dropped). Exclusive with sasl_password, so which one wins is never a question.
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None  # unset: the system's CA bundle (public CAs, e.g. Confluent)
    ssl_certfile: Path | None = None  # mutual TLS: client certificate (may include the key)
    ssl_keyfile: Path | None = None

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        # librdkafka and the Kafka docs' examples accept `sasl_ssl`; aiokafka wants upper case.
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_security(self) -> Self:
        self.sasl_password = _secret_from_file(
            self, "sasl_password", self.sasl_password, self.sasl_password_file
        )
        sasl_fields = ("sasl_mechanism", "sasl_username", "sasl_password")
        if self.security_protocol.startswith("SASL_"):
            missing = [_env(self, f) for f in sasl_fields if getattr(self, f) is None]
            if self.sasl_password is None:
                missing[-1] += f" (or {_env(self, 'sasl_password_file')})"
            if missing:
                raise ValueError(
                    f"{_env(self, 'security_protocol')}={self.security_protocol} needs "
                    f"{', '.join(missing)}"
                )
        else:
            # Credentials next to a protocol that ignores them mean a forgotten protocol: the
            # client would connect without authenticating, or in the clear.
            _refuse_unused(self, sasl_fields, "has no SASL")
        tls_files = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
        if self.security_protocol in ("SSL", "SASL_SSL"):
            _require_files(self, tls_files)
        else:
            _refuse_unused(self, tls_files, "has no TLS")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError(
                f"{_env(self, 'ssl_keyfile')} needs {_env(self, 'ssl_certfile')} (the client "
                "certificate the key belongs to)"
            )
        return self


class MongoSettings(BaseSettings):
    # hide_input_in_errors: see KafkaSettings; the URI and the password are inputs here.
    model_config = SettingsConfigDict(
        env_prefix="ROLEPULSE_MONGO_", extra="ignore", hide_input_in_errors=True
    )

    # May carry credentials and options (`tls=true`); repr/str show it redacted.
    uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    database: str = "rolepulse"
    # How long an operation waits for a reachable server before failing; bounded so an outage
    # turns into retries (consumer) or errors (API) instead of hung work.
    server_selection_timeout_ms: int = Field(default=5_000, ge=100)
    # None: as the URI says (mongodb+srv:// implies TLS). A CA file implies TLS.
    tls: bool | None = None
    tls_ca_file: Path | None = None
    # Credentials outside the URI, so the URI can sit in a ConfigMap and the password in a
    # Secret; they take precedence over credentials in the URI.
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None  # as KafkaSettings.sasl_password_file

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        self.password = _secret_from_file(self, "password", self.password, self.password_file)
        if (self.username is None) != (self.password is None):
            raise ValueError(
                f"{_env(self, 'username')} and {_env(self, 'password')} (or "
                f"{_env(self, 'password_file')}) go together; one of them is unset"
            )
        _require_files(self, ("tls_ca_file",))
        return self

    def redacted_uri(self) -> str:
        """The URI with its password and secret options masked, for logs and status lines."""
        return redacted_uri(self.uri)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redacted_uri(value) if name == "uri" else value


class ConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPULSE_CONSUMER_", extra="ignore")

    max_batch: int = Field(default=2000, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=1)
    # After SIGTERM, how long the batch in flight may take before it is cancelled uncommitted.
    drain_timeout_s: float = Field(default=8.0, gt=0)
    # An event dated further ahead of its Kafka timestamp or of the wall clock than this is
    # dead-lettered: one such event would move the stream clock (weeks, expiry) into its future.
    max_event_skew_s: float = Field(default=24 * 3600.0, gt=0)
    metrics_port: int | None = None  # Prometheus /metrics; None: no metrics server
    metrics_host: str = "127.0.0.1"
    # Fault injection for the crash tests: SIGKILL this process when the Nth batch reaches this
    # step (see consumers/faults.py). Never set in production.
    fault_kill_at: str | None = None
    fault_kill_on_batch: int = Field(default=1, ge=1)


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPULSE_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Identical queries are answered from memory until the consumer commits new data. The API
    # learns of a commit by a change stream on the data-version document (cache_push) and bypasses
    # the cache if the stream is silent for cache_max_stale_s; without change streams (standalone
    # mongod) it polls every cache_poll_s. See services/data_version.py.
    response_cache: bool = True
    cache_push: bool = True
    cache_max_stale_s: float = Field(default=2.0, gt=0)
    cache_poll_s: float = Field(default=0.5, gt=0)
    max_query_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    # Query cost (services/graphql/cost.py), priced before validation: every field 1, lists
    # times their size. The budget refuses what would cost this machine more than ~0.1 s of
    # CPU (README: Query cost and rate limits); the node limit caps fields once fragments are
    # expanded (what validation walks). cost_analysis=false: neither, and no extensions.cost.
    cost_analysis: bool = True
    max_query_cost: int = Field(default=5_000, ge=1)
    max_query_nodes: int = Field(default=1_000, ge=1)
    # Per-client rate limiting by cost (services/ratelimit.py); off locally, on in compose. A
    # bucket of rate_limit_bucket points per client, restored at rate_limit_restore_per_s.
    rate_limit: bool = False
    rate_limit_bucket: int = Field(default=10_000, ge=1)
    rate_limit_restore_per_s: float = Field(default=500.0, gt=0)
    rate_limit_max_clients: int = Field(default=100_000, ge=1)
    # Clients are told apart by this header when its value is one of rate_limit_api_keys
    # (comma-separated), else by address: an unknown key must not buy a fresh bucket.
    rate_limit_key_header: str = "X-API-Key"
    rate_limit_api_keys: SecretStr | None = None
    # Limits at the door (services/limits.py), checked before any GraphQL parsing: request body
    # (and GET query string) size, GraphQL tokens per query, JSON nesting of a body's values.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_query_tokens: int = Field(default=5_000, ge=100)
    max_json_depth: int = Field(default=32, ge=2)
    # Work units of graphql-core's overlapping-fields validation before it aborts (see
    # services/graphql/guard.py); real queries spend next to none.
    max_validation_work: int = Field(default=50_000, ge=1_000)
    # An execution still running after this is cancelled and answered with a TIMEOUT error.
    execution_timeout_s: float = Field(default=2.0, gt=0)
    # Bytes of responses the response cache keeps; one response may take at most an eighth.
    cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # Bytes of aggregate documents, rollups and what is derived from them (sorted histograms,
    # rankings) kept in memory for the current data version (services/read_memo.py); 0: off,
    # every request reads MongoDB and derives its figures anew.
    read_memo_max_bytes: int = Field(default=128 * 1024 * 1024, ge=0)
    # Production switches (docker-compose.yml turns GraphiQL and introspection off). GraphiQL
    # needs introspection to know the schema, so introspection off turns it off as well.
    graphiql: bool = True
    introspection: bool = True
    # The server-rendered pages (/salaries/..., /companies/...; services/pages). On in
    # production too: they are the public face of the figures, and they answer only what the
    # API answers anyone, through the same limits and cache.
    pages: bool = True
    # Origins whose pages may call the API from a browser, comma-separated
    # ("https://app.example.com,https://admin.example.com", or "*" for any); empty: none.
    cors_origins: Annotated[list[str], NoDecode] = []
    # Content-Security-Policy, nosniff, Referrer-Policy and X-Frame-Options on every response.
    security_headers: bool = True
    # graphql-transport-ws: a websocket that sends no connection_init within this is closed
    # with 4408, so idle sockets cannot pile up.
    ws_connection_init_timeout_s: float = Field(default=3.0, gt=0)
    # Subscriptions one websocket may hold open at once (strawberry's default is 100); each is
    # a task and a place in a live-updates group. A subscribe over it gets an error message.
    ws_max_subscriptions: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _check_rate_limit(self) -> Self:
        if self.rate_limit and not self.cost_analysis:
            raise ValueError(
                "ROLEPULSE_API_RATE_LIMIT charges query costs: it needs ROLEPULSE_API_COST_ANALYSIS"
            )
        if self.rate_limit and self.rate_limit_bucket < self.max_query_cost:
            # A query within the budget but bigger than a full bucket could never run.
            raise ValueError(
                f"ROLEPULSE_API_RATE_LIMIT_BUCKET ({self.rate_limit_bucket}) must be at least "
                f"ROLEPULSE_API_MAX_QUERY_COST ({self.max_query_cost})"
            )
        return self

    def rate_limit_keys(self) -> list[str]:
        raw = self.rate_limit_api_keys.get_secret_value() if self.rate_limit_api_keys else ""
        return [key.strip() for key in raw.split(",") if key.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql and self.introspection

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return (
            [o.strip() for o in value.split(",") if o.strip()] if isinstance(value, str) else value
        )

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        return sorted({_origin(origin) for origin in origins})


class SweeperSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPULSE_SWEEPER_", extra="ignore")

    expiry_days: float = Field(default=30.0, gt=0)
    interval_s: float = Field(default=60.0, gt=0)
    # "stream": now is the latest event time applied (replays and backfills expire the same
    # postings as the live feed did); "wall": the machine's clock.
    clock: Literal["stream", "wall"] = "stream"
    # A pass that would expire more than this share of the open postings publishes nothing and
    # logs an error: a clock far ahead of the market (one bad event time) makes every posting
    # look stale. `force` (or `rolepulse sweep --once --force`) lets an operator who checked the
    # clock through.
    max_expire_share: float = Field(default=0.20, gt=0, le=1)
    force: bool = False
    # An expiry published this recently and still due is waiting in the topic for the consumer:
    # it is not published again until then (a lost message; a copy is harmless, ids dedupe).
    republish_after_s: float = Field(default=86_400.0, gt=0)


def redacted_uri(uri: str) -> str:
    """`uri` with the password of its user info and secret-bearing options replaced by ***.

    The user name stays: it tells an operator which account failed, and is not a secret.
    """
    scheme, colons, rest = uri.partition("://")
    # The last "@" ends the user info, looked for before splitting off the options: an unescaped
    # "@", "/" or "?" in a password must not leak any of it.
    userinfo, at, hosts = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.partition(':')[0]}:***@{hosts}"
    head, sep, query = rest.partition("?")
    # Rebuilt pair by pair, not re-encoded: every other option reads as the operator wrote it.
    options = []
    for option in query.split("&") if sep else []:
        key, eq, _ = option.partition("=")
        options.append(f"{key}=***" if eq and _secret_option(key) else option)
    return f"{scheme}{colons}{head}{sep}{'&'.join(options)}"


def _origin(origin: str) -> str:
    """`origin` as browsers send it in the Origin header (lower case, no default port), or "*".

    CORS compares the header with the allowed origins as strings, so "https://App.example.com:443/"
    in the environment must become "https://app.example.com" to ever match.
    """
    if origin == "*":
        return origin
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or port == -1
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(
            f"CORS origin {origin!r} is not an origin: expected scheme://host[:port], "
            "like https://app.example.com, or *"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _secret_option(key: str) -> bool:
    # tlsCertificateKeyFilePassword, and AWS session tokens in authMechanismProperties.
    return "password" in key.lower() or key.lower() == "authmechanismproperties"


def _env(settings: BaseSettings, field: str) -> str:
    """The environment variable that sets `field`, so error messages name what to fix."""
    return f"{settings.model_config.get('env_prefix', '')}{field}".upper()


def _secret_from_file(
    settings: BaseSettings, field: str, value: SecretStr | None, file: Path | None
) -> SecretStr | None:
    if file is None:
        return value
    if value is not None:
        raise ValueError(
            f"set {_env(settings, field)} or {_env(settings, field + '_file')}, not both"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{_env(settings, field + '_file')}={file}: {exc.strerror}") from None
    # `echo pw > file`, and a Secret created from such a file, end in a newline that is no part
    # of the password; other whitespace is kept, it may be.
    return SecretStr(text.rstrip("\r\n"))


def _require_files(settings: BaseSettings, fields: tuple[str, ...]) -> None:
    # Checked at start-up so a wrong mount path is one clear line, not a TLS error later.
    for field in fields:
        path = getattr(settings, field)
        if path is not None and not path.is_file():
            raise ValueError(f"{_env(settings, field)}={path}: no such file")


def _refuse_unused(settings: KafkaSettings, fields: tuple[str, ...], why: str) -> None:
    used = [_env(settings, f) for f in fields if getattr(settings, f) is not None]
    if used:
        raise ValueError(
            f"{', '.join(used)} set, but {_env(settings, 'security_protocol')}="
            f"{settings.security_protocol} {why}"
        )


def env_names() -> set[str]:
    """Every environment variable some settings class of this module reads (docs and tests)."""
    classes = [v for v in globals().values() if isinstance(v, type) and issubclass(v, BaseSettings)]
    return {
        f"{cls.model_config.get('env_prefix', '')}{field}".upper()
        for cls in classes
        if cls is not BaseSettings
        for field in cls.model_fields
    }
