"""A fake render farm's command line, for tests: ``submit`` starts the job in the background
and prints its id; the job writes its state (``queued``, ``running``, ``done``, ``failed``)
to ``<farm dir>/<id>.state``; ``status ID`` prints it; ``kill ID`` stops the job.

    python farmctl.py submit --queue Q --priority N --title T SPEC.json
    python farmctl.py status ID
    python farmctl.py kill ID

SPEC.json holds ``command`` (run by the shell), ``env`` and ``cwd``. The farm dir is
``$FAKEFARM_DIR``, else ``fakefarm`` beside the spec file. Standard library only.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import uuid


def farm_dir(near: str = "") -> str:
    folder = os.environ.get("FAKEFARM_DIR") or os.path.join(os.path.dirname(near), "fakefarm")
    os.makedirs(folder, exist_ok=True)
    return folder


def write(path: str, text: str) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


def submit(args) -> int:
    folder = farm_dir(os.path.abspath(args.spec))
    job_id = f"job{uuid.uuid4().hex[:8]}"
    base = os.path.join(folder, job_id)
    write(base + ".state", "queued")
    write(base + ".json", json.dumps({"queue": args.queue, "priority": args.priority,
                                      "title": args.title, "spec": os.path.abspath(args.spec)}))
    runner = subprocess.Popen([sys.executable, os.path.abspath(__file__), "run", base],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    write(base + ".pid", str(runner.pid))
    print(f"FARM_JOBID={job_id}")
    return 0


def run(base: str) -> int:
    """The job itself, in the background: run the command, record how it ended."""
    with open(base + ".json", encoding="utf-8") as handle:
        spec_path = json.load(handle)["spec"]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    write(base + ".state", "running")
    with open(base + ".log", "wb") as log:
        code = subprocess.call(spec["command"], shell=True, cwd=spec.get("cwd") or None,
                               env={**os.environ, **spec.get("env", {})}, stdout=log,
                               stderr=subprocess.STDOUT)
    write(base + ".state", "done" if code == 0 else "failed")
    return code


def status(job_id: str) -> int:
    try:
        with open(os.path.join(farm_dir(), job_id + ".state"), encoding="utf-8") as handle:
            print(handle.read().strip())
    except FileNotFoundError:
        print("unknown")
    return 0


def kill(job_id: str) -> int:
    base = os.path.join(farm_dir(), job_id)
    try:
        with open(base + ".pid", encoding="utf-8") as handle:
            os.killpg(int(handle.read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass
    write(base + ".state", "failed")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="farmctl")
    sub = parser.add_subparsers(dest="verb", required=True)
    given = sub.add_parser("submit")
    given.add_argument("--queue", default="default")
    given.add_argument("--priority", type=int, default=50)
    given.add_argument("--title", default="")
    given.add_argument("spec")
    for verb in ("run", "status", "kill"):
        sub.add_parser(verb).add_argument("target")
    args = parser.parse_args(argv)
    if args.verb == "submit":
        return submit(args)
    return {"run": run, "status": status, "kill": kill}[args.verb](args.target)


if __name__ == "__main__":
    sys.exit(main())
