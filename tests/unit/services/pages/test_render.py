"""Rendering helpers: script data blocks, conditional requests, the memo of rendered pages."""

from __future__ import annotations

import json

from rolepulse.services.pages.render import RenderedPages, etag_matches, script_json


def test_script_json_cannot_close_its_element_and_stays_the_same_value() -> None:
    value = {"query": "</script><script>alert(1)</script>", "a": "&amp; <!--"}
    text = str(script_json(value))
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text) == value


def test_etag_matches_lists_weak_tags_and_star() -> None:
    etag = '"abc-17"'
    assert etag_matches('"abc-17"', etag)
    assert etag_matches('W/"abc-17"', etag)
    assert etag_matches('"old-1", "abc-17"', etag)
    assert etag_matches("*", etag)
    assert not etag_matches('"abc-16"', etag)
    assert not etag_matches(None, etag)
    assert not etag_matches("", etag)


def test_rendered_pages_are_kept_for_one_version() -> None:
    memo = RenderedPages()
    memo.put(7, "a", b"page a")
    assert memo.get(7, "a") == b"page a"
    assert memo.get(8, "a") is None  # another version: not this page
    memo.put(8, "b", b"page b")
    assert memo.get(7, "a") is None  # the version moved: all of version 7 is gone
    assert len(memo) == 1
    memo.put(3, "c", b"page c")  # a lower version (the database was reset): starts over
    assert (memo.get(8, "b"), memo.get(3, "c")) == (None, b"page c")


def test_rendered_pages_are_bounded_in_bytes_least_recently_used_out() -> None:
    memo = RenderedPages(max_bytes=10)
    memo.put(1, "a", b"aaaa")
    memo.put(1, "b", b"bbbb")
    assert memo.get(1, "a") == b"aaaa"  # a is now the most recently used
    memo.put(1, "c", b"cccc")
    assert (memo.get(1, "a"), memo.get(1, "b"), memo.get(1, "c")) == (b"aaaa", None, b"cccc")
    assert memo.bytes == 8
    memo.put(1, "huge", b"x" * 11)  # larger than the whole memo: not kept, nothing evicted
    assert memo.get(1, "huge") is None
    assert memo.bytes == 8
    memo.put(1, "a", b"aa")  # replaced, counted once
    assert memo.bytes == 6
