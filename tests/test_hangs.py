"""Waits that used to last for ever: a File Pattern walk around a symbolic-link loop, a resume
whose journal is a FIFO, `status --wait` on a pid that now belongs to another program."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from schedcore.nodes import patterns

SCHEDCORE = [sys.executable, "-m", "schedcore.cli"]


def run(*args, timeout=60):
    return subprocess.run([*SCHEDCORE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def looped_folder(tmp_path: Path) -> Path:
    """d/ with two files, and links back to itself and its parent at two depths: glob's walk
    of d/**/*.exr never ends (each level is a new path, four ways down from each)."""
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.exr").write_text("a")
    (d / "sub" / "b.exr").write_text("b")
    os.symlink(".", d / "self")
    os.symlink("..", d / "sub" / "up")
    os.symlink(".", d / "sub" / "here")
    os.symlink(str(d), d / "sub" / "abs")
    return d


def test_a_file_pattern_over_a_symlink_loop_cooks_each_file_once(tmp_path):
    """Before: the cook stayed in glob for ever and only SIGKILL ended it."""
    looped_folder(tmp_path)
    net = tmp_path / "net.top.json"
    net.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": [
        {"name": "files", "type": "filepattern", "inputs": [],
         "parms": {"pattern": "$HIP/d/**/*.exr"}}]}))
    with subprocess.Popen([*SCHEDCORE, "cook", str(net), "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # the old hang: end it, then fail
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            raise AssertionError("the cook did not end") from None
    assert proc.returncode == 0, err
    files = sorted(i["attributes"]["filename"]["values"][0] for i in json.loads(out)["items"])
    assert files == [str(tmp_path / "d" / "a.exr"), str(tmp_path / "d" / "sub" / "b.exr")]


def test_the_walk_keeps_globs_rules_and_follows_links_that_are_no_loop(tmp_path):
    root = tmp_path / "r"
    (root / "x" / "y").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for name in ("x/1.exr", "x/y/2.exr", "x/.3.exr", ".hidden/4.exr", "5.exr", "6.txt"):
        (root / name).write_text("")
    other = tmp_path / "other"
    other.mkdir()
    (other / "7.exr").write_text("")
    os.symlink(other, root / "x" / "link")
    for pattern in ("**/*.exr", "*/*.exr", "**", "x/**", "*.exr", "[5-6].*", "x/?/*.exr",
                    ".*/*.exr", "x/.*", "no/**/*.exr", "**/y/*"):
        import glob
        expected = sorted({p.rstrip(os.sep) for p in
                           glob.glob(str(root / pattern), recursive=True)})
        got = sorted({p.rstrip(os.sep) for p in patterns.match(str(root / pattern))})
        assert got == expected, pattern
    assert str(root / "x" / "link" / "7.exr") in patterns.match(str(root / "**" / "*.exr"))


def test_resume_with_a_journal_that_is_a_fifo_says_so(tmp_path):
    """Before: SQLite blocked opening the FIFO and the cook never started."""
    net = tmp_path / "net.top.json"
    net.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": [
        {"name": "g", "type": "genericgenerator", "inputs": [],
         "parms": {"command": "true"}}]}))
    done = run("cook", net)
    assert done.returncode == 0, done.stderr
    journals = list((tmp_path / "pdgtemp").rglob("*.sqlite"))
    assert len(journals) == 1, journals
    journal = journals[0]
    journal.unlink()
    os.mkfifo(journal)
    done = run("cook", net, "--resume")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"the cook journal {journal} is not a regular file (a FIFO)" in done.stderr
    assert "cook without --resume" in done.stderr
    assert journal.is_fifo()  # left as it was
    done = run("cook", net)  # a new cook starts a new journal
    assert done.returncode == 0, done.stderr
    assert journal.is_file()


def test_status_wait_on_a_pid_now_of_another_program_says_the_cook_died(tmp_path):
    """The status file names a pid that now belongs to another process: recognised by the
    process's start time, recorded by the cook (``pid_started``), or for a file written
    before that was recorded, by the process having started after the status was written."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        started = psutil.Process(other.pid).create_time()
        cases = [
            {"pid": other.pid, "pid_started": started - 3600},  # as the cook recorded it
            {"pid": other.pid, "started": started - 3600},  # an older file: no pid_started
        ]
        for about in cases:
            path = tmp_path / "status.json"
            path.write_text(json.dumps({"state": "cooking", "counts": {"Cooking": 1},
                                        "host": socket.gethostname(), **about}))
            shown = run("status", path.as_uri(), "--wait", "--interval", "0.1")
            assert shown.returncode == 1, (about, shown.stdout, shown.stderr)
            assert shown.stdout.startswith("died (1 Cooking)"), (about, shown.stdout)
            assert f"process {other.pid} is now another program" in shown.stdout
        # the same process with its own start time recorded: alive, still cooking
        path.write_text(json.dumps({"state": "cooking", "counts": {}, "pid": other.pid,
                                    "pid_started": started, "host": socket.gethostname()}))
        shown = run("status", path.as_uri())
        assert shown.returncode == 0 and shown.stdout.startswith("cooking"), shown.stdout
    finally:
        other.kill()
        other.wait()


def test_a_cook_records_its_process_start_time_in_its_status_file(tmp_path):
    net = tmp_path / "net.top.json"
    net.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": [
        {"name": "g", "type": "genericgenerator", "inputs": [],
         "parms": {"command": "sleep 30"}}]}))
    status = tmp_path / "status.json"
    with subprocess.Popen([*SCHEDCORE, "cook", str(net), "--status-file", str(status)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        try:
            deadline = time.monotonic() + 60
            while not (status.exists() and "pid_started" in status.read_text()):
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
            data = json.loads(status.read_text())
            assert data["pid"] == proc.pid
            assert abs(data["pid_started"] - psutil.Process(proc.pid).create_time()) < 1
            assert run("status", status).stdout.startswith("cooking")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
