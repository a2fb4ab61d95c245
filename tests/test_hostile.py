"""Both servers against hostile and careless clients on a farm network: malformed requests,
idle and trickling connections, more connections than descriptors, huge logs read by clients
that do not read, frames without a token; real sockets and real processes."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from schedcore.engine import Engine
from schedcore.errors import CookError
from schedcore.events import ItemChanged
from schedcore.jobs import pdgserver
from schedcore.reports import SharedServerStarted
from schedcore.resultserver import ResultServer

from .conftest import ROOT
from .test_resultserver import Cook, basic

JOBS = ROOT / "schedcore" / "jobs"


class Sink:
    """What a result server reports to, with no cook behind it."""

    def current_job_id(self):
        return "secret"

    def find_item(self, ref):
        return None

    def post_report(self, report):
        raise AssertionError("nothing may be applied")

    def all_items(self):
        return []


@pytest.fixture
def cook(tmp_path):
    """A cook of one item, waiting for its reports."""
    running = Cook(tmp_path, 1)
    yield running
    if running.engine.result is None:
        running.engine.cancel()
        running.engine.wait(20)


@pytest.fixture
def server():
    started = []

    def make(**options):
        started.append(ResultServer(Sink(), **options))
        return started[-1]

    yield make
    for running in started:
        running.stop()


def exchange(address, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` on a new connection; everything the server answers until it closes."""
    with socket.create_connection(address, timeout=timeout) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def get(path: str, headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode("latin-1")


def post(path: str, body: bytes) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"\
        .encode() + body


def raise_fd_limit() -> None:
    """The attacking side needs a descriptor per connection it holds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))


def hold_idle(address, count: int) -> list[socket.socket]:
    """Up to ``count`` connections that send nothing (a connection the kernel does not
    complete in 5 s, its queue full, ends the attempt)."""
    held = []
    for _ in range(count):
        try:
            held.append(socket.create_connection(address, timeout=5))
        except OSError:
            break
    return held


# == the result server ======================================================================
MALFORMED = [
    get("/status/\xb2"),                                   # a raw byte, a digit to isdigit()
    get("/log/" + "9" * 5000),                             # more digits than int() takes
    get("/status/" + "9" * 19),
    get("/status/%00"),
    get("//[x"),                                           # urlparse raises on it
    get("/?" + "&".join(f"a{n}=1" for n in range(500))),   # too many query fields
    get("/log/0?tail=-5"),
    get("/log/0", "Range: bytes=x-y\r\n"),
    post("/reports", b"[" * 100_000 + b"]" * 100_000),     # nested past the recursion limit
    post("/reports", b'{"jobid": "secret", "reports": [{"item": "\xb2", "kind": "success",'
                     b' "rid": "r"}]}'),
    post("/reports", b'{"jobid": "secret", "reports": [{"item": ' + b"7" * 5000
         + b', "kind": "success", "rid": "r"}]}'),
    post("/RPC2", b"<methodCall><methodName>success</methodName><params><param>"
         + b"<value><array><data>" * 5000 + b"</data></array></value>" * 5000
         + b"</param></params></methodCall>"),
    post("/RPC2", b"<methodCall><methodName>success</methodName><params><param><value><int>"
         + b"9" * 5000 + b"</int></value></param></params></methodCall>"),
]


def test_malformed_requests_each_get_an_answer_and_no_traceback(cook, capfd):
    c = cook
    before = [item.to_json() for item in c.engine.items.values()]
    for request in MALFORMED:
        answer = exchange((c.host, c.port), request)
        code = status_of(answer)
        assert 400 <= code < 500 or (code == 200 and b"<fault>" in answer), \
            (request[:60], answer[:200])
    assert [item.to_json() for item in c.engine.items.values()] == before
    assert "Traceback" not in capfd.readouterr().err
    assert c.finish().ok


def big_log(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "big.log"
    with open(path, "wb") as handle:  # a sparse file: the disk holds none of it
        handle.truncate(size)
        handle.seek(size - 12)
        handle.write(b"end of log.\n")
    return path


def peak_rss_while(seconds: float) -> int:
    process, peak = psutil.Process(), 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.02)
    return peak


def test_four_unread_reads_of_a_200_mb_log_take_little_memory(cook, tmp_path):
    c = cook
    (item_id,) = c.ids
    c.item(item_id).log_uri = big_log(tmp_path, 200 * 1024 * 1024).as_uri()
    before = psutil.Process().memory_info().rss
    readers = []
    for _ in range(4):  # each asks for the log and never reads it
        conn = socket.create_connection((c.host, c.port))
        conn.sendall(get(f"/log/{item_id}", f"Authorization: {basic(c.secret)}\r\n"))
        readers.append(conn)
    peak = peak_rss_while(2.0)
    for conn in readers:
        conn.close()
    assert peak - before < 64 * 1024 * 1024, f"{(peak - before) / 2**20:.0f} MB more"
    assert c.finish().ok


def test_a_log_reads_its_tail_or_a_range(cook, tmp_path):
    c = cook
    (item_id,) = c.ids
    path = tmp_path / "item.log"
    path.write_bytes(b"0123456789" * 10)
    c.item(item_id).log_uri = path.as_uri()
    address, auth = (c.host, c.port), f"Authorization: {basic(c.secret)}\r\n"
    answer = exchange(address, get(f"/log/{item_id}?tail=5", auth))
    assert status_of(answer) == 200 and answer.endswith(b"\r\n\r\n56789")
    answer = exchange(address, get(f"/log/{item_id}", auth + "Range: bytes=10-13\r\n"))
    assert status_of(answer) == 206 and b"Content-Range: bytes 10-13/100" in answer
    assert answer.endswith(b"\r\n\r\n0123")
    assert exchange(address, get(f"/log/{item_id}", auth + "Range: bytes=-3\r\n")).endswith(b"789")
    assert status_of(exchange(address, get(f"/log/{item_id}",
                                           auth + "Range: bytes=100-\r\n"))) == 416
    assert exchange(address, get(f"/log/{item_id}", auth)).endswith(b"0123456789" * 10)
    assert c.finish().ok


def test_idle_and_trickling_connections_are_closed(server):
    rs = server(idle_timeout=0.5)
    for start in (b"", b"GET / HTTP/1.1\r\n", b"POST /reports HTTP/1.1\r\nContent-Length: 99"
                                               b"\r\n\r\n{"):
        with socket.create_connection(rs.address, timeout=10) as conn:
            conn.sendall(start)
            began = time.monotonic()
            while conn.recv(4096):  # whatever it says, then the close
                pass
            assert time.monotonic() - began < 3
    assert rs.http.connections() == 0


def test_connections_beyond_the_cap_make_room_by_closing_the_idlest(server):
    rs = server(max_connections=8)
    held = hold_idle(rs.address, 40)
    try:
        assert len(held) == 40
        # a request on a new connection is still answered
        assert status_of(exchange(rs.address, get("/", f"Authorization: {basic('secret')}"
                                                        "\r\n"))) == 200
        assert rs.http.connections() <= 8 and rs.http.evicted >= 32
    finally:
        for conn in held:
            conn.close()


def test_a_result_server_on_an_impossible_port_or_address_says_so():
    with pytest.raises(CookError, match=r"port 70000: a port is 0 .* to 65535"):
        ResultServer(Sink(), "127.0.0.1", 70000)
    with pytest.raises(CookError, match=r"'no-such-host\.invalid': no such address"):
        ResultServer(Sink(), "no-such-host.invalid", 0)


COOK = textwrap.dedent("""\
    import resource, sys
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    from schedcore.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the result server did not come up")


def cpu_seconds_over(pid: int, seconds: float) -> float:
    process = psutil.Process(pid)
    first = sum(process.cpu_times()[:2])
    time.sleep(seconds)
    return sum(process.cpu_times()[:2]) - first


ITEMS = 20


def farm_net(tmp_path: Path, port: int, items: int = ITEMS, bind: str = "127.0.0.1") -> Path:
    gate = (f'"__PDG_PYTHON__" -c "import os, time\nwhile not os.path.exists('
            f'{str(tmp_path / "go")!r}): time.sleep(0.05)"')
    work = '"__PDG_PYTHON__" "__PDG_SCRIPTDIR__/pdgjob.py" --attr n Int 7'
    path = tmp_path / "net.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "schedulers": [
        {"name": "local", "type": "localscheduler",
         "parms": {"maxprocs": 2, "pdg_resultserverport": port,
                   "pdg_resultserverbind": bind}}], "nodes": [
        {"name": "gate", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 1, "command": gate}},
        {"name": "work", "type": "genericgenerator", "inputs": ["gate"],
         "parms": {"itemcount": items, "command": work}}]}))
    return path


def test_a_cook_finishes_under_1100_idle_connections_at_a_low_descriptor_limit(tmp_path):
    """The cook at ``ulimit -n 256`` while 1,100 idle connections wait on its result server:
    accept runs out of descriptors, backs off without spinning, makes room, and every item's
    job reports."""
    raise_fd_limit()
    port = free_port()
    net = farm_net(tmp_path, port)
    proc = subprocess.Popen([sys.executable, "-c", COOK, "256", "cook", str(net), "--json"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    held = []
    try:
        wait_for_port(port, proc)
        held = hold_idle(("127.0.0.1", port), 1100)
        assert len(held) >= 1000
        cpu = cpu_seconds_over(proc.pid, 2.0)  # the gate's job waits: the cook should idle
        (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=180)
    finally:
        (tmp_path / "go").touch()
        for conn in held:
            conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    items = json.loads(out)["items"]
    work = [i for i in items if i["node"] == "work"]
    assert len(work) == ITEMS and all(i["attributes"]["n"]["values"] == [7] for i in work)
    assert cpu < 1.0, f"the cook used {cpu:.2f} s of CPU in 2 s while connections waited"


class SlowLoris:
    """``count`` connections that each announce a body of 8 MB and send it a byte at a time,
    one every ``period`` seconds, on a thread, until ``stop``: what it costs them is nothing,
    what it held was the server's whole budget of request bodies."""

    HEAD = b"POST /reports HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n{"

    def __init__(self, address, count: int = 8, period: float = 2.0, headers: bytes = b""):
        self.conns = [socket.create_connection(address, timeout=10) for _ in range(count)]
        head = self.HEAD.replace(b"\r\n\r\n", b"\r\n" + headers + b"\r\n") if headers \
            else self.HEAD
        for conn in self.conns:
            conn.sendall(head)
        self.closed = 0  # connections the server closed on them
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, args=(period,), daemon=True)
        self._thread.start()

    def _trickle(self, period: float) -> None:
        while not self._stop.wait(period):
            for conn in list(self.conns):
                try:
                    conn.sendall(b" ")
                except OSError:
                    self.conns.remove(conn)
                    conn.close()
                    self.closed += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.conns:
            conn.close()


def test_slow_loris_bodies_do_not_stop_the_cooks_reports(tmp_path, outsiders_only):
    """With the result server on every interface, 8 connections announce 8 MB bodies and
    trickle them a byte at a time: they held the 64 MB of bodies the server keeps in memory,
    every report got 503 and every item failed ("did not take the reports"). Now a body is
    charged to a budget only after its credential (or, without one, to a small budget of its
    own), and a body that arrives slower than the minimum rate is cut off."""
    port = free_port()
    net = farm_net(tmp_path, port, items=6, bind="0.0.0.0")
    env = {**os.environ, "PDG_REPORT_TIMEOUT": "15"}
    proc = subprocess.Popen([sys.executable, "-c", COOK, "4096", "cook", str(net), "--json"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    loris = None
    try:
        wait_for_port(port, proc)
        loris = SlowLoris(("127.0.0.1", port))
        (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=180)
    finally:
        (tmp_path / "go").touch()
        if loris is not None:
            loris.stop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    work = [i for i in json.loads(out)["items"] if i["node"] == "work"]
    assert len(work) == 6 and all(i["state"] == "CookedSuccess" for i in work), \
        [(i["name"], i["state"], i.get("reason")) for i in work]


def announce(address, size: int, auth: bool, source: str = "127.0.0.1") -> socket.socket:
    """A connection that has sent the head of a report of ``size`` bytes and 1 byte of it."""
    conn = socket.create_connection(address, timeout=30, source_address=(source, 0))
    header = f"Authorization: {basic('secret')}\r\n" if auth else ""
    conn.sendall(f"POST /reports HTTP/1.1\r\nHost: x\r\n{header}Content-Length: {size}"
                 f"\r\n\r\n{{".encode())
    return conn


def answer_of(conn: socket.socket) -> int:
    """The status the server answers on ``conn`` (0: closed without one)."""
    data = b""
    while b"\r\n" not in data and (chunk := conn.recv(4096)):
        data += chunk
    return status_of(data)


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_bodies_without_the_credential_are_small_and_shared_out_by_peer(server,
                                                                        outsiders_only):
    from schedcore.httpserver import OPEN_BUDGET
    from schedcore.resultserver import MAX_OPEN_BODY
    rs = server()
    held = []
    try:
        # beyond the open size: refused on its head, before a byte of the body is read
        with announce(rs.address, MAX_OPEN_BODY + 1, auth=False) as big:
            assert answer_of(big) == 413
        # four open bodies fill one peer's share (1 MB); a fifth from it waits its turn...
        held = [announce(rs.address, MAX_OPEN_BODY, auth=False) for _ in range(4)]
        wait_until(lambda: rs.http.bodies_free()[1] == OPEN_BUDGET - 4 * MAX_OPEN_BODY,
                   "the four bodies were not reserved")
        with announce(rs.address, MAX_OPEN_BODY, auth=False) as fifth:
            assert answer_of(fifth) == 503
        # ...while another peer's is read (and refused: no job id), and the cook's jobs'
        # bodies, with the secret, are charged to their own budget
        other = post("/reports", b'{"jobid": "guess", "reports": []}')
        with socket.create_connection(rs.address, timeout=30,
                                      source_address=("127.0.0.2", 0)) as conn:
            conn.sendall(other)
            assert answer_of(conn) == 403
        body = b'{"jobid": "x", "reports": []}' + b" " * (4 * 1024 * 1024)
        answer = exchange(rs.address, f"POST /reports HTTP/1.1\r\nHost: x\r\nAuthorization: "
                          f"{basic('secret')}\r\nContent-Length: {len(body)}\r\n\r\n"
                          .encode() + body)
        assert status_of(answer) == 200 and answer.endswith(b'{"results": []}')
    finally:
        for conn in held:
            conn.close()
    wait_until(lambda: rs.http.bodies_free() == (64 * 2**20, OPEN_BUDGET),
               "the budgets were not given back")


@pytest.mark.parametrize("auth", [True, False])
def test_a_body_slower_than_the_minimum_rate_is_cut_off(server, auth):
    """A body that stops coming (or trickles) is answered 408 and closed once its average
    falls below the minimum rate after the grace, with or without the credential; its budget
    is given back."""
    rs = server(body_grace=0.5, min_body_rate=1000)
    with announce(rs.address, 200_000, auth=auth) as conn:
        assert answer_of(conn) == 408
    wait_until(lambda: rs.http.bodies_free() == (64 * 2**20, 4 * 2**20),
               "the budget was not given back")


# == the shared server ======================================================================
SERVER = textwrap.dedent("""\
    import resource, socket, sys
    limit = int(sys.argv[1])
    if limit:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    sys.path.insert(0, sys.argv[2])
    import pdgserver
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    pdgserver.CommandServer(listener, "secret").serve()
""")


@pytest.fixture
def server_process():
    """A shared server in a process of its own (at a descriptor limit, 0: unchanged); its
    client info."""
    started = []

    def start(limit: int = 0):
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(limit), str(JOBS)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        port = int(proc.stdout.readline())
        return proc, {"host": "127.0.0.1", "port": port, "token": "secret"}

    yield start
    for proc in started:
        proc.kill()
        proc.communicate()


@pytest.fixture
def command_server():
    """A CommandServer on a thread: the server, its client info."""
    servers = []

    def start(**options):
        listener = socket.create_server(("127.0.0.1", 0))
        server = pdgserver.CommandServer(listener, "secret", **options)
        thread = threading.Thread(target=server.serve)
        thread.start()
        servers.append((server, thread))
        return server, {"host": "127.0.0.1", "port": listener.getsockname()[1],
                        "token": "secret"}

    yield start
    for server, thread in servers:
        server.stop()
        thread.join()


def frame(size: int, sent: bytes = b"") -> bytes:
    return struct.pack(">I", size) + sent


def test_a_frame_without_the_token_is_refused_before_it_is_read(server_process):
    proc, info = server_process()
    before = psutil.Process(proc.pid).memory_info().rss
    junk = b"x" * (1024 * 1024)
    for _ in range(6):  # each announces 64 MB: the server must not wait for it
        with socket.create_connection((info["host"], info["port"]), timeout=10) as conn:
            began = time.monotonic()
            try:
                conn.sendall(frame(64 * 1024 * 1024, junk))
                while conn.recv(65536):
                    pass
            except ConnectionError:
                pass  # closed while we still sent: as good
            assert time.monotonic() - began < 3
    grown = psutil.Process(proc.pid).memory_info().rss - before
    assert grown < 16 * 1024 * 1024, f"{grown / 2**20:.0f} MB more"
    assert pdgserver.request(info, {"op": "ping"})["ok"]


def test_the_shared_server_holds_1100_idle_connections_at_a_low_descriptor_limit(
        server_process):
    raise_fd_limit()
    proc, info = server_process(limit=256)
    held = hold_idle((info["host"], info["port"]), 1100)
    try:
        assert len(held) >= 1000
        cpu = cpu_seconds_over(proc.pid, 2.0)
        assert pdgserver.request(info, {"op": "ping"}, timeout=10)["ok"]
        assert proc.poll() is None
    finally:
        for conn in held:
            conn.close()
    assert cpu < 1.0, f"{cpu:.2f} s of CPU in 2 s while connections waited"
    assert pdgserver.request(info, {"op": "ping"}, timeout=10)["ok"]


def test_idle_connections_to_the_shared_server_are_closed(command_server):
    server, info = command_server(auth_timeout=0.5)
    with socket.create_connection((info["host"], info["port"]), timeout=10) as conn:
        began = time.monotonic()
        assert conn.recv(10) == b""
        assert time.monotonic() - began < 3
    held = hold_idle((info["host"], info["port"]), 40)
    try:
        server.max_connections = 8
        more = hold_idle((info["host"], info["port"]), 40)
        assert pdgserver.request(info, {"op": "ping"}, timeout=10)["ok"]
        deadline = time.monotonic() + 10  # the ping's own connection closes a moment later
        while server.connections() > 8:
            assert time.monotonic() < deadline, f"{server.connections()} connections held"
            time.sleep(0.01)
    finally:
        for conn in held + more:
            conn.close()


def test_the_servers_own_lines_stay_out_of_a_commands_output(command_server, monkeypatch):
    monkeypatch.syspath_prepend(str(JOBS))  # the command's work_item reports through pdgjob
    server, info = command_server()
    answer = {}
    command = threading.Thread(target=lambda: answer.update(pdgserver.request(info, {
        "op": "exec", "item": {"id": 1, "name": "send_1", "index": 0, "node": "send"},
        "script": "import time\ntime.sleep(1.5)\nprint('mine')\n"})))
    command.start()
    time.sleep(0.3)
    for _ in range(3):  # requests that fail while the command runs: the server logs them
        with socket.create_connection((info["host"], info["port"]), timeout=10) as conn:
            conn.sendall(frame(1000, b"y" * 1000))
            with contextlib.suppress(ConnectionError):
                conn.recv(100)
    command.join()
    assert answer["output"] == "mine\n"


def test_a_shared_server_on_an_impossible_port_says_so(tmp_path):
    env = {**os.environ, "PDG_RESULT_SERVER": "127.0.0.1:9"}
    done = subprocess.run([sys.executable, str(JOBS / "pdgserver.py"), "--name", "s",
                           "--port", "70000"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "cannot listen on port 70000: a port is 0 (any free port) to 65535" in done.stderr


# == secrets in files =======================================================================
def secret_files(root: Path, secrets: list[str]) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()
            and any(secret in path.read_text(errors="replace") for secret in secrets)]


def test_the_tokens_and_the_cooks_secret_are_only_in_private_files(tmp_path):
    from .test_sharedserver import server_net
    engine = Engine(server_net(tmp_path, wedges=2, end=False))
    tokens = []
    engine.events.subscribe(lambda e: tokens.append(
        engine.schedulers[0].getSharedServerInfo("server")["token"])
        if isinstance(e, ItemChanged) and isinstance(e.report, SharedServerStarted)
        else None)
    result = engine.run()
    assert result.ok, result.errors
    assert tokens
    found = secret_files(tmp_path / "pdgtemp", tokens + [engine.job_id])
    assert any(path.name.startswith("send_") for path in found)
    for path in found:
        assert path.stat().st_mode & 0o077 == 0, f"{path}: {oct(path.stat().st_mode)}"
        assert path.parent.stat().st_mode & 0o077 == 0, f"{path.parent} is not private"



# == files the engine writes and copies =====================================================
def test_submit_copies_a_network_that_differs_though_size_and_time_say_same(tmp_path):
    from schedcore.schedulers.local import LocalScheduler
    ours, workdir = tmp_path / "b" / "shot.top.json", tmp_path / "work"
    ours.parent.mkdir()
    workdir.mkdir()
    ours.write_text('{"network": "b"}')
    theirs = workdir / "shot.top.json"  # another folder's network of the same name
    theirs.write_text('{"network": "a"}')
    later = ours.stat().st_mtime + 100
    os.utime(theirs, (later, later))
    scheduler = LocalScheduler("local", {"pdg_workingdir": str(workdir)})
    assert scheduler.transferFile(str(ours))
    assert theirs.read_text() == '{"network": "b"}'
    stamp = theirs.stat().st_mtime_ns
    assert scheduler.transferFile(str(ours))  # the same content: not copied again
    assert theirs.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_an_atomic_save_keeps_the_files_mode(tmp_path, mode):
    from schedcore.network import write_atomic
    path = tmp_path / "net.top.json"
    path.write_text("old")
    path.chmod(mode)
    write_atomic(path, "new")
    assert path.read_text() == "new" and path.stat().st_mode & 0o777 == mode


def test_a_new_file_gets_the_umasks_mode(tmp_path):
    from schedcore.network import write_atomic
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.py", "x = 1\n")
    finally:
        os.umask(old)
    assert (tmp_path / "new.py").stat().st_mode & 0o777 == 0o640


def test_a_cook_with_an_impossible_result_server_port_or_address_says_why(tmp_path):
    from .conftest import make_network
    for parms, expected in (({"pdg_resultserverport": 70000}, "port 70000: a port is 0"),
                            ({"pdg_resultserverbind": "no-such-host.invalid"},
                             "'no-such-host.invalid': no such address")):
        net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator",
                                       "parms": {"itemcount": 1, "command": "true"}}],
                           [{"name": "local", "type": "localscheduler", "parms": parms}])
        result = Engine(net).run()
        assert not result.ok
        assert any(expected in error for error in result.errors), result.errors
        assert not any("Traceback" in error for error in result.errors)


# == another local user =====================================================================
# What a user of this machine who is not the cook's can try: every read the result server
# answers (XML-RPC queries, pages, logs) for the first items, without a credential; with a
# shared server's token found in an answer, an ``exec`` in that server. Standard library
# only: it runs under another user's Python. Prints what it got as JSON.
ATTACKER = r'''
import http.client, json, socket, struct, sys, xmlrpc.client
host, port, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
got = {"answers": [], "with_data": [], "servers": []}
items = []  # of the Command Send items whose data named a server

def seen(what, text, data):
    got["answers"].append(text[:4000])
    if data:
        got["with_data"].append(what)

for item in range(12):
    with xmlrpc.client.ServerProxy("http://%s:%d" % (host, port)) as proxy:
        for method in ("get_workitem_json", "check_ready_batch", "add_sub_item_batch"):
            args = (item,) if method == "add_sub_item_batch" else (item, 0)
            try:
                answer = getattr(proxy, method)(*args)
            except xmlrpc.client.Fault as exc:
                seen(method, exc.faultString, False)
                continue
            seen(method, str(answer), True)
            try:
                data = json.loads(answer)
                server = data.pop("sharedserver", None)
            except (TypeError, ValueError, AttributeError):
                server = None
            if server and server not in got["servers"]:
                got["servers"].append(server)
                items.append(data)
    for path in ("/", "/?html", "/status/%d" % item, "/status/%d?html" % item,
                 "/log/%d" % item):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", path)
        answer = conn.getresponse()
        seen(path, answer.read().decode("utf-8", "replace"), answer.status == 200)
        conn.close()

print(json.dumps(got), flush=True)  # the reads; then the exec, which waits its turn
ran = 0
for server, item in zip(got["servers"], items):
    message = json.dumps({"op": "exec", "item": item, "env": {},
                          "script": "open(%r, 'w').write('written')" % target}).encode()
    token = str(server.get("token", "")).encode()
    with socket.create_connection((server["host"], int(server["port"])), timeout=10) as conn:
        conn.sendall(struct.pack(">I", len(token)) + token
                     + struct.pack(">I", len(message)) + message)
        head = conn.recv(4)
        if len(head) == 4:
            answer = b""
            while len(answer) < struct.unpack(">I", head)[0]:
                answer += conn.recv(65536) or b"x" * 10**9
            ran += bool(json.loads(answer.decode()).get("ok"))
print(json.dumps({"ran": ran}))
'''


def as_another_user() -> tuple[list[str], str]:
    """How to run Python as a user who is not the cook's: ``nobody`` when the tests run as
    root and it exists (with a Python it may run: this one often lives in root's home), else
    this user with no credential, which on loopback is the same exposure: the server cannot
    tell users apart."""
    import pwd
    import shutil
    if os.geteuid() == 0 and shutil.which("runuser"):
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            pass
        else:
            for python in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
                command = ["runuser", "-u", "nobody", "--", str(python)]
                if python and subprocess.run([*command, "-c", "import xmlrpc.client"],
                                             capture_output=True, cwd="/").returncode == 0:
                    return command, "nobody"
    return [sys.executable], "the same user, without the secret"


def test_another_local_user_reads_no_item_data_and_runs_no_code(tmp_path):
    """The attack of a local user on a cook whose result server is on the default 127.0.0.1:
    with no credential, ``get_workitem_json`` gave a Command Send item's data with its shared
    server's token, and an ``exec`` with it ran code as the cook's user. Now every read of
    item data needs the cook's secret (or, for pages, a status URI's read key)."""
    from schedcore.events import ItemStateChanged
    from schedcore.workitem import WorkItemState as S

    from .test_sharedserver import server_net
    gate, target = tmp_path / "gate", tmp_path / "written-by-the-attacker"
    script = f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.05)\n"
    engine = Engine(server_net(tmp_path, script=script, wedges=3))
    sending = threading.Event()
    engine.events.subscribe(lambda e: sending.set() if isinstance(e, ItemStateChanged)
                            and e.new == S.Cooking and e.item.node == "send" else None)
    engine.start()
    try:
        assert sending.wait(60), "no Command Send item started"
        scheduler = engine.schedulers[0]
        # on loopback jobs get a bare address: the kernel names the user of each connection
        secret, bare = scheduler.current_job_id(), scheduler.workItemResultServerAddr()
        assert secret and "@" not in bare
        host, port = bare.rsplit(":", 1)
        token = scheduler.getSharedServerInfo("server")["token"]
        send = next(i for i in engine.items.values() if i.node == "send")
        # the cook's own jobs (its user's processes) still read it all, without the secret
        import xmlrpc.client
        with xmlrpc.client.ServerProxy(f"http://{bare}") as proxy:
            assert json.loads(proxy.get_workitem_json(send.id, 0))["sharedserver"]["token"] \
                == token
        command, who = as_another_user()
        if who != "nobody":  # the cook's own user is trusted: it could read the secret anyway
            pytest.skip("needs another local user: run as root where `nobody` and runuser exist")
        attacker = subprocess.Popen([*command, "-c", ATTACKER, host, port, str(target)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd="/")
        reads = attacker.stdout.readline()
        assert reads, "the attacker printed nothing"
        got = json.loads(reads)
        assert got["answers"], who
        assert got["with_data"] == [], (who, got["with_data"])
        assert got["servers"] == [], who
        assert token not in reads and secret not in reads, who
        assert all(send.name not in text for text in got["answers"]), who
    finally:
        gate.touch()  # the Command Send items end; an exec queued behind them runs
        result = engine.wait(60)
    with attacker:  # its pipes closed
        out, err = attacker.stdout.read(), attacker.stderr.read()  # after the line read
    assert attacker.returncode == 0, err
    assert json.loads(out) == {"ran": 0}, who
    assert result is not None and result.ok, result and result.errors
    assert not target.exists(), f"{who} ran code as the cook's user"
