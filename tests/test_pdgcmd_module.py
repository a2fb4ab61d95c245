"""A job script that does ``import pdgcmd`` from ``$PDG_SCRIPTDIR``, as scripts written for
Houdini do, calls each public function of the 18.5 and 20.x helpers: each effect lands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from schedcore.workitem import WorkItemState as S

from .test_resultserver import cook  # noqa: F401 -- the fixture

HEAD = r'''
import json, os, sys
sys.path.insert(0, os.environ["PDG_SCRIPTDIR"])
import pdgcmd
item, out = pdgcmd.getItemIdFromEnv(), os.environ["PDG_DIR"]
host, port = pdgcmd.getSplitServerHostPort(pdgcmd.getResultServerAddr())
assert pdgcmd.PDGPingHelper(host, port, 0).ensureReachable()
pdgcmd.setVerbosity(pdgcmd.LogVerbose)
pdgcmd.verboseAnnounce()
'''

CALLS_20 = HEAD + r'''
pdgcmd.workItemStartCook(item)
pdgcmd.setStringAttrib("s", "text", 0, item)
pdgcmd.setIntAttrib("i", 7, 1, item)
pdgcmd.setFloatAttrib("f", 0.5, 0, item)
pdgcmd.setFileAttrib("file", out + "/a.txt", 0, item)
pdgcmd.setDictAttrib("d", '{"k": 1}', 0, item)
pdgcmd.setStringAttribArray("sa", ["a", "b"], item)
pdgcmd.setIntAttribArray("ia", [1, 2], item)
pdgcmd.setFloatAttribArray("fa", [1.5], item)
pdgcmd.setFileAttribArray("filea", [out + "/b.txt"], item)
pdgcmd.setDictAttribArray("da", ['{"n": 2}'], item)
pdgcmd.setPyObjectAttrib("p", repr({"x": [1, 2]}), item)
pdgcmd.workItemAppendLog("from 20.x\n", 2, item)
pdgcmd.workItemAppendLog("went wrong", 0, item)
pdgcmd.warning("watch out", item)
pdgcmd.workItemSetCustomState("rendering", item)
pdgcmd.workItemSetCookPercent(50, item)
pdgcmd.keepalive(item)
pdgcmd.addOutputFile(out + "/out1.txt", item, result_data_tag="file/text")
pdgcmd.addOutputFiles([out + "/out2.txt", out + "/out3.txt"], item, output_file_tag="file/x")
pdgcmd.printlog("verbose only", verbosity=pdgcmd.LogVerbose)
data = json.loads(pdgcmd.getWorkItemJSON(item, -1))
print("item json names", data["name"])
pdgcmd.workItemSuccess(item)
'''

CALLS_185 = HEAD + r'''
pdgcmd.execStartCook(item)
pdgcmd.setStringAttrib("s", "text", 0, item)
pdgcmd.writeAttribute("old", 3)
pdgcmd.reportResultData(out + "/out1.txt", item, result_data_tag="file/text")
pdgcmd.reportResultData([out + "/out2.txt"], item, result_data_tag="file/text")
pdgcmd.workItemAppendLog("from 18.5", 3, item)
pdgcmd.printlog("said with 18.5's keyword", msg_verbosity=0)
pdgcmd.invalidateCache(item)
pdgcmd.reportResultData(out + "/last.txt", item, result_data_tag="file/text",
                        and_success=True, duration=1.5)
'''


def run_script(c, item_id, script):
    env = c.scheduler.jobEnvironment(c.item(item_id))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("with_secret", [False, True], ids=["bare address", "secret@address"])
def test_every_20x_call_lands(cook, with_secret, monkeypatch):  # noqa: F811
    if with_secret:  # as on a farm: the secret rides in the address
        from schedcore.resultserver import ResultServer
        monkeypatch.setattr(ResultServer, "own_user_trusted", False)
    c = cook(1)
    (item_id,) = c.ids
    assert ("@" in c.address) == with_secret
    printed = run_script(c, item_id, CALLS_20)
    assert c.engine.wait(20).ok
    item = c.item(item_id)
    assert item.state == S.CookedSuccess
    values = {name: item.attribArray(name) for name in item.attribNames()}
    work = c.scheduler.workingDir(True)
    assert values == {"s": ["text"], "i": [0, 7], "f": [0.5], "file": [f"{work}/a.txt"],
                      "d": [{"k": 1}], "sa": ["a", "b"], "ia": [1, 2], "fa": [1.5],
                      "filea": [f"{work}/b.txt"], "da": [{"n": 2}], "p": [{"x": [1, 2]}]}
    assert [(o.path, o.tag) for o in item.outputFiles] == [
        (f"{work}/out1.txt", "file/text"), (f"{work}/out2.txt", "file/x"),
        (f"{work}/out3.txt", "file/x")]
    assert item.log == "from 20.x\nERROR: went wrong\nwarning: watch out\n"
    assert item.custom_state == "rendering" and item.cook_percent == 50
    assert "PDG Result Server is" in printed and "FAILED" not in printed
    assert "verbose only" in printed and f"item json names {item.name}" in printed


def test_every_185_call_lands(cook):  # noqa: F811
    c = cook(1)
    (item_id,) = c.ids
    printed = run_script(c, item_id, CALLS_185)
    assert c.engine.wait(20).ok
    item = c.item(item_id)
    assert item.state == S.CookedSuccess and item.cook_duration == 1.5
    work = c.scheduler.workingDir(True)
    assert [o.path for o in item.outputFiles] == [
        f"{work}/out1.txt", f"{work}/out2.txt", f"{work}/last.txt"]
    assert item.attribValue("s") == "text" and item.attribValue("old") == 3
    assert item.log.startswith("from 18.5") and "invalidated its cache" in item.log
    assert "said with 18.5's keyword" in printed
