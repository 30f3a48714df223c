"""Protocol-level readiness checks: a listening port is not yet a working server."""

from __future__ import annotations

import socket
import struct

from pymongo import MongoClient

_API_VERSIONS_KEY = 18
_CORRELATION_ID = 0x5E1F


def kafka_api_versions(host: str, port: int, timeout_s: float = 2.0) -> None:
    """Send a raw Kafka ApiVersions v0 request; raise ``OSError``/``ValueError`` unless it answers.

    ApiVersions is the first request every Kafka client sends, so a broker that answers it
    with error code 0 will serve client bootstraps.
    """
    client_id = b"rolepulse-probe"
    body = struct.pack(">hhih", _API_VERSIONS_KEY, 0, _CORRELATION_ID, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _read_exactly(sock, 4))
        response = _read_exactly(sock, size)
    correlation_id, error_code = struct.unpack(">ih", response[:6])
    if correlation_id != _CORRELATION_ID or error_code != 0:
        raise ValueError(f"ApiVersions answered correlation={correlation_id} error={error_code}")


def mongo_ping(uri: str, timeout_s: float = 2.0) -> None:
    """Run the ``ping`` command; raise a ``pymongo`` error unless the server answers ok."""
    timeout_ms = int(timeout_s * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
    finally:
        client.close()


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)
