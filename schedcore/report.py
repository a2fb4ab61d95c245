"""The cook report: one self-contained HTML file (inline CSS and SVG; nothing fetched) that
says where a cook's time went.

- a timeline: a row per slot (or worker, or host), a bar per item coloured by its node, the
  wait for its job (handed to its scheduler, not started) pale before the run; failed
  items outlined red, canceled ones grey;
- a table by node: items, failures, p50/p95/max of the seconds its jobs ran, CPU seconds,
  peak memory;
- histograms of the jobs' durations and peak memory;
- every failure with its reason and the tail of its log;
- with ``history``, each node's median duration in the cooks before.

``write_report(path, cook)`` is what ``schedcore cook --report`` and the studio call.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .network import write_atomic
from .trace import STATUS, ItemTrace, entries_of, format_duration, format_memory
from .usagestats import NodeFigures, node_figures
from .workitem import WorkItemState

S = WorkItemState

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#bab0ac", "#86bcb6")
MAX_BARS = 20_000  # bars drawn at most: a larger cook shows its first ones, and says so
LOG_TAIL = 30  # lines of a failed item's log shown
WIDTH = 1200  # of the timeline's drawing, in pixels

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#666}.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;
vertical-align:-1px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #e4e4e4;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.bad{color:#c0392b;font-weight:600}pre{background:#f7f7f7;border:1px solid #e4e4e4;
padding:8px;overflow:auto;max-height:320px;font-size:12px}
.failure{margin-bottom:18px}.charts{display:flex;gap:32px;flex-wrap:wrap}
svg text{font:11px system-ui,sans-serif;fill:#333}
"""


def write_report(path: str | Path, cook: Any, *, title: str = "",
                 history: Mapping[str, Sequence[float]] | None = None) -> None:
    """Write the report of ``cook`` to ``path`` (atomically). ``cook`` is a cook's result
    (``CookResult``, what ``Engine.run`` returns) or its items as ``trace.ItemTrace``
    (``trace.entries_of``, ``trace.entries_of_journal``); ``title`` heads the page (e.g. the
    network's file name); ``history`` maps a node to its median durations (seconds) in
    earlier cooks, oldest first (``cookhistory.node_durations``)."""
    write_atomic(Path(path), report_html(cook, title=title, history=history))


def report_html(cook: Any, *, title: str = "",
                history: Mapping[str, Sequence[float]] | None = None) -> str:
    entries = list(cook) if isinstance(cook, Sequence) else entries_of(cook)
    figures = node_figures(entries)
    colours = {f.node: PALETTE[i % len(PALETTE)] for i, f in enumerate(figures)}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title or 'Cook report')}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title or 'Cook report')}</h1>",
        f"<div class='sub'>{_e(_summary(entries))}</div>",
        "<h2>Timeline</h2>", _legend(colours), _timeline(entries, colours),
        "<h2>By node</h2>", _node_table(figures),
        "<h2>Resources</h2><div class='charts'>",
        _histogram("Seconds each job ran", [r for e in entries
                                            if (r := e.usage.realtime) is not None],
                   format_duration),
        _histogram("Peak memory of each job", [float(m) for e in entries
                                               if (m := e.usage.peak_rss) is not None],
                   lambda v: format_memory(int(v))),
        "</div>", _failures(entries)]
    if history:
        parts.append(_history(history, colours))
    parts.append("</body></html>\n")
    return "".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _summary(entries: list[ItemTrace]) -> str:
    counts: dict[str, int] = {}
    for entry in entries:
        status = STATUS.get(entry.state, entry.state.name)
        counts[status] = counts.get(status, 0) + 1
    starts = [t for e in entries if (t := e.usage.submit or e.usage.start) is not None]
    ends = [t for e in entries if (t := e.usage.end) is not None]
    span = f"{format_duration(max(ends) - min(starts))} from " \
           f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(min(starts)))}" \
        if starts and ends else "no times recorded"
    cpu = sum(e.usage.cpu or 0.0 for e in entries)
    states = ", ".join(f"{n} {_WORDS.get(s, s.lower())}" for s, n in sorted(counts.items()))
    return f"{len(entries)} items ({states or 'none'}); {span}; {cpu:.1f} CPU seconds"


_WORDS = {"NEW": "not run", "ABORTED": "canceled", "CACHED": "from an earlier cook"}


def _legend(colours: Mapping[str, str]) -> str:
    spans = "".join(f"<span><i class='sw' style='background:{c}'></i>{_e(node)}</span>"
                    for node, c in colours.items())
    return (f"<div class='legend'>{spans}<span><i class='sw' style='background:#ddd'></i>"
            f"waiting for its job to start</span><span><i class='sw' style='border:2px solid "
            f"#c0392b;width:8px;height:8px'></i>failed</span><span><i class='sw' "
            f"style='background:#999'></i>canceled</span></div>")


def _lane(entry: ItemTrace) -> str:
    usage = entry.usage
    if usage.slot and usage.host and usage.host not in usage.slot:
        return f"{usage.host} · {usage.slot}"
    return usage.slot or usage.host or "in the cook"


def _timeline(entries: list[ItemTrace], colours: Mapping[str, str]) -> str:
    timed = [e for e in entries if e.usage.end is not None
             and (e.usage.start is not None or e.usage.submit is not None)]
    if not timed:
        return "<p class='sub'>No item has times to show.</p>"
    shown = timed[:MAX_BARS]
    begin = min(min(t for t in (e.usage.submit, e.usage.start) if t is not None)
                for e in shown)
    end = max(e.usage.end for e in shown if e.usage.end is not None)
    span = max(end - begin, 1e-3)
    lanes = sorted({_lane(e) for e in shown}, key=_natural)
    row, label = 22, 170
    height = row * len(lanes) + 30
    scale = (WIDTH - label - 10) / span

    def x(t: float) -> float:
        return label + (t - begin) * scale

    out = [f"<svg width='{WIDTH}' height='{height}' "
           f"role='img' aria-label='timeline'>"]
    for i, lane in enumerate(lanes):
        y = i * row
        out.append(f"<rect x='0' y='{y}' width='{WIDTH}' height='{row}' "
                   f"fill='{'#fafafa' if i % 2 else '#fff'}'/>"
                   f"<text x='4' y='{y + 15}'>{_e(lane[:28])}</text>")
    for tick in _ticks(span):
        tx = x(begin + tick)
        out.append(f"<line x1='{tx:.1f}' x2='{tx:.1f}' y1='0' y2='{height - 24}' "
                   f"stroke='#e0e0e0'/><text x='{tx:.1f}' y='{height - 8}' "
                   f"text-anchor='middle'>{_e(format_duration(tick))}</text>")
    index = {lane: i for i, lane in enumerate(lanes)}
    # the waits first, thin, under every run: an item waits before its slot is its own
    out.extend(_wait(entry, index[_lane(entry)] * row, x) for entry in shown)
    out.extend(_bar(entry, index[_lane(entry)] * row, x, colours) for entry in shown)
    out.append("</svg>")
    if len(timed) > len(shown):
        out.append(f"<p class='sub'>The first {len(shown):,} of {len(timed):,} items "
                   f"are drawn.</p>")
    return "".join(out)


def _bar(entry: ItemTrace, y: int, x: Any, colours: Mapping[str, str]) -> str:
    usage = entry.usage
    start = usage.start if usage.start is not None else usage.submit
    assert start is not None and usage.end is not None  # _timeline keeps those
    tip = (f"{entry.name} ({entry.node}): {STATUS.get(entry.state, entry.state.name)}, "
           f"ran {format_duration(usage.realtime)}")
    if entry.reason and entry.state == S.CookedFail:
        tip += f"\n{entry.reason[:200]}"
    parts = [f"<g><title>{_e(tip)}</title>"]
    fill = "#999" if entry.state == S.CookedCancel else colours.get(entry.node, "#888")
    stroke = " stroke='#c0392b' stroke-width='2'" if entry.state == S.CookedFail else ""
    least = 1.0 if entry.state.is_success else 4.0  # a failure stays visible, however short
    parts.append(f"<rect x='{x(start):.1f}' y='{y + 3}' "
                 f"width='{max(x(usage.end) - x(start), least):.1f}' height='16' rx='2' "
                 f"fill='{fill}'{stroke}/></g>")
    return "".join(parts)


def _wait(entry: ItemTrace, y: int, x: Any) -> str:
    """The time the item waited for its job to start, as a thin pale line."""
    usage = entry.usage
    if usage.submit is None or usage.start is None or usage.start <= usage.submit:
        return ""
    return (f"<rect x='{x(usage.submit):.1f}' y='{y + 15}' "
            f"width='{max(x(usage.start) - x(usage.submit), 0.5):.1f}' height='4' "
            f"fill='#cfcfcf'><title>{_e(entry.name)} waited "
            f"{_e(format_duration(usage.start - usage.submit))}</title></rect>")


def _ticks(span: float) -> list[float]:
    """About eight round steps over ``span`` seconds."""
    raw = span / 8
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(int(span / step) + 1)]


def _natural(text: str) -> tuple:
    """``slot 2`` before ``slot 10``."""
    head = text.rstrip("0123456789")
    tail = text[len(head):]
    return head, int(tail) if tail else -1


def _node_table(figures: list[NodeFigures]) -> str:
    rows = ["<table><tr><th>node</th><th>items</th><th>failed</th><th>canceled</th>"
            "<th>not run</th><th>p50</th><th>p95</th><th>max</th><th>job time</th>"
            "<th>CPU seconds</th><th>peak memory</th></tr>"]
    for f in figures:
        bad = " class='bad'" if f.failed else ""
        rows.append(
            f"<tr><td>{_e(f.node)}</td><td>{f.count}</td><td{bad}>{f.failed}</td>"
            f"<td>{f.canceled}</td><td>{f.not_run}</td><td>{format_duration(f.p50)}</td>"
            f"<td>{format_duration(f.p95)}</td><td>{format_duration(f.max)}</td>"
            f"<td>{format_duration(f.total) if f.p50 is not None else '-'}</td>"
            f"<td>{f.cpu:.2f}</td><td>{format_memory(f.peak_rss)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _histogram(title: str, values: list[float], label: Any, bins: int = 20) -> str:
    width, height, bottom = 520, 180, 34
    jobs = "1 job" if len(values) == 1 else f"{len(values):,} jobs"
    head = f"<div><div><b>{_e(title)}</b> ({jobs})</div>"
    if not values:
        return head + "<p class='sub'>Nothing measured.</p></div>"
    low, high = min(values), max(values)
    size = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / size))] += 1
    top = max(counts)
    bar = width / bins
    out = [head, f"<svg width='{width}' "
                 f"height='{height + bottom}' role='img' aria-label='{_e(title)}'>"]
    for i, count in enumerate(counts):
        h = (height - 10) * count / top
        out.append(f"<rect x='{i * bar + 1:.1f}' y='{height - h:.1f}' width='{bar - 2:.1f}' "
                   f"height='{h:.1f}' fill='#4e79a7'><title>{count} between "
                   f"{_e(label(low + i * size))} and {_e(label(low + (i + 1) * size))}"
                   f"</title></rect>")
    out.append(f"<line x1='0' x2='{width}' y1='{height}' y2='{height}' stroke='#888'/>"
               f"<text x='0' y='{height + 16}'>{_e(label(low))}</text>"
               f"<text x='{width}' y='{height + 16}' text-anchor='end'>{_e(label(high))}"
               f"</text></svg></div>")
    return "".join(out)


def _failures(entries: list[ItemTrace]) -> str:
    failed = [e for e in entries if e.state == S.CookedFail]
    if not failed:
        return "<h2>Failures</h2><p>None.</p>"
    out = [f"<h2>Failures ({len(failed)})</h2>"]
    for entry in failed:
        tail = log_tail(entry)
        out.append(f"<div class='failure'><b class='bad'>{_e(entry.name)}</b> "
                   f"({_e(entry.node)}): {_e(entry.reason or 'no reason given')}"
                   + (f"<pre>{_e(tail)}</pre>" if tail else
                      "<div class='sub'>No log.</div>") + "</div>")
    return "".join(out)


def log_tail(entry: ItemTrace, lines: int = LOG_TAIL) -> str:
    """The last ``lines`` lines of the item's log file (a ``file://`` log URI), with what was
    reported to the cook for it."""
    text = ""
    uri = urlparse(entry.log_uri)
    if uri.scheme == "file":
        try:
            with open(unquote(uri.path), "rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - 64 * 1024))  # a tail, not a whole render log
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            text = ""
    text += entry.log
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _history(history: Mapping[str, Sequence[float]], colours: Mapping[str, str]) -> str:
    rows = ["<h2>Earlier cooks</h2><table><tr><th>node</th>"
            "<th>median seconds per job, oldest cook first</th></tr>"]
    for node, values in history.items():
        shown = " · ".join(format_duration(v) for v in values[-12:])
        rows.append(f"<tr><td><i class='sw' style='background:"
                    f"{colours.get(node, '#888')}'></i>{_e(node)}</td>"
                    f"<td style='text-align:left'>{_e(shown) or '-'}</td></tr>")
    rows.append("</table>")
    return "".join(rows)
