from __future__ import annotations

import socket

import httpx

from rolepulse.consumers.metrics import ConsumerMetrics
from rolepulse.consumers.store import BatchResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_batch_figures_and_lag_are_served_on_metrics() -> None:
    metrics = ConsumerMetrics()
    result = BatchResult(applied=7, duplicates=2, rejected=2,
                         next_offsets={("postings", 0): 40}, conflicts=1, writes=12)  # fmt: skip
    metrics.record_batch(result, ["invalid_json"], seconds=0.2)
    metrics.record_lag({("postings", 0): 55, ("postings", 1): None}, result.next_offsets)
    port = free_port()
    stop = metrics.serve("127.0.0.1", port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        stop()
    assert "rolepulse_events_applied_total 7.0" in text
    assert "rolepulse_events_duplicate_total 2.0" in text
    assert 'rolepulse_events_rejected_total{reason="invalid_json"} 1.0' in text
    assert 'rolepulse_events_rejected_total{reason="conflict"} 1.0' in text
    assert "rolepulse_document_writes_total 12.0" in text
    assert 'rolepulse_consumer_lag{partition="0",topic="postings"} 15.0' in text
    assert 'partition="1"' not in text  # no high watermark known yet: no made-up lag
    assert "rolepulse_batch_seconds_count 1.0" in text
