"""The Scheduler Factory: the types path, entry points, broken files, reload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from schedcore.engine import Engine
from schedcore.registry import Registry, user_types_folder

from .conftest import make_network

GOOD = '''\
from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class {cls}(Scheduler):
    type_name = "{name}"

    def onSchedule(self, work_item):
        work_item.setIntAttrib("version", {version})
        return pdg.scheduleResult.CookSucceeded


def registerTypes(type_registry):
    type_registry.registerScheduler({cls}, label="{label}")
'''

BROKEN = {
    "syntax.py": ("def registerTypes(type_registry)\n    pass\n", 1, "syntax error",
                  "expected ':'"),
    "importer.py": ("import os\nimport no_such_module_here\n", 2, "import error",
                    "ModuleNotFoundError: No module named 'no_such_module_here'"),
    "nothing.py": ("X = 1\n", None, "registerTypes missing", "defines no registerTypes"),
    "raiser.py": ("def registerTypes(type_registry):\n    x = 1\n"
                  "    raise RuntimeError('license check failed')\n", 3,
                  "registerTypes raised", "RuntimeError: license check failed"),
    "notaclass.py": ("class Thing:\n    pass\n\n\ndef registerTypes(type_registry):\n"
                     "    type_registry.registerScheduler(Thing)\n", 6,
                     "not a scheduler class", "not a subclass of pdg.scheduler.PyScheduler"),
    "zz_twice.py": (GOOD.format(cls="Again", name="good1", version=9, label="Again"), 5,
                    "registered twice", "'good1' is registered already by"),
}


def write_types(folder, files: dict[str, str]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def test_broken_files_are_each_explained_and_the_rest_load(tmp_path):
    types = tmp_path / "site" / "pdg" / "types"
    write_types(types, {name: text for name, (text, *_rest) in BROKEN.items()})
    write_types(types, {"good1.py": GOOD.format(cls="Good1", name="good1", version=1,
                                                label="Good One")})
    package = types / "goodpkg"
    write_types(package, {"__init__.py": GOOD.format(cls="GoodPkg", name="goodpkg",
                                                     version=1, label="Good Package")})
    registry = Registry(folders=[types], use_entry_points=False)
    assert {"good1", "goodpkg", "localscheduler", "pythonscheduler", "daskscheduler",
            "slurmscheduler"} == \
        set(registry.types)
    assert registry.types["good1"].label == "Good One"
    assert registry.types["good1"].origin == str(types / "good1.py")
    failures = {os.path.basename(f.file): f for f in registry.failures}
    assert set(failures) == set(BROKEN)
    for name, (_text, line, kind, words) in BROKEN.items():
        failure = failures[name]
        assert (failure.line, failure.kind) == (line, kind), failure
        assert words in failure.message, failure

    # the same through `schedcore types`, in a new process: listed, and exit status 1
    env = {**os.environ, "SCHEDCORE_PATH": str(tmp_path / "site")}
    done = subprocess.run([sys.executable, "-m", "schedcore.cli", "types"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"{types / 'raiser.py'}:3: registerTypes raised: RuntimeError: license check " \
           f"failed" in done.stdout
    assert "good1" in done.stdout and "goodpkg" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "schedcore.cli", "types", "--json"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert len(json.loads(listed.stdout)["failures"]) == len(BROKEN)


def test_reload_picks_up_an_edited_file_for_the_next_cook(tmp_path):
    types = tmp_path / "pdg" / "types"
    module = types / "versioned.py"
    write_types(types, {"versioned.py": GOOD.format(cls="V", name="versioned", version=1,
                                                    label="V")})
    registry = Registry(folders=[types], use_entry_points=False)
    net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator",
                                   "parms": {"itemcount": 2}}])

    def cook():
        scheduler = registry.get("versioned").create("versioned", {}, net.hip)
        return {i.attribValue("version") for i in Engine(net, scheduler=scheduler).run().items}

    assert cook() == {1}
    assert registry.reload() is False  # nothing changed
    module.write_text(GOOD.format(cls="V", name="versioned", version=22, label="V"))
    assert registry.reload() is True
    assert cook() == {22}
    module.unlink()
    registry.reload()
    assert "versioned" not in registry.types


def test_the_user_folder_is_searched(tmp_path):
    folder = user_types_folder()
    write_types(folder, {"mine.py": GOOD.format(cls="Mine", name="mine", version=1,
                                                label="Mine")})
    try:
        assert "mine" in Registry(use_entry_points=False).types
    finally:
        (folder / "mine.py").unlink()


def test_installed_packages_register_through_entry_points(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_types(site, {"farmplug.py": GOOD.format(cls="FarmPlug", name="farmplug", version=1,
                                                  label="Farm Plug")})
    dist = site / "farmplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: farmplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [schedcore.schedulers]
        farmplug = farmplug
        """))
    monkeypatch.syspath_prepend(str(site))
    registry = Registry(folders=[])
    assert registry.types["farmplug"].origin == "entry point farmplug (farmplug)"
    assert registry.types["farmplug"].label == "Farm Plug"


# Royal Render's shape: Houdini's message-queue modules imported in a try, the class defined
# only when they import, the error printed, and registerTypes naming the class anyway
CAUGHT = '''
import pdg
from pdg.scheduler import PyScheduler
from pdg.job.callbackserver import CallbackServerMixin
from pdg.job.eventdispatch import EventDispatchMixin
try:
    from pdg.utils.mq import MQUtility, MQSchedulerMixin
    class royalScheduler(CallbackServerMixin, EventDispatchMixin, PyScheduler):
        pass
except ImportError as e:
    print(e)

def registerTypes(type_registry):
    type_registry.registerScheduler(royalScheduler, label="Royal")
'''


def test_an_import_error_the_file_caught_is_named_as_the_cause(tmp_path):
    types = tmp_path / "types"
    write_types(types, {"royal.py": CAUGHT,
                        "mine.py": CAUGHT.replace("pdg.utils.mq", "farm_client_lib")})
    registry = Registry(folders=[types], use_entry_points=False)
    failures = {os.path.basename(f.file): f for f in registry.failures}
    royal, mine = failures["royal.py"], failures["mine.py"]
    assert (royal.line, royal.kind) == (14, "needs Houdini")
    assert "NameError: name 'royalScheduler' is not defined" in royal.message
    assert "tried to import 'pdg.utils.mq'" in royal.message
    assert (mine.line, mine.kind) == (14, "registerTypes raised")
    assert "tried to import 'farm_client_lib', which is not installed here" in mine.message


def test_houdinis_event_dispatch_mixin_keeps_class_definitions_working(tmp_path):
    types = tmp_path / "types"
    write_types(types, {"dispatching.py": CAUGHT.replace(
        "    from pdg.utils.mq import MQUtility, MQSchedulerMixin\n", "")})
    registry = Registry(folders=[types], use_entry_points=False)
    assert "royalscheduler" in registry.types, registry.failures
