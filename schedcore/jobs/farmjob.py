"""Runs one task of a farm array: ``python farmjob.py MANIFEST INDEX``.

Copied into the script dir of every cook; standard library only, Python 3.8 or newer, so it
runs on a farm machine with nothing installed. Line INDEX (from 0) of MANIFEST (written by
``schedcore.farm.write_manifest``) names the task's item: its command, environment, working
dir, and whether this is its last attempt. It reports the start and the outcome to the
result server through ``pdgjob``; a failure of an attempt that is not the last is left to the
scheduler, which runs the item again. It exits with the command's exit status, so the farm
sees the failure too.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import time

# beside this file in the script dir; the checker sees the package's copy. It reads the
# item's variables when it first reports, after main() set them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import pdgjob
else:
    import pdgjob

def task(manifest, index):
    with open(manifest, encoding="utf-8") as handle:
        line = next(itertools.islice(handle, index, index + 1), None)
    if line is None:
        raise SystemExit("farmjob: %s has no task %d" % (manifest, index))
    return json.loads(line)


def write_data(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(argv):
    if len(argv) != 2 or not argv[1].isdigit():
        sys.stderr.write("usage: farmjob.py MANIFEST INDEX\n")
        return 2
    entry = task(argv[0], int(argv[1]))
    os.environ.update(entry["env"])  # before pdgjob's first report reads it
    if entry.get("cwd"):
        os.chdir(entry["cwd"])
    if entry.get("data_path"):
        write_data(entry["data_path"], entry["data"])
    pdgjob.workItemStartCook()
    started = time.time()
    # the farm ends a job it cancels or kills (time limit) with SIGTERM to all its
    # processes: that outcome is the scheduler's to tell, with the farm's reason
    stopped = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopped.append(number))
    code = subprocess.call(entry["command"], shell=True)
    # the command may end before this process hears of its own SIGTERM
    if stopped or code in (-signal.SIGTERM, 128 + signal.SIGTERM):
        return 128 + signal.SIGTERM
    if code == 0:
        pdgjob.workItemSuccess(duration=time.time() - started)
    elif entry.get("final", True):
        why = "signal %d" % -code if code < 0 else "exit code %d" % code
        pdgjob.workItemFailed(reason="the command ended with " + why)
    pdgjob.flush()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
