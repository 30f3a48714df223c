"""Is a TCP port free to listen on, and if not, who holds it (Linux procfs, best effort)?"""

from __future__ import annotations

import contextlib
import errno
import socket
from pathlib import Path

from rolepulse.errors import UserError


class PortInUseError(UserError):
    def __init__(self, port: int, holder: str | None) -> None:
        by = f" (by {holder})" if holder else ""
        super().__init__(f"port {port} is in use{by}; pick another with --port")
        self.port = port


def ensure_port_free(host: str, port: int) -> None:
    """Bind and release ``host:port``; ``PortInUseError`` naming the holder if that fails.

    Binds the way uvicorn will (SO_REUSEADDR), so a port in TIME_WAIT counts as free and only
    a real listener counts as busy.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUseError(port, _describe(listener_pid(port))) from None


def listener_pid(port: int, proc: Path = Path("/proc")) -> int | None:
    """The PID of a process of ours listening on TCP ``port``; None if unknown or not ours.

    Finds the listening socket's inode in /proc/net/tcp{,6}, then the process holding a file
    descriptor on it. Other users' processes cannot be seen: their PID stays unknown.
    """
    inodes = {
        inode for table in ("tcp", "tcp6") for inode in _listening(proc / "net" / table, port)
    }
    if not inodes:
        return None
    for fd_dir in proc.glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    link = str(fd.readlink())
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return int(fd_dir.parent.name)
    return None


_LISTEN = "0A"


def _listening(table: Path, port: int) -> list[str]:
    try:
        rows = table.read_text().splitlines()[1:]
    except OSError:
        return []
    inodes = []
    for row in rows:
        cols = row.split()
        # cols: sl, local_address (hex ip:hex port), rem_address, st, ..., inode (10th)
        if len(cols) > 9 and cols[3] == _LISTEN and int(cols[1].rsplit(":", 1)[1], 16) == port:
            inodes.append(cols[9])
    return inodes


def _describe(pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return f"PID {pid}"
    return f"PID {pid}, {name}"
