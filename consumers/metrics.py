"""Prometheus metrics of the consumer process, served on /metrics when a port is configured."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from rolepulse.consumers.store import BatchResult


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # A registry per instance: tests build several consumers in one process.
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.applied = Counter(
            "rolepulse_events_applied", "Events applied to postings and aggregates", registry=r
        )
        self.duplicates = Counter(
            "rolepulse_events_duplicate",
            "Events skipped: their event_id was already applied (redeliveries, replays)",
            registry=r,
        )
        self.rejected = Counter(
            "rolepulse_events_rejected",
            "Messages sent to the dead-letter topic, by reason",
            ["reason"],
            registry=r,
        )
        self.writes = Counter(
            "rolepulse_document_writes",
            "Documents written (postings, aggregates, weekly history, offsets, rejects)",
            registry=r,
        )
        self.batch_seconds = Histogram(
            "rolepulse_batch_seconds",
            "Time from a decoded batch to its Kafka commit",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.lag = Gauge(
            "rolepulse_consumer_lag",
            "Messages behind the partition's high watermark",
            ["topic", "partition"],
            registry=r,
        )

    def record_batch(
        self, result: BatchResult, reject_reasons: Iterable[str], seconds: float
    ) -> None:
        self.applied.inc(result.applied)
        self.duplicates.inc(result.duplicates)
        for reason in reject_reasons:
            self.rejected.labels(reason=reason).inc()
        if result.conflicts:
            # Found by the store, inside the transaction: not among the batch's own rejects.
            self.rejected.labels(reason="conflict").inc(result.conflicts)
        self.writes.inc(result.writes)
        self.batch_seconds.observe(seconds)

    def record_lag(
        self,
        highwaters: Mapping[tuple[str, int], int | None],
        positions: Mapping[tuple[str, int], int],
    ) -> None:
        for (topic, partition), high in highwaters.items():
            if high is not None and (topic, partition) in positions:
                lag = max(0, high - positions[(topic, partition)])
                self.lag.labels(topic=topic, partition=str(partition)).set(lag)

    def serve(self, host: str, port: int) -> Callable[[], None]:
        """Start the /metrics HTTP server on a daemon thread; returns the function that stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop
