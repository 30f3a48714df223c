from __future__ import annotations

import json
import logging

from rolepulse.logs import JsonFormatter


def test_log_lines_are_json_with_extras_and_escaped_messages() -> None:
    record = logging.makeLogRecord(
        {"name": "rolepulse.consumer", "levelname": "INFO", "msg": 'batch "%s"', "args": ("a\nb",)}
    )
    record.__dict__["applied"] = 12
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["msg"] == 'batch "a\nb"'
    assert entry["applied"] == 12
    assert entry["logger"] == "rolepulse.consumer"
    assert "\n" not in line
