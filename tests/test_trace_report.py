"""``cook --trace``, ``cook --report``, ``schedcore trace`` and the cook history, through the
command as a user runs it (a process of its own: its peak memory is its own, not the test
runner's) and the report rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from schedcore import cookhistory
from schedcore.journal import journal_path
from schedcore.trace import COLUMNS, entries_of_journal

MB = 2**20
HEAVY = textwrap.dedent("""
    import time
    block = b"x" * (200 * 2**20)  # every page written: resident
    start = time.process_time()
    while time.process_time() - start < 1.0:
        pass
""")


def network(tmp_path: Path) -> Path:
    (tmp_path / "heavy.py").write_text(HEAVY)
    data = {
        "format": "schedcore-network", "version": 1, "default_scheduler": "local",
        "schedulers": [{"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": [
            {"name": "heavy", "type": "genericgenerator", "inputs": [],
             "parms": {"command": f"{sys.executable} {tmp_path / 'heavy.py'}"}},
            {"name": "quick", "type": "genericgenerator", "inputs": [],
             "parms": {"itemcount": 3, "command": "sh -c 'sleep 0.1'"}},
            {"name": "broken", "type": "genericgenerator", "inputs": [],
             "parms": {"command": "sh -c 'echo rendering frame 7; echo out of memory >&2; "
                                  "exit 3'"}},
            {"name": "after", "type": "genericgenerator", "inputs": ["broken"],
             "parms": {"command": "sh -c 'true'"}},
        ]}
    path = tmp_path / "shot.top.json"
    path.write_text(json.dumps(data))
    return path


def schedcore(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "schedcore", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def table(text: str) -> list[dict[str, str]]:
    header, *rows = text.splitlines()
    assert header.split("\t") == list(COLUMNS)
    return [dict(zip(COLUMNS, row.split("\t"), strict=True)) for row in rows]


@pytest.fixture(scope="module")
def cooked(tmp_path_factory):
    """One cook of the network with --trace, --report and --json."""
    folder = tmp_path_factory.mktemp("cooked")
    net = network(folder)
    done = schedcore("cook", str(net), "--trace", "trace.tsv", "--report", "report.html",
                     "--json", cwd=folder)
    assert done.returncode == 1, done.stderr  # broken failed, after did not run
    return folder, net, json.loads(done.stdout)


def test_the_json_of_a_cook_has_each_items_usage_measured_by_the_kernel(cooked):
    _folder, _net, result = cooked
    by_name = {item["name"]: item for item in result["items"]}
    heavy = by_name["heavy_1"]["usage"]
    assert heavy["peak_rss"] >= 200 * MB
    assert heavy["cpu_user"] + heavy["cpu_system"] >= 0.9
    assert heavy["exit_code"] == 0 and heavy["native_id"].isdigit()
    assert heavy["submit"] <= heavy["start"] <= heavy["end"]
    assert by_name["broken_5"]["usage"]["exit_code"] == 3
    assert "start" not in by_name["after_6"]["usage"]  # it never ran


def test_the_trace_has_a_row_per_item_in_nextflows_columns(cooked):
    folder, _net, _result = cooked
    rows = {row["name"]: row for row in table((folder / "trace.tsv").read_text())}
    assert set(rows) == {"heavy_1", "quick_2", "quick_3", "quick_4", "broken_5", "after_6"}
    heavy, broken, after = rows["heavy_1"], rows["broken_5"], rows["after_6"]
    assert heavy["status"] == "COMPLETED" and heavy["exit"] == "0"
    assert heavy["process"] == "heavy" and heavy["attempt"] == "1"
    assert heavy["native_id"].isdigit() and heavy["hostname"] != "-"
    assert heavy["peak_rss"].endswith(" MB") and float(heavy["peak_rss"][:-3]) >= 200
    assert re.fullmatch(r"\d+\.\d%", heavy["%cpu"])  # CPU over wall time: the load decides
    assert heavy["realtime"].endswith("s") and heavy["submit"][:2] == "20"
    assert broken["status"] == "FAILED" and broken["exit"] == "3"
    assert after["status"] == "NEW" and after["start"] == "-" and after["exit"] == "-"


def test_schedcore_trace_writes_the_same_trace_from_the_journal(cooked):
    folder, net, _result = cooked
    done = schedcore("trace", str(net), cwd=folder)
    assert done.returncode == 0, done.stderr
    from_journal = {row["name"]: row for row in table(done.stdout)}
    from_cook = {row["name"]: row for row in table((folder / "trace.tsv").read_text())}
    # items that ended (one that never ran has no row in the journal)
    assert set(from_journal) == set(from_cook) - {"after_6"}
    timeless = ("task_id", "native_id", "name", "process", "status", "exit", "%cpu",
                "peak_rss", "attempt", "hostname", "slot")
    for name, row in from_journal.items():
        assert {c: row[c] for c in timeless} == {c: from_cook[name][c] for c in timeless}
    written = schedcore("trace", str(net), "-o", "again.tsv", cwd=folder)
    assert written.returncode == 0 and (folder / "again.tsv").read_text() == done.stdout


def test_schedcore_trace_without_a_journal_says_so(tmp_path):
    net = network(tmp_path)
    done = schedcore("trace", str(net), cwd=tmp_path)
    assert done.returncode == 1
    assert "no journal of" in done.stderr and "cook it first" in done.stderr


def test_a_trace_that_cannot_be_written_is_said_and_the_cook_keeps_its_result(tmp_path):
    net = network(tmp_path)
    done = schedcore("cook", str(net), "--node", "quick", "--trace",
                     str(tmp_path / "no" / "such" / "folder" / "t.tsv"), "--json",
                     cwd=tmp_path)
    assert done.returncode == 1
    assert "the trace cannot be written to" in done.stderr
    assert json.loads(done.stdout)["counts"] == {"CookedSuccess": 3}
    assert len(entries_of_journal(journal_path(str(tmp_path), str(net)))) == 3


def test_a_journal_of_an_earlier_version_is_read_without_its_usage(tmp_path):
    """Rows written before journals kept ids and times: no trace rows, no error, and
    resume still reads them."""
    from schedcore.journal import read

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE events (seq INTEGER PRIMARY KEY, item TEXT NOT NULL, "
                     "kind TEXT NOT NULL, data TEXT NOT NULL);")
    db.execute("INSERT INTO events (item, kind, data) VALUES ('n/0', 'state', ?)",
               (json.dumps({"state": "CookedSuccess", "duration": 1.5, "reason": "",
                            "outputs": []}),))
    db.commit()
    db.close()
    assert entries_of_journal(path) == []
    assert read(path)["n/0"].duration == 1.5


def test_the_cook_history_keeps_each_nodes_figures_over_cooks(cooked, tmp_path):
    folder, net, _result = cooked
    again = schedcore("cook", str(net), "--node", "quick", cwd=folder)
    assert again.returncode == 0, again.stderr
    journal = journal_path(str(folder), str(net))
    quick = cookhistory.node_durations(journal, "quick", last=10)
    assert [c.figures.count for c in quick] == [3, 3]  # oldest first
    assert quick[0].ended <= quick[1].ended and all(c.ok for c in quick[1:])
    assert all(0.1 <= c.figures.p50 <= c.figures.max for c in quick)
    assert [c.figures.failed for c in cookhistory.node_durations(journal, "broken")] == [1]
    assert len(cookhistory.node_durations(journal, "quick", last=1)) == 1
    assert cookhistory.node_durations(tmp_path / "none.sqlite", "quick") == []


# == the report in a real browser ==========================================================
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium to render the report in (apt-get install chromium)")


def render(browser: str, page: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", f"--user-data-dir={page.parent / 'profile'}",
                           *args, page.as_uri()], capture_output=True, timeout=120,
                          env={**os.environ, "HOME": str(page.parent)})


def test_the_report_renders_in_chromium_listing_nodes_and_failures(cooked):
    folder, _net, _result = cooked
    browser = chromium()
    page = folder / "report.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "src=" not in text
    dom = render(browser, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    shown = dom.stdout.decode()
    for node in ("heavy", "quick", "broken", "after"):
        assert f"<td>{node}</td>" in shown
    assert "broken_5" in shown and "the command ended with exit code 3" in shown
    assert "out of memory" in shown  # the tail of its log
    shot = folder / "report.png"
    done = render(browser, page, f"--screenshot={shot}", "--window-size=1400,900")
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    colours = png_colours(shot.read_bytes())
    assert len(colours) > 20  # text, bars in each node's colour: not a blank page
    assert (0xf2, 0x8e, 0x2b) in colours  # the second node's bars (quick) are drawn


def png_colours(data: bytes) -> set[tuple[int, int, int]]:
    """The RGB colours of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 4
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            width, _height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += size + 12
    raw, stride = zlib.decompress(idat), width * channels
    previous, colours = bytearray(stride), set()
    for start in range(0, len(raw), stride + 1):
        line = bytearray(raw[start + 1:start + 1 + stride])
        _unfilter(raw[start], line, previous, channels)
        colours.update(tuple(line[i:i + 3]) for i in range(0, stride, channels))
        previous = line
    return colours


def _unfilter(kind: int, line: bytearray, up: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b, c = up[i], up[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 255
        elif kind == 2:
            line[i] = (line[i] + b) & 255
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
