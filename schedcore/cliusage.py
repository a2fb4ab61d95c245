"""Where a cook's time went, on the command line: ``cook --trace/--report`` and
``schedcore trace NETWORK`` (the last cook's trace, from its journal)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def add_cook_options(cook) -> None:
    cook.add_argument("--trace", metavar="FILE.tsv",
                      help="write a trace of the cook: one tab-separated row per item, in "
                           "Nextflow's trace columns (task_id, native_id, name, process, "
                           "status, exit, submit, start, complete, duration, realtime, %%cpu, "
                           "peak_rss, attempt, hostname, slot)")
    cook.add_argument("--report", metavar="FILE.html",
                      help="write a self-contained HTML report of the cook: a timeline by "
                           "slot, figures by node, resource histograms, each failure with "
                           "the tail of its log")


def add_trace_parser(sub, options: bool = True) -> None:
    trace = sub.add_parser(
        "trace", help="write the trace of a network's last cook, from its journal",
        description="Write the trace of the last cook of NETWORK (read from its journal in "
                    "<working dir>/pdgtemp/journal/): one tab-separated row per item that "
                    "ended, in the columns of `cook --trace`. Exit status 1 when there is no "
                    "journal of that network.")
    trace.set_defaults(run=cmd_trace)
    if not options:
        return
    trace.add_argument("network", help="the network file (*.top.json)")
    trace.add_argument("-o", "--output", metavar="FILE.tsv",
                       help="where to write it (default: standard output)")
    trace.add_argument("--workdir", metavar="DIR",
                       help="the working dir the cook used, when it was given to it with "
                            "cook --workdir")


def write_cook_files(args, engine, result, say) -> bool:
    """``--trace`` and ``--report`` of a finished cook; False (said) when one could not be
    written."""
    written = True
    if getattr(args, "trace", None):
        from .trace import entries_of, write_trace
        written &= _write(lambda: write_trace(args.trace, entries_of(result)), args.trace,
                          "trace", say)
    if getattr(args, "report", None):
        from .cookhistory import medians
        from .report import write_report

        def report() -> None:
            nodes = list(dict.fromkeys(str(item.node) for item in result.items))
            history = medians(engine.journal_path, nodes) \
                if engine.journal_path and os.path.exists(engine.journal_path) else None
            write_report(args.report, result, title=Path(args.network).name,
                         history=history)
        written &= _write(report, args.report, "report", say)
    return written


def _write(write, path: str, what: str, say) -> bool:
    try:
        write()
    except OSError as exc:
        say(f"the {what} cannot be written to {path}: {exc.strerror or exc}; the cook's "
            f"results are in its journal (schedcore trace NETWORK)")
        return False
    return True


def journal_candidates(net, workdir: str | None) -> list[str]:
    """Where the journal of ``net`` may be: in ``workdir``, else in the working dir of each
    of its scheduler nodes (the default one first)."""
    from .journal import journal_path
    from .parms import expand_vars

    if workdir:
        return [journal_path(workdir, net.path)]
    specs = sorted(net.schedulers, key=lambda s: s.name != net.default_scheduler)
    folders = [expand_vars(str(s.parms.get("pdg_workingdir", "$HIP")), net.hip) for s in specs]
    return list(dict.fromkeys(journal_path(f or net.hip, net.path)
                              for f in folders or [net.hip]))


def cmd_trace(args) -> int:
    from . import network as network_file
    from .trace import entries_of_journal, trace_text, write_trace

    net = network_file.load(args.network)
    candidates = journal_candidates(net, args.workdir)
    found = next((path for path in candidates if os.path.exists(path)), None)
    if found is None:
        print(f"schedcore trace: no journal of {args.network} (looked for "
              f"{', '.join(candidates)}): cook it first (schedcore cook), or give the working "
              f"dir it used (--workdir)", file=sys.stderr)
        return 1
    entries = entries_of_journal(found)
    if args.output:
        write_trace(args.output, entries)
    else:
        sys.stdout.write(trace_text(entries))
    return 0
