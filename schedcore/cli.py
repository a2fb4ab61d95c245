"""The ``schedcore`` command: cook networks headless and list the scheduler types.

Each command imports what it uses when it runs: ``schedcore --version`` and ``--help`` load
neither the engine nor rich (a test keeps it so), and each subcommand's options are added
when that subcommand is parsed or its help is shown."""

from __future__ import annotations

import os
import sys

from . import cliusage, cookcancel


def _runs_cook() -> bool:
    """This process is the command ``schedcore cook`` (not a program that imports this)."""
    argv = sys.argv
    if next((arg for arg in argv[1:] if not arg.startswith("-")), None) != "cook":
        return False
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.basename(argv[0]) == "schedcore" or \
        os.path.dirname(os.path.abspath(argv[0])) == here  # -m schedcore(.cli)


# A Ctrl-C while the command still starts up (argparse alone takes tens of milliseconds) was
# a KeyboardInterrupt traceback: from here, before anything else is imported, a cancel
# signal is only noted, and the cook it starts is canceled at once.
_EARLY = cookcancel.CancelSignals() if _runs_cook() else None
if _EARLY is not None:
    _EARLY.install()

import argparse  # noqa: E402 (after the handlers: see above)
import signal  # noqa: E402

from . import __version__  # noqa: E402

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # as a process that SIGPIPE ended
EXIT_BUSY = 75  # EX_TEMPFAIL: another cook of the network runs in its working dir


def cmd_cook(args) -> int:
    global _EARLY

    # first of all: from here a cancel signal is only noted, even while the modules below
    # are imported (see cookcancel); it cancels the cook once that has started. The
    # command's own process noted them from its start already.
    signals, _EARLY = (_EARLY, None) if args.program and _EARLY is not None \
        else (cookcancel.CancelSignals(), None)
    if not signals.installed:
        signals.install()
    try:
        return _cook(args, signals)
    finally:
        # the command itself keeps noting them to its exit: a signal after the cook ended
        # neither kills it halfway through its summary nor raises KeyboardInterrupt there;
        # once canceled, it ignores them as it exits (once its threads have ended)
        if not getattr(args, "program", False):
            signals.restore()
        elif signals.first is not None:
            import atexit

            atexit.register(signals.ignore)


def _cook(args, signals) -> int:
    from . import network as network_file
    from . import submit
    from .cliview import CookProgress, Live, OutputConsole, summary
    from .cookcancel import cook_cancelable
    from .engine import Engine
    from .errors import SchedcoreError
    from .limits import ItemLimits

    console = OutputConsole(stderr=args.json, highlight=False, soft_wrap=True)  # paths stay whole
    try:
        net = network_file.load(args.network)
        if args.hip:
            _set_hip(net, args.hip, console)
        engine = Engine(net, upto=args.node, scheduler=args.scheduler, static=args.static,
                        workdir=args.workdir, resume=args.resume,
                        limits=ItemLimits.configured(args.max_node_items, args.max_items))
    except (SchedcoreError, KeyError) as exc:
        if not args.status_file:
            raise
        # whoever follows the status learns why it never started, and finds it said in the
        # log (stderr) by then: said first, then the status
        code = _report_failure(args, exc)
        why = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        submit.StatusFile.failed(args.status_file, args.network, why)
        return code
    progress = CookProgress(console)
    engine.events.subscribe(progress)
    if args.status_file:
        engine.events.subscribe(submit.StatusFile(args.status_file, net.path))
    with Live(progress, console=console, refresh_per_second=10, transient=True,
              redirect_stdout=False, redirect_stderr=False):
        cook_cancelable(engine, signals, lambda text: console.print(text, highlight=False))
    result = engine.wait()
    assert result is not None  # the cook ended: cook_cancelable waited for it
    summary(result, console)
    written = cliusage.write_cook_files(
        args, engine, result,
        lambda text: console.print(text, style="red", highlight=False, markup=False))
    if args.json:
        print_json(result.to_json())
    while signals.next(block=False) is not None:  # those noted after the cook ended
        pass
    if signals.first is not None and not result.canceled:
        console.print(f"[magenta]{signal.Signals(signals.first).name} came as the cook ended: "
                      f"every item had cooked[/]" if result.ok else
                      f"[magenta]{signal.Signals(signals.first).name} came as the cook ended[/]",
                      highlight=False)
    if result.canceled or signals.first is not None:
        # a signal as the cook ended (while its shared servers stopped, say) finds every
        # item cooked, yet whoever sent it learns that it came
        return exit_status_of_signal(signals.first)
    return EXIT_OK if result.ok and written else EXIT_FAILED


def _set_hip(net, folder: str, console) -> None:
    """``--hip``: a submitted copy cooks with its original's folder as ``$HIP``; a machine
    that does not see that folder (a farm without the shared path) uses the copy's own."""
    if os.path.isdir(folder):
        net.hip = folder
        return
    from .cliview import escape
    console.print(f"[yellow]warning:[/] --hip {escape(folder)}: no such folder on this "
                  f"machine; $HIP is the network file's own folder, {escape(net.hip)}",
                  highlight=False)


def exit_status_of_signal(signum: int | None) -> int:
    """130 for Ctrl-C (and a cancel without a signal), 128 + the signal's number otherwise
    (143 for SIGTERM, 129 for SIGHUP), as a shell reports a process killed by it."""
    return EXIT_CANCELED if signum in (None, signal.SIGINT) else 128 + signum


def cmd_types(args) -> int:
    from . import registry
    from .nodes import NODE_TYPES

    reg = registry.default()
    rows = [{"name": t.name, "kind": "scheduler", "label": t.label, "from": t.origin}
            for t in sorted(reg.types.values(), key=lambda t: t.name)]
    rows += [{"name": name, "kind": "node", "label": t.label, "from": "built-in"}
             for name, t in sorted(NODE_TYPES.items())]
    failures = reg.failures
    if args.json:
        print_json({"types": rows, "failures": [
            {"file": f.file, "line": f.line, "kind": f.kind, "message": f.message}
            for f in failures], "folders": [str(p) for p in reg.folders()]})
    else:
        from .cliview import OutputConsole, Table, Text, escape

        console = OutputConsole(highlight=False, soft_wrap=True)
        table = Table(show_edge=False)
        for column in ("name", "kind", "label", "from"):
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(str(row[c])) for c in ("name", "kind", "label", "from")))
        console.print(table)
        console.print(Text("types folders: " + os.pathsep.join(str(p) for p in reg.folders())))
        for failure in failures:
            console.print(f"[red]failed[/] {escape(str(failure))}")
    return EXIT_FAILED if failures else EXIT_OK


def cmd_submit(args) -> int:
    from . import network as network_file
    from . import submit

    uri = submit.submit(network_file.load(args.network), args.scheduler, args.node)
    print(f"submitted: follow the cook at {uri}")
    return EXIT_OK


def shown(text: str) -> str:
    """``text`` for a terminal: control characters escaped (``\\x1b``, ``\\r``), so a status
    file cannot retitle, clear or rewrite the terminal it is shown on."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def status_line(status: dict) -> str:
    counts = ", ".join(f"{n} {shown(state)}"
                       for state, n in sorted(status.get("counts", {}).items()))
    state = shown(status["state"])
    if state == "finished":
        state = "finished: every item cooked" if status.get("ok") else "finished: it failed"
    return f"{state} ({counts or 'no items yet'})"


def cmd_status(args) -> int:
    import time

    from . import submit

    while True:
        status = submit.read_status(args.uri)
        if not args.wait or status["state"] not in ("queued", "cooking"):
            break
        print(status_line(status), flush=True)
        time.sleep(args.interval)
    if args.json:
        print_json(status)
    else:
        print(status_line(status))
        for error in status.get("errors") or []:
            print(f"error: {shown(error)}")
    if status["state"] in ("queued", "cooking"):
        return EXIT_OK
    return EXIT_OK if status.get("ok") else EXIT_FAILED


def cmd_save_python(args) -> int:
    from . import codegen, registry
    from . import network as network_file

    net = network_file.load(args.network)
    path = codegen.save_python(net, args.scheduler, args.output, args.form)
    where = "Houdini's path or SCHEDCORE_PATH" if args.form == "houdini" else "SCHEDCORE_PATH"
    print(f"saved {args.scheduler} to {path}: put it in a pdg/types folder of {where} "
          f"(or {registry.user_types_folder()}) to use the scheduler type {args.scheduler!r}")
    return EXIT_OK


def cmd_examples(args) -> int:
    from . import examples

    copied, kept = examples.copy_to(args.folder, overwrite=args.force)
    for path in kept:
        print(f"kept {path} (it exists; --force replaces it)")
    print(f"copied {len(copied)} files to {args.folder}; cook one with:\n"
          f"  schedcore cook {os.path.join(args.folder, examples.DEFAULT)}")
    return EXIT_OK


CHECK_STYLES = {"passed": "green", "failed": "red", "not supported": "grey62"}


def cmd_check(args) -> int:
    from . import check
    from .cliview import OutputConsole, escape

    console = OutputConsole(stderr=args.json, highlight=False, soft_wrap=True)
    parms = dict(check.parse_parm(text) for text in args.parm or ())
    target = check.resolve(args.scheduler, parms)
    check.chosen(args.only)  # an unknown scenario name is refused before anything cooks
    console.print(f"checking {escape(target.label)}", highlight=False)

    def show(result):
        style = CHECK_STYLES.get(result.status, "")
        console.print(f"[{style}]{escape(result.line())}[/]", highlight=False)
    report = check.run(target, args.only, args.timeout, args.keep, on_result=show)
    console.print(("[green]" if report.ok else "[red]") + escape(report.summary()) + "[/]",
                  highlight=False)
    if args.json:
        print_json(report.to_json())
    return EXIT_OK if report.ok else EXIT_FAILED


def add_check_parser(sub, options: bool = True) -> None:
    check = sub.add_parser(
        "check", help="check that a scheduler keeps the PDG contract (the conformance kit)",
        description="Cook small canonical networks with SCHEDULER, running real jobs on this "
                    "machine, and say what it gets wrong of the PDG contract, with the "
                    "callback and the line. One line per scenario, then a summary. Exit "
                    "status 0 only when every required scenario passed (optional ones a "
                    "scheduler does not claim say \"not supported\"); 1 when one failed; 2 "
                    "for a bad option or a scheduler that cannot be found.")
    check.set_defaults(run=cmd_check)
    if options:
        _check_options(check)


def _check_options(check) -> None:
    from .check import DEFAULT_TIMEOUT, NAMES

    check.add_argument("scheduler", metavar="SCHEDULER",
                       help="a registered scheduler type name, a scheduler module file "
                            "(*.py), or NETWORK.top.json:NODE (a scheduler node with its "
                            "parameter values)")
    check.add_argument("--parm", action="append", metavar="NAME=VALUE",
                       help="set a parameter of the scheduler (VALUE read as JSON when it "
                            "is: 2, 0.1, true, \"text\"); may be repeated")
    check.add_argument("--only", nargs="+", metavar="SCENARIO",
                       help=f"run only these scenarios: {', '.join(NAMES)}")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help="how long an item may go without news (and at least 3 ticks) "
                            "before the scenario fails saying so (default "
                            f"{DEFAULT_TIMEOUT:g})")
    check.add_argument("--keep", action="store_true",
                       help="keep each scenario's network, job logs and outputs (the JSON "
                            "says where)")
    check.add_argument("--json", action="store_true",
                       help="print the report as one JSON object on stdout")


def parser(commands=None) -> argparse.ArgumentParser:
    """The command's parser. ``commands``: the subcommands described in full (default: all);
    the others have their name, help and description only, all that ``schedcore --help``
    shows, so it imports none of the modules their options are described from."""
    def full(name: str) -> bool:
        return commands is None or name in commands

    top = argparse.ArgumentParser(
        prog="schedcore",
        description="Cook TOP networks (*.top.json) with programmable schedulers, headless.")
    top.add_argument("--version", action="version", version=f"schedcore {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cook = sub.add_parser(
        "cook", help="cook a network and show its progress",
        description="Cook a network: live progress on a terminal, each failure with its log, "
                    "a summary. Exit status 0 only when every item cooked; 1 when items "
                    "failed or did not run; 2 for a bad network or option; 75 when another "
                    "cook of the network runs in its working dir; when canceled, "
                    "which kills the running jobs: 130 for Ctrl-C, 143 for SIGTERM, 129 for "
                    "SIGHUP.")
    cook.set_defaults(run=cmd_cook)
    if full("cook"):
        _cook_options(cook)
    types = sub.add_parser(
        "types", help="list the scheduler and node types, and files that failed to load",
        description="List the registered scheduler types (name, label, where from), the node "
                    "types, and every scheduler file of the types path that failed to load "
                    "(file, line, why). Exit status 1 when any failed.")
    types.add_argument("--json", action="store_true", help="print them as JSON")
    types.set_defaults(run=cmd_types)
    sub_job = sub.add_parser(
        "submit", help="cook a network as one standalone job (Submit As Job)",
        description="Submit As Job: the scheduler copies the network file into its working "
                    "dir and cooks it as one job that goes on after this command exits; "
                    "prints the status URI to follow it by.")
    sub_job.add_argument("network", help="the network file (*.top.json)")
    sub_job.add_argument("--scheduler", metavar="NODE",
                         help="the scheduler node that submits it (default: the network's "
                              "default scheduler)")
    sub_job.add_argument("--node", metavar="NAME", help="cook only up to this node")
    sub_job.set_defaults(run=cmd_submit)
    status = sub.add_parser(
        "status", help="how a submitted cook goes (its status URI)",
        description="Read the status of a cook started by Submit As Job: its state (queued "
                    "on a farm, cooking, finished, canceled, or died when its process is gone "
                    "without finishing) and counts by state. Exit status 0 while queued or "
                    "cooking or when every item cooked, 1 when it failed, was canceled or "
                    "died.")
    status.add_argument("uri", help="the status URI (file://...) or the file's path")
    status.add_argument("--wait", action="store_true",
                        help="print a line every --interval seconds until the cook is over")
    status.add_argument("--interval", type=float, default=2.0, metavar="SECONDS")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=cmd_status)
    save = sub.add_parser(
        "save-python", help="write a Python Scheduler node out as a scheduler module",
        description="Save To Python: write the Python Scheduler node NODE of NETWORK as a "
                    "complete scheduler module (a class with one method per callback field, "
                    "its parameters, registerTypes). A field that does not compile refuses "
                    "the save, naming the field and the line; an old FILE stays intact.")
    save.set_defaults(run=cmd_save_python)
    if full("save-python"):
        _save_python_options(save)
    copy = sub.add_parser(
        "examples", help="copy the example networks and their scripts into a folder",
        description="Copy the example networks shipped with schedcore (and the scripts their "
                    "commands run) into FOLDER, to cook or change there: a cook writes its "
                    "outputs beside the network. Files already in FOLDER are kept.")
    copy.add_argument("folder", metavar="FOLDER", help="where to copy them (made if needed)")
    copy.add_argument("--force", action="store_true", help="replace files already there")
    copy.set_defaults(run=cmd_examples)
    add_check_parser(sub, full("check"))
    cliusage.add_trace_parser(sub, full("trace"))
    return top


def _cook_options(cook) -> None:
    from . import limits

    cook.add_argument("network", help="the network file (*.top.json)")
    cook.add_argument("--node", metavar="NAME", help="cook only up to this node")
    cook.add_argument("--scheduler", metavar="NAME",
                      help="use this scheduler for every node: a scheduler node of the "
                           "network or a registered scheduler type")
    cook.add_argument("--workdir", metavar="DIR",
                      help="working directory of every scheduler (default: its "
                           "pdg_workingdir, normally $HIP, the network's folder)")
    cook.add_argument("--static", action="store_true",
                      help="a static cook: make every item up front; schedulers get "
                           "onScheduleStatic with the whole graph")
    cook.add_argument("--resume", action="store_true",
                      help="resume the last cook of this network from its journal "
                           "(<working dir>/pdgtemp/journal/): items it cooked whose outputs are "
                           "still on disk become CookedCache and do not run again; the others "
                           "run")
    cook.add_argument("--max-items", metavar="N", type=int,
                      help=f"the most work items the cook may make (default: "
                           f"${limits.COOK_VAR}, else {limits.DEFAULT_COOK:,})")
    cook.add_argument("--max-node-items", metavar="N", type=int,
                      help=f"the most work items one node may make (default: "
                           f"${limits.NODE_VAR}, else {limits.DEFAULT_NODE:,})")
    cook.add_argument("--hip", metavar="DIR",
                      help="$HIP of the cook (default: the network file's folder); Submit As "
                           "Job gives the folder of the network it copied into the working "
                           "dir, so the copy's scripts and paths are found where they were")
    cook.add_argument("--status-file", metavar="FILE",
                      help="keep FILE up to date with the cook's counts by state and, at the "
                           "end, its outcome (JSON)")
    cook.add_argument("--json", action="store_true",
                      help="print the result as one JSON object on stdout (progress goes to "
                           "stderr): counts by state and every item")
    cliusage.add_cook_options(cook)


def _save_python_options(save) -> None:
    from . import codegen

    save.add_argument("network", help="the network file (*.top.json)")
    save.add_argument("--scheduler", required=True, metavar="NODE",
                      help="the Python Scheduler node to save")
    save.add_argument("-o", "--output", required=True, metavar="FILE",
                      help="the module to write (*.py)")
    save.add_argument("--form", choices=codegen.FORMS, default="schedcore",
                      help="schedcore (default): a module importing schedcore; houdini: a "
                           "module for Houdini's pdg/types folder (import pdg, PyScheduler "
                           "with CallbackServerMixin, templateBody), which schedcore loads too")


_json_out = None  # where --json prints; sys.stdout then goes to stderr


def _private_stdout():
    """The process's stdout for the JSON object alone: file descriptor 1, which processes
    that scheduler code starts inherit (Rush's ``os.system("rush -af")``), goes to stderr."""
    sys.stdout.flush()
    kept = os.dup(1)  # not inherited by children
    os.dup2(2, 1)
    return os.fdopen(kept, "w", encoding=sys.stdout.encoding, errors=sys.stdout.errors,
                     newline=None)


def _to_devnull(stream) -> None:
    from .cliview import to_devnull  # the reader went away: nothing is left to hurry for
    to_devnull(stream)


def print_json(data) -> None:
    """The one JSON object of a --json command, on the real stdout."""
    out = _json_out or sys.stdout
    try:
        import json

        json.dump(data, out, indent=1)
        out.write("\n")
        out.flush()
    except BrokenPipeError:  # the reader went away: the command still exits with its status
        _to_devnull(out)


def _failure(exc: Exception) -> tuple[int, str]:
    """The exit status and message of an error that ends a command before it could run."""
    from .cooklock import CookBusy
    from .errors import SchedulerCodeError

    if isinstance(exc, CookBusy):  # not the network's fault: try again once it ends
        return EXIT_BUSY, str(exc)
    if isinstance(exc, SchedulerCodeError):  # the network and options were fine
        return EXIT_FAILED, str(exc)
    if isinstance(exc, KeyError):  # an unknown node or scheduler name, with "did you mean"
        return EXIT_USAGE, str(exc.args[0])
    if isinstance(exc, OSError):
        return EXIT_USAGE, f"{exc.filename or ''}: {exc.strerror or exc}"
    return EXIT_USAGE, str(exc)


def _report_failure(args, exc: Exception) -> int:
    """Say why a command could not run (and, for ``cook --json``, the JSON of a cook that
    never started); its exit status."""
    code, message = _failure(exc)
    print(f"schedcore: {message}", file=sys.stderr, flush=True)
    if _json_out is not None and args.command == "cook":  # a cook that never started
        print_json({"ok": False, "counts": {}, "errors": [message], "warnings": [],
                    "canceled": False, "items": []})
    return code


def main(argv: list[str] | None = None) -> int:
    global _json_out
    program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = parser(commands={command}).parse_args(argv)
    args.program = program  # the process's own command, not a call of a program's
    if getattr(args, "json", False):
        # print() in scheduler modules and callbacks must not break the one JSON object
        _json_out, sys.stdout = (_private_stdout() if program else sys.stdout), sys.stderr
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader of the output went away (`| head`)
        _to_devnull(sys.stdout)
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        from .errors import SchedcoreError

        if not isinstance(exc, (SchedcoreError, KeyError, OSError)):
            raise
        return _report_failure(args, exc)
    finally:
        if _json_out is not None:
            sys.stdout, _json_out = _json_out, None


if __name__ == "__main__":
    sys.exit(main())
