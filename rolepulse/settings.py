"""One typed settings object per process, read once from the environment (prefix ROLEPULSE_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPULSE_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "postings"
    dlq_topic: str = "postings.dlq"
    partitions: int = Field(default=4, ge=1)  # used when we create the topic ourselves
    group_id: str = "rolepulse-consumer"
    # Tansu (local broker) needs small timeouts to rebalance quickly; real Kafka accepts them too.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    # Tansu rejects idempotent producers; real Kafka deployments may switch it on.
    enable_idempotence: bool = False


class MongoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPULSE_MONGO_", extra="ignore")

    uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    database: str = "rolepulse"
    # How long an operation waits for a reachable server before failing; bounded so an outage
    # turns into retries (consumer) or errors (API) instead of hung work.
    server_selection_timeout_ms: int = Field(default=5_000, ge=100)


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
