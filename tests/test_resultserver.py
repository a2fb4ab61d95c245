"""The result server with real sockets, real job processes and Houdini-style XML-RPC calls."""

from __future__ import annotations

import ast
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import xmlrpc.client
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import Request, urlopen

import pytest

from schedcore.engine import Engine
from schedcore.events import ItemStateChanged
from schedcore.reports import Succeeded
from schedcore.results import ScheduleResult
from schedcore.resultserver import ResultServer
from schedcore.schedulers import Scheduler
from schedcore.workitem import MAX_ATTRIB_INDEX, AttribType, WorkItem
from schedcore.workitem import WorkItemState as S

from .conftest import ROOT, make_network

# jobs here carry the secret or are outsiders (a farm's view); tests/test_trust.py has the
# peers that stand in for the secret
pytestmark = pytest.mark.usefixtures("outsiders_only")

JOBS = ROOT / "schedcore" / "jobs"


def basic(secret: str) -> str:
    """An ``Authorization`` header's value that carries ``secret`` as ``xmlrpc.client`` sends
    the ``<secret>@`` of an address."""
    return "Basic " + base64.b64encode(secret.encode()).decode()


class Remote(Scheduler):
    """Items are 'submitted' and report back only through the result server."""

    type_name = "remote"

    def __init__(self, **parms):
        super().__init__("remote", {"pdg_tickperiod": 0.05, **parms})

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        return True

    def onSchedule(self, work_item):
        return ScheduleResult.Succeeded

    def getLogURI(self, work_item):
        """Where its farm would write the item's log."""
        return Path(self.logDir(True), f"{work_item.name}.log").as_uri()


class Cook:
    """An engine on its thread with every item scheduled and waiting for reports."""

    def __init__(self, tmp_path, count=2, **parms):
        net = make_network(tmp_path, [{"name": "job", "type": "genericgenerator",
                                       "parms": {"itemcount": count, "command": "x"}}])
        self.scheduler = Remote(pdg_workingdir=str(tmp_path), **parms)
        self.engine = Engine(net, scheduler=self.scheduler)
        all_scheduled, scheduled = threading.Event(), []

        def watch(event):  # wait until every item is Scheduled, its URIs set
            if isinstance(event, ItemStateChanged) and event.new == S.Scheduled:
                scheduled.append(event.item.id)
                if len(scheduled) == count:
                    all_scheduled.set()

        self.engine.events.subscribe(watch)
        self.engine.start()
        assert all_scheduled.wait(10)
        self.ids = sorted(scheduled)
        self.address = self.scheduler.workItemResultServerAddr()  # <secret>@host:port
        self.job_id = self.engine.job_id
        self.secret, _, self.bare = self.address.rpartition("@")
        self.host, self.port = self.bare.split(":")[0], int(self.bare.split(":")[1])

    def item(self, item_id):
        return self.engine.items[item_id]

    def post_json(self, body, path="/reports", headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request("POST", path, data, headers or {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.status, response.read()
        conn.close()
        return answer

    def finish(self):
        with xmlrpc.client.ServerProxy(f"http://{self.address}") as proxy:
            for item_id in self.ids:
                if not self.item(item_id).state.is_final:
                    proxy.success(item_id, 0.5, self.job_id)
        result = self.engine.wait(20)
        assert result is not None
        return result


@pytest.fixture
def cook(tmp_path):
    started = []

    def make(count=2, **parms):
        started.append(Cook(tmp_path, count, **parms))
        return started[-1]

    yield make
    for running in started:
        if running.engine.result is None:
            running.engine.cancel()
            running.engine.wait(20)


def test_houdini_style_xmlrpc_calls(cook):
    c = cook(2)
    first, second = c.ids
    # Houdini's helper: plain xmlrpc.client, one new connection per call
    with xmlrpc.client.ServerProxy(f"http://{c.address}") as proxy:
        job = c.job_id
        assert proxy.start_cook(first, job) is True
        proxy.set_int_attrib(first, -1, "frames", 24, 0, job)
        proxy.set_float_attrib(first, -1, "scale", 1.5, 0, job)
        proxy.set_string_attrib(first, -1, "label", "hero", 0, job)
        proxy.set_file_attrib(first, -1, "image", "/tmp/a.exr", 0, job)
        proxy.set_float_attrib_array(first, -1, "color", [1.0, 0.5, 0.25], job)
        proxy.append_log(first, "rendering\n", job)
        multi = xmlrpc.client.MultiCall(proxy)
        for n in range(2):
            multi.result(first, xmlrpc.client.Binary(f"__PDG_DIR__/out{n}.exr".encode()),
                         "file/image", n, job)
        assert list(multi()) == [True, True]
        proxy.success(first, 2.5, job)
        item_name = c.item(second).name  # 17.5 helpers sent the item's name
        proxy.success_and_result(item_name, xmlrpc.client.Binary(b"__PDG_DIR__/b.txt"), "file", 7,
                                 1.0, job)
    result = c.engine.wait(20)
    assert result.ok
    item = c.item(first)
    assert item.attribValue("frames") == 24 and item.attribType("frames") == AttribType.Int
    assert item.attribValue("scale") == 1.5 and item.attribValue("label") == "hero"
    assert item.attribArray("color") == [1.0, 0.5, 0.25]
    workdir = c.scheduler.workingDir(True)
    assert [(o.path, o.tag, o.checksum) for o in item.outputFiles] == [
        (f"{workdir}/out0.exr", "file/image", 0), (f"{workdir}/out1.exr", "file/image", 1)]
    assert item.cook_duration == 2.5 and item.log == "rendering\n"
    assert c.item(second).outputFiles[0].path == f"{workdir}/b.txt"


def test_a_replayed_batch_is_applied_once(cook):
    c = cook(1)
    (item_id,) = c.ids
    batch = {"jobid": c.job_id, "reports": [
        {"rid": "r1", "item": item_id, "kind": "log", "text": "once\n"},
        {"rid": "r2", "item": item_id, "kind": "attrib_array", "name": "n", "type": "Int",
         "values": [1, 2]}]}
    status, body = c.post_json(batch)
    assert status == 200
    assert [r["status"] for r in json.loads(body)["results"]] == ["applied", "applied"]
    status, body = c.post_json(batch)
    assert [r["status"] for r in json.loads(body)["results"]] == ["duplicate", "duplicate"]
    c.finish()
    assert c.item(item_id).log == "once\n"
    assert c.item(item_id).attribArray("n") == [1, 2]


def test_wrong_job_id_unknown_item_and_bad_requests_are_refused(cook):
    c = cook(1)
    (item_id,) = c.ids
    with xmlrpc.client.ServerProxy(f"http://{c.bare}") as proxy:  # no secret in the address
        with pytest.raises(xmlrpc.client.Fault, match="job id refused"):
            proxy.success(item_id, 1.0, "an-old-cook")
        with pytest.raises(xmlrpc.client.Fault, match="no work item 9999"):
            proxy.success(9999, 1.0, c.job_id)
        with pytest.raises(xmlrpc.client.Fault, match="unknown method 'succes'"):
            proxy.succes(item_id, 1.0, c.job_id)
        with pytest.raises(xmlrpc.client.Fault, match="is not a Int"):
            proxy.set_int_attrib(item_id, -1, "n", "many", 0, c.job_id)
    status, body = c.post_json({"jobid": "nope", "reports": [
        {"rid": "x", "item": item_id, "kind": "success"}]})
    assert status == 403 and "job id refused" in json.loads(body)["error"]
    status, body = c.post_json({"jobid": c.job_id, "reports": [
        {"rid": "y", "item": item_id, "kind": "explode"},
        {"rid": "z", "item": item_id, "kind": "result"},
        {"rid": "s", "item": item_id, "kind": "sharedserver", "name": "a",
         "info": {"host": "127.0.0.1", "port": "80"}}]})
    errors = [r["error"] for r in json.loads(body)["results"]]
    assert errors[0].startswith("unknown report kind 'explode'")
    assert errors[1] == "result: field 'path' missing or of the wrong type"
    assert errors[2] == "sharedserver: 'info' needs a 'host' (text) and a 'port' (number)"
    assert c.scheduler.getSharedServers() == {}
    assert c.post_json(b"{not json")[0] == 400
    assert c.post_json(b"<methodCall><unclosed>", path="/RPC2",
                       headers={"Content-Type": "text/xml"})[0] == 400
    host, port = c.host, c.port
    with socket.create_connection((host, int(port))) as raw:  # the answer before the body
        raw.sendall(b"POST /reports HTTP/1.1\r\nHost: x\r\nContent-Length: 9437184\r\n\r\n")
        assert b" 413 " in raw.recv(1000)
    # raw garbage on the socket: a 400, and the server still answers afterwards
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
        assert b" 400 " in raw.recv(1000)
    assert c.item(item_id).state == S.Scheduled  # nothing above changed the item
    assert c.scheduler._server.refused >= 8
    assert c.finish().ok


def test_rate_limit_per_connection(tmp_path):
    class Sink:
        def current_job_id(self):
            return "j"

        def find_item(self, ref):
            return None

        def all_items(self):
            return []

    server = ResultServer(Sink(), rate=5)
    try:
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        codes = []
        for _ in range(8):
            conn.request("GET", "/", headers={"Authorization": basic("j")})
            response = conn.getresponse()
            response.read()
            codes.append(response.status)
            if response.status == 429:
                break
        conn.close()
        assert codes[:5] == [200] * 5 and codes[-1] == 429
    finally:
        server.stop()


def test_status_and_log_uris(cook):
    c = cook(1)
    (item_id,) = c.ids
    item = c.item(item_id)
    uri = c.scheduler.getStatusURI(item)  # a read key, never the secret: anyone may see it
    assert uri.startswith(f"http://{c.bare}/status/{item_id}?key=") and c.secret not in uri
    c.post_json({"jobid": c.job_id, "reports": [
        {"rid": "p", "item": item_id, "kind": "percent", "percent": 40},
        {"rid": "c", "item": item_id, "kind": "custom_state", "state": "rendering"},
        {"rid": "a", "item": item_id, "kind": "attrib", "name": "x", "type": "Float",
         "value": 2.5, "index": 0}]})
    deadline = time.monotonic() + 10  # the engine applies the report on its own thread
    while not item.hasAttrib("x"):
        assert time.monotonic() < deadline, "the report was never applied"
        time.sleep(0.01)
    status = json.load(urlopen(uri, timeout=10))
    assert status["state"] == "Scheduled" and status["name"] == item.name
    assert status["attributes"]["x"] == {"type": "Float", "values": [2.5]}
    assert status["cook_percent"] == 40 and status["custom_state"] == "rendering"
    page = urlopen(Request(uri, headers={"Accept": "text/html"}), timeout=10).read().decode()
    assert page.startswith("<!doctype html>") and item.name in page
    key = uri.split("?key=")[1]  # the read key reads every page
    for path in ("/", f"/status/{item_id}", f"/log/{item_id}"):  # on loopback, none without
        conn = http.client.HTTPConnection(c.host, c.port, timeout=10)
        conn.request("GET", path)
        answer = conn.getresponse()
        body = json.loads(answer.read())
        conn.close()
        assert answer.status == 401 and body["server"] == "schedcore result server: up"
        assert item.name not in json.dumps(body)
    listing = json.load(urlopen(f"http://{c.bare}/?key={key}", timeout=10))
    assert [i["id"] for i in listing["items"]] == [item_id]
    log = Path(unquote(urlparse(item.log_uri).path))
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("frame 1 done\n")
    text = urlopen(f"http://{c.bare}/log/{item_id}?key={key}", timeout=10).read().decode()
    assert text == "frame 1 done\n"
    page = urlopen(Request(uri + "&html", headers={"Accept": "text/html"}), timeout=10).read()
    assert f"/log/{item_id}?key={key}".encode() in page  # its links carry the key on
    c.finish()


def test_listening_on_every_interface_advertises_an_address(tmp_path):
    sched = Remote(pdg_resultserverbind="0.0.0.0")
    sched.startCallbackServer()
    try:
        host, port = sched.workItemResultServerAddr().rsplit(":", 1)
        assert host not in ("0.0.0.0", "") and int(port) == sched._server.address[1]
        sched.parms.set("pdg_resultserverhost", "10.1.2.3")
        assert sched.workItemResultServerAddr() == f"10.1.2.3:{port}"
    finally:
        sched.stopCallbackServer()


def job_env(c: Cook, item_id: int) -> dict:
    return {**os.environ, "PDG_RESULT_SERVER": c.address, "PDG_ITEM_ID": str(item_id),
            "PDG_JOBID": c.job_id, "PDG_JOBID_VAR": "PDG_JOBID",
            "PDG_DIR": c.scheduler.workingDir(True), "PYTHONPATH": str(JOBS)}


def test_the_job_module_from_a_job_process(cook, tmp_path):
    c = cook(2)
    first, second = c.ids
    script = (
        "import pdgjob\n"
        "pdgjob.workItemStartCook()\n"
        "pdgjob.setIntAttrib('frames', 24)\n"
        "pdgjob.setStringAttribArray('names', ['a', 'b'])\n"
        f"pdgjob.addOutputFiles(['{tmp_path}/x.txt', '{tmp_path}/y.txt'],\n"
        "                       ['file/text', 'file/text'])\n"
        "pdgjob.workItemAppendLog('hello\\n')\n"
        "pdgjob.setCookPercent(50)\n"
        "pdgjob.keepalive()\n"
        "pdgjob.workItemSuccess()\n")
    done = subprocess.run([sys.executable, "-c", script], env=job_env(c, first),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    cli = [sys.executable, str(JOBS / "pdgjob.py")]
    done = subprocess.run([*cli, "--attr", "n", "Int", "7", "--output", str(tmp_path / "z"),
                           "--tag", "file/z", "--fail", "--reason", "bad frame"],
                          env=job_env(c, second), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result = c.engine.wait(20)
    item, other = c.item(first), c.item(second)
    assert item.state == S.CookedSuccess
    assert item.attribValue("frames") == 24 and item.attribArray("names") == ["a", "b"]
    assert [o.path for o in item.outputFiles] == [str(tmp_path / "x.txt"),
                                                  str(tmp_path / "y.txt")]
    assert item.log == "hello\n"
    assert other.state == S.CookedFail and other.reason == "bad frame"
    assert other.attribValue("n") == 7 and other.outputFiles[0].tag == "file/z"
    assert not result.ok


def test_the_job_module_refused_says_why(cook):
    c = cook(1)
    env = {**job_env(c, c.ids[0]), "PDG_JOBID": "stale", "PDG_RESULT_SERVER": c.bare}
    done = subprocess.run([sys.executable, str(JOBS / "pdgjob.py"), "--success"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 3
    assert "job id refused" in done.stderr and "'<secret>@'" in done.stderr
    c.finish()


def test_the_job_module_with_a_job_id_of_the_schedulers_own(cook, tmp_path):
    """A scheduler's own job id (a farm id) lands: the address carries the cook's secret."""
    c = cook(1)
    env = {**job_env(c, c.ids[0]), "PDG_JOBID": "", "FARM_JOB": "farm-4711",
           "PDG_JOBID_VAR": "FARM_JOB"}
    done = subprocess.run([sys.executable, str(JOBS / "pdgjob.py"), "--attr", "n", "Int", "3",
                           "--success"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert c.engine.wait(20).ok and c.item(c.ids[0]).attribValue("n") == 3


class DroppingProxy:
    """Forwards HTTP requests to the server but drops the first answer, as a network that
    fails after the server applied the reports: the client must retry, the server apply once."""

    def __init__(self, target: tuple[str, int], silent: bool = False):
        self.target = target
        self.silent = silent  # hold the first connection open without answering (a timeout)
        self.held = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.dropped = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                try:
                    self._forward(client)
                except OSError:
                    pass

    def _forward(self, client):
        with socket.create_connection(self.target) as upstream:
            data = _read_request(client)
            if not data:
                return
            upstream.sendall(data)
            answer = upstream.recv(65536)
            if self.dropped == 0:
                self.dropped += 1  # close without answering, or say nothing at all
                if self.silent:
                    self.held.append(client.dup())
                return
            client.sendall(answer)

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread
        self.listener.close()
        self.thread.join(5)
        assert not self.thread.is_alive()
        for sock in self.held:
            sock.close()


def _read_request(sock) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize("silent", [False, True], ids=["answer lost", "no answer in time"])
def test_a_report_retried_after_a_network_fault_is_applied_once(cook, silent):
    c = cook(1)
    proxy = DroppingProxy((c.host, c.port), silent=silent)
    try:
        env = {**job_env(c, c.ids[0]), "PDG_RESULT_SERVER": proxy.address,
               "PDG_REPORT_REQUEST_TIMEOUT": "1"}
        done = subprocess.run([sys.executable, str(JOBS / "pdgjob.py"), "--log", "one line",
                               "--attr", "n", "Int", "1"], env=env, capture_output=True,
                              text=True, timeout=60)
    finally:
        proxy.close()
    assert done.returncode == 0, done.stderr
    assert proxy.dropped == 1
    assert c.finish().ok
    assert c.item(c.ids[0]).log == "one line\n"
    assert c.item(c.ids[0]).attribValue("n") == 1


def test_retries_while_the_server_is_not_up_yet(tmp_path):
    """Connection refused at first: the job keeps trying until the server listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job_id = uuid.uuid4().hex
    env = {**os.environ, "PDG_RESULT_SERVER": f"127.0.0.1:{port}", "PDG_ITEM_ID": "1",
           "PDG_JOBID": job_id, "PDG_JOBID_VAR": "PDG_JOBID", "PYTHONPATH": str(JOBS)}
    job = subprocess.Popen([sys.executable, str(JOBS / "pdgjob.py"), "--success"], env=env,
                           stderr=subprocess.PIPE, text=True)
    received = []

    class Sink:
        def current_job_id(self):
            return job_id

        def find_item(self, ref):
            return WorkItem(1, "gen", 0) if ref == 1 else None

        def post_report(self, report):
            received.append(report)

        def all_items(self):
            return []

    try:
        threading.Event().wait(1.0)  # the job meets a refused connection first
        assert job.poll() is None
        server = ResultServer(Sink(), port=port)
        try:
            assert job.wait(30) == 0, job.stderr.read()
        finally:
            server.stop()
    finally:
        if job.poll() is None:
            job.kill()
        job.wait()
        job.stderr.close()
    assert [type(r) for r in received] == [Succeeded]


def test_job_modules_run_on_python_38():
    for path in JOBS.glob("*.py"):
        ast.parse(Path(path).read_text(), feature_version=(3, 8))


def test_attribute_indexes_out_of_range_are_refused_and_warned(cook):
    c = cook(1)
    (item_id,) = c.ids
    name = c.item(item_id).name
    with xmlrpc.client.ServerProxy(f"http://{c.address}") as proxy:  # pdgcmd's call shape
        for index in (10**8, 10**8, -1):
            with pytest.raises(xmlrpc.client.Fault, match=r"attribute 'n': index -?[\d,]+ is "
                               r"out of range: an index goes from 0 to 10,000"):
                proxy.set_int_attrib(item_id, -1, "n", 7, index, c.job_id)
        with pytest.raises(xmlrpc.client.Fault, match="index 1.5 is not a whole number"):
            proxy.set_float_attrib(item_id, -1, "f", 1.0, 1.5, c.job_id)
        with pytest.raises(xmlrpc.client.Fault, match="cannot convert float infinity"):
            proxy.result(item_id, "/tmp/x", "file", float("inf"), c.job_id)
        assert proxy.set_int_attrib(item_id, -1, "n", 7, MAX_ATTRIB_INDEX, c.job_id) is True
    status, body = c.post_json({"jobid": c.job_id, "reports": [
        {"rid": f"r{i}", "item": item_id, "kind": "attrib", "name": "s", "type": "String",
         "value": "v", "index": index} for i, index in enumerate((10**8, -5, 3))]})
    assert status == 200
    results = json.loads(body)["results"]
    assert [r["status"] for r in results] == ["error", "error", "applied"]
    assert results[0]["error"] == ("attribute 's': index 100,000,000 is out of range: an "
                                   "index goes from 0 to 10,000")
    result = c.finish()
    item = c.item(item_id)
    assert len(item.attribArray("n")) == MAX_ATTRIB_INDEX + 1
    assert item.attribArray("s") == ["", "", "", "v"] and not item.hasAttrib("f")
    refused = [w for w in result.warnings if "attribute report refused" in w]
    assert refused == [  # once per item and attribute, naming both and the limit
        f"{name}: attribute report refused: attribute 'n': index 100,000,000 is out of range: "
        "an index goes from 0 to 10,000",
        f"{name}: attribute report refused: attribute 'f': index 1.5 is not a whole number",
        f"{name}: attribute report refused: attribute 's': index 100,000,000 is out of range: "
        "an index goes from 0 to 10,000"]


def test_a_flood_of_refused_reports_is_counted_not_logged_line_by_line(cook, caplog):
    c = cook(1)
    (item_id,) = c.ids
    server = c.scheduler._server
    with caplog.at_level("WARNING", logger="schedcore.resultserver"):
        for n in range(300):  # one connection, as a job in a loop of bad reports would
            status, _ = c.post_json({"jobid": "stale", "reports": [
                {"rid": f"r{n}", "item": item_id, "kind": "success"}]})
            assert status == 403
        assert c.finish().ok  # the server stops with the cook and says what it did not show
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert server.refused == 300
    assert 2 <= len(refused) <= 12, refused  # not 300 lines
    shown = sum(m.startswith("result server: refused a report from") for m in refused)
    (summary,) = [m for m in refused if "more reports, not shown one by one" in m]
    assert f"refused {300 - shown} more reports" in summary
    assert "job id refused" in summary  # the last one's reason
