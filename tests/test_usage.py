"""What each item's job used, measured where it ran: real processes on the Local Scheduler
and on a Dask LocalCluster on loopback."""

from __future__ import annotations

import sys
import textwrap

import pytest

from schedcore.engine import Engine
from schedcore.trace import entries_of
from schedcore.usage import own_peak, rss_bytes
from schedcore.workitem import WorkItemState as S

from .conftest import make_network

MB = 2**20

# 200 MB touched (b"x" * n writes every page: calloc'd zeros would not be resident), then
# one second of CPU
HEAVY = textwrap.dedent("""
    import time
    block = b"x" * (200 * 2**20)
    start = time.process_time()
    while time.process_time() - start < 1.0:
        pass
""")

def heavy_script(tmp_path):
    path = tmp_path / "heavy.py"
    path.write_text(HEAVY)
    return path


def by_name(result):
    return {entry.name: entry for entry in entries_of(result)}


def test_the_local_scheduler_counts_a_jobs_cpu_and_peak_memory(tmp_path):
    script = heavy_script(tmp_path)
    net = make_network(tmp_path, [
        {"name": "heavy", "type": "genericgenerator",
         "parms": {"command": f"{sys.executable} {script}"}},
        {"name": "bad", "type": "genericgenerator", "parms": {"command": "sh -c 'exit 3'"}},
    ])
    result = Engine(net).run()
    entries = by_name(result)
    heavy, bad = entries["heavy_1"].usage, entries["bad_2"].usage
    assert entries["heavy_1"].state == S.CookedSuccess
    # the kernel counts a child's peak from the process it was started by: below the test
    # runner's own peak it is unknown (test_trace_report cooks in a process of its own)
    if rss_bytes(own_peak()) < 190 * MB:
        assert heavy.peak_rss >= 200 * MB
    assert heavy.cpu >= 0.9
    assert heavy.exit_code == 0 and heavy.attempt == 1
    assert heavy.native_id.isdigit() and heavy.host and heavy.slot.startswith("slot ")
    assert heavy.submit <= heavy.start <= heavy.end and heavy.queued >= 0
    assert heavy.wall >= heavy.cpu * 0.5  # it ran at least as long as half its CPU
    assert entries["bad_2"].state == S.CookedFail and bad.exit_code == 3


def test_a_grandchild_orphaned_to_the_cook_is_counted_in_its_job(tmp_path):
    script = heavy_script(tmp_path)
    forker = tmp_path / "forker.py"
    forker.write_text(textwrap.dedent(f"""
        import os, sys, time
        read, write = os.pipe()
        if os.fork() == 0:
            if os.fork() == 0:  # the grandchild: its parent exits at once
                os.close(read)
                exec(open({str(script)!r}).read())
                os.write(write, str(os.getpid()).encode())
                os._exit(0)
            os._exit(0)
        os.close(write)
        os.wait()
        pid = int(os.read(read, 32) or 0)
        # wait until the orphan has exited: a zombie of the cook's, reaped with this job
        while pid and open(f"/proc/{{pid}}/stat").read().split(") ")[1][0] != "Z":
            time.sleep(0.02)
    """))
    net = make_network(tmp_path, [
        {"name": "fork", "type": "genericgenerator",
         "parms": {"command": f"{sys.executable} {forker}"}}])
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux makes the cook the subreaper of its jobs")
    result = Engine(net).run()
    (entry,) = entries_of(result)
    assert entry.state == S.CookedSuccess
    assert entry.usage.cpu >= 0.9  # the grandchild's second of CPU
    assert entry.usage.peak_rss >= 200 * MB


def test_the_dask_scheduler_measures_on_the_worker(tmp_path):
    pytest.importorskip("distributed")
    script = heavy_script(tmp_path)
    net = make_network(tmp_path, [
        {"name": "heavy", "type": "genericgenerator",
         "parms": {"command": f"{sys.executable} {script}"}}],
        [{"name": "dask", "type": "daskscheduler", "parms": {"dask_workers": 1}}])
    result = Engine(net).run()
    (entry,) = entries_of(result)
    assert entry.state == S.CookedSuccess
    usage = entry.usage
    assert usage.peak_rss >= 200 * MB
    assert usage.cpu >= 0.9
    assert usage.slot.startswith("tcp://127.0.0.1:")  # the worker's address
    assert usage.host and usage.native_id.isdigit() and usage.exit_code == 0
