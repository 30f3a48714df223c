"""The wheel, built from a copy of the source tree as `pip install .` would build it.

One top-level package: `services/`, `schema/` and `consumers/` are installed as
`rolepulse.services`, `rolepulse.schema` and `rolepulse.consumers`, and nothing in the wheel
imports them by their folder names (which would work in a checkout and fail once installed).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("pyproject.toml", "README.md", "rolepulse", "services", "schema", "consumers")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            # symlinks=True keeps rolepulse/services -> ../services as the checkout has it.
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(source, tree / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(tree)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    [built] = dist.glob("rolepulse-*.whl")
    return built


def test_the_wheel_installs_one_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"rolepulse"}
    for package in ("services", "schema", "consumers"):
        assert f"rolepulse/{package}/__init__.py" in names
    # Package data travels with its package.
    assert "rolepulse/schema/posting-event-v1.schema.json" in names
    assert "rolepulse/schema/contract_query.graphql" in names
    # GraphiQL's page assets, its record of versions and the licences: the page works offline.
    graphiql = ROOT / "services" / "graphiql"
    shipped = [
        f"rolepulse/services/graphiql/{path.relative_to(graphiql)}"
        for folder in ("static", "licenses")
        for path in (graphiql / folder).iterdir()
    ]
    assert len(shipped) >= 8
    assert set(shipped) | {"rolepulse/services/graphiql/VERSIONS"} <= set(names)
    # The pages' templates, queries, stylesheet and script (services/pages).
    pages = ROOT / "services" / "pages"
    shipped = [
        f"rolepulse/services/pages/{path.relative_to(pages)}"
        for folder in ("templates", "queries", "static")
        for path in (pages / folder).iterdir()
    ]
    assert len(shipped) >= 15
    assert set(shipped) <= set(names)


def test_the_installed_wheel_imports_without_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    entry_points = (
        "rolepulse.cli",
        "rolepulse.services.main",
        "rolepulse.consumers.main",
        "rolepulse.consumers.sweeper",
        "rolepulse.schema.export",
    )
    probe = (
        "import importlib, sys\n"
        f"for name in {entry_points!r}: importlib.import_module(name)\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "stray = sorted(loaded & {'services', 'schema', 'consumers'})\n"
        "assert not stray, stray\n"
        # The GraphiQL page finds its assets (and the contract query) inside the install.
        "from rolepulse.services.graphiql import load_graphiql\n"
        "load_graphiql().page()\n"
        "import rolepulse\n"
        "print(rolepulse.__file__)\n"
    )
    # PYTHONPATH puts the unpacked wheel ahead of the editable install of this checkout; the
    # working directory is elsewhere so the checkout's folders are not importable by name.
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    assert Path(result.stdout.strip()).is_relative_to(target)
