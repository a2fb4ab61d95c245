"""What the result server's pages show: the cook, an item's status, an item's log.

A log is streamed from its file in chunks, never read whole: a 200 MB log read by a client
that does not read its answer costs one chunk. ``?tail=N`` (the last N bytes) and an HTTP
``Range`` header (``bytes=A-B``, ``bytes=A-``, ``bytes=-N``) read a part.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from urllib.parse import parse_qs, urlparse

from .workitem import WorkItem

CHUNK = 64 * 1024
MAX_DIGITS = 18  # of an item id, an offset or a length: beyond, it is not a request of ours
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


class BadRequest(ValueError):
    """A request that cannot be answered as asked: ``code`` and the reason."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code


def item_ref(text: str) -> int | str | None:
    """An item reference from a URL or a report: a number of at most 18 ASCII digits or an
    item's name; None for anything else (which no item has)."""
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= MAX_DIGITS else None
    return text if _NAME.fullmatch(text) else None


def short(value, limit: int = 60) -> str:
    """Text cut to ``limit`` characters (anything else as its repr): what a client sent is
    quoted in answers and logs, and may be huge."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def parse_url(path: str):
    try:
        return urlparse(path)
    except ValueError as exc:  # urlparse refuses some netlocs ("//[x")
        raise BadRequest(400, f"malformed URL {short(path)}: {exc}") from None


def parse_query(url) -> dict[str, list[str]]:
    try:
        return parse_qs(url.query, max_num_fields=20)
    except ValueError:
        raise BadRequest(400, "more than 20 query fields") from None


def status(item: WorkItem) -> dict:
    for _ in range(3):  # the engine may change the item meanwhile: read again
        try:
            data = item.to_json()
            break
        except RuntimeError:
            continue
    else:
        data = {"id": item.id, "name": item.name, "state": item.state.name}
    data.pop("command", None)
    if item.cook_percent is not None:  # what its job said of its progress
        data["cook_percent"] = item.cook_percent
    if item.custom_state:
        data["custom_state"] = item.custom_state
    return data


# == logs ===================================================================================
def open_log(item: WorkItem):
    """``(binary file, size)`` of the item's log: its file, then the text reported for it;
    or only that text when it has no file."""
    if item.log_file:
        after = item.log_after_file().encode("utf-8", "replace")
        try:
            handle = open(item.log_file, "rb")
        except OSError as exc:
            text = f"(the log {item.log_file} cannot be read: {exc.strerror})\n".encode()
            return io.BytesIO(text + after), len(text + after)
        size = os.fstat(handle.fileno()).st_size
        return (_FileThen(handle, size, after) if after else handle), size + len(after)
    data = (item.log or "(no log)\n").encode("utf-8", "replace")
    return io.BytesIO(data), len(data)


class _FileThen:
    """A log file's first ``size`` bytes, then ``after``: read a chunk at a time."""

    def __init__(self, handle, size: int, after: bytes):
        self._handle, self._size, self._after, self._at = handle, size, after, 0

    def seek(self, at: int) -> int:
        self._at = at
        return at

    def read(self, count: int) -> bytes:
        if self._at < self._size:
            self._handle.seek(self._at)
            data = self._handle.read(min(count, self._size - self._at))
        else:
            data = self._after[self._at - self._size:self._at - self._size + count]
        self._at += len(data)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()


def log_span(size: int, tail: str | None, range_header: str | None) -> tuple[int, int, bool]:
    """``(start, end, partial)``: the bytes of a log of ``size`` bytes to send; raises
    ``BadRequest`` (400, or 416 for a range outside the log)."""
    if tail is not None:
        if not (tail.isascii() and tail.isdigit() and len(tail) <= MAX_DIGITS):
            raise BadRequest(400, f"tail={tail[:40]!r}: a number of bytes, e.g. tail=65536")
        return max(0, size - int(tail)), size, False
    if range_header is None:
        return 0, size, False
    found = _RANGE.fullmatch(range_header.strip())
    if not found or found.groups() == ("", ""):
        raise BadRequest(400, f"Range {range_header[:60]!r}: one range of bytes, e.g. "
                              f"bytes=0-1023, bytes=1024- or bytes=-1024")
    first, last = found.groups()
    if first == "":  # the last N bytes
        return max(0, size - int(last)), size, True
    start, end = int(first), size if last == "" else min(size, int(last) + 1)
    if start >= size or start >= end:
        raise BadRequest(416, f"the range {range_header[:60]!r} is outside the log "
                              f"({size} bytes)")
    return start, end, True


def stream(handle, start: int, end: int, write) -> bool:
    """Copy bytes ``start`` to ``end`` of ``handle`` with ``write``, a chunk at a time;
    False when the file came up short (it was truncated meanwhile)."""
    handle.seek(start)
    left = end - start
    while left > 0:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            return False
        write(chunk)
        left -= len(chunk)
    return True


# == the cook's listing, a page at a time ===================================================
PAGE_ITEMS = 500              # items on a page of ``GET /`` unless ``count`` says fewer
MAX_PAGE_ITEMS = 2_000        # ... or more, up to this
MAX_PAGE_BYTES = 1024 * 1024  # a page ends after the item that takes it past this


def page_span(query: dict) -> tuple[int, int]:
    """``(start, count)`` from ``?start=N&count=M``; raises ``BadRequest``."""
    values = []
    for name, default, top in (("start", 0, 10**MAX_DIGITS), ("count", PAGE_ITEMS,
                                                              MAX_PAGE_ITEMS)):
        text = query.get(name, [str(default)])[0]
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS):
            raise BadRequest(400, f"{name}={text[:40]!r}: a whole number, e.g. {name}="
                                  f"{default}")
        values.append(min(int(text), top))
    start, count = values
    return start, max(1, count)


def cook_listing(items: list[WorkItem], start: int, count: int, key: str = "",
                 as_html: bool = False) -> bytes:
    """Items ``start`` to ``start + count`` of the cook (fewer when they pass
    ``MAX_PAGE_BYTES``), as JSON (``{"items", "total", "start", "next"}``, ``next`` the
    URL of the next page while there is one) or HTML with a link to the next page. A page
    is made of its own items only: a cook of 50,000 items costs a page, not the cook."""
    total = len(items)
    shown: list[dict] = []
    size = 0
    for item in items[start:start + count]:
        data = status(item)
        size += len(json.dumps(data)) if not as_html else 200
        shown.append(data)
        if size > MAX_PAGE_BYTES:
            break
    after = start + len(shown)
    more = f"&key={key}" if key else ""
    kind = "&html" if as_html else ""
    after_url = f"/?start={after}&count={count}{kind}{more}" if after < total else None
    if as_html:
        return cook_page(shown, key, total, start, after_url).encode()
    return json.dumps({"items": shown, "total": total, "start": start,
                       "next": after_url}).encode()


# == HTML ===================================================================================
def cook_page(items: list[dict], key: str = "", total: int | None = None, start: int = 0,
              after_url: str | None = None) -> str:
    """``key``: the read key the page was read with, carried on in its links."""
    more = f"&key={html.escape(key)}" if key else ""
    rows = "".join(f"<tr><td><a href='/status/{i['id']}?html{more}'>"
                   f"{html.escape(i['name'])}</a>"
                   f"</td><td>{html.escape(i['node'])}</td><td>{i['state']}</td></tr>"
                   for i in items)
    total = len(items) if total is None else total
    shown = (f"{total} work items" if len(items) == total else
             f"{total} work items: {start + 1} to {start + len(items)}")
    after = f"<p><a href='{html.escape(after_url)}'>next</a></p>" if after_url else ""
    return (f"<!doctype html><title>cook</title><h1>{shown}</h1>"
            f"<table><tr><th>item</th><th>node</th><th>state</th></tr>{rows}</table>{after}")


def item_page(data: dict, key: str = "") -> str:
    only, more = (f"?key={html.escape(key)}", f"&key={html.escape(key)}") if key else ("", "")
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td><pre>"
                   f"{html.escape(json.dumps(v, indent=1))}</pre></td></tr>"
                   for k, v in data.items())
    return (f"<!doctype html><title>{html.escape(data['name'])}</title>"
            f"<h1>{html.escape(data['name'])}: {data['state']}</h1>"
            f"<p><a href='/log/{data['id']}{only}'>log</a> · <a href='/?html{more}'>cook</a></p>"
            f"<table>{rows}</table>")
