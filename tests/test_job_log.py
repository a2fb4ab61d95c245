"""Log text a job sends (``workItemAppendLog``, ``warning``) is shown where a user looks: the
item's log page, the Cook Viewer's log (``WorkItem.log_after_file``), ``cook --json`` and the
failure summary, beside what the job printed into its log file."""

from __future__ import annotations

import json
import os
import sys
import urllib.request

from schedcore.workitem import REPORTED_LOG

from .test_cli import run, write_network
from .test_pdgcmd_calls import run_job
from .test_resultserver import cook  # noqa: F401 -- the fixture

# what a job using Houdini's helper does: its own stdout, then text through the server
JOB = r'''
import os, sys, xmlrpc.client
host, port = os.environ["PDG_RESULT_SERVER"].split(":")[:2]
proxy = xmlrpc.client.ServerProxy("http://{}:{}".format(host, int(port)))
item, job = int(os.environ["PDG_ITEM_ID"]), os.environ[os.environ["PDG_JOBID_VAR"]]
print("printed by the job", flush=True)
proxy.append_log(item, -1, "rendered 3 tiles of 4\n", 2, job)
proxy.warning(item, "disk nearly full", job)
sys.exit(1)
'''


def test_reported_text_reaches_json_and_the_summary(tmp_path):
    (tmp_path / "job.py").write_text(JOB)
    net = write_network(tmp_path / "net.top.json", [{
        "name": "render", "type": "genericgenerator",
        "parms": {"itemcount": 1, "command": f"{sys.executable} {tmp_path / 'job.py'}"}}])
    done = run("cook", net, "--json")
    assert done.returncode == 1, done.stderr
    (item,) = json.loads(done.stdout)["items"]
    assert item["state"] == "CookedFail"
    assert item["log"] == "rendered 3 tiles of 4\nwarning: disk nearly full\n"
    assert "       | rendered 3 tiles of 4\n       | warning: disk nearly full" in done.stderr
    with open(item["log_uri"].removeprefix("file://")) as log:
        assert "printed by the job" in log.read()


def test_the_log_page_shows_the_file_then_the_reported_text(cook):  # noqa: F811
    c = cook(1)
    (item_id,) = c.ids
    item = c.item(item_id)
    os.makedirs(os.path.dirname(item.log_file), exist_ok=True)
    with open(item.log_file, "w") as log:
        log.write("line from the job's own output\n")
    calls = [["append_log", ["$ID", -1, "first\n", 2, "$JOB"]],
             ["warning", ["$ID", "careful", "$JOB"]]]
    assert run_job(c, item_id, calls) == [{"ok": True}, {"ok": True}]
    reported = "first\nwarning: careful\n"
    assert item.log == reported
    assert item.log_after_file() == REPORTED_LOG + reported
    with urllib.request.urlopen(item.status_uri.replace("/status/", "/log/")) as page:
        text = page.read().decode()
    assert text == "line from the job's own output\n" + REPORTED_LOG + reported
    # a part of it, across the end of the file
    start = len("line from the job's own output\n") - 5
    request = urllib.request.Request(item.status_uri.replace("/status/", "/log/"),
                                     headers={"Range": f"bytes={start}-{start + 9}"})
    with urllib.request.urlopen(request) as page:
        assert page.read().decode() == text[start:start + 10]
    c.finish()
