"""Keys of published lines: a posting's events share a partition; bad lines go out unkeyed."""

from __future__ import annotations

import pytest

from rolepulse.publish import event_key


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (b'{"source": "indeed", "posting": {"source_id": "42"}}', b"indeed:42"),
        (b"not json", None),
        (b'{"source": "indeed"}', None),
        (b"[1, 2]", None),
        (b"[" * 10_000 + b"]" * 10_000, None),  # a scraper bug must not stop the publisher
    ],
)
def test_event_key(line: bytes, key: bytes | None) -> None:
    assert event_key(line) == key
