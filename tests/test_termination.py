"""Every cook ends: failures above a wait-for-all, a Python Script, a dynamic node and a
Server End, cooked by the real command with real jobs, end promptly with exit status 1, the
items below Uncooked, each saying which upstream item stopped it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from schedcore import network as network_file
from schedcore.submit import submit

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]

FAILING = {"name": "gen", "type": "genericgenerator", "inputs": [],
           "parms": {"itemcount": 2, "command": "false"}}
WAIT = {"name": "wait", "type": "waitforall", "inputs": ["gen"]}
BELOW = {
    "generic": [{"name": "after", "type": "genericgenerator", "inputs": ["wait"],
                 "parms": {"command": "echo after"}}],
    "python script": [{"name": "after", "type": "pythonscript", "inputs": ["wait"],
                       "parms": {"script": "print('after')"}}],
    "dynamic": [{"name": "after", "type": "genericgenerator", "inputs": ["wait"],
                 "parms": {"command": "echo after", "generatewhen": "eachupstreamcooked"}}],
}


def write(path: Path, nodes: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "schedulers": [
        {"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
        "nodes": nodes}))
    return path


def cook(path: Path) -> tuple[int, dict]:
    done = subprocess.run([*SCHEDCORE, "cook", str(path), "--json"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("below", list(BELOW))
def test_two_failures_above_a_wait_for_all_end_the_cook(tmp_path, below):
    code, result = cook(write(tmp_path / "hang.top.json", [FAILING, WAIT, *BELOW[below]]))
    assert code == 1
    items = {i["name"]: i for i in result["items"]}
    assert [items[n]["state"] for n in ("gen_1", "gen_2")] == ["CookedFail"] * 2
    assert items["wait_3"]["state"] == "Uncooked"
    assert items["wait_3"]["reason"] in ("upstream item gen_1 failed",
                                         "upstream item gen_2 failed")  # the first to fail
    after = [i for i in result["items"] if i["node"] == "after"]
    assert len(after) == (0 if below == "dynamic" else 1)  # nothing cooked to make it from
    for item in after:
        assert (item["state"], item["reason"]) == ("Uncooked",
                                                     "upstream item wait_3 did not run")


def test_failures_above_a_server_end_end_the_cook_and_the_server(tmp_path):
    nodes = [{"name": "w", "type": "wedge", "inputs": [], "parms": {"wedgecount": 2}},
             {"name": "server", "type": "pythonserver", "inputs": ["w"]},
             {"name": "send", "type": "commandsend", "inputs": ["server"],
              "parms": {"script": "raise SystemExit(3)"}},
             {"name": "end", "type": "commandserverend", "inputs": ["send"]},
             {"name": "after", "type": "genericgenerator", "inputs": ["end"],
              "parms": {"command": "echo after"}}]
    code, result = cook(write(tmp_path / "server.top.json", nodes))
    assert code == 1
    by_node: dict[str, list] = {}
    for item in result["items"]:
        by_node.setdefault(item["node"], []).append(item)
    assert {i["state"] for i in by_node["send"]} == {"CookedFail"}
    for item in by_node["end"] + by_node["after"]:
        assert item["state"] == "Uncooked" and item["reason"].startswith("upstream item ")


def test_a_submitted_cook_of_the_hang_network_finishes(tmp_path):
    path = write(tmp_path / "hang.top.json", [FAILING, WAIT, *BELOW["generic"]])
    uri = submit(network_file.load(path))
    done = subprocess.run([*SCHEDCORE, "status", uri, "--wait", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout, done.stderr
    status = json.loads(done.stdout)
    assert status["state"] == "finished" and status["ok"] is False
    assert status["counts"] == {"CookedFail": 2, "Uncooked": 2}
