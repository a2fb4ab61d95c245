"""Small requests that took much of the cook: unread pages of a large cook, attribute reports
at a far index, logs appended without end, a flood of bad reports. Each is bounded by what
the caller is allowed, and tested with a real cook, its result server and real requests."""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import threading
import xmlrpc.client

import psutil
import pytest

from schedcore import resultpages, resultserver
from schedcore.engine import Engine
from schedcore.events import CookMessage, ItemStateChanged
from schedcore.workitem import MAX_ATTRIB_INDEX
from schedcore.workitem import WorkItemState as S

from .conftest import make_network
from .test_resultserver import Cook, Remote

ITEMS = 50_000


def basic(secret: str) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


class BigCook:
    """A cook of 50,000 wedge items (cooked in the engine) above one job that waits for its
    reports: the result server serves the whole cook while it runs."""

    def __init__(self, tmp_path):
        net = make_network(tmp_path, [
            {"name": "many", "type": "wedge", "parms": {"wedgecount": ITEMS}},
            {"name": "wait", "type": "waitforall", "inputs": ["many"]},
            {"name": "job", "type": "genericgenerator", "inputs": ["wait"],
             "parms": {"command": "x"}}])
        self.scheduler = Remote(pdg_workingdir=str(tmp_path))
        self.engine = Engine(net, scheduler=self.scheduler)
        scheduled = threading.Event()
        self.engine.events.subscribe(lambda e: scheduled.set() if isinstance(
            e, ItemStateChanged) and e.new == S.Scheduled else None)
        self.engine.start()
        assert scheduled.wait(120)
        secret, _, bare = self.scheduler.workItemResultServerAddr().rpartition("@")
        self.auth = basic(secret)
        host, port = bare.split(":")
        self.address = (host, int(port))

    def get(self, path: str) -> tuple[int, bytes]:
        with socket.create_connection(self.address, timeout=60) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {self.auth}\r\n"
                         f"Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(1 << 16):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body


@pytest.fixture
def big_cook(tmp_path):
    cook = BigCook(tmp_path)
    yield cook
    cook.engine.cancel()
    assert cook.engine.wait(60) is not None


def test_the_cook_page_comes_a_page_at_a_time(big_cook):
    """Before: every GET / made all 50,000 items' status (tens of MB) for each request."""
    status, body = big_cook.get("/")
    assert status == 200
    page = json.loads(body)
    assert len(page["items"]) == resultpages.PAGE_ITEMS and page["total"] == ITEMS + 2
    assert page["next"] == f"/?start={resultpages.PAGE_ITEMS}&count={resultpages.PAGE_ITEMS}"
    assert len(body) < 2 * resultpages.MAX_PAGE_BYTES
    # every item once, following "next" with the largest pages
    seen, path, pages = [], "/?count=100000", 0
    while path:
        status, body = big_cook.get(path)
        assert status == 200 and len(body) < 2 * resultpages.MAX_PAGE_BYTES
        page = json.loads(body)
        assert len(page["items"]) <= resultpages.MAX_PAGE_ITEMS
        seen += [item["id"] for item in page["items"]]
        path, pages = page["next"], pages + 1
    assert sorted(seen) == sorted(big_cook.engine.items) and len(seen) == ITEMS + 2
    assert pages >= (ITEMS + 2) // resultpages.MAX_PAGE_ITEMS
    status, body = big_cook.get("/?html&start=49990")
    assert status == 200 and b"50002 work items: 49991 to 50002" in body
    assert b"next" not in body
    status, body = big_cook.get("/?html")
    assert b"<a href='/?start=500&amp;count=500&amp;html'>next</a>" in body
    assert big_cook.get("/?start=x")[0] == 400


def test_forty_unread_cook_pages_take_little_memory(big_cook):
    """Before: 40 unread GET / on a 50,000-item cook took it from 98 MB to 1.65 GB."""
    me = psutil.Process()
    before = me.memory_info().rss
    conns = []
    try:
        for _ in range(40):
            conn = socket.create_connection(big_cook.address, timeout=60)
            conn.sendall(f"GET /?count=100000 HTTP/1.1\r\nHost: x\r\nAuthorization: "
                         f"{big_cook.auth}\r\n\r\n".encode())
            conns.append(conn)
        for conn in conns:  # each answered (its page made), then never read further
            assert conn.recv(12) in (b"HTTP/1.0 200", b"HTTP/1.1 200", b"HTTP/1.1 503")
        grown = me.memory_info().rss - before
        assert grown < 300 * 2**20, f"{grown / 2**20:.0f} MB"
    finally:
        for conn in conns:
            conn.close()


@pytest.fixture
def cook(tmp_path):
    started = []

    def make(count=1):
        started.append(Cook(tmp_path, count))
        return started[-1]

    yield make
    for running in started:
        if running.engine.result is None:
            running.engine.cancel()
            running.engine.wait(20)


def journal_rows(engine) -> list[tuple[str, int]]:
    db = sqlite3.connect(engine.journal_path)
    try:
        return db.execute("SELECT kind, length(data) FROM events").fetchall()
    finally:
        db.close()


def watch_counted(engine, expected: int) -> threading.Event:
    """Set once the cook's warnings counting refusals not warned one by one add up to
    ``expected``."""
    done, total = threading.Event(), [0]

    def watch(event):
        if isinstance(event, CookMessage) and " more warnings like the above" in event.text:
            total[0] += int(event.text.split(" more warnings")[0].replace(",", ""))
            if total[0] == expected:
                done.set()

    engine.events.subscribe(watch)
    return done


def test_attribute_reports_at_a_far_index_are_refused_and_journaled_once(cook):
    """Before: 300 reports at index 100,000 (24 KB of requests) took the cook to 364 MB and
    wrote a 90 MB journal; setting 2,000 values one by one wrote 2,000 rows, 2 million values."""
    c = cook(1)
    (item_id,) = c.ids
    counted = watch_counted(c.engine, 300 - resultserver.FIRST_WARNINGS)
    with xmlrpc.client.ServerProxy(f"http://{c.address}") as proxy:
        for n in range(300):
            with pytest.raises(xmlrpc.client.Fault, match="an index goes from 0 to 10,000"):
                proxy.set_int_attrib(item_id, -1, f"a{n}", 1, 100_000, c.job_id)
        multi = xmlrpc.client.MultiCall(proxy)
        for index in range(2_000):  # as a job setting values by index, one by one
            multi.set_float_attrib(item_id, -1, "seq", float(index), index, c.job_id)
        assert all(multi())
        assert proxy.set_int_attrib(item_id, -1, "far", 1, MAX_ATTRIB_INDEX, c.job_id)
        assert proxy.set_int_attrib(item_id, -1, "frame", 1001, 1001, c.job_id)
    assert counted.wait(60)  # the count of those not warned one by one came
    result = c.finish()
    assert result.ok
    item = c.item(item_id)
    assert item.attribArray("seq") == [float(i) for i in range(2_000)]
    assert not any(item.hasAttrib(f"a{n}") for n in range(300))
    rows = journal_rows(c.engine)
    assert [kind for kind, _ in rows].count("attribute") == 3  # seq, far, frame: once each
    assert sum(size for _, size in rows) < 200_000
    refused = [w for w in result.warnings if "attribute report refused" in w]
    shown = [w for w in refused if " more warnings like the above" not in w]
    assert len(shown) == resultserver.FIRST_WARNINGS  # the rest as their count, a line a second
    assert len(refused) < resultserver.FIRST_WARNINGS + 10
    assert "more warnings like the above (attribute report refused)" in refused[-1]


def test_an_items_log_from_its_reports_is_cut_at_its_limit(cook):
    """Before: append_log 100 x 4 MB took the cook to 460 MB, every byte kept."""
    c = cook(1)
    (item_id,) = c.ids
    me = psutil.Process()
    before = me.memory_info().rss
    chunk = "x" * (4 * 2**20 - 1) + "\n"
    with xmlrpc.client.ServerProxy(f"http://{c.address}") as proxy:
        for _ in range(100):
            assert proxy.append_log(item_id, -1, chunk, 3, c.job_id) is True
        proxy.append_log(item_id, -1, "after\n", 3, c.job_id)
    grown = me.memory_info().rss - before
    result = c.finish()
    log = c.item(item_id).log
    limit = resultserver.MAX_LOG // 2**20
    note = resultserver.LOG_CUT.format(limit=limit)
    assert log.endswith(note) and log.count(note) == 1 and "\nafter\n" not in log
    assert len(log) == resultserver.MAX_LOG + len(note)
    assert grown < 200 * 2**20, f"{grown / 2**20:.0f} MB"
    assert [w for w in result.warnings if "log reached" in w] == [
        f"{c.item(item_id).name}: its log reached {limit} MB from its reports; the rest is "
        f"not kept"]


def test_a_flood_of_bad_reports_makes_a_few_warning_lines(cook):
    """100,000 attribute reports refused, each for another attribute (each a warning of its
    own before: 60,000 warning lines): the first few, then their number."""
    c = cook(1)
    (item_id,) = c.ids
    counted = watch_counted(c.engine, 100_000 - resultserver.FIRST_WARNINGS)
    for batch in range(5):
        status, body = c.post_json({"jobid": c.job_id, "reports": [
            {"item": item_id, "kind": "attrib", "name": f"b{batch}_{n}", "type": "Int",
             "value": 1, "index": -1} for n in range(20_000)]},
            headers={"Content-Type": "application/json", "Authorization": basic(c.secret)})
        assert status == 200
        assert {r["status"] for r in json.loads(body)["results"]} == {"error"}
    assert counted.wait(60)
    result = c.finish()
    refused = [w for w in result.warnings if "refused" in w]
    assert len(refused) <= resultserver.FIRST_WARNINGS + 20  # one count a second at most
    counted = sum(int(w.split(" more warnings")[0].replace(",", ""))
                  for w in refused if " more warnings like the above" in w)
    assert counted + resultserver.FIRST_WARNINGS == 100_000
