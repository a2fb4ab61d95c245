"""Result server throughput: reports per second from 16 reporter processes on loopback.

Each reporter process reports four things for each of its work items (start, an attribute, an
output file, success) to a real result server of a real cook, whose items all wait for them.
Baseline, in the same run: Houdini's way, XML-RPC with a new connection per call. Ours: the
job-side module ``pdgjob``, one keep-alive connection and JSON batches. The clock runs from
the moment every reporter process is up until the cook has applied every report.
Target: >= 8x the baseline.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler

JOBS = Path(__file__).resolve().parent.parent / "schedcore" / "jobs"
REPORTERS = 16

XMLRPC_REPORTER = """
import sys, xmlrpc.client
address, job, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print("ready", flush=True); sys.stdin.readline()
for item in range(first, first + count):
    xmlrpc.client.ServerProxy(address).start_cook(item, job)
    xmlrpc.client.ServerProxy(address).set_int_attrib(item, -1, "n", item, 0, job)
    xmlrpc.client.ServerProxy(address).result(
        item, xmlrpc.client.Binary(b"__PDG_DIR__/out.txt"), "file", 0, job)
    xmlrpc.client.ServerProxy(address).success(item, 0.1, job)
"""

JSON_REPORTER = """
import sys, pdgjob
address, job, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reporter = pdgjob.Reporter(address.split("//")[1], job, first)
print("ready", flush=True); sys.stdin.readline()
for item in range(first, first + count):
    reporter.report("start_cook", item=item)
    reporter.report("attrib", item=item, name="n", type="Int", value=item, index=0)
    reporter.report("result", item=item, path="__PDG_DIR__/out.txt", tag="file", checksum=0)
    reporter.report("success", item=item, duration=0.1)
reporter.flush()
"""


class Waiting(Scheduler):
    """Accepts every item and waits for its reports."""

    type_name = "waiting"

    def __init__(self):
        super().__init__("waiting", {"pdg_maxitems": -1})
        self.scheduled: queue.SimpleQueue = queue.SimpleQueue()

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        return True

    def onSchedule(self, work_item):
        self.scheduled.put(work_item.id)
        return ScheduleResult.Succeeded


def run(folder: Path, reporter_code: str, per_reporter: int) -> float:
    count = REPORTERS * per_reporter
    path = folder / "bench.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "job", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": count, "command": "x"}}]}))
    scheduler = Waiting()
    engine = Engine(network_file.load(path), scheduler=scheduler)
    engine.start()
    ids = sorted(scheduler.scheduled.get(timeout=60) for _ in range(count))
    address = "http://" + scheduler.workItemResultServerAddr()
    env = {**os.environ, "PYTHONPATH": str(JOBS)}
    procs = [subprocess.Popen([sys.executable, "-c", reporter_code, address, engine.job_id,
                               str(ids[n * per_reporter]), str(per_reporter)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
             for n in range(REPORTERS)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    result = engine.wait(600)
    elapsed = time.perf_counter() - started
    for proc in procs:
        assert proc.wait(60) == 0
        proc.stdin.close()
        proc.stdout.close()
    assert result.ok and all(item.attribValue("n") == item.id for item in result.items)
    return 4 * count / elapsed


def main(per_reporter: int = 100) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        baseline = run(Path(folder), XMLRPC_REPORTER, per_reporter)
        ours = run(Path(folder), JSON_REPORTER, per_reporter * 10)
    return {"benchmark": "result server reports per second", "reporters": REPORTERS,
            "xmlrpc_new_connection_per_call": round(baseline), "json_batched": round(ours),
            "ratio": round(ours / baseline, 1), "target": ">= 8"}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
