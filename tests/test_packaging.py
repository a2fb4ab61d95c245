"""Installs like a Python package: packages and data listed, one version everywhere, the
examples inside the package, the studio as an extra, user text printed as it is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import schedcore

from .conftest import ROOT

SCHEDCORE = [sys.executable, "-m", "schedcore"]


def run(*args, code: str | None = None, cwd=None, timeout=120):
    command = [sys.executable, "-c", code, *map(str, args)] if code else [*SCHEDCORE,
                                                                          *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout)


# -- what the distribution holds -----------------------------------------------------------
def package_folders() -> set[str]:
    """Every folder of Python modules under schedcore/ and app/, by its installed name."""
    found = set()
    for top, name in (("schedcore", "schedcore"), ("app", "schedstudio")):
        for init in (ROOT / top).rglob("*.py"):
            folder = init.parent.relative_to(ROOT / top)
            if "__pycache__" in folder.parts or folder.parts[:2] == ("examples", "scripts"):
                continue
            found.add(".".join([name, *folder.parts]))
    return found


def test_every_package_folder_is_listed_in_pyproject_under_its_installed_name():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(config["packages"]) == package_folders()
    assert config["package-dir"] == {"schedstudio": "app"}
    assert "py.typed" in config["package-data"]["schedcore"]


def test_nothing_imports_the_studio_by_its_folder_name():
    pattern = re.compile(r"^\s*(from|import) app\b|[\"']app\.", re.MULTILINE)
    users = [str(path.relative_to(ROOT)) for folder in ("app", "tests", "benchmarks", "packaging")
             for path in (ROOT / folder).rglob("*.py") if pattern.search(path.read_text())]
    assert users == [], "import the studio as schedstudio (app/ is only its folder)"


def test_license_and_py_typed_ship():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert (Path(schedcore.__file__).parent / "py.typed").is_file()


# -- versions and entry points -----------------------------------------------------------------
def test_both_commands_and_the_module_say_the_distributions_version():
    expected = version("schedstudio")
    assert schedcore.__version__ == expected
    assert run("--version").stdout.strip() == f"schedcore {expected}"
    studio = run("--version", code="import sys; sys.modules['PySide6'] = None\n"
                                   "from schedstudio.main import main; sys.exit(main())")
    assert studio.stdout.strip() == f"schedstudio {expected}", studio.stderr


def test_the_studio_without_its_extra_says_what_to_install():
    done = run(code="import sys; sys.modules['PySide6'] = None  # as if not installed\n"
                    "from schedstudio.main import main; sys.exit(main([]))")
    assert done.returncode == 2
    assert "pip install 'schedstudio[studio]'" in done.stderr
    assert "PySide6-Essentials" in done.stderr and "Traceback" not in done.stderr


# -- the examples ------------------------------------------------------------------------------
def test_examples_copies_the_networks_and_scripts_and_keeps_what_is_there(tmp_path):
    done = run("examples", tmp_path / "ex")
    assert done.returncode == 0, done.stderr
    copied = sorted(p.relative_to(tmp_path / "ex").as_posix()
                    for p in (tmp_path / "ex").rglob("*") if p.is_file())
    assert copied == ["python_scheduler.top.json", "scripts/render_shape.py",
                      "shared_server.top.json", "wedge_summary.top.json"]
    assert f"schedcore cook {tmp_path / 'ex' / 'wedge_summary.top.json'}" in done.stdout
    mine = tmp_path / "ex" / "wedge_summary.top.json"
    mine.write_text("{}")
    again = run("examples", tmp_path / "ex")
    assert again.returncode == 0 and "kept" in again.stdout and mine.read_text() == "{}"
    assert run("examples", "--force", tmp_path / "ex").returncode == 0
    assert json.loads(mine.read_text())["format"] == "schedcore-network"


def test_the_examples_copy_takes_no_cook_files(tmp_path, monkeypatch):
    from schedcore import examples
    source = tmp_path / "installed"
    (source / "scripts").mkdir(parents=True)
    (source / "a.top.json").write_text("{}")
    (source / "scripts" / "s.py").write_text("")
    for junk in ("pdgtemp/journal/a.top.json.sqlite", "output/shape_0.svg", "log.txt"):
        (source / junk).parent.mkdir(parents=True, exist_ok=True)
        (source / junk).write_text("x")
    monkeypatch.setattr(examples, "folder", lambda: source)
    copied, _kept = examples.copy_to(tmp_path / "copy")
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in copied) == [
        "a.top.json", "scripts/s.py"]


# -- user text printed by rich stays as it is --------------------------------------------------
def write_network(path: Path, nodes: list[dict], schedulers: list[dict] | None = None) -> Path:
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": schedulers or [{"name": "local", "type": "localscheduler"}],
        "nodes": [{"inputs": [], **n} for n in nodes]}))
    return path


def test_a_callback_error_with_brackets_is_printed_whole(tmp_path):
    raising = "raise RuntimeError('cannot read [/data/x] or [bold]y[/bold]')"
    net = write_network(tmp_path / "net.top.json", [
        {"name": "gen", "type": "genericgenerator", "parms": {"command": "true"}}],
        [{"name": "py", "type": "pythonscheduler", "parms": {"onSchedule": raising}}])
    done = run("cook", net)
    assert done.returncode == 1, done.stderr
    assert "MarkupError" not in done.stdout + done.stderr
    assert "cannot read [/data/x] or [bold]y[/bold]" in done.stdout


def test_a_workdir_with_brackets_prints_whole(tmp_path):
    net = write_network(tmp_path / "net.top.json", [
        {"name": "gen", "type": "genericgenerator", "parms": {"command": "sh -c 'exit 3'"}}])
    workdir = tmp_path / "w[shot]"
    done = run("cook", net, "--workdir", workdir)
    assert done.returncode == 1
    assert f"log: {workdir}" in done.stdout


def test_the_missing_farm_extra_is_named_with_its_brackets(tmp_path):
    net = write_network(tmp_path / "net.top.json", [
        {"name": "gen", "type": "genericgenerator", "parms": {"command": "true"}}],
        [{"name": "dask", "type": "daskscheduler"}])
    done = run(net, code="import sys; sys.modules['distributed'] = None\n"
                         "from schedcore.cli import main\n"
                         "sys.exit(main(['cook', sys.argv[1]]))")
    assert done.returncode == 1
    assert "pip install 'schedstudio[farm]'" in done.stdout + done.stderr
