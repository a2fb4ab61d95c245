"""Shared servers: Python Server Begin, Command Send and Server End with real processes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from schedcore import network as network_file
from schedcore import serverends
from schedcore.engine import Engine
from schedcore.events import ItemStateChanged
from schedcore.jobs import pdgserver
from schedcore.schedulers import LocalScheduler
from schedcore.schedulers.base import local_ip
from schedcore.workitem import WorkItemState as S

from .conftest import EXAMPLES, make_network

COUNTING = """\
import os
count = globals().get("count", 0) + 1   # kept in the server between commands
work_item.setIntAttrib("count", count)
work_item.setIntAttrib("serverpid", os.getpid())
print("command for wedge", work_item.attribValue("wedgeindex"))
"""


def server_net(tmp_path, script=COUNTING, end=True, wedges=4, scheduler=None):
    nodes = [{"name": "w", "type": "wedge", "parms": {"wedgecount": wedges}},
             {"name": "server", "type": "pythonserver", "inputs": ["w"]},
             {"name": "send", "type": "commandsend", "inputs": ["server"],
              "parms": {"script": script}}]
    if end:
        nodes.append({"name": "end", "type": "commandserverend", "inputs": ["send"]})
    return make_network(tmp_path, nodes, scheduler)


def by_node(result) -> dict[str, list]:
    nodes: dict[str, list] = {}
    for item in result.items:
        nodes.setdefault(item.node, []).append(item)
    return nodes


def server_pid(item) -> int:
    """The server's pid, from what it wrote in its begin item's log."""
    text = Path(urlparse(item.log_uri).path).read_text()
    return int(re.search(r"pdgserver (\d+): serving", text).group(1))


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_several_items_share_one_server_which_server_end_stops(tmp_path):
    result = Engine(server_net(tmp_path)).run()
    assert result.ok, result.errors
    nodes = by_node(result)
    sends = nodes["send"]
    assert len(sends) == 4
    # one process ran every command, and what one command defined the next one saw
    (pid,) = {item.attribValue("serverpid") for item in sends}
    assert sorted(item.attribValue("count") for item in sends) == [1, 2, 3, 4]
    for item in sends:
        log = Path(urlparse(item.log_uri).path).read_text()
        assert f"command for wedge {item.attribValue('wedgeindex')}" in log
    server_item = next(i for i in nodes["server"] if i.index == -1)
    assert server_pid(server_item) == pid and gone(pid)
    assert "asked to stop after 4 commands" in Path(urlparse(server_item.log_uri).path)\
        .read_text()
    (end,) = nodes["end"]
    assert end.state == S.CookedSuccess and end.attribValue("sharedserver") == "server"


def test_the_end_of_the_cook_stops_a_server_no_node_ended(tmp_path):
    """With the Python Scheduler's shipped callbacks (its End Shared Server field)."""
    net = server_net(tmp_path, end=False, wedges=2, scheduler=[
        {"name": "py", "type": "pythonscheduler", "parms": {"pdg_maxtasks": 2}}])
    result = Engine(net).run()
    assert result.ok, result.errors
    nodes = by_node(result)
    server_item = next(i for i in nodes["server"] if i.index == -1)
    pid = server_pid(server_item)
    assert {i.attribValue("serverpid") for i in nodes["send"]} == {pid}
    assert gone(pid)


def test_a_failing_command_fails_its_item_and_the_others_go_on(tmp_path):
    script = COUNTING + "if work_item.attribValue('wedgeindex') == 1:\n    1 / 0\n"
    result = Engine(server_net(tmp_path, script=script)).run()
    nodes = by_node(result)
    failed = [i for i in nodes["send"] if i.state == S.CookedFail]
    assert [i.attribValue("wedgeindex") for i in failed] == [1]
    log = Path(urlparse(failed[0].log_uri).path).read_text()
    assert "ZeroDivisionError" in log and 'File "<send script>", line 7' in log
    assert sum(i.state == S.CookedSuccess for i in nodes["send"]) == 3
    (end,) = nodes["end"]
    assert end.state == S.Uncooked and "failed" in end.reason
    server_item = next(i for i in nodes["server"] if i.index == -1)
    assert gone(server_pid(server_item))  # the end of the cook stopped it


def test_command_send_without_a_server_says_where_to_connect_it(tmp_path):
    net = make_network(tmp_path, [
        {"name": "w", "type": "wedge", "parms": {"wedgecount": 1}},
        {"name": "send", "type": "commandsend", "inputs": ["w"], "parms": {"script": "pass"}}])
    (_, send) = Engine(net).run().items
    assert send.state == S.CookedFail
    assert "names no shared server" in send.reason
    assert "below a Python Server Begin node" in send.reason


def test_server_end_without_a_server_says_where_it_belongs(tmp_path):
    net = make_network(tmp_path, [
        {"name": "w", "type": "wedge", "parms": {"wedgecount": 2}},
        {"name": "end", "type": "commandserverend", "inputs": ["w"]}])
    result = Engine(net).run()
    assert not result.ok
    assert result.errors == ["node end: could not make its work items: no upstream item "
                             "belongs to a shared server: put Server End below the Command "
                             "Send items of a Python Server Begin node"]


def test_a_resumed_cook_starts_the_server_again_and_runs_only_what_failed(tmp_path):
    marker = tmp_path / "fixed"
    script = COUNTING + (f"if work_item.attribValue('wedgeindex') == 2 and not "
                         f"os.path.exists({str(marker)!r}):\n    raise SystemExit(1)\n")
    first = Engine(server_net(tmp_path, script=script)).run()
    assert not first.ok
    marker.touch()
    second = Engine(server_net(tmp_path, script=script), resume=True).run()
    assert second.ok, second.errors
    nodes = by_node(second)
    states = {i.attribValue("wedgeindex"): i.state for i in nodes["send"]}
    assert states == {0: S.CookedCache, 1: S.CookedCache, 2: S.CookedSuccess,
                      3: S.CookedCache}
    (rerun,) = [i for i in nodes["send"] if i.state == S.CookedSuccess]
    assert rerun.attribValue("count") == 1  # a new server ran it


def test_a_server_whose_cook_died_stops_by_itself(tmp_path):
    script = "import time\ntime.sleep(60)\n"
    server_net(tmp_path, script=script, end=False, wedges=1)
    env = {**os.environ, "PDG_SERVER_WATCH_PERIOD": "0.2"}
    cook = subprocess.Popen([sys.executable, "-m", "schedcore.cli", "cook",
                             str(tmp_path / "net.top.json")], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = None
    try:
        deadline = time.monotonic() + 60
        while pid is None and time.monotonic() < deadline:
            for log in tmp_path.glob("pdgtemp/*/logs/send_*.log"):
                server_log = next(log.parent.glob("server_*.log"))
                found = re.search(r"pdgserver (\d+): serving", server_log.read_text())
                pid = int(found.group(1)) if found else None
            time.sleep(0.05)
        assert pid is not None, "the server did not start"
    finally:
        cook.send_signal(signal.SIGKILL)
        cook.wait()
    try:
        psutil.Process(pid).wait(30)
    except psutil.NoSuchProcess:
        pass
    assert gone(pid)


@pytest.fixture
def command_server():
    """A CommandServer on a thread, and what a client needs to reach it."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = pdgserver.CommandServer(listener, "secret")
    thread = threading.Thread(target=server.serve)
    thread.start()
    info = {"host": "127.0.0.1", "port": listener.getsockname()[1], "token": "secret"}
    yield info
    server.stop()
    thread.join()


def test_the_server_refuses_requests_without_its_token(command_server):
    assert pdgserver.request(command_server, {"op": "ping"})["commands"] == 0
    with pytest.raises(pdgserver.ServerError, match="wrong token"):
        pdgserver.request({**command_server, "token": "guess"}, {"op": "ping"})
    with pytest.raises(pdgserver.ServerError, match="unknown op 'shutdown'"):
        pdgserver.request(command_server, {"op": "shutdown"})


def test_a_malformed_request_leaves_the_server_serving(command_server):
    with socket.create_connection((command_server["host"], command_server["port"])) as conn:
        conn.sendall(b"\x00\x00\x00\x06secret")  # the token, then five bytes not JSON
        conn.sendall(b"\x00\x00\x00\x05hello")
        assert conn.recv(10) == b""  # closed on us
    assert pdgserver.request(command_server, {"op": "ping"})["ok"]


def test_a_shared_server_on_dask_workers(tmp_path):
    net = server_net(tmp_path, wedges=3, scheduler=[
        {"name": "dask", "type": "daskscheduler", "parms": {"dask_workers": 2}}])
    result = Engine(net).run()
    assert result.ok, result.errors
    nodes = by_node(result)
    (pid,) = {item.attribValue("serverpid") for item in nodes["send"]}
    assert sorted(item.attribValue("count") for item in nodes["send"]) == [1, 2, 3]
    assert gone(pid)


def test_the_bundled_example_builds_its_table_once(tmp_path):
    shutil.copy(EXAMPLES / "shared_server.top.json", tmp_path)
    result = Engine(network_file.load(tmp_path / "shared_server.top.json")).run()
    assert result.ok, result.errors
    sends = by_node(result)["commandsend1"]
    assert {i.attribValue("n"): i.attribValue("nthprime") for i in sends} == {
        10: 31, 20: 73, 30: 127, 40: 179, 50: 233, 60: 283}
    logs = [Path(urlparse(i.log_uri).path).read_text() for i in sends]
    assert sum("building the table" in log for log in logs) == 1


def test_a_farm_cook_serves_on_the_address_the_other_jobs_reach(tmp_path):
    """Result server on every interface (a farm set-up): the shared server listens on every
    interface too and gives the address on the route to the submitter."""
    net = server_net(tmp_path, wedges=2, scheduler=[
        {"name": "local", "type": "localscheduler",
         "parms": {"maxprocs": 2, "pdg_resultserverbind": "0.0.0.0"}}])
    result = Engine(net).run()
    assert result.ok, result.errors
    server_item = next(i for i in by_node(result)["server"] if i.index == -1)
    log = Path(urlparse(server_item.log_uri).path).read_text()
    assert f"serving server on {local_ip()}:" in log


def test_cancel_while_a_command_runs_in_the_server_leaves_nothing_running(tmp_path):
    net = server_net(tmp_path, script="import time\ntime.sleep(60)\n", wedges=1)
    engine = Engine(net)
    running = threading.Event()
    engine.events.subscribe(lambda e: running.set() if isinstance(e, ItemStateChanged)
                            and e.item.node == "send" and e.new == S.Cooking else None)
    engine.start()
    assert running.wait(60)
    time.sleep(0.5)  # the command is in the server by now
    server_item = next(i for i in engine.items.values() if i.node == "server" and i.index == -1)
    pid = server_pid(server_item)
    engine.cancel()
    result = engine.wait(60)
    assert result.canceled
    (send,) = [i for i in result.items if i.node == "send"]
    assert send.state == S.CookedCancel
    assert gone(pid)


def test_a_server_begin_without_inputs_makes_its_number_of_sessions(tmp_path, monkeypatch):
    net = make_network(tmp_path, [
        {"name": "server", "type": "pythonserver",
         "parms": {"sessions": 3, "servername": "$SERVERNAME"}},
        {"name": "send", "type": "commandsend", "inputs": ["server"],
         "parms": {"script": COUNTING}}])
    monkeypatch.setenv("SERVERNAME", "tables")
    result = Engine(net).run()
    assert result.ok, result.errors
    sends = by_node(result)["send"]
    assert sorted(i.attribValue("count") for i in sends) == [1, 2, 3]
    assert {i.attribValue("sharedserver") for i in result.items} == {"tables"}


# == the end of a cook with servers that do not answer ==================================
class SilentListener:
    """Accepts connections and never answers; counts the most open at once."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.accepted = self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                conn = None
            self.open = [c for c in self.open if not self._closed(c)]
            if conn is not None:
                self.open.append(conn)
                self.accepted += 1
                self.most = max(self.most, len(self.open))

    @staticmethod
    def _closed(conn: socket.socket) -> bool:
        """Whether the other end closed ``conn`` (what it sent is read and dropped)."""
        try:
            while conn.recv(65536, socket.MSG_DONTWAIT):
                pass
        except BlockingIOError:
            return False
        except OSError:
            pass
        conn.close()
        return True

    def close(self):
        self._stop.set()
        self._thread.join()
        for conn in self.open:
            conn.close()
        self.listener.close()


@pytest.fixture
def silent():
    listener = SilentListener()
    yield listener
    listener.close()


class Reporting(LocalScheduler):
    """Knows ``count`` shared servers at ``port`` as its cook starts, as if a job had
    reported them: servers that accept and never answer."""

    def __init__(self, name, parms, hip, port, count):
        super().__init__(name, parms, hip)
        self.servers = [(f"silent{n}", {"name": f"silent{n}", "host": "127.0.0.1",
                                        "port": port, "token": "t", "pid": 1})
                        for n in range(count)]

    def onStartCook(self, static, cook_set):
        for name, info in self.servers:
            self.setSharedServerInfo(name, info)
        return super().onStartCook(static, cook_set)


def silent_cook(tmp_path, port, count):
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "true"}}])
    return Engine(net, scheduler=Reporting("local", {"maxprocs": 1}, net.hip, port, count))


def test_the_end_of_a_cook_ends_its_servers_side_by_side(tmp_path, silent):
    """12 servers that never answer, each waited for 5 s: one after the other the end took
    a minute; side by side all 12 are asked at once."""
    result = silent_cook(tmp_path, silent.port, 12).run()
    assert result.ok, result.errors
    assert silent.accepted == 12 and silent.most == 12
    assert not result.warnings


def test_the_end_of_a_cook_gives_its_servers_one_deadline(tmp_path, silent, monkeypatch):
    monkeypatch.setattr(serverends, "DEADLINE", 0.5)
    result = silent_cook(tmp_path, silent.port, 40).run()
    assert result.ok, result.errors
    assert silent.most == serverends.WORKERS  # never more at once
    assert result.warnings == ["40 of 40 shared servers were not ended: they took longer than "
                               "0.5 s; each stops by itself once the cook's result server is "
                               "gone"]
