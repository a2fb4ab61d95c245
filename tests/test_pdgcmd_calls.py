"""Every call Houdini's job helper (pdgcmd 18.5 and 19.5/20.x) makes, with its real argument
list, sent by job processes as that helper sends them: ``PDG_RESULT_SERVER`` split at ':' into
``http://host:port`` for ``xmlrpc.client``, the job id read through ``PDG_JOBID_VAR``, one new
connection per call, outputs as ``Binary`` in a ``system.multicall``."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import xmlrpc.client

import pytest

from schedcore.events import ItemChanged
from schedcore.reports import CacheInvalidated, CustomStateSet, PercentSet, SharedServerStarted
from schedcore.workitem import AttribType
from schedcore.workitem import WorkItemState as S

from . import test_resultserver
from .test_resultserver import Cook

cook = test_resultserver.cook  # the same fixture: a cook waiting for reports

# The job: sends the calls given as JSON (argv[1]) the way pdgcmd does and prints, as JSON,
# each answer or fault. "$ID", "$JOB", "$NAME" and "$DIR" are the job's own values;
# {"bin": text} is a Binary; {"multicall": [...]} is one system.multicall.
JOB = r'''
import json, os, sys, xmlrpc.client
host, port = os.environ["PDG_RESULT_SERVER"].split(":")[:2]   # as pdgcmd splits it
url = "http://{}:{}".format(host, int(port))
values = {"$ID": int(os.environ["PDG_ITEM_ID"]), "$NAME": os.environ["PDG_ITEM_NAME"],
          "$JOB": os.environ[os.environ["PDG_JOBID_VAR"]], "$DIR": os.environ["PDG_DIR"]}

def arg(value):
    if isinstance(value, str):
        for key, real in values.items():
            if value == key:
                return real
            if isinstance(real, str):
                value = value.replace(key, real)
        return value
    if isinstance(value, dict) and set(value) == {"bin"}:
        return xmlrpc.client.Binary(arg(value["bin"]).encode("utf-8"))
    if isinstance(value, list):
        return [arg(v) for v in value]
    return value

def answer(call):
    try:
        return {"ok": call()}
    except xmlrpc.client.Fault as fault:
        return {"fault": fault.faultString}

answers = []
for method, args in json.loads(sys.argv[1]):
    proxy = xmlrpc.client.ServerProxy(url)   # a new connection per call
    if method == "multicall":
        multi = xmlrpc.client.MultiCall(proxy)
        for name, inner in args:
            getattr(multi, name)(*arg(inner))
        answers.append(answer(lambda: multi().results))  # raw: [value] or a fault
    else:
        answers.append(answer(lambda: getattr(proxy, method)(*arg(args))))
print(json.dumps(answers))
'''

OUT = "$DIR/out.txt"

# pdgcmd 20.x: the calls of a realistic job (setIntAttrib, addOutputFile,
# workItemSetCookPercent(100), workItemSuccess)
REALISTIC_20 = [
    ["start_cook", ["$ID", "$JOB"]],
    ["set_int_attrib", ["$ID", -1, "frames", 24, 0, "$JOB"]],
    ["multicall", [["result", ["$ID", {"bin": "__PDG_DIR__/out.txt"}, "file/text", 0, "$JOB"]]]],
    ["set_cook_percent", ["$ID", -1, 100, "$JOB"]],
    ["success", ["$ID", 0, "$JOB"]],
]

# every call both families make, argument lists as pdgcmd sends them (18.5 and 20.x agree on
# these); the item finishes with the last one
COMMON = [
    ["start_cook", ["$ID", "$JOB"]],
    ["start_cook_batch", ["$ID", 0, "$JOB"]],
    ["set_string_attrib", ["$ID", -1, "label", "hero", 0, "$JOB"]],
    ["set_int_attrib", ["$ID", 0, "frames", 24, 0, "$JOB"]],
    ["set_float_attrib", ["$ID", -1, "scale", 1.5, 1, "$JOB"]],
    ["set_file_attrib", ["$ID", -1, "image", "__PDG_DIR__/a.exr", 0, "$JOB"]],
    ["set_string_attrib_array", ["$ID", -1, "names", ["a", "b"], "$JOB"]],
    ["set_int_attrib_array", ["$ID", -1, "counts", [1, 2, 3], "$JOB"]],
    ["set_float_attrib_array", ["$ID", -1, "color", [1.0, 0.5], "$JOB"]],
    ["set_file_attrib_array", ["$ID", -1, "files", ["/f/1", "/f/2"], "$JOB"]],
    ["set_pyobject_attrib", ["$ID", -1, "obj", "{'t': (1, 2), 'n': None}", "$JOB"]],
    ["write_attr", ["$NAME", "legacy", [4, 5], "$JOB"]],
    ["append_log", ["$ID", -1, "raw text\n", 3, "$JOB"]],
    ["append_log", ["$ID", 0, "it broke", 0, "$JOB"]],
    ["warning", ["$ID", "careful", "$JOB"]],
    ["keepalive", ["$ID", "$JOB"]],
    ["invalidate_cache", ["$ID", -1, "$JOB"]],
    ["release_job_slots", ["$ID", "$JOB"]],
    ["check_ready_batch", ["$ID", 0]],
    ["acquire_job_slots", ["$ID", "$JOB"]],
    ["get_workitem_json", ["$ID", -1]],
    ["multicall", [  # reportServerStarted
        ["sharedserver_started", [{"name": "hou", "pid": 0, "host": "127.0.0.1", "port": 7,
                                   "proto_type": "raw"}, "$JOB"]],
        ["result", ["$ID", {"bin": "127.0.0.1"}, "socket/ip", 0, "$JOB"]],
        ["result", ["$ID", {"bin": "7"}, "socket/port", 0, "$JOB"]],
        ["result", ["$ID", {"bin": "/tmp/hou.log"}, "file/text/log", 0, "$JOB"]]]],
    ["multicall", [  # addOutputFile, a batch sub-item's and the item's own
        ["result_batch", ["$ID", {"bin": "/o/batch.txt"}, "file/text", 0, 11, "$JOB"]],
        ["result", ["$ID", {"bin": OUT}, "file/text", 12, "$JOB"]]]],
    ["success_batch", ["$ID", 0, 0, "$JOB"]],
]
ONLY_20 = [
    ["set_dict_attrib", ["$ID", -1, "meta", '{"a": 1}', 0, "$JOB"]],
    ["set_dict_attrib_array", ["$ID", -1, "metas", ['{"k": 1}', "{'k': 2}"], "$JOB"]],
    ["set_cook_percent", ["$ID", 0, 50, "$JOB"]],
    ["set_custom_state", ["$ID", -1, "rendering", "$JOB"]],
    ["add_sub_item_batch", ["$ID"]],
    ["result_array", ["$ID", [{"bin": "/o/r1"}, {"bin": "/o/r2"}], ["file/a", ""], [], "$JOB"]],
    ["result_array_batch", ["$ID", 0, [{"bin": "/o/r3"}], ["file/b"], [3], "$JOB"]],
]
# a second item ends with success and its outputs in one call, as addOutputFile(and_success)
AND_SUCCESS = [
    ["multicall", [["success_and_result_batch",
                    ["$ID", {"bin": "/o/s1"}, "file/x", 0, 5, 1.5, "$JOB"]],
                   ["success_and_result", ["$ID", {"bin": "/o/s2"}, "", 6, 2.5, "$JOB"]]]],
]


def run_job(c: Cook, item_id: int, calls: list, **env) -> list:
    """A job process for the item, with the environment its scheduler gives it."""
    job_env = {**c.scheduler.jobEnvironment(c.item(item_id)), **env}
    done = subprocess.run([sys.executable, "-c", JOB, json.dumps(calls)], env=job_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_realistic_20x_job_succeeds(cook):
    c = cook(1)
    (item_id,) = c.ids
    percents = []
    c.engine.events.subscribe(lambda e: percents.append(e.report.percent)
                              if isinstance(e, ItemChanged)
                              and isinstance(e.report, PercentSet) else None)
    answers = run_job(c, item_id, REALISTIC_20)
    assert answers == [{"ok": True}, {"ok": True}, {"ok": [[True]]}, {"ok": True},
                       {"ok": True}]
    assert c.engine.wait(20).ok
    item = c.item(item_id)
    assert item.state == S.CookedSuccess and item.attribValue("frames") == 24
    assert [(o.path, o.tag) for o in item.outputFiles] == [
        (f"{c.scheduler.workingDir(True)}/out.txt", "file/text")]
    assert percents == [100.0]


@pytest.mark.parametrize("family", ["18.5", "20.x"])
def test_every_call_of_the_family_lands(cook, family):
    c = cook(2)
    first, second = c.ids
    seen = []
    c.engine.events.subscribe(lambda e: seen.append(e.report)
                              if isinstance(e, ItemChanged) else None)
    calls = COMMON[:-1] + (ONLY_20 if family == "20.x" else []) + COMMON[-1:]
    answers = run_job(c, first, calls)
    faults = [(call[0], a) for call, a in zip(calls, answers, strict=True) if "fault" in a]
    assert faults == []  # nothing refused, nothing dropped inside a multicall
    by_method = dict(zip([call[0] for call in calls], answers, strict=True))
    assert by_method["check_ready_batch"] == {"ok": 1}
    assert by_method["release_job_slots"] == by_method["acquire_job_slots"] == {"ok": True}
    data = json.loads(by_method["get_workitem_json"]["ok"])
    assert data["id"] == first and data["name"] == c.item(first).name
    if family == "20.x":
        assert by_method["add_sub_item_batch"] == {"ok": -1}
    assert run_job(c, second, AND_SUCCESS) == [{"ok": [[True], [True]]}]
    result = c.engine.wait(20)
    assert result.ok
    item, workdir = c.item(first), c.scheduler.workingDir(True)
    attrs = {name: item.attribArray(name) for name in item.attribNames()}
    expected = {"label": ["hero"], "frames": [24], "scale": [0.0, 1.5],
                "image": [f"{workdir}/a.exr".replace(workdir, "__PDG_DIR__")],
                "names": ["a", "b"], "counts": [1, 2, 3], "color": [1.0, 0.5],
                "files": ["/f/1", "/f/2"], "obj": [{"t": [1, 2], "n": None}],
                "legacy": [4, 5]}
    if family == "20.x":
        expected.update(meta=[{"a": 1}], metas=[{"k": 1}, {"k": 2}])
    assert attrs == expected
    assert item.attribType("obj") == AttribType.PyObject
    assert family == "18.5" or item.attribType("meta") == AttribType.Dict
    outputs = [(o.path, o.tag, o.checksum) for o in item.outputFiles]
    assert outputs[:3] == [("127.0.0.1", "socket/ip", 0), ("7", "socket/port", 0),
                           ("/tmp/hou.log", "file/text/log", 0)]
    assert ("/o/batch.txt", "file/text", 11) in outputs
    assert (f"{workdir}/out.txt", "file/text", 12) in outputs
    if family == "20.x":
        assert outputs[-3:] == [("/o/r1", "file/a", 0), ("/o/r2", "file", 0),
                                ("/o/r3", "file/b", 3)]
        assert PercentSet(first, 50.0) in seen and CustomStateSet(first, "rendering") in seen
        assert item.cook_percent == 50.0 and item.custom_state == "rendering"  # kept on it
        assert f"{item.name}: the job asked to add a sub item to its batch " \
               f"(add_sub_item_batch); this cook has no batch items, so none was added" \
               in result.warnings
    assert item.log.startswith("raw text\nERROR: it broke\nwarning: careful\n"
                               "the job invalidated its cache")
    assert CacheInvalidated(first) in seen
    assert c.scheduler.getSharedServers() == {}
    assert [r.name for r in seen if isinstance(r, SharedServerStarted)] == ["hou"]
    other = c.item(second)
    assert other.cook_duration == 1.5  # the first success wins; the item is final
    assert [(o.path, o.tag) for o in other.outputFiles] == [("/o/s1", "file/x"),
                                                            ("/o/s2", "file")]


def test_shared_server_started_outside_a_multicall_is_refused_not_dropped(cook):
    c = cook(1)
    message = {"name": "s", "pid": 1, "host": "127.0.0.1", "port": 9, "proto_type": "raw"}
    (answer,) = run_job(c, c.ids[0], [["sharedserver_started", [message, "$JOB"]]])
    assert "send it in a system.multicall with the item's result calls" in answer["fault"]
    (answer,) = run_job(c, c.ids[0], [["multicall", [
        ["sharedserver_started", [{**message, "port": "nine"}, "$JOB"]],
        ["result", ["$ID", {"bin": "127.0.0.1"}, "socket/ip", 0, "$JOB"]]]]])
    fault, ok = answer["ok"]  # a fault inside a multicall is answered, for pdgcmd to see
    assert fault["faultString"].endswith("port 'nine' is no number") and ok == [True]
    c.finish()


BAD = [
    (["set_pyobject_attrib", ["$ID", -1, "o", "__import__('os').getpid()", "$JOB"]],
     "must be the repr() of a literal"),
    (["set_pyobject_attrib", ["$ID", -1, "o", "{1, 2}", "$JOB"]], "a set cannot be"),
    (["set_dict_attrib", ["$ID", -1, "d", "[1, 2]", 0, "$JOB"]],
     "a dictionary attribute's value must be a dictionary"),
    (["result_array", ["$ID", [{"bin": "/a"}], ["t"], [1, 2], "$JOB"]],
     "lists of tags and checksums no longer than it"),
    (["set_cook_percent", ["$ID", -1, float("nan"), "$JOB"]], "a cook percent of nan"),
    (["append_log", ["$ID", -1, "x", "error", "$JOB"]], "invalid literal for int()"),
    (["write_attr", ["$NAME", "w", [], "$JOB"]], "non-empty list"),
    (["write_attr", ["job_999", "w", [1], "$JOB"]], "no work item 'job_999'"),
    (["check_ready_batch", [999, 0]], "no work item 999"),
    (["append_log", ["$ID", -1, "x", "$JOB"]], "append_log takes 3 or 5 arguments, got 4"),
]


def test_bad_arguments_are_refused_with_the_reason(cook):
    c = cook(1)
    answers = run_job(c, c.ids[0], [call for call, _ in BAD])
    for (call, why), answer in zip(BAD, answers, strict=True):
        assert why in answer.get("fault", ""), (call, answer)
    assert c.item(c.ids[0]).attribNames() == []
    assert c.finish().ok


@pytest.mark.usefixtures("outsiders_only")
def test_a_job_id_the_scheduler_chose_lands_and_outsiders_do_not(cook):
    c = cook(2)
    first, second = c.ids
    calls = [["set_int_attrib", ["$ID", -1, "n", 1, 0, "$JOB"]]]
    # Houdini 18.x's Local Scheduler and farm schedulers: their own value in PDG_JOBID
    assert run_job(c, first, calls, PDG_JOBID="7") == [{"ok": True}]
    assert run_job(c, first, calls, AFANASY_ID="farm-31", PDG_JOBID_VAR="AFANASY_ID") == \
        [{"ok": True}]
    # the address without the secret: the cook's own job id still lands, any other does not
    assert run_job(c, first, calls, PDG_RESULT_SERVER=c.bare) == [{"ok": True}]
    (refused,) = run_job(c, second, calls, PDG_RESULT_SERVER=c.bare, PDG_JOBID="7")
    assert refused["fault"].startswith("set_int_attrib: job id refused: the report is not "
                                       "from a job of the current cook")
    assert "must keep its '<secret>@', or list the farm's hosts or network in " \
        "pdg_trustedhosts" in refused["fault"]
    # a secret of another cook (an earlier one), with its job id
    (stale,) = run_job(c, second, calls, PDG_RESULT_SERVER=f"{'0' * 32}@{c.bare}",
                       PDG_JOBID="0" * 32)
    assert "job id refused" in stale["fault"]
    assert not c.item(second).hasAttrib("n") and c.item(first).attribValue("n") == 1
    c.finish()


def basic(secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


class CookBeyond(Cook):
    """A cook whose result server listens on every interface."""

    def __init__(self, tmp_path):
        super().__init__(tmp_path, 1, pdg_resultserverbind="0.0.0.0")

    def get(self, path, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        answer = response.status, dict(response.getheaders()), response.read().decode()
        conn.close()
        return answer


@pytest.mark.usefixtures("outsiders_only")
def test_beyond_loopback_pages_and_queries_need_the_secret(tmp_path):
    c = CookBeyond(tmp_path)
    try:
        (item_id,) = c.ids
        for path in ("/", f"/status/{item_id}", f"/log/{item_id}"):
            status, headers, body = c.get(path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
            assert "the part before '@' of $PDG_RESULT_SERVER" in body
            assert "the read key of the status URIs" in body
            assert c.get(path, basic(c.secret))[0] == 200
            assert c.get(path, basic("x:" + c.secret))[0] == 200  # as the password
            assert c.get(path, basic("not-it"))[0] == 401
        with xmlrpc.client.ServerProxy(f"http://{c.bare}") as proxy:
            with pytest.raises(xmlrpc.client.Fault, match="its queries the cook's secret"):
                proxy.get_workitem_json(item_id, -1)
        with xmlrpc.client.ServerProxy(f"http://{c.address}") as proxy:
            assert json.loads(proxy.get_workitem_json(item_id, -1))["id"] == item_id
    finally:
        c.finish()


@pytest.mark.usefixtures("outsiders_only")
def test_a_status_uri_reads_its_page_and_reports_nothing(tmp_path):
    """The status URI the cook hands out carries a read key, not the cook's secret: it opens
    the page beyond loopback, and the same key cannot report."""
    c = CookBeyond(tmp_path)
    try:
        (item_id,) = c.ids
        uri = c.item(item_id).status_uri
        assert c.secret not in uri
        path = uri.split(f":{c.port}", 1)[1]
        key = path.split("?key=")[1]
        status, _headers, body = c.get(path)
        assert status == 200 and json.loads(body)["id"] == item_id
        assert c.get(f"/status/{item_id}?key=wrong")[0] == 401
        with xmlrpc.client.ServerProxy(f"http://{key}@{c.bare}") as proxy:
            with pytest.raises(xmlrpc.client.Fault, match="job id refused"):
                proxy.start_cook(item_id, key)
        assert c.item(item_id).state == S.Scheduled
    finally:
        c.finish()


def test_the_job_helper_parses_the_address_as_pdgcmd_does():
    secret = "ab12" * 8
    env = {**os.environ, "PDG_RESULT_SERVER": f"{secret}@10.0.0.5:4711"}
    code = ("import os\nhost, port = os.environ['PDG_RESULT_SERVER'].split(':')\n"
            "import xmlrpc.client as x\nt = x.Transport()\n"
            "print(t.get_host_info('{}:{}'.format(host, int(port))))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    # the host part keeps the secret, which xmlrpc.client sends as Basic authorization
    token = base64.b64encode(secret.encode()).decode()
    assert out.strip() == f"('10.0.0.5:4711', [('Authorization', 'Basic {token}')], {{}})"


@pytest.mark.parametrize("pid", [0, -1, 1, "own", "stranger"])
def test_a_reported_shared_server_pid_never_signals_the_cook_or_everyone(cook, pid):
    """At the cook's end the scheduler stops the shared servers its jobs reported, by signal
    when they run here: pid 0 would be the cook's process group, -1 every process, and any
    other pid a process of the user that no job of the cook started."""
    c = cook(1)
    stranger = subprocess.Popen(["sleep", "60"]) if pid == "stranger" else None
    pid = {"own": os.getpid(), "stranger": stranger and stranger.pid}.get(pid, pid)
    try:
        message = {"name": "s", "pid": pid, "host": "127.0.0.1", "port": 9,
                   "proto_type": "raw"}
        assert run_job(c, c.ids[0], [["multicall", [
            ["sharedserver_started", [message, "$JOB"]],
            ["result", ["$ID", {"bin": "127.0.0.1"}, "socket/ip", 0, "$JOB"]]]]]) == \
            [{"ok": [[True], [True]]}]
        status, body = c.post_json({"jobid": c.job_id, "reports": [  # pdgjob's form, here
            {"rid": "r", "item": c.ids[0], "kind": "sharedserver", "name": "t",
             "info": {"host": "127.0.0.1", "port": 9, "pid": pid,
                      "hostname": socket.gethostname()}}]})
        assert status == 200 and json.loads(body)["results"][0]["status"] == "applied"
        assert c.finish().ok  # ends every shared server, and this process is still here
        assert stranger is None or stranger.poll() is None  # and the stranger runs on
    finally:
        if stranger is not None:
            stranger.kill()
            stranger.wait()
